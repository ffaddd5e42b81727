"""Convolutions: Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D and SeparableConv2D (channels-last)."""

from __future__ import annotations

from collections.abc import Sequence

from engine.layers.base import LayerSpec, ParamCount, Params, ParamSpec, Shape, ShapeError, Tensor, fmt_int
from engine.layers.common import (
    activation_param,
    conv_length,
    padding_param,
    require_known,
    require_rank,
    transpose_length,
    tuple_text,
    use_bias_param,
)

_AXES = {1: ("steps ",), 2: ("height ", "width ")}


def _kernel(n: int, default: object = ...) -> ParamSpec:
    kwargs = {} if default is ... else {"default": default}
    return ParamSpec("kernel_size", "ints", doc="Size of the sliding window.", length=n, minimum=1, **kwargs)  # type: ignore[arg-type]


def _strides(n: int) -> ParamSpec:
    return ParamSpec("strides", "ints", (1,) * n, "Step between window positions; 2 halves the size.", length=n, minimum=1)


def _dilation(n: int) -> ParamSpec:
    return ParamSpec("dilation_rate", "ints", (1,) * n, "Spacing between kernel taps (atrous convolution).", length=n, minimum=1, advanced=True)


_FILTERS = ParamSpec("filters", "int", doc="Number of output channels (feature maps).", minimum=1)
_DEPTH_MULTIPLIER = ParamSpec("depth_multiplier", "int", 1, "Output channels per input channel in the depthwise step.", minimum=1)


def conv_label(p: Params) -> str:
    parts = [f"{p['filters']} @ {tuple_text(p['kernel_size'])}" if "filters" in p else tuple_text(p["kernel_size"])]
    if "depth_multiplier" in p and p["depth_multiplier"] != 1:
        parts.append(f"x{p['depth_multiplier']}")
    if any(s != 1 for s in p["strides"]):
        parts.append("s" + tuple_text(p["strides"]) if len(set(p["strides"])) > 1 else f"s{p['strides'][0]}")
    if any(d != 1 for d in p.get("dilation_rate", ())):
        parts.append("d" + tuple_text(p["dilation_rate"]))
    parts.append(p["padding"])
    act = p.get("activation")
    if act not in (None, "linear"):
        parts.append(act)
    return ", ".join(parts)


def _check_stride_dilation(layer: str, p: Params) -> None:
    if max(p["strides"]) > 1 and max(p.get("dilation_rate", (1,))) > 1:
        raise ShapeError(
            f"{layer}: strides > 1 cannot be combined with dilation_rate > 1 (Keras refuses it).",
            "Set either strides or dilation_rate back to 1.",
        )


def _spatial(layer: str, p: Params, shape: Shape, n: int, transpose: bool = False) -> tuple[int | None, ...]:
    dil = p.get("dilation_rate", (1,) * n)
    if transpose:
        out_pad = p.get("output_padding")
        return tuple(
            transpose_length(shape[i], p["kernel_size"][i], p["strides"][i], p["padding"], None if out_pad is None else out_pad[i], dil[i])
            for i in range(n)
        )
    return tuple(
        conv_length(layer, shape[i], p["kernel_size"][i], p["strides"][i], p["padding"], dil[i], _AXES[n][i])
        for i in range(n)
    )


def _rank_hint(n: int) -> str:
    if n == 1:
        return "Conv1D slides over sequences (steps, channels); use Reshape((steps, 1)) for a plain vector."
    return "Conv2D-style layers need (height, width, channels); use Reshape((28, 28, 1)) to turn a flat vector into an image."


def _conv_shape(layer: str, n: int):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(layer, shape, (n + 1,), _rank_hint(n))
        _check_stride_dilation(layer, p)
        channels = require_known(layer, shape, -1, "number of channels (last axis)")
        groups = p.get("groups", 1)
        if p["filters"] % groups:
            raise ShapeError(f"{layer}: filters ({p['filters']}) must be divisible by groups ({groups}).", "Change filters or groups.")
        if channels % groups:
            raise ShapeError(f"{layer}: the input's {channels} channels cannot be split into {groups} groups.", "Use a groups value that divides the channel count.")
        return _spatial(layer, p, shape, n) + (p["filters"],)

    return rule


def _kernel_expr(k: Sequence[int]) -> str:
    return "*".join(str(v) for v in k)


def _conv_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    channels = inputs[0][-1]
    assert channels is not None
    groups = p.get("groups", 1)
    k = p["kernel_size"]
    per_filter = 1
    for v in k:
        per_filter *= v
    per_filter *= channels // groups
    ch = f"{channels}" if groups == 1 else f"{channels}/{groups}"
    weights = per_filter * p["filters"]
    if p["use_bias"]:
        total = weights + p["filters"]
        return ParamCount(total, 0, f"({_kernel_expr(k)}*{ch} + 1) * {p['filters']} = {fmt_int(total)}")
    return ParamCount(weights, 0, f"{_kernel_expr(k)}*{ch} * {p['filters']} = {fmt_int(weights)} (no bias)")


