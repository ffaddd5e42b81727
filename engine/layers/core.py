"""Core layers: Input, Dense, Embedding, activations, dropout and noise, and the small helpers (Masking, RepeatVector, Identity)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.layers.base import (
    LayerSpec,
    ParamCount,
    Params,
    ParamSpec,
    Shape,
    ShapeError,
    Tensor,
    fmt_count,
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
    torch="input",
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
    receptive="keep",
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
        return ParamCount(total, 0, f"({fmt_count(n_in, 'input')} + 1 bias) * {fmt_count(units, 'unit')} = {fmt_int(total)}")
    total = n_in * units
    return ParamCount(total, 0, f"{fmt_count(n_in, 'input')} * {fmt_count(units, 'unit')} = {fmt_int(total)} (no bias)")


def _dense_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    positions = math.prod(d or 1 for d in out[:-1])
    n_in = inputs[0][-1] or 1
    macs = positions * n_in * p["units"]
    where = f"{fmt_count(positions, 'position')} * " if positions > 1 else ""
    return macs, f"{where}{fmt_count(n_in, 'input')} * {fmt_count(p['units'], 'unit')} = {fmt_int(macs)}"


def _units_label(p: Params) -> str:
    act = p.get("activation")
    return f"{p['units']}" + (f", {act}" if act not in (None, "linear") else "")


DENSE = LayerSpec(
    type="Dense",
    torch="dense",
    family="Core",
    doc="Fully connected: every output unit sees every value of the LAST axis. On (4, 2) it maps each of the 4 rows.",
    params=(
        ParamSpec("units", "int", doc="Number of output units (size of the new last axis).", minimum=1),
        activation_param(),
        use_bias_param(),
    ),
    shape_rule=_dense_shape,
    count_rule=_dense_count,
    macs_rule=_dense_macs,
    receptive="keep",
    label_rule=_units_label,
)


ACTIVATION = LayerSpec(
    type="Activation",
    torch="activation",
    family="Activation",
    doc="Applies an activation function element-wise; no weights, shape unchanged.",
    params=(ParamSpec("activation", "choice", doc="Function applied element-wise (Keras requires it).", choices=ACTIVATIONS),),
    shape_rule=lambda p, inputs: inputs[0].shape,
    label_rule=lambda p: str(p["activation"] or "linear"),
    receptive="keep",
)

RELU = LayerSpec(
    type="ReLU",
    torch="relu",
    family="Activation",
    doc="max(x, 0), optionally capped (max_value=6 gives ReLU6, as in MobileNet).",
    params=(
        ParamSpec("max_value", "float", None, "Upper cap; empty for none.", minimum=0, optional=True),
        ParamSpec("negative_slope", "float", 0.0, "Slope for x < threshold.", minimum=0),
        ParamSpec("threshold", "float", 0.0, "Values below it are damped.", advanced=True),
    ),
    shape_rule=lambda p, inputs: inputs[0].shape,
    label_rule=lambda p: "" if p["max_value"] is None else f"max {p['max_value']:g}",
    output_activation=lambda p: "relu",
    receptive="keep",
)

LEAKY_RELU = LayerSpec(
    type="LeakyReLU",
    torch="leaky_relu",
    family="Activation",
    doc="Like ReLU but lets a small slope through for negative inputs.",
    params=(ParamSpec("negative_slope", "float", 0.3, "Slope for x < 0.", minimum=0),),
    import_aliases={"alpha": "negative_slope"},
    shape_rule=lambda p, inputs: inputs[0].shape,
    label_rule=lambda p: f"slope {p['negative_slope']:g}",
    output_activation=lambda p: "leaky_relu",
    receptive="keep",
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
    torch="softmax",
    family="Activation",
    doc="Turns scores into probabilities that sum to 1 along an axis.",
    params=(ParamSpec("axis", "int", -1, "Axis to normalise (Keras counts the batch as 0; -1 is the last)."),),
    shape_rule=_softmax_shape,
    warn_rule=_softmax_warn,
    warn_code="axis",
    output_activation=lambda p: "softmax",
    receptive="keep",
)


def _rate_label(p: Params) -> str:
    return f"{p['rate']:g}"


_RATE = ParamSpec("rate", "float", doc="Fraction of the inputs set to zero during training.", minimum=0, maximum=1, exclusive_max=True)
_SEED = ParamSpec("seed", "int", None, "Random seed, for reproducible runs.", minimum=0, optional=True, advanced=True)

DROPOUT = LayerSpec(
    type="Dropout",
    torch="dropout",
    family="Regularization",
    doc="Randomly zeroes a fraction of values while training; does nothing at inference. No weights.",
    params=(_RATE, _SEED),
    shape_rule=lambda p, inputs: inputs[0].shape,
    keeps_dtype=True,
    label_rule=_rate_label,
    receptive="keep",
)


def _spatial_dropout(rank: int, name: str, what: str) -> LayerSpec:
    def shape_rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        require_rank(name, inputs[0].shape, (rank,), "Use plain Dropout for other shapes.")
        return inputs[0].shape

    return LayerSpec(
        type=name,
        torch="identity",
        family="Regularization",
        doc=f"Drops whole {what} instead of single values (better for correlated neighbours).",
        params=(_RATE, _SEED),
        shape_rule=shape_rule,
        keeps_dtype=True,
        label_rule=_rate_label,
        receptive="keep",
    )


SPATIAL_DROPOUT_1D = _spatial_dropout(2, "SpatialDropout1D", "feature channels of a sequence")
SPATIAL_DROPOUT_2D = _spatial_dropout(3, "SpatialDropout2D", "feature maps of an image")
SPATIAL_DROPOUT_3D = _spatial_dropout(4, "SpatialDropout3D", "feature volumes of a 3-D input")


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
    torch="embedding",
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
    macs_rule=lambda p, inputs, out: (0, "a table look-up: no multiply-adds"),
    receptive="undefined",
    receptive_reason="undefined for token ids: positions are steps of a sequence, not pixels",
)


def _same(p: Params, inputs: Sequence[Tensor]) -> Shape:
    return inputs[0].shape


def _elementwise(name: str, family: str, doc: str, params: tuple[ParamSpec, ...] = (), **extra) -> LayerSpec:  # noqa: ANN003
    """A layer that keeps its input's shape and owns no weights."""
    return LayerSpec(type=name, family=family, doc=doc, params=params, shape_rule=_same, receptive="keep", **extra)


