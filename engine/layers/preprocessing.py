"""Preprocessing inside the model: Rescaling, Normalization, Resizing and cropping, and the Random* augmentations.

The augmentation layers change values only while training and keep the shape; Normalization's mean,
variance and count are weights Keras creates (non-trainable) unless the mean and variance are given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.layers.base import LayerSpec, ParamCount, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_int, fmt_shape
from engine.layers.common import require_rank
from engine.layers.normalization import axes_of

_IMAGE_HINT = "Image preprocessing works on (height, width, channels); Reshape a flat vector into an image first."
_SEED = ParamSpec("seed", "int", None, "Random seed, for reproducible augmentation.", minimum=0, optional=True, advanced=True)
_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")


def _fill() -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("fill_mode", "choice", "reflect", "How pixels outside the image are filled.", choices=_FILL_MODES, advanced=True),
        ParamSpec("interpolation", "choice", "bilinear", "How new pixel values are computed.", choices=("bilinear", "nearest"), advanced=True),
        _SEED,
        ParamSpec("fill_value", "float", 0.0, "The value used with fill_mode='constant'.", advanced=True),
    )


def _image_warn(layer: str):
    def rule(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
        shape = inputs[0].shape
        if len(shape) == 3:
            return []
        return [(f"{layer} transforms images (height, width, channels), but it receives {fmt_shape(shape)}: Keras builds the model, "
                 "but the layer fails or does something else when it runs.", _IMAGE_HINT)]

    return rule


#: Random augmentation does nothing at inference, and tf2onnx cannot convert it.
_AUGMENTATION_LIMITS = {"onnx": "tf2onnx cannot convert random augmentation (which does nothing at inference); "
                                "export without the layer, or to LiteRT or a SavedModel."}


def _augmentation(layer: str, doc: str, params: tuple[ParamSpec, ...], label=None) -> LayerSpec:  # noqa: ANN001
    return LayerSpec(
        type=layer, family="Preprocessing", doc=doc, params=params, shape_rule=lambda p, inputs: inputs[0].shape,
        warn_rule=_image_warn(layer), warn_code="runtime", receptive="keep", label_rule=label,
        export_limits=lambda p: _AUGMENTATION_LIMITS, torch="augmentation",
    )


def _factor(name: str, doc: str, default: object = ..., optional: bool = False) -> ParamSpec:
    kwargs = {} if default is ... else {"default": default}
    return ParamSpec(name, "factor", doc=doc, optional=optional, **kwargs)  # type: ignore[arg-type]


def _factor_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else f"{value[0]:g}..{value[1]:g}"  # type: ignore[index]


def _rescaling_label(p: Params) -> str:
    scale, offset = p["scale"], p["offset"]
    text = f"x {scale:.4g}" if isinstance(scale, float) else "x per channel"
    if offset != 0.0:
        text += f" + {offset:g}" if isinstance(offset, float) else " + per channel"
    return text


def _rescaling_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    for key in ("scale", "offset"):
        value = p[key]
        if isinstance(value, tuple) and shape and shape[-1] is not None and len(value) not in (1, shape[-1]):
            raise ShapeError(f"Rescaling: {key} has {len(value)} values but the input has {shape[-1]} channels.", f"Give one {key} or one per channel.")
    return shape


RESCALING = LayerSpec(
    torch="rescaling",
    type="Rescaling",
    family="Preprocessing",
    doc="Multiplies and shifts every value: scale=1/255 turns 0..255 pixels into 0..1. No weights.",
    params=(
        ParamSpec("scale", "floats", doc="Factor applied to every value (or one per channel)."),
        ParamSpec("offset", "floats", 0.0, "Added after scaling (or one per channel)."),
    ),
    shape_rule=_rescaling_shape,
    macs_rule=lambda p, inputs, out: (math.prod(d or 1 for d in out), f"one multiply-add per value ({fmt_int(math.prod(d or 1 for d in out))})"),
    receptive="keep",
    label_rule=_rescaling_label,
)


def _normalization_keep(p: Params, shape: Shape) -> list[int]:
    return [] if p["axis"] is None else axes_of("Normalization", p["axis"], shape)


def _normalization_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    keep = _normalization_keep(p, shape)
    for axis in keep:
        if shape[axis] is None:
            raise ShapeError(f"Normalization keeps one mean per position of axis {axis + 1}, so it must be known; {fmt_shape(shape)} has None there.",
                             "Give the Input a fixed size on that axis.")
    if (p["mean"] is None) != (p["variance"] is None):
        raise ShapeError("Normalization: give both mean and variance, or neither (then they are learned by adapt()).", "Set the missing one.")
    size = math.prod(shape[a] or 1 for a in keep)
    for key in ("mean", "variance"):
        value = p[key]
        if isinstance(value, tuple) and len(value) not in (1, size):
            raise ShapeError(f"Normalization: {key} has {len(value)} values, but the kept axes hold {size}.", f"Give one {key} per kept position ({size}).")
    return shape


def _normalization_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    if p["mean"] is not None:
        return ParamCount(0, 0, "mean and variance are given as constants: no weights")
    keep = _normalization_keep(p, inputs[0])
    size = math.prod(inputs[0][a] or 1 for a in keep)
    total = 2 * size + 1
    return ParamCount(0, total, f"mean {size} + variance {size} + count 1 = {fmt_int(total)} (all non-trainable, set by adapt())")


NORMALIZATION = LayerSpec(
    type="Normalization",
    family="Preprocessing",
    doc="Subtracts a mean and divides by a standard deviation per feature; the statistics come from adapt() on the data (non-trainable).",
    params=(
        ParamSpec("axis", "axes", -1, "Axis or axes that keep their own statistics (-1: one per channel; empty: one for everything).", optional=True),
        ParamSpec("mean", "floats", None, "Fixed mean (or one per kept position); empty means learned by adapt().", optional=True, advanced=True),
        ParamSpec("variance", "floats", None, "Fixed variance, given together with mean.", optional=True, advanced=True),
        ParamSpec("invert", "bool", False, "Undo a normalisation instead (x * std + mean).", advanced=True),
    ),
    shape_rule=_normalization_shape,
    count_rule=_normalization_count,
    torch="normalization",
    export_limits=lambda p: {"onnx": "tf2onnx loses the layer's mean and variance; export to LiteRT or a SavedModel instead, "
                                     "or normalise the data before the model."},
    macs_rule=lambda p, inputs, out: (math.prod(d or 1 for d in out), f"one multiply-add per value ({fmt_int(math.prod(d or 1 for d in out))})"),
    receptive="keep",
)

_HEIGHT = ParamSpec("height", "int", doc="Output height in pixels.", minimum=1)
_WIDTH = ParamSpec("width", "int", doc="Output width in pixels.", minimum=1)


def _sized(layer: str):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        if layer == "RandomCrop" and len(shape) > 3:  # Keras crops axes -3 and -2 and keeps any leading axes
            return shape[:-3] + (p["height"], p["width"], shape[-1])
        require_rank(layer, shape, (3,), _IMAGE_HINT)
        return (p["height"], p["width"], shape[2])

    return rule


def _size_label(p: Params) -> str:
    return f"{p['height']}x{p['width']}"


RESIZING = LayerSpec(
    type="Resizing",
    family="Preprocessing",
    doc="Resizes images to height x width (bilinear by default), so photos of any size can enter the network.",
    params=(
        _HEIGHT, _WIDTH,
        ParamSpec("interpolation", "choice", "bilinear", "How new pixels are computed.", choices=_INTERPOLATIONS),
        ParamSpec("crop_to_aspect_ratio", "bool", False, "Crop to the target aspect ratio first instead of distorting.", advanced=True),
        ParamSpec("pad_to_aspect_ratio", "bool", False, "Pad to the target aspect ratio first instead of distorting.", advanced=True),
        ParamSpec("fill_mode", "choice", "constant", "How padding is filled.", choices=("constant",), advanced=True),
        ParamSpec("fill_value", "float", 0.0, "Value of the padding.", advanced=True),
        ParamSpec("antialias", "bool", False, "Smooth before downscaling.", advanced=True),
    ),
    shape_rule=_sized("Resizing"),
    torch="resizing",
    receptive="undefined",
    receptive_reason="undefined after Resizing: output pixels interpolate input pixels at a new scale",
    label_rule=_size_label,
)
CENTER_CROP = LayerSpec(
    type="CenterCrop", family="Preprocessing", doc="Keeps the central height x width of each image (resizing first if it is smaller).",
    params=(_HEIGHT, _WIDTH), shape_rule=_sized("CenterCrop"), receptive="keep", label_rule=_size_label, torch="center_crop",
)
RANDOM_CROP = LayerSpec(
    type="RandomCrop", family="Preprocessing",
    doc="While training, crops a random height x width window (augmentation); at inference a central crop. Smaller images are resized up first.",
    params=(_HEIGHT, _WIDTH, _SEED), shape_rule=_sized("RandomCrop"), receptive="keep", label_rule=_size_label,
    export_limits=lambda p: {**_AUGMENTATION_LIMITS, "torch": "LayerLab cannot write random cropping in PyTorch; use CenterCrop "
                                                              "(what RandomCrop does at inference), or export to LiteRT or a SavedModel."},
)

RANDOM_FLIP = _augmentation(
    "RandomFlip", "While training, flips images left-right and/or up-down at random. Shape unchanged.",
    (ParamSpec("mode", "choice", "horizontal_and_vertical", "Which flips.", choices=("horizontal", "vertical", "horizontal_and_vertical")), _SEED),
    label=lambda p: p["mode"].replace("_and_", " + "),
)
RANDOM_ROTATION = _augmentation(
    "RandomRotation", "While training, rotates images by a random fraction of a full turn (factor 0.1 = up to 36 degrees).",
    (_factor("factor", "Largest rotation as a fraction of 2 pi, or a (low, high) range."), *_fill()),
    label=lambda p: _factor_text(p["factor"]),
)
RANDOM_ZOOM = _augmentation(
    "RandomZoom", "While training, zooms in or out at random (negative factor zooms in).",
    (_factor("height_factor", "Vertical zoom range as a fraction."), _factor("width_factor", "Horizontal zoom range; empty keeps the aspect ratio.", None, True), *_fill()),
    label=lambda p: _factor_text(p["height_factor"]),
)
RANDOM_TRANSLATION = _augmentation(
    "RandomTranslation", "While training, shifts images by a random fraction of their height and width.",
    (_factor("height_factor", "Vertical shift range as a fraction of the height."), _factor("width_factor", "Horizontal shift range as a fraction of the width."), *_fill()),
    label=lambda p: f"{_factor_text(p['height_factor'])}, {_factor_text(p['width_factor'])}",
)
RANDOM_CONTRAST = _augmentation(
    "RandomContrast", "While training, changes the contrast of each image by a random factor.",
    (_factor("factor", "Contrast change range, e.g. 0.2 for 0.8x to 1.2x."),
     ParamSpec("value_range", "floats", (0.0, 255.0), "The range of the pixel values.", advanced=True), _SEED),
    label=lambda p: _factor_text(p["factor"]),
)

SPECS = (RESCALING, NORMALIZATION, RESIZING, CENTER_CROP, RANDOM_CROP, RANDOM_FLIP, RANDOM_ROTATION, RANDOM_ZOOM, RANDOM_TRANSLATION, RANDOM_CONTRAST)

__all__ = ["SPECS"]
