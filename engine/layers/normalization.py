"""Normalization: BatchNormalization, LayerNormalization, GroupNormalization and UnitNormalization."""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.layers.base import LayerSpec, ParamCount, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_int
from engine.layers.common import canonical_axis

_AXIS = ParamSpec("axis", "int", -1, "Axis of the features to normalise; -1 is the channel axis.")
_AXES = ParamSpec("axis", "axes", -1, "Axis or axes to normalise over; -1 is the last axis, [1, 2, 3] a whole image.")
_EPSILON = ParamSpec("epsilon", "float", 1e-3, "Small constant that avoids dividing by zero.", minimum=0, advanced=True)
_CENTER = ParamSpec("center", "bool", True, "Learn an offset (beta).")
_SCALE = ParamSpec("scale", "bool", True, "Learn a scale (gamma).")


def axes_of(layer: str, axis: int | Sequence[int], shape: Shape) -> list[int]:
    """Indices into the batch-less ``shape`` of ``axis`` (an int or a list; Keras counts the batch as 0)."""
    if isinstance(axis, int):
        return [canonical_axis(layer, axis, len(shape) + 1)]
    axes = list(axis)
    return sorted({canonical_axis(layer, a, len(shape) + 1) for a in axes})


def _norm_shape(layer: str):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        if not shape:
            raise ShapeError(f"{layer} needs at least one feature axis, but its input is a scalar per sample.", "Reshape the input first.")
        for axis in axes_of(layer, p["axis"], shape):
            if shape[axis] is None:
                raise ShapeError(f"{layer} needs to know the size of axis {axis + 1} to create its weights, but it is None.", "Give the Input a fixed size on that axis.")
        return shape

    return rule


def _features(layer: str, p: Params, shape: Shape) -> tuple[int, str]:
    sizes = [shape[a] or 1 for a in axes_of(layer, p["axis"], shape)]
    return math.prod(sizes), "*".join(map(str, sizes))


def _bn_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    c, _ = _features("BatchNormalization", p, inputs[0])
    learned = int(p["center"]) + int(p["scale"])
    trainable, fixed = learned * c, 2 * c
    names = [n for n, on in (("gamma", p["scale"]), ("beta", p["center"])) if on] + ["moving mean", "moving variance"]
    text = f"{learned + 2} * {c} = {fmt_int(trainable + fixed)} ({' + '.join(names)}; {fmt_int(fixed)} non-trainable)"
    return ParamCount(trainable, fixed, text)


def _affine_count(layer: str):
    def rule(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
        c, c_text = _features(layer, p, inputs[0])
        learned = int(p["center"]) + int(p["scale"])
        total = learned * c
        what = " (gamma and beta per feature)" if learned == 2 else ""
        return ParamCount(total, 0, f"{learned} * {c_text} = {fmt_int(total)}{what}")

    return rule


def _per_value_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    n = math.prod(d or 1 for d in out)
    return n, f"one multiply-add per value ({fmt_int(n)}) at inference"


BATCH_NORMALIZATION = LayerSpec(
    type="BatchNormalization",
    torch="batch_norm",
    family="Normalization",
    doc="Normalises each channel with the batch's mean and variance; keeps running averages for inference (non-trainable).",
    params=(_AXIS, ParamSpec("momentum", "float", 0.99, "How slowly the moving averages follow the batches.", minimum=0, maximum=1, advanced=True), _EPSILON, _CENTER, _SCALE),
    shape_rule=_norm_shape("BatchNormalization"),
    count_rule=_bn_count,
    macs_rule=_per_value_macs,
    receptive="keep",
)

LAYER_NORMALIZATION = LayerSpec(
    type="LayerNormalization",
    torch="layer_norm",
    family="Normalization",
    doc="Normalises each sample over its features (as in Transformers); no running statistics.",
    params=(_AXES, _EPSILON, _CENTER, _SCALE),
    shape_rule=_norm_shape("LayerNormalization"),
    count_rule=_affine_count("LayerNormalization"),
    macs_rule=_per_value_macs,
    receptive="keep",
)


def _group_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = _norm_shape("GroupNormalization")(p, inputs)
    channels = shape[axes_of("GroupNormalization", p["axis"], shape)[0]]
    assert channels is not None
    if p["groups"] > channels:
        raise ShapeError(f"GroupNormalization: {p['groups']} groups is more than the {channels} channels.", "Use at most as many groups as channels.")
    if channels % p["groups"]:
        raise ShapeError(f"GroupNormalization: {channels} channels cannot be split into {p['groups']} equal groups.",
                         f"Use a number of groups that divides {channels} (e.g. {math.gcd(channels, p['groups'])}).")
    return shape


GROUP_NORMALIZATION = LayerSpec(
    type="GroupNormalization",
    torch="group_norm",
    family="Normalization",
    doc="Normalises groups of channels within each sample: batch-size independent, between LayerNormalization (1 group) and InstanceNormalization (1 channel per group).",
    params=(
        ParamSpec("groups", "int", 32, "Number of channel groups; must divide the channels.", minimum=1),
        _AXIS, _EPSILON, _CENTER, _SCALE,
    ),
    shape_rule=_group_shape,
    count_rule=_affine_count("GroupNormalization"),
    macs_rule=_per_value_macs,
    receptive="keep",
    label_rule=lambda p: f"{p['groups']} groups",
)

def _unit_axes(p: Params, shape: Shape) -> list[int]:
    rank = len(shape) + 1
    axes = [p["axis"]] if isinstance(p["axis"], int) else list(p["axis"])
    for a in axes:
        if not -rank <= a < rank:
            raise ShapeError(f"UnitNormalization: axis {a} does not exist for an input of rank {rank} (batch included).",
                             f"Use an axis between {-rank + 1} and {rank - 1}; -1 is the last axis.")
    return [a % rank for a in axes]


def _unit_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    _unit_axes(p, inputs[0].shape)
    return inputs[0].shape


def _unit_warn(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
    if 0 in _unit_axes(p, inputs[0].shape):
        return [("UnitNormalization over axis 0 normalises across the samples of a batch; Keras allows it, but it is almost never meant.",
                 "Use axis=-1 to normalise each sample's features.")]
    return []


UNIT_NORMALIZATION = LayerSpec(
    type="UnitNormalization",
    torch="unit_norm",
    family="Normalization",
    doc="Scales each sample to length 1 along the axis (L2 normalisation), e.g. before a cosine similarity. No weights.",
    params=(ParamSpec("axis", "axes", -1, "Axis or axes whose L2 norm becomes 1."),),
    shape_rule=_unit_shape,
    warn_rule=_unit_warn,
    warn_code="axis",
    macs_rule=_per_value_macs,
    receptive="keep",
)

SPECS = (BATCH_NORMALIZATION, LAYER_NORMALIZATION, GROUP_NORMALIZATION, UNIT_NORMALIZATION)

__all__ = ["SPECS", "axes_of"]
