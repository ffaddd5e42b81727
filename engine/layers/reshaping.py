"""Reshaping: Flatten, Reshape, Permute, ZeroPadding2D, Cropping2D, UpSampling2D."""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.layers.base import LayerSpec, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_int, fmt_shape
from engine.layers.common import prod, require_rank, tuple_text


def _flatten_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    if not shape:
        return (1,)
    return (prod(shape),)


FLATTEN = LayerSpec(
    type="Flatten",
    family="Reshaping",
    doc="Unrolls everything but the batch axis into one vector: (7, 7, 64) -> (3136,). No weights.",
    params=(),
    shape_rule=_flatten_shape,
    keeps_dtype=True,
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
    family="Reshaping",
    doc="Rearranges the values into a new shape with the same number of values; -1 means 'whatever fits'.",
    params=(ParamSpec("target_shape", "shape", doc="New shape without the batch axis, e.g. [28, 28, 1].", allow_infer=True, minimum=1),),
    shape_rule=_reshape_shape,
    keeps_dtype=True,
    label_rule=lambda p: fmt_shape(p["target_shape"]),
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
    family="Reshaping",
    doc="Reorders the axes, e.g. dims (2, 1) turns (steps, features) into (features, steps).",
    params=(ParamSpec("dims", "shape", doc="New order of the axes, counted from 1.", minimum=1),),
    shape_rule=_permute_shape,
    keeps_dtype=True,
    label_rule=lambda p: fmt_shape(p["dims"]),
)


def _zero_pad_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    require_rank("ZeroPadding2D", shape, (3,), "ZeroPadding2D pads images (height, width, channels).")
    (t, b), (left, r) = p["padding"]
    h, w, c = shape
    return (None if h is None else h + t + b, None if w is None else w + left + r, c)


def _pad_label(key: str):
    def label(p: Params) -> str:
        (t, b), (left, r) = p[key]
        if t == b == left == r:
            return str(t)
        return f"({t}, {b}), ({left}, {r})"

    return label


ZERO_PADDING_2D = LayerSpec(
    type="ZeroPadding2D",
    family="Reshaping",
    doc="Adds rows and columns of zeros around an image (what padding='same' does inside a Conv2D).",
    params=(ParamSpec("padding", "padding2d", ((1, 1), (1, 1)), "n, [rows, cols] or [[top, bottom], [left, right]]."),),
    shape_rule=_zero_pad_shape,
    keeps_dtype=True,
    label_rule=_pad_label("padding"),
)


def _crop_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    require_rank("Cropping2D", shape, (3,), "Cropping2D crops images (height, width, channels).")
    (t, b), (left, r) = p["cropping"]
    h, w, c = shape
    for size, a, z, axis in ((h, t, b, "height"), (w, left, r, "width")):
        if size is not None and a + z >= size:
            raise ShapeError(
                f"Cropping2D removes {a + z} of the {size} {axis} pixels, leaving nothing.",
                f"Crop less than {size} in total along the {axis}.",
            )
    return (None if h is None else h - t - b, None if w is None else w - left - r, c)


CROPPING_2D = LayerSpec(
    type="Cropping2D",
    family="Reshaping",
    doc="Cuts rows and columns off the edges of an image.",
    params=(ParamSpec("cropping", "padding2d", ((0, 0), (0, 0)), "n, [rows, cols] or [[top, bottom], [left, right]]."),),
    shape_rule=_crop_shape,
    keeps_dtype=True,
    label_rule=_pad_label("cropping"),
)


def _upsample_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    require_rank("UpSampling2D", shape, (3,), "UpSampling2D enlarges images (height, width, channels).")
    (sh, sw), (h, w, c) = p["size"], shape
    return (None if h is None else h * sh, None if w is None else w * sw, c)


UPSAMPLING_2D = LayerSpec(
    type="UpSampling2D",
    family="Reshaping",
    doc="Repeats rows and columns to enlarge an image, e.g. size 2 doubles height and width. No weights.",
    params=(
        ParamSpec("size", "ints", (2, 2), "Factor for height and width.", length=2, minimum=1),
        ParamSpec("interpolation", "choice", "nearest", "How new pixels are filled in.", choices=("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")),
    ),
    shape_rule=_upsample_shape,
    label_rule=lambda p: "x" + tuple_text(p["size"]),
)

SPECS = (FLATTEN, RESHAPE, PERMUTE, ZERO_PADDING_2D, CROPPING_2D, UPSAMPLING_2D)

__all__ = ["SPECS"]
