"""Normalization: BatchNormalization and LayerNormalization."""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import LayerSpec, ParamCount, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_int
from engine.layers.common import canonical_axis

_AXIS = ParamSpec("axis", "int", -1, "Axis of the features to normalise; -1 is the channel axis.")
_EPSILON = ParamSpec("epsilon", "float", 1e-3, "Small constant that avoids dividing by zero.", minimum=0, advanced=True)
_CENTER = ParamSpec("center", "bool", True, "Learn an offset (beta).")
_SCALE = ParamSpec("scale", "bool", True, "Learn a scale (gamma).")


def _norm_shape(layer: str):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        if not shape:
            raise ShapeError(f"{layer} needs at least one feature axis, but its input is a scalar per sample.", "Reshape the input first.")
        axis = canonical_axis(layer, p["axis"], len(shape) + 1)
        if shape[axis] is None:
            raise ShapeError(f"{layer} needs to know the size of axis {p['axis']} to create its weights, but it is None.", "Give the Input a fixed size on that axis.")
        return shape

    return rule


def _features(p: Params, shape: Shape) -> int:
    size = shape[canonical_axis("", p["axis"], len(shape) + 1)]
    assert size is not None
    return size


def _bn_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    c = _features(p, inputs[0])
    learned = int(p["center"]) + int(p["scale"])
    trainable, fixed = learned * c, 2 * c
    names = [n for n, on in (("gamma", p["scale"]), ("beta", p["center"])) if on] + ["moving mean", "moving variance"]
    text = f"{learned + 2} * {c} = {fmt_int(trainable + fixed)} ({' + '.join(names)}; {fmt_int(fixed)} non-trainable)"
    return ParamCount(trainable, fixed, text)


def _ln_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    c = _features(p, inputs[0])
    learned = int(p["center"]) + int(p["scale"])
    total = learned * c
    return ParamCount(total, 0, f"{learned} * {c} = {fmt_int(total)} (gamma and beta per feature)" if learned == 2 else f"{learned} * {c} = {fmt_int(total)}")


BATCH_NORMALIZATION = LayerSpec(
    type="BatchNormalization",
    family="Normalization",
    doc="Normalises each channel with the batch's mean and variance; keeps running averages for inference (non-trainable).",
    params=(_AXIS, ParamSpec("momentum", "float", 0.99, "How slowly the moving averages follow the batches.", minimum=0, maximum=1, advanced=True), _EPSILON, _CENTER, _SCALE),
    shape_rule=_norm_shape("BatchNormalization"),
    count_rule=_bn_count,
)

LAYER_NORMALIZATION = LayerSpec(
    type="LayerNormalization",
    family="Normalization",
    doc="Normalises each sample over its features (as in Transformers); no running statistics.",
    params=(_AXIS, _EPSILON, _CENTER, _SCALE),
    shape_rule=_norm_shape("LayerNormalization"),
    count_rule=_ln_count,
)

SPECS = (BATCH_NORMALIZATION, LAYER_NORMALIZATION)

__all__ = ["SPECS"]
