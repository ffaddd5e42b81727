"""Core layers: Input, Dense, activations, dropout and Embedding."""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import (
    LayerSpec,
    ParamCount,
    Params,
    ParamSpec,
    Shape,
    ShapeError,
    Tensor,
    fmt_int,
    fmt_shape,
)
from engine.layers.common import ACTIVATIONS, activation_param, require_known, require_rank, use_bias_param

DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int64", "uint8", "bool")
INT_DTYPES = ("int32", "int64", "uint8")


def _input_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    return tuple(p["shape"])


INPUT = LayerSpec(
    type="Input",
    family="Core",
    doc="Where data enters the network. Its shape excludes the batch axis: 28x28 grey images are (28, 28, 1).",
    params=(
        ParamSpec("shape", "shape", (28, 28, 1), "Shape of one sample, without the batch axis; null = any size.", allow_none=True, minimum=1),
        ParamSpec("dtype", "choice", "float32", "Type of the values: float32 for images and features, int32 for token ids.", choices=DTYPES),
    ),
    shape_rule=_input_shape,
    min_inputs=0,
    max_inputs=0,
    dtype_rule=lambda p, inputs: p["dtype"],
    label_rule=lambda p: fmt_shape(p["shape"]) + ("" if p["dtype"] == "float32" else f" {p['dtype']}"),
)


def _dense_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    if len(shape) == 0:
        raise ShapeError("Dense needs at least one axis to act on, but its input is a scalar per sample.", "Add a Reshape((1,)) before it.")
    require_known("Dense", shape, -1, "last axis (the features it connects to)")
    return shape[:-1] + (p["units"],)


def _dense_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    n_in, units = inputs[0][-1], p["units"]
    assert n_in is not None
    if p["use_bias"]:
        total = (n_in + 1) * units
        return ParamCount(total, 0, f"({n_in} inputs + 1 bias) * {units} units = {fmt_int(total)}")
    total = n_in * units
    return ParamCount(total, 0, f"{n_in} inputs * {units} units = {fmt_int(total)} (no bias)")


def _units_label(p: Params) -> str:
    act = p.get("activation")
    return f"{p['units']}" + (f", {act}" if act not in (None, "linear") else "")


DENSE = LayerSpec(
    type="Dense",
    family="Core",
    doc="Fully connected: every output unit sees every value of the LAST axis. On (4, 2) it maps each of the 4 rows.",
    params=(
        ParamSpec("units", "int", doc="Number of output units (size of the new last axis).", minimum=1),
        activation_param(),
        use_bias_param(),
    ),
    shape_rule=_dense_shape,
    count_rule=_dense_count,
    label_rule=_units_label,
)


ACTIVATION = LayerSpec(
    type="Activation",
    family="Activation",
    doc="Applies an activation function element-wise; no weights, shape unchanged.",
    params=(ParamSpec("activation", "choice", doc="Function applied element-wise (Keras requires it).", choices=ACTIVATIONS),),
    shape_rule=lambda p, inputs: inputs[0].shape,
    label_rule=lambda p: str(p["activation"] or "linear"),
)

RELU = LayerSpec(
    type="ReLU",
    family="Activation",
    doc="max(x, 0), optionally capped (max_value=6 gives ReLU6, as in MobileNet).",
    params=(
        ParamSpec("max_value", "float", None, "Upper cap; empty for none.", minimum=0, optional=True),
        ParamSpec("negative_slope", "float", 0.0, "Slope for x < threshold.", minimum=0),
        ParamSpec("threshold", "float", 0.0, "Values below it are damped.", advanced=True),
    ),
    shape_rule=lambda p, inputs: inputs[0].shape,
    label_rule=lambda p: "" if p["max_value"] is None else f"max {p['max_value']:g}",
)

LEAKY_RELU = LayerSpec(
    type="LeakyReLU",
    family="Activation",
    doc="Like ReLU but lets a small slope through for negative inputs.",
    params=(ParamSpec("negative_slope", "float", 0.3, "Slope for x < 0.", minimum=0),),
    shape_rule=lambda p, inputs: inputs[0].shape,
    label_rule=lambda p: f"slope {p['negative_slope']:g}",
)


