"""Layers that ``keras.applications`` registers for itself, known by their registered names.

They are not in ``keras.layers``: exported code imports them from ``keras.src.applications`` (Keras
saves them under that module), e.g. ``from keras.src.applications.convnext import LayerScale``.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import LayerSpec, ParamCount, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_int, fmt_shape
from engine.layers.merge import broadcast_merge


def _layer_scale_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    try:  # the layer computes inputs * gamma, gamma of shape (projection_dim,): numpy broadcasting
        return broadcast_merge("LayerScale", [shape, (p["projection_dim"],)])
    except ShapeError:
        raise ShapeError(f"LayerScale multiplies the last axis by {p['projection_dim']} learned factors, but the input is {fmt_shape(shape)}.",
                         f"Set projection_dim to the input's channels ({shape[-1] if shape else '?'}).") from None


LAYER_SCALE = LayerSpec(
    type="LayerScale",
    torch="layer_scale",
    family="Normalization",
    doc="ConvNeXt's per-channel learned scale on a residual branch (starts tiny, init_values), so deep stacks train stably.",
    params=(
        ParamSpec("init_values", "float", doc="Starting value of every scale factor."),
        ParamSpec("projection_dim", "int", doc="Number of channels (one factor each).", minimum=1),
    ),
    shape_rule=_layer_scale_shape,
    count_rule=lambda p, inputs, out: ParamCount(p["projection_dim"], 0, f"one factor per channel = {fmt_int(p['projection_dim'])}"),
    macs_rule=lambda p, inputs, out: (0, "one multiply per value, no additions"),
    receptive="keep",
    keras_module="keras.src.applications.convnext",
    label_rule=lambda p: f"{p['projection_dim']} x {p['init_values']:g}",
)

def _custom_scale_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    residual = inputs[1].dtype if len(inputs) > 1 else "float32"
    if not residual.startswith(("float", "bfloat")):
        # Its call computes inputs[0] + inputs[1] * scale: TensorFlow refuses a Python float times an integer tensor.
        raise ShapeError(f"CustomScaleLayer multiplies input 2 by {p['scale']:g}, which needs floating-point values, but it is {residual}.",
                         "Cast input 2 to float32 first.")
    return broadcast_merge("CustomScaleLayer", [t.shape for t in inputs])


CUSTOM_SCALE_LAYER = LayerSpec(
    type="CustomScaleLayer",
    torch="custom_scale",
    family="Merge",
    doc="InceptionResNetV2's residual sum: input 1 + scale * input 2 (scale about 0.1-0.2 keeps the sum stable). No weights.",
    params=(ParamSpec("scale", "float", doc="Factor applied to the residual branch (input 2)."),),
    shape_rule=lambda p, inputs: _custom_scale_shape(p, inputs),
    min_inputs=2,
    max_inputs=2,
    receptive="keep",
    keras_module="keras.src.applications.inception_resnet_v2",
    merge_kind="sum",
    label_rule=lambda p: f"a + {p['scale']:g} b",
)

SPECS = (LAYER_SCALE, CUSTOM_SCALE_LAYER)

__all__ = ["SPECS"]