def _prelu_param_shape(p: Params, shape: Shape) -> tuple[int | None, ...]:
    shared = p["shared_axes"] or ()
    return tuple(1 if i + 1 in shared else d for i, d in enumerate(shape))


def _prelu_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    for axis in p["shared_axes"] or ():
        if not 1 <= axis <= len(shape):
            raise ShapeError(f"PReLU: shared axis {axis} does not exist for an input of shape {fmt_shape(shape)}.",
                             f"Shared axes count from 1 (the batch axis is 0) up to {len(shape)}.")
    if None in _prelu_param_shape(p, shape):
        raise ShapeError(f"PReLU learns one slope per value, so it needs every axis it does not share to be known; {fmt_shape(shape)} has None.",
                         "Share the unknown axes (shared_axes=[1, 2] shares height and width), or fix the Input's size.")
    return shape


def _prelu_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    dims = _prelu_param_shape(p, inputs[0])
    total = math.prod(d or 1 for d in dims)
    return ParamCount(total, 0, f"one slope per {'x'.join(str(d) for d in dims)} = {fmt_int(total)}" if dims else "one slope = 1")


PRELU = LayerSpec(
    type="PReLU",
    torch="prelu",
    family="Activation",
    doc="Like LeakyReLU, but the negative slope is learned: one per value, or one per channel with shared_axes=[1, 2].",
    params=(ParamSpec("shared_axes", "shape", None, "Axes that share one slope, counted from 1 (e.g. [1, 2] for height and width).", optional=True, minimum=1),),
    shape_rule=_prelu_shape,
    count_rule=_prelu_count,
    macs_rule=lambda p, inputs, out: (math.prod(d or 1 for d in out), f"one multiply per value ({fmt_int(math.prod(d or 1 for d in out))})"),
    output_activation=lambda p: "prelu",
    receptive="keep",
)