def _conv(n: int) -> LayerSpec:
    name = f"Conv{n}D"
    padding = padding_param(("valid", "same", "causal") if n == 1 else ("valid", "same"))
    return LayerSpec(
        type=name,
        family="Convolution",
        doc=(
            "Slides learned filters along a sequence: (steps, channels) -> (new steps, filters)."
            if n == 1
            else "Slides learned filters over an image: (H, W, C) -> (H', W', filters). Weights do not depend on H or W."
        ),
        params=(
            _FILTERS,
            _kernel(n),
            _strides(n),
            padding,
            _dilation(n),
            ParamSpec("groups", "int", 1, "Split channels into independent groups (grouped convolution).", minimum=1, advanced=True),
            activation_param(),
            use_bias_param(),
        ),
        shape_rule=_conv_shape(name, n),
        count_rule=_conv_count,
        label_rule=conv_label,
    )


def _transpose_shape(p: Params, inputs: Sequence[Tensor]) -> Shape:
    layer = "Conv2DTranspose"
    shape = inputs[0].shape
    require_rank(layer, shape, (3,), _rank_hint(2))
    _check_stride_dilation(layer, p)
    require_known(layer, shape, -1, "number of channels (last axis)")
    out_pad = p["output_padding"]
    if out_pad is not None:
        for op, s in zip(out_pad, p["strides"]):
            if op >= s:
                raise ShapeError(f"{layer}: output_padding {op} must be smaller than the stride {s}.", "Lower output_padding or raise strides.")
    return _spatial(layer, p, shape, 2, transpose=True) + (p["filters"],)


CONV2D_TRANSPOSE = LayerSpec(
    type="Conv2DTranspose",
    family="Convolution",
    doc="Learned upsampling ('deconvolution'): with strides 2 the image doubles in height and width.",
    params=(
        _FILTERS,
        _kernel(2),
        _strides(2),
        padding_param(),
        ParamSpec("output_padding", "ints", None, "Extra rows/columns added to one side of the output.", length=2, minimum=0, optional=True, advanced=True),
        _dilation(2),
        activation_param(),
        use_bias_param(),
    ),
    shape_rule=_transpose_shape,
    count_rule=_conv_count,
    label_rule=conv_label,
)


def _depthwise_shape(layer: str):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(layer, shape, (3,), _rank_hint(2))
        channels = require_known(layer, shape, -1, "number of channels (last axis)")
        out_channels = p["filters"] if "filters" in p else channels * p["depth_multiplier"]
        return _spatial(layer, p, shape, 2) + (out_channels,)

    return rule


def _stride_dilation_warn(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
    # Keras builds Depthwise/SeparableConv2D with both (unlike Conv2D), but TensorFlow refuses to run it.
    if max(p["strides"]) > 1 and max(p["dilation_rate"]) > 1:
        return [("strides > 1 together with dilation_rate > 1: Keras builds the model, but TensorFlow refuses to run it.",
                 "Set either strides or dilation_rate back to 1.")]
    return []


def _depthwise_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    channels = inputs[0][-1]
    assert channels is not None
    k, dm = p["kernel_size"], p["depth_multiplier"]
    kk = k[0] * k[1]
    weights = kk * channels * dm
    dm_text = "" if dm == 1 else f"*{dm}"
    if p["use_bias"]:
        total = weights + channels * dm
        return ParamCount(total, 0, f"({_kernel_expr(k)} + 1) * {channels}{dm_text} = {fmt_int(total)}")
    return ParamCount(weights, 0, f"{_kernel_expr(k)} * {channels}{dm_text} = {fmt_int(weights)} (no bias)")


DEPTHWISE_CONV2D = LayerSpec(
    type="DepthwiseConv2D",
    family="Convolution",
    doc="One filter per input channel, no mixing across channels: far fewer weights than Conv2D.",
    params=(_kernel(2), _strides(2), padding_param(), _DEPTH_MULTIPLIER, _dilation(2), activation_param(), use_bias_param()),
    shape_rule=_depthwise_shape("DepthwiseConv2D"),
    count_rule=_depthwise_count,
    label_rule=conv_label,
    warn_rule=_stride_dilation_warn,
    warn_code="runtime",
)


def _separable_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    channels = inputs[0][-1]
    assert channels is not None
    k, dm, f = p["kernel_size"], p["depth_multiplier"], p["filters"]
    depthwise = k[0] * k[1] * channels * dm
    pointwise = channels * dm * f
    dm_text = "" if dm == 1 else f"*{dm}"
    text = f"depthwise {_kernel_expr(k)}*{channels}{dm_text} + pointwise {channels}{dm_text}*{f}"
    total = depthwise + pointwise
    if p["use_bias"]:
        total += f
        text += f" + {f} bias"
    return ParamCount(total, 0, f"{text} = {fmt_int(total)}")


SEPARABLE_CONV2D = LayerSpec(
    type="SeparableConv2D",
    family="Convolution",
    doc="A depthwise convolution followed by a 1x1 convolution: Conv2D's job with a fraction of the weights.",
    params=(_FILTERS, _kernel(2), _strides(2), padding_param(), _dilation(2), _DEPTH_MULTIPLIER, activation_param(), use_bias_param()),
    shape_rule=_depthwise_shape("SeparableConv2D"),
    count_rule=_separable_count,
    label_rule=conv_label,
    warn_rule=_stride_dilation_warn,
    warn_code="runtime",
)

SPECS = (_conv(1), _conv(2), CONV2D_TRANSPOSE, DEPTHWISE_CONV2D, SEPARABLE_CONV2D)

__all__ = ["SPECS", "conv_label"]