def _softmax_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    return inputs[0].shape  # Keras builds any axis; a wrong one fails only when the model runs (warned below)


def _softmax_warn(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
    shape = inputs[0].shape
    axis, rank = p["axis"], len(shape) + 1
    if not -rank <= axis < rank:
        return [(f"Softmax: axis {axis} does not exist for an input of shape {fmt_shape(shape)}; Keras builds the model "
                 "but it will fail as soon as it runs.", "Use axis=-1 (the last axis).")]
    if axis % rank == 0:
        return [("Softmax over the batch axis (axis 0) mixes different samples; Keras allows it, but it is almost never meant.",
                 "Use axis=-1 to turn each sample's scores into probabilities.")]
    return []


SOFTMAX = LayerSpec(
    type="Softmax",
    family="Activation",
    doc="Turns scores into probabilities that sum to 1 along an axis.",
    params=(ParamSpec("axis", "int", -1, "Axis to normalise (Keras counts the batch as 0; -1 is the last)."),),
    shape_rule=_softmax_shape,
    warn_rule=_softmax_warn,
    warn_code="axis",
)


def _rate_label(p: Params) -> str:
    return f"{p['rate']:g}"


_RATE = ParamSpec("rate", "float", doc="Fraction of the inputs set to zero during training.", minimum=0, maximum=1, exclusive_max=True)
_SEED = ParamSpec("seed", "int", None, "Random seed, for reproducible runs.", minimum=0, optional=True, advanced=True)

DROPOUT = LayerSpec(
    type="Dropout",
    family="Regularization",
    doc="Randomly zeroes a fraction of values while training; does nothing at inference. No weights.",
    params=(_RATE, _SEED),
    shape_rule=lambda p, inputs: inputs[0].shape,
    keeps_dtype=True,
    label_rule=_rate_label,
)


def _spatial_dropout(rank: int, name: str, what: str) -> LayerSpec:
    def shape_rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        require_rank(name, inputs[0].shape, (rank,), "Use plain Dropout for other shapes.")
        return inputs[0].shape

    return LayerSpec(
        type=name,
        family="Regularization",
        doc=f"Drops whole {what} instead of single values (better for correlated neighbours).",
        params=(_RATE, _SEED),
        shape_rule=shape_rule,
        keeps_dtype=True,
        label_rule=_rate_label,
    )


SPATIAL_DROPOUT_1D = _spatial_dropout(2, "SpatialDropout1D", "feature channels of a sequence")
SPATIAL_DROPOUT_2D = _spatial_dropout(3, "SpatialDropout2D", "feature maps of an image")


def _embedding_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    return inputs[0].shape + (p["output_dim"],)


def _embedding_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    total = p["input_dim"] * p["output_dim"]
    return ParamCount(total, 0, f"{p['input_dim']} tokens * {p['output_dim']} dims = {fmt_int(total)}")


def _embedding_warn(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
    dtype = inputs[0].dtype
    if dtype in INT_DTYPES:
        return []
    return [(
        f"Embedding looks up integer token ids, but it receives {dtype} values; Keras will truncate them to integers.",
        "Feed it from an Input with dtype int32 holding token ids (0 to input_dim - 1).",
    )]


EMBEDDING = LayerSpec(
    type="Embedding",
    family="Core",
    doc="Looks up a learned vector for each integer token id: (steps,) ids -> (steps, output_dim).",
    params=(
        ParamSpec("input_dim", "int", doc="Vocabulary size: token ids run from 0 to input_dim - 1.", minimum=1),
        ParamSpec("output_dim", "int", doc="Length of each token's vector.", minimum=1),
        ParamSpec("mask_zero", "bool", False, "Treat id 0 as padding that later layers skip."),
    ),
    shape_rule=_embedding_shape,
    count_rule=_embedding_count,
    warn_rule=_embedding_warn,
    warn_code="dtype",
    label_rule=lambda p: f"{p['input_dim']} -> {p['output_dim']}",
)

SPECS = (INPUT, DENSE, EMBEDDING, ACTIVATION, RELU, LEAKY_RELU, SOFTMAX, DROPOUT, SPATIAL_DROPOUT_1D, SPATIAL_DROPOUT_2D)

__all__ = ["SPECS", "DTYPES"]
