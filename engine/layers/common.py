"""Shared parameter specs and shape arithmetic, mirroring ``keras/src/ops/operation_utils.py``.

Every function here is pure, accepts ``None`` dimensions and raises `ShapeError` with a message a
student understands when Keras would refuse the input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.layers.base import ParamSpec, Shape, ShapeError, Tensor, fmt_shape, rank_phrase

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_EXPORT_LIMITS",
    "activation_param",
    "use_bias_param",
    "padding_param",
    "require_rank",
    "require_known",
    "conv_length",
    "pool_length",
    "transpose_length",
    "tuple_text",
    "canonical_axis",
]

#: Activation names Keras 3 resolves with ``keras.activations.get``.
ACTIVATIONS: tuple[str, ...] = (
    "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "swish", "silu",
    "softplus", "softsign", "relu6", "leaky_relu", "mish", "hard_sigmoid", "hard_silu", "hard_swish",
    "exponential", "log_softmax", "celu", "glu", "hard_tanh", "log_sigmoid", "tanh_shrink",
)


#: Activations an export format cannot take: activation -> {format: why, and what to do instead}.
ACTIVATION_EXPORT_LIMITS: dict[str, dict[str, str]] = {
    "gelu": {"onnx": "tf2onnx cannot convert the Erfc operation of activation 'gelu'; export to LiteRT or a SavedModel instead, "
                     "or use activation 'swish'."},
    "celu": {"onnx": "tf2onnx writes an invalid ONNX graph for activation 'celu'; export to LiteRT or a SavedModel instead, "
                     "or use activation 'elu'."},
}


def activation_param(default: str | None = None, name: str = "activation") -> ParamSpec:
    return ParamSpec(name, "choice", default, "Function applied to the output.", choices=ACTIVATIONS, optional=True)


def use_bias_param(default: bool = True) -> ParamSpec:
    return ParamSpec("use_bias", "bool", default, "Add a learned bias to every output unit.")


def padding_param(choices: tuple[str, ...] = ("valid", "same")) -> ParamSpec:
    return ParamSpec(
        "padding", "choice", "valid",
        "valid: no padding, the output shrinks; same: zero-pad so the output is ceil(input / stride).",
        choices=choices,
    )


def require_rank(layer: str, shape: Shape, ranks: Sequence[int], hint: str = "") -> None:
    """Refuse an input whose rank (without batch) is not in ``ranks``."""
    if len(shape) in ranks:
        return
    wanted = " or ".join(rank_phrase(r) for r in ranks)
    raise ShapeError(
        f"{layer} expects {wanted}, but receives {rank_phrase(len(shape))} of shape {fmt_shape(shape)}.",
        hint,
    )


def require_known(layer: str, shape: Shape, axis: int, what: str) -> int:
    dim = shape[axis]
    if dim is None:
        raise ShapeError(
            f"{layer} needs to know the {what} of its input, but it is None in {fmt_shape(shape)}.",
            "Give the Input a fixed size on that axis.",
        )
    return dim


def conv_length(
    layer: str, size: int | None, kernel: int, stride: int, padding: str, dilation: int = 1, axis_name: str = ""
) -> int | None:
    """Output length of a convolution along one axis, as Keras's ``compute_conv_output_shape``."""
    if size is None:
        return None
    if padding == "valid":
        effective = dilation * (kernel - 1) + 1
        out = (size - effective) // stride + 1
        if out <= 0:
            span = f"{kernel}" if dilation == 1 else f"{kernel} (dilated to {effective})"
            raise ShapeError(
                f"{layer}: the kernel {span} is larger than the input {axis_name}{size} with padding='valid', "
                f"so the output size (({size} - {effective}) / {stride} + 1) would be {out}.",
                "Use padding='same', a smaller kernel, or a larger input.",
            )
        return out
    return (size - 1) // stride + 1  # same and causal


def pool_length(layer: str, size: int | None, pool: int, stride: int, padding: str, axis_name: str = "") -> int | None:
    """Output length of a pooling window along one axis, as Keras's ``compute_pooling_output_shape``."""
    if size is None:
        return None
    if padding == "valid":
        out = (size - pool) // stride + 1
        if out <= 0:
            raise ShapeError(
                f"{layer}: the pool window {pool} is larger than the input {axis_name}{size} with padding='valid', "
                f"so the output size (({size} - {pool}) / {stride} + 1) would be {out}.",
                "Use padding='same', a smaller pool_size, or pool earlier in the network.",
            )
        return out
    return (size - 1) // stride + 1


def transpose_length(size: int | None, kernel: int, stride: int, padding: str, output_padding: int | None, dilation: int) -> int | None:
    """Output length of a transposed convolution, as Keras's ``_get_output_shape_given_tf_padding``."""
    if size is None:
        return None
    kernel = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(kernel, stride) - kernel if output_padding is None else output_padding
        return (size - 1) * stride + kernel + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + kernel % 2 + output_padding


def tuple_text(values: Sequence[int], sep: str = "x") -> str:
    """``(3, 3)`` -> ``3x3``; ``(2, 2)`` -> ``2``... only when all equal and ``sep`` is ``""``."""
    return sep.join(str(v) for v in values)


def canonical_axis(layer: str, axis: int, rank_with_batch: int) -> int:
    """Map ``axis`` (Keras counts the batch axis as 0) to an index into a batch-less shape."""
    if not -rank_with_batch <= axis < rank_with_batch:
        raise ShapeError(
            f"{layer}: axis {axis} does not exist for an input of rank {rank_with_batch} (batch included).",
            f"Use an axis between {-rank_with_batch + 1} and {rank_with_batch - 1}; -1 is the last axis.",
        )
    axis = axis % rank_with_batch
    if axis == 0:
        raise ShapeError(f"{layer}: axis 0 is the batch axis.", "Use -1 for the last (channel) axis.")
    return axis - 1


def same_shape(inputs: Sequence[Tensor]) -> Shape:
    return inputs[0].shape


def prod(shape: Shape) -> int | None:
    if any(d is None for d in shape):
        return None
    return math.prod(shape)  # type: ignore[arg-type]
