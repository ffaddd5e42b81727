"""Reshaping: Flatten, Reshape, Permute, and ZeroPadding, Cropping and UpSampling in 1, 2 and 3 dimensions."""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.layers.base import LayerSpec, Params, ParamSpec, Shape, ShapeError, Tensor, Window, fmt_int, fmt_shape
from engine.layers.common import prod, require_rank, tuple_text


def _flatten_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    if not shape:
        return (1,)
    return (prod(shape),)


FLATTEN = LayerSpec(
    type="Flatten",
    torch="flatten",
    family="Reshaping",
    doc="Unrolls everything but the batch axis into one vector: (7, 7, 64) -> (3136,). No weights.",
    params=(),
    shape_rule=_flatten_shape,
    keeps_dtype=True,
    receptive="undefined",
    receptive_reason="undefined after Flatten: each value now stands for one position, the spatial layout is gone",
)


def _reshape_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape, target = inputs[0].shape, tuple(p["target_shape"])
    if None in shape:
        return tuple(None if d == -1 else d for d in target)
    size = math.prod(shape)  # type: ignore[arg-type]
    if -1 not in target:
        if math.prod(target) != size:  # type: ignore[arg-type]
            raise ShapeError(
                f"Reshape cannot turn {fmt_shape(shape)} ({fmt_int(size)} values) into {fmt_shape(target)} "
                f"({fmt_int(math.prod(target))} values): the number of values must stay the same.",  # type: ignore[arg-type]
                "Use -1 for one axis to let Keras work it out.",
            )
        return target
    known = math.prod(d for d in target if d != -1)  # type: ignore[misc]
    if size % known:
        raise ShapeError(
            f"Reshape cannot fit {fmt_shape(shape)} ({fmt_int(size)} values) into {fmt_shape(target)}: "
            f"{fmt_int(size)} is not divisible by {fmt_int(known)}.",
            "Choose sizes whose product divides the input size.",
        )
    return tuple(size // known if d == -1 else d for d in target)


RESHAPE = LayerSpec(
    type="Reshape",
    torch="reshape",
    family="Reshaping",
    doc="Rearranges the values into a new shape with the same number of values; -1 means 'whatever fits'.",
    params=(ParamSpec("target_shape", "shape", doc="New shape without the batch axis, e.g. [28, 28, 1].", allow_infer=True, minimum=1),),
    shape_rule=_reshape_shape,
    keeps_dtype=True,
    label_rule=lambda p: fmt_shape(p["target_shape"]),
    receptive="undefined",
    receptive_reason="undefined after Reshape: values are rearranged, positions no longer map to input pixels",
)


def _permute_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape, dims = inputs[0].shape, tuple(p["dims"])
    if sorted(dims) != list(range(1, len(shape) + 1)):
        raise ShapeError(
            f"Permute dims {dims} must be a reordering of 1..{len(shape)} for an input of shape {fmt_shape(shape)}.",
            "Axes are numbered from 1 (the batch axis stays put), e.g. (2, 1) swaps the first two.",
        )
    return tuple(shape[d - 1] for d in dims)


PERMUTE = LayerSpec(
    type="Permute",
    torch="permute",
    family="Reshaping",
    doc="Reorders the axes, e.g. dims (2, 1) turns (steps, features) into (features, steps).",
    params=(ParamSpec("dims", "shape", doc="New order of the axes, counted from 1.", minimum=1),),
    shape_rule=_permute_shape,
    keeps_dtype=True,
    label_rule=lambda p: fmt_shape(p["dims"]),
    receptive="undefined",
    receptive_reason="undefined after Permute: values are rearranged, positions no longer map to input pixels",
)


_WHAT = {1: ("sequences (steps, channels)", "steps"), 2: ("images (height, width, channels)", "pixels"),
         3: ("volumes (depth, height, width, channels)", "voxels")}
_AXIS_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _pads_label(key: str):
    def label(p: Params) -> str:
        pairs = p[key]
        flat = {v for pair in pairs for v in pair}
        if len(flat) == 1:
            return str(next(iter(flat)))
        return ", ".join(f"({a}, {b})" for a, b in pairs)

    return label


def _zero_pad(n: int) -> LayerSpec:
    name = f"ZeroPadding{n}D"

    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(name, shape, (n + 1,), f"{name} pads {_WHAT[n][0]}.")
        return tuple(None if d is None else d + a + b for d, (a, b) in zip(shape[:n], p["padding"])) + (shape[-1],)

    forms = {1: "n or [before, after].", 2: "n, [rows, cols] or [[top, bottom], [left, right]].", 3: "n, or one [before, after] per axis."}[n]
    return LayerSpec(
        type=name,
        torch="zero_padding",
        family="Reshaping",
        doc=f"Adds zeros around {_WHAT[n][0].split(' ')[0]} (what padding='same' does inside a convolution).",
        params=(ParamSpec("padding", "pads", ((1, 1),) * n, forms, length=n),),
        shape_rule=rule,
        keeps_dtype=True,
        label_rule=_pads_label("padding"),
        receptive="keep",
    )


def _crop(n: int) -> LayerSpec:
    name = f"Cropping{n}D"

    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(name, shape, (n + 1,), f"{name} crops {_WHAT[n][0]}.")
        for size, (a, z), axis in zip(shape[:n], p["cropping"], _AXIS_NAMES[n]):
            if size is not None and a + z >= size:
                raise ShapeError(
                    f"{name} removes {a + z} of the {size} {axis} {_WHAT[n][1]}, leaving nothing.",
                    f"Crop less than {size} in total along the {axis}.",
                )
        return tuple(None if d is None else d - a - b for d, (a, b) in zip(shape[:n], p["cropping"])) + (shape[-1],)

    default = ((1, 1),) if n == 1 else ((0, 0),) * 2 if n == 2 else ((1, 1),) * 3
    forms = {1: "n or [start, end].", 2: "n, [rows, cols] or [[top, bottom], [left, right]].", 3: "n, or one [before, after] per axis."}[n]
    return LayerSpec(
        type=name,
        torch="cropping",
        family="Reshaping",
        doc=f"Cuts the edges off {_WHAT[n][0].split(' ')[0]}.",
        params=(ParamSpec("cropping", "pads", default, forms, length=n),),
        shape_rule=rule,
        keeps_dtype=True,
        label_rule=_pads_label("cropping"),
        receptive="keep",
    )


def _upsample(n: int) -> LayerSpec:
    name = f"UpSampling{n}D"

    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(name, shape, (n + 1,), f"{name} enlarges {_WHAT[n][0]}.")
        return tuple(None if d is None else d * f for d, f in zip(shape[:n], p["size"])) + (shape[-1],)

    params: tuple[ParamSpec, ...] = (ParamSpec("size", "ints", (2,) * n, "Factor per axis.", length=n, minimum=1),)
    if n == 2:
        params += (ParamSpec("interpolation", "choice", "nearest", "How new pixels are filled in.", choices=("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")),)
    return LayerSpec(
        type=name,
        torch="upsampling",
        family="Reshaping",
        doc=f"Repeats values to enlarge {_WHAT[n][0].split(' ')[0]}, e.g. size 2 doubles every axis. No weights.",
        params=params,
        shape_rule=rule,
        label_rule=lambda p: "x" + tuple_text(p["size"]),
        window_rule=lambda p: Window((1,) * len(p["size"]), tuple(p["size"]), (1,) * len(p["size"]), "valid"),
        receptive="upsample",
    )


SPECS = (
    FLATTEN, RESHAPE, PERMUTE,
    _zero_pad(1), _zero_pad(2), _zero_pad(3), _crop(1), _crop(2), _crop(3), _upsample(1), _upsample(2), _upsample(3),
)

__all__ = ["SPECS"]