ELU = _elementwise(
    "ELU", "Activation", "x for x > 0, alpha * (exp(x) - 1) below: smooth where ReLU has a corner.",
    (ParamSpec("alpha", "float", 1.0, "Scale of the negative part."),), output_activation=lambda p: "elu", torch="elu",
    label_rule=lambda p: "" if p["alpha"] == 1.0 else f"alpha {p['alpha']:g}",
)
_STDDEV = ParamSpec("stddev", "float", doc="Standard deviation of the noise added while training.", minimum=0)
GAUSSIAN_NOISE = _elementwise(
    "GaussianNoise", "Regularization", "Adds random normal noise while training (a regulariser, and data augmentation); nothing at inference.",
    (_STDDEV, _SEED), keeps_dtype=True, label_rule=lambda p: f"sd {p['stddev']:g}", torch="identity",
)
GAUSSIAN_DROPOUT = _elementwise(
    "GaussianDropout", "Regularization", "Multiplies values by noise around 1 while training (dropout without zeros).",
    (_RATE, _SEED), keeps_dtype=True, label_rule=_rate_label, torch="identity",
)
ALPHA_DROPOUT = _elementwise(
    "AlphaDropout", "Regularization", "Dropout that keeps the mean and variance, for self-normalising (selu) networks.",
    (_RATE, ParamSpec("noise_shape", "shape", None, "Shape of the dropout mask (with the batch axis); empty for the input's.", optional=True, allow_none=True, advanced=True), _SEED),
    keeps_dtype=True, label_rule=_rate_label, torch="identity",
)
ACTIVITY_REGULARIZATION = _elementwise(
    "ActivityRegularization", "Regularization", "Adds l1 * sum|x| + l2 * sum x^2 of the values passing through to the loss; the values are unchanged.",
    (ParamSpec("l1", "float", 0.0, "Weight of the L1 penalty.", minimum=0), ParamSpec("l2", "float", 0.0, "Weight of the L2 penalty.", minimum=0)),
    keeps_dtype=True, label_rule=lambda p: ", ".join(f"{k} {p[k]:g}" for k in ("l1", "l2") if p[k]), torch="identity",
)
MASKING = _elementwise(
    "Masking", "Core", "Marks time steps whose values all equal mask_value as padding, so recurrent layers skip them.",
    (ParamSpec("mask_value", "float", 0.0, "Steps made only of this value are skipped."),),
    keeps_dtype=True, label_rule=lambda p: f"mask {p['mask_value']:g}",
    export_limits=lambda p: {"torch": "PyTorch's layers take no Keras masks; remove the layer (padding steps are then read as data), "
                                      "or export to ONNX, LiteRT or a SavedModel."},
)
IDENTITY = _elementwise("Identity", "Core", "Passes its input through unchanged (a placeholder, e.g. an empty shortcut).", keeps_dtype=True,
                         torch="identity")


def _repeat_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    shape = inputs[0].shape
    require_rank("RepeatVector", shape, (1,), "RepeatVector repeats a vector (features,); Flatten or pool first.")
    return (p["n"],) + shape


REPEAT_VECTOR = LayerSpec(
    type="RepeatVector",
    torch="repeat_vector",
    family="Reshaping",
    doc="Repeats a vector n times: (features,) -> (n, features), e.g. to feed an encoder's summary to a decoder at every step.",
    params=(ParamSpec("n", "int", doc="How many times to repeat.", minimum=1),),
    shape_rule=_repeat_shape,
    keeps_dtype=True,
    label_rule=lambda p: f"x{p['n']}",
    receptive="undefined",
    receptive_reason="undefined after RepeatVector: the copies do not map to input pixels",
)

SPECS = (
    INPUT, DENSE, EMBEDDING, MASKING, IDENTITY,
    ACTIVATION, RELU, LEAKY_RELU, PRELU, ELU, SOFTMAX,
    DROPOUT, SPATIAL_DROPOUT_1D, SPATIAL_DROPOUT_2D, SPATIAL_DROPOUT_3D, GAUSSIAN_NOISE, GAUSSIAN_DROPOUT, ALPHA_DROPOUT,
    ACTIVITY_REGULARIZATION, REPEAT_VECTOR,
)

__all__ = ["SPECS", "DTYPES"]
