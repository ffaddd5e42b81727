"""Convolutions in 1, 2 and 3 dimensions: ConvND, ConvNDTranspose, DepthwiseConvND and SeparableConvND (channels-last)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.layers.base import LayerSpec, ParamCount, Params, ParamSpec, Shape, ShapeError, Tensor, Window, fmt_int
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

AXES = {1: ("steps ",), 2: ("height ", "width "), 3: ("depth ", "height ", "width ")}


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


def conv_window(p: Params) -> Window:
    n = len(p["kernel_size"])
    return Window(tuple(p["kernel_size"]), tuple(p["strides"]), tuple(p.get("dilation_rate") or (1,) * n), p["padding"])


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
        conv_length(layer, shape[i], p["kernel_size"][i], p["strides"][i], p["padding"], dil[i], AXES[n][i])
        for i in range(n)
    )


def _rank_hint(n: int) -> str:
    if n == 1:
        return "1-D layers slide over sequences (steps, channels); use Reshape((steps, 1)) for a plain vector."
    if n == 3:
        return "3-D layers need volumes (depth, height, width, channels), e.g. video frames or scans."
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


def _positions(shape: Shape) -> tuple[int, str]:
    dims = [d or 1 for d in shape[:-1]]
    return math.prod(dims), "*".join(map(str, dims))


def _conv_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    channels = inputs[0][-1]
    assert channels is not None
    groups = p.get("groups", 1)
    k = p["kernel_size"]
    per_filter = math.prod(k) * (channels // groups)
    ch = f"{channels}" if groups == 1 else f"{channels}/{groups}"
    weights = per_filter * p["filters"]
    if p["use_bias"]:
        total = weights + p["filters"]
        return ParamCount(total, 0, f"({_kernel_expr(k)}*{ch} + 1) * {p['filters']} = {fmt_int(total)}")
    return ParamCount(weights, 0, f"{_kernel_expr(k)}*{ch} * {p['filters']} = {fmt_int(weights)} (no bias)")


def _conv_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    positions, where = _positions(out)
    per = math.prod(p["kernel_size"]) * ((inputs[0][-1] or 1) // p.get("groups", 1))
    macs = positions * per * p["filters"]
    return macs, f"{where} positions * ({_kernel_expr(p['kernel_size'])}*{(inputs[0][-1] or 1) // p.get('groups', 1)}) * {p['filters']} filters = {fmt_int(macs)}"


_ONNX_INSTEAD = "export to LiteRT or a SavedModel instead"


def _conv_limits(p: Params) -> dict[str, str]:
    if p["groups"] > 1:
        return {"onnx": f"tf2onnx cannot convert a grouped convolution (groups={p['groups']}); {_ONNX_INSTEAD}, or set groups to 1."}
    return {}


def _conv(n: int) -> LayerSpec:
    name = f"Conv{n}D"
    padding = padding_param(("valid", "same", "causal") if n == 1 else ("valid", "same"))
    docs = {
        1: "Slides learned filters along a sequence: (steps, channels) -> (new steps, filters).",
        2: "Slides learned filters over an image: (H, W, C) -> (H', W', filters). Weights do not depend on H or W.",
        3: "Slides learned 3-D filters through a volume (video, scan): (D, H, W, C) -> (D', H', W', filters).",
    }
    return LayerSpec(
        type=name,
        family="Convolution",
        doc=docs[n],
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
        torch="conv",
        export_limits=_conv_limits,
        count_rule=_conv_count,
        macs_rule=_conv_macs,
        window_rule=conv_window,
        receptive="window",
        label_rule=conv_label,
    )


def _transpose_shape(layer: str, n: int):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(layer, shape, (n + 1,), _rank_hint(n))
        _check_stride_dilation(layer, p)
        require_known(layer, shape, -1, "number of channels (last axis)")
        out_pad = p["output_padding"]
        if out_pad is not None:
            for op, s in zip(out_pad, p["strides"]):
                if op >= s:
                    raise ShapeError(f"{layer}: output_padding {op} must be smaller than the stride {s}.", "Lower output_padding or raise strides.")
        return _spatial(layer, p, shape, n, transpose=True) + (p["filters"],)

    return rule


def _transpose_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    positions, where = _positions(inputs[0])
    c = inputs[0][-1] or 1
    macs = positions * math.prod(p["kernel_size"]) * c * p["filters"]
    return macs, f"{where} input positions * {_kernel_expr(p['kernel_size'])}*{c} * {p['filters']} = {fmt_int(macs)}"


def transposed_reaches_past_kernel(p: Params) -> bool:
    """A transposed convolution whose Keras output is longer than the positions its kernel reaches (strides larger than
    the kernel, or output_padding): Keras fills the rows past the last one with zeros plus the bias."""
    out_pad = p["output_padding"] or (0,) * len(p["strides"])
    for k, s, d, op in zip(p["kernel_size"], p["strides"], p["dilation_rate"], out_pad):
        span = d * (k - 1) + 1
        if s > span or op > (2 * (span // 2) if p["padding"] == "same" else 0):
            return True
    return False


def _transpose_limits(p: Params) -> dict[str, str]:
    limits = {}
    if max(p["dilation_rate"]) > 1:
        limits["litert"] = "LiteRT has no dilated transposed convolution; export to ONNX or a SavedModel instead, or set dilation_rate to 1."
    if transposed_reaches_past_kernel(p):  # tf2onnx drops the rows past the kernel
        limits["onnx"] = (f"tf2onnx cannot convert a transposed convolution whose output reaches past its kernel's last position "
                          f"(strides larger than the kernel, or output_padding); {_ONNX_INSTEAD}.")
    return limits


def _transpose(n: int) -> LayerSpec:
    name = f"Conv{n}DTranspose"
    what = {1: "the sequence doubles in length", 2: "the image doubles in height and width", 3: "the volume doubles on every axis"}[n]
    return LayerSpec(
        type=name,
        family="Convolution",
        doc=f"Learned upsampling ('deconvolution'): with strides 2 {what}.",
        params=(
            _FILTERS,
            _kernel(n),
            _strides(n),
            padding_param(),
            ParamSpec("output_padding", "ints", None, "Extra rows/columns added to one side of the output.", length=n, minimum=0, optional=True, advanced=True),
            _dilation(n),
            activation_param(),
            use_bias_param(),
        ),
        shape_rule=_transpose_shape(name, n),
        torch="conv_transpose",
        export_limits=_transpose_limits,
        count_rule=_conv_count,
        macs_rule=_transpose_macs,
        window_rule=conv_window,
        receptive="transpose",
        label_rule=conv_label,
    )


def _depthwise_shape(layer: str, n: int):
    def rule(p: Params, inputs: Sequence[Tensor]) -> Shape:
        shape = inputs[0].shape
        require_rank(layer, shape, (n + 1,), _rank_hint(n))
        channels = require_known(layer, shape, -1, "number of channels (last axis)")
        out_channels = p["filters"] if "filters" in p else channels * p["depth_multiplier"]
        return _spatial(layer, p, shape, n) + (out_channels,)

    return rule


def _stride_dilation_warn(p: Params, inputs: Sequence[Tensor]) -> list[tuple[str, str]]:
    # Keras builds Depthwise/SeparableConv with both (unlike Conv2D), but TensorFlow refuses to run it.
    if max(p["strides"]) > 1 and max(p["dilation_rate"]) > 1:
        return [("strides > 1 together with dilation_rate > 1: Keras builds the model, but TensorFlow refuses to run it.",
                 "Set either strides or dilation_rate back to 1.")]
    return []


def _depthwise_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    channels = inputs[0][-1]
    assert channels is not None
    k, dm = p["kernel_size"], p["depth_multiplier"]
    weights = math.prod(k) * channels * dm
    dm_text = "" if dm == 1 else f"*{dm}"
    if p["use_bias"]:
        total = weights + channels * dm
        return ParamCount(total, 0, f"({_kernel_expr(k)} + 1) * {channels}{dm_text} = {fmt_int(total)}")
    return ParamCount(weights, 0, f"{_kernel_expr(k)} * {channels}{dm_text} = {fmt_int(weights)} (no bias)")


def _depthwise_macs(p: Params, inputs: Sequence[Shape], out: Shape) -> tuple[int, str]:
    positions, where = _positions(out)
    channels = (inputs[0][-1] or 1) * p["depth_multiplier"]
    depthwise = positions * math.prod(p["kernel_size"]) * channels
    text = f"depthwise {where} * {_kernel_expr(p['kernel_size'])} * {channels}"
    if "filters" not in p:
        return depthwise, f"{text} = {fmt_int(depthwise)}"
    pointwise = positions * channels * p["filters"]
    return depthwise + pointwise, f"{text} + pointwise {where} * {channels} * {p['filters']} = {fmt_int(depthwise + pointwise)}"


def _depthwise_like(name: str, n: int, doc: str, params: tuple[ParamSpec, ...], count) -> LayerSpec:  # noqa: ANN001
    """Depthwise and separable convolutions differ only in their parameters and weights."""
    return LayerSpec(
        type=name,
        family="Convolution",
        doc=doc,
        params=params,
        shape_rule=_depthwise_shape(name, n),
        torch="separable" if "filters" in (p.name for p in params) else "depthwise",
        count_rule=count,
        macs_rule=_depthwise_macs,
        window_rule=conv_window,
        receptive="window",
        label_rule=conv_label,
        warn_rule=_stride_dilation_warn,
        warn_code="runtime",
    )


def _depthwise(n: int) -> LayerSpec:
    return _depthwise_like(
        f"DepthwiseConv{n}D", n, "One filter per input channel, no mixing across channels: far fewer weights than a full convolution.",
        (_kernel(n), _strides(n), padding_param(), _DEPTH_MULTIPLIER, _dilation(n), activation_param(), use_bias_param()),
        _depthwise_count,
    )


def _separable_count(p: Params, inputs: Sequence[Shape], out: Shape) -> ParamCount:
    channels = inputs[0][-1]
    assert channels is not None
    k, dm, f = p["kernel_size"], p["depth_multiplier"], p["filters"]
    depthwise = math.prod(k) * channels * dm
    pointwise = channels * dm * f
    dm_text = "" if dm == 1 else f"*{dm}"
    text = f"depthwise {_kernel_expr(k)}*{channels}{dm_text} + pointwise {channels}{dm_text}*{f}"
    total = depthwise + pointwise
    if p["use_bias"]:
        total += f
        text += f" + {f} bias"
    return ParamCount(total, 0, f"{text} = {fmt_int(total)}")


def _separable(n: int) -> LayerSpec:
    return _depthwise_like(
        f"SeparableConv{n}D", n, "A depthwise convolution followed by a 1x1 convolution: a full convolution's job with a fraction of the weights.",
        (_FILTERS, _kernel(n), _strides(n), padding_param(), _dilation(n), _DEPTH_MULTIPLIER, activation_param(), use_bias_param()),
        _separable_count,
    )


SPECS = (
    _conv(1), _conv(2), _conv(3),
    _transpose(1), _transpose(2), _transpose(3),
    _depthwise(1), _depthwise(2),
    _separable(1), _separable(2),
)

__all__ = ["SPECS", "AXES", "conv_label", "conv_window", "transposed_reaches_past_kernel"]
