"""Teaching aids: how each number comes about.

For every layer of an analysed graph: the output-size arithmetic of convolutions and pooling
(``(28 - 5 + 2*0) / 1 + 1 = 24``), multiply-adds (the "FLOPs" people quote: one multiply-add = one
multiplication and one addition), activation memory per sample, and the receptive field and cumulative
stride (jump) on the spatial axes, with a plain reason where they are undefined. Plus an estimate of the
memory training needs for a batch size. Pure Python, computed from the analysis, no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engine.analysis import Analysis, analyse
from engine.graph import NetworkGraph
from engine.layers import fmt_int

__all__ = ["LayerNotes", "Teaching", "explain", "layer_flops", "training_memory", "human_bytes"]

BYTES = 4  # float32


@dataclass
class LayerNotes:
    node: str
    #: Output-size arithmetic, one line per spatial axis (empty for layers that keep the size).
    arithmetic: list[str] = field(default_factory=list)
    flops: int | None = None
    flops_formula: str = ""
    activation_bytes: int | None = None
    #: Receptive field per spatial axis in input pixels, or None with ``rf_reason``.
    receptive_field: tuple[int, ...] | None = None
    jump: tuple[float, ...] | None = None
    rf_reason: str = ""

    def receptive_field_json(self) -> dict[str, Any]:
        if self.receptive_field is None:
            return {"size": None, "jump": None, "reason": self.rf_reason}
        jumps = self.jump or ()
        return {"size": list(self.receptive_field), "jump": [int(j) if float(j).is_integer() else j for j in jumps], "reason": ""}


@dataclass
class Teaching:
    notes: dict[str, LayerNotes]
    total_flops: int
    activation_bytes: int
    max_receptive_field: int | None


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{int(n):,} B"
        n /= 1024
    return ""


def _prod(shape) -> int:  # noqa: ANN001
    return math.prod(d or 1 for d in shape)


def _conv_arithmetic(p: dict, shape_in, shape_out, n: int, kernel_key: str = "kernel_size", strides_key: str = "strides") -> list[str]:  # noqa: ANN001
    lines = []
    axes = ("width",) if n == 1 else ("height", "width")
    kernel = p.get(kernel_key) or p["pool_size"]
    strides = p.get(strides_key) or kernel
    dilation = p.get("dilation_rate", (1,) * n)
    for i in range(n):
        w, k, s, d, out = shape_in[i], kernel[i], strides[i], dilation[i], shape_out[i]
        if w is None:
            lines.append(f"{axes[i]}: unknown (None) in, unknown out")
            continue
        k_eff = d * (k - 1) + 1
        k_text = str(k) if d == 1 else f"{k_eff} (kernel {k} dilated by {d})"
        if p.get("padding", "valid") == "valid":
            exact = (w - k_eff) / s + 1
            floor = "" if exact == out else f" (rounded down from {exact:g})"
            lines.append(f"{axes[i]}: ({w} - {k_text} + 2*0) / {s} + 1 = {out}{floor}")
        else:
            pad = max((out - 1) * s + k_eff - w, 0)
            before = pad // 2 if p["padding"] == "same" else pad  # causal pads only before
            lines.append(f"{axes[i]}: padding='{p['padding']}' keeps ceil({w} / {s}) = {out} (pads {before} before and {pad - before} after)")
    return lines


def _transpose_arithmetic(p: dict, shape_in, shape_out) -> list[str]:  # noqa: ANN001
    lines = []
    for i, axis in enumerate(("height", "width")):
        w, k, s, out = shape_in[i], p["kernel_size"][i], p["strides"][i], shape_out[i]
        if w is None:
            continue
        if p["padding"] == "valid":
            lines.append(f"{axis}: ({w} - 1) * {s} + {k} = {out}" + ("" if out == (w - 1) * s + k else " (with output padding)"))
        else:
            lines.append(f"{axis}: padding='same' gives {w} * {s} = {out}")
    return lines


def _flops(layer_type: str, p: dict, shape_in, shape_out) -> tuple[int, str]:  # noqa: ANN001
    """Multiply-adds for one sample, with the formula."""
    if layer_type == "Dense":
        positions = _prod(shape_out[:-1])
        macs = positions * shape_in[-1] * p["units"]
        where = f"{positions} positions * " if positions > 1 else ""
        return macs, f"{where}{shape_in[-1]} inputs * {p['units']} units = {fmt_int(macs)}"
    if layer_type in ("Conv1D", "Conv2D"):
        positions = _prod(shape_out[:-1])
        per = math.prod(p["kernel_size"]) * (shape_in[-1] // p.get("groups", 1))
        macs = positions * per * p["filters"]
        kernel = "*".join(map(str, p["kernel_size"]))
        return macs, f"{'*'.join(map(str, shape_out[:-1]))} positions * ({kernel}*{shape_in[-1] // p.get('groups', 1)}) * {p['filters']} filters = {fmt_int(macs)}"
    if layer_type == "Conv2DTranspose":
        positions = _prod(shape_in[:-1])
        macs = positions * math.prod(p["kernel_size"]) * shape_in[-1] * p["filters"]
        return macs, f"{'*'.join(map(str, shape_in[:-1]))} input positions * {'*'.join(map(str, p['kernel_size']))}*{shape_in[-1]} * {p['filters']} = {fmt_int(macs)}"
    if layer_type in ("DepthwiseConv2D", "SeparableConv2D"):
        positions = _prod(shape_out[:-1])
        channels = shape_in[-1] * p["depth_multiplier"]
        depthwise = positions * math.prod(p["kernel_size"]) * channels
        text = f"depthwise {'*'.join(map(str, shape_out[:-1]))} * {'*'.join(map(str, p['kernel_size']))} * {channels}"
        if layer_type == "DepthwiseConv2D":
            return depthwise, f"{text} = {fmt_int(depthwise)}"
        pointwise = positions * channels * p["filters"]
        return depthwise + pointwise, f"{text} + pointwise {'*'.join(map(str, shape_out[:-1]))} * {channels} * {p['filters']} = {fmt_int(depthwise + pointwise)}"
    if layer_type in ("SimpleRNN", "LSTM", "GRU"):
        steps = shape_in[0] or 1
        gates = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[layer_type]
        macs = steps * gates * (shape_in[-1] + p["units"]) * p["units"]
        return macs, f"{steps} steps * {gates} * ({shape_in[-1]} + {p['units']}) * {p['units']} = {fmt_int(macs)}"
    if layer_type == "Bidirectional":
        inner = p["layer"]
        one, text = _flops(inner["type"], inner["params"], shape_in, shape_out)
        return 2 * one, f"2 directions * [{text.rsplit(' = ', 1)[0]}] = {fmt_int(2 * one)}"
    if layer_type in ("BatchNormalization", "LayerNormalization"):
        n = _prod(shape_out)
        return n, f"one multiply-add per value ({fmt_int(n)}) at inference"
    return 0, "no multiply-adds"


_PASS_THROUGH = {"Activation", "ReLU", "LeakyReLU", "Softmax", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
                 "BatchNormalization", "LayerNormalization", "ZeroPadding2D", "Cropping2D", "Dense", "Embedding"}


def _receptive(layer_type: str, p: dict, inputs: list[LayerNotes], shape_out) -> tuple[tuple[int, ...] | None, tuple[float, ...] | None, str]:  # noqa: ANN001
    if any(n.receptive_field is None for n in inputs):
        first = next(n for n in inputs if n.receptive_field is None)
        return None, None, first.rf_reason
    fields = [n.receptive_field for n in inputs if n.receptive_field is not None]
    jumps = [n.jump for n in inputs if n.jump is not None]
    rf = [max(f[i] for f in fields) for i in range(len(fields[0]))]
    jump = [max(j[i] for j in jumps) for i in range(len(jumps[0]))]
    if layer_type == "Flatten":
        return None, None, "undefined after Flatten: each value now stands for one position, the spatial layout is gone"
    if layer_type.startswith("Global"):
        return None, None, "undefined after global pooling: every output sees the whole input"
    if layer_type in ("Reshape", "Permute"):
        return None, None, f"undefined after {layer_type}: values are rearranged, positions no longer map to input pixels"
    if layer_type in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
        return None, None, "undefined for recurrent layers: each step can see the whole sequence before it"
    if layer_type == "Dense" and len(shape_out) < 2:
        return None, None, "undefined for Dense on a vector: every output sees every input"
    if layer_type in ("Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
        kernel = p.get("kernel_size") or p["pool_size"]
        strides = p.get("strides") or kernel
        dilation = p.get("dilation_rate", (1,) * len(kernel))
        for i in range(min(len(rf), len(kernel))):
            rf[i] += (dilation[i] * (kernel[i] - 1)) * jump[i]
            jump[i] *= strides[i]
    elif layer_type == "Conv2DTranspose":
        for i in range(len(rf)):
            jump[i] /= p["strides"][i]
            rf[i] += (p["kernel_size"][i] - 1) * jump[i]
    elif layer_type == "UpSampling2D":
        for i in range(len(rf)):
            jump[i] /= p["size"][i]
    return tuple(int(math.ceil(r)) for r in rf), tuple(jump), ""


def explain(graph: NetworkGraph, analysis: Analysis | None = None) -> Teaching:
    """Teaching notes for every layer (layers whose shape is unknown get empty notes)."""
    analysis = analysis or analyse(graph)
    notes: dict[str, LayerNotes] = {}
    total_flops = 0
    activations = 0
    for node_id in analysis.order:
        node = graph.node(node_id)
        result = analysis.results[node_id]
        note = LayerNotes(node_id)
        notes[node_id] = note
        if result.status != "ok" or result.shape is None:
            note.rf_reason = "unknown: this layer has no shape"
            continue
        p = dict(node.params)
        shape_out = result.shape
        note.activation_bytes = _prod(shape_out) * BYTES
        activations += note.activation_bytes
        if node.type == "Input":
            spatial = len(shape_out) - 1 if len(shape_out) >= 2 else 0
            if spatial:
                note.receptive_field, note.jump = (1,) * spatial, (1.0,) * spatial
            else:
                note.rf_reason = "undefined: this input has no spatial axes"
            continue
        shape_in = result.inputs[0].shape if result.inputs and result.inputs[0] is not None else ()
        if node.type in ("Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
            note.arithmetic = _conv_arithmetic(p, shape_in, shape_out, len(p["kernel_size"]))
        elif "Pooling" in node.type and not node.type.startswith("Global"):
            note.arithmetic = _conv_arithmetic(p, shape_in, shape_out, len(p["pool_size"]), "pool_size")
        elif node.type == "Conv2DTranspose":
            note.arithmetic = _transpose_arithmetic(p, shape_in, shape_out)
        note.flops, note.flops_formula = _flops(node.type, p, shape_in, shape_out)
        total_flops += note.flops
        sources = [notes[e.source] for e in graph.inputs_of(node_id) if e.source in notes]
        note.receptive_field, note.jump, note.rf_reason = _receptive(node.type, p, sources, shape_out) if sources else (None, None, "no input")
    sizes = [max(n.receptive_field) for n in notes.values() if n.receptive_field]
    return Teaching(notes, total_flops, activations, max(sizes) if sizes else None)


def layer_flops(graph: NetworkGraph, node_id: str, analysis: Analysis) -> tuple[int, str] | None:
    """Multiply-adds of one layer and their formula (None while its shape is unknown)."""
    result = analysis[node_id]
    if result.status != "ok" or result.shape is None:
        return None
    node = graph.node(node_id)
    if node.type == "Input":
        return 0, "no multiply-adds"
    shape_in = result.inputs[0].shape if result.inputs and result.inputs[0] is not None else ()
    return _flops(node.type, dict(node.params), shape_in, result.shape)


def training_memory(graph: NetworkGraph, batch_size: int, optimizer: str = "adam", analysis: Analysis | None = None) -> dict[str, int]:
    """Bytes to train with ``batch_size`` (float32): weights, gradients, optimizer state (Adam keeps two
    moments per weight, SGD with momentum and RMSprop one), and activations kept for the backward pass
    plus their gradients."""
    analysis = analysis or analyse(graph)
    slots = {"adam": 2, "adamw": 2, "rmsprop": 1, "sgd": 1}.get(optimizer.lower(), 2)
    activations = sum(_prod(r.shape) for r in analysis.results.values() if r.shape is not None)
    return {
        "weights": analysis.total_params * BYTES,
        "gradients": analysis.trainable_params * BYTES,
        "optimizer_state": analysis.trainable_params * BYTES * slots,
        "activations": activations * batch_size * BYTES * 2,
    }
