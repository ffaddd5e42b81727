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
from engine.graph import MASK_SLOT, NetworkGraph
from engine.layers import LayerSpec

__all__ = ["Explainer", "LayerNotes", "Teaching", "explain", "layer_flops", "training_memory", "human_bytes"]

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


def _window_arithmetic(spec: LayerSpec, p: dict, shape_in, shape_out) -> list[str]:  # noqa: ANN001
    """One line per spatial axis: how the output size follows from the window (convolutions and pooling)."""
    if spec.window_rule is None or spec.receptive not in ("window", "transpose"):
        return []
    window = spec.window_rule(p)
    n = len(window.kernel)
    axes = {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}[n]
    lines = []
    for i in range(n):
        w, k, s, d, out = shape_in[i], window.kernel[i], window.strides[i], window.dilation[i], shape_out[i]
        if w is None:
            lines.append(f"{axes[i]}: unknown (None) in, unknown out")
            continue
        k_eff = d * (k - 1) + 1
        if spec.receptive == "transpose":
            if window.padding == "valid":
                lines.append(f"{axes[i]}: ({w} - 1) * {s} + {k_eff} = {out}" + ("" if out == (w - 1) * s + k_eff else " (with output padding)"))
            else:
                lines.append(f"{axes[i]}: padding='same' gives {w} * {s} = {out}")
            continue
        k_text = str(k) if d == 1 else f"{k_eff} (kernel {k} dilated by {d})"
        if window.padding == "valid":
            exact = (w - k_eff) / s + 1
            floor = "" if exact == out else f" (rounded down from {exact:g})"
            lines.append(f"{axes[i]}: ({w} - {k_text} + 2*0) / {s} + 1 = {out}{floor}")
        else:
            pad = max((out - 1) * s + k_eff - w, 0)
            before = pad // 2 if window.padding == "same" else pad  # causal pads only before
            verb = "keeps" if out == w else "gives"
            lines.append(f"{axes[i]}: padding='{window.padding}' {verb} ceil({w} / {s}) = {out} (pads {before} before and {pad - before} after)")
    return lines


def _flops(spec: LayerSpec, p: dict, shapes_in, shape_out) -> tuple[int, str]:  # noqa: ANN001
    """Multiply-adds for one sample, with the formula, from the layer's spec."""
    assert spec.macs_rule is not None, f"{spec.type} declares no multiply-adds"
    return spec.macs_rule(p, shapes_in, shape_out)


def _receptive(spec: LayerSpec, p: dict, inputs: list[LayerNotes], shape_out) -> tuple[tuple[int, ...] | None, tuple[float, ...] | None, str]:  # noqa: ANN001
    if any(n.receptive_field is None for n in inputs):
        first = next(n for n in inputs if n.receptive_field is None)
        return None, None, first.rf_reason
    if spec.receptive == "undefined":
        return None, None, spec.receptive_reason
    fields = [n.receptive_field for n in inputs if n.receptive_field is not None]
    jumps = [n.jump for n in inputs if n.jump is not None]
    rf: list[float] = [max(f[i] for f in fields) for i in range(len(fields[0]))]
    jump = [max(j[i] for j in jumps) for i in range(len(jumps[0]))]
    if len(shape_out) < 2:
        return None, None, f"undefined for {spec.type} on a vector: every output sees every input"
    if spec.window_rule is not None and spec.receptive in ("window", "transpose", "upsample"):
        window = spec.window_rule(p)
        for i in range(min(len(rf), len(window.kernel))):
            if spec.receptive == "window":
                rf[i] += (window.dilation[i] * (window.kernel[i] - 1)) * jump[i]
                jump[i] *= window.strides[i]
            elif spec.receptive == "transpose":
                jump[i] /= window.strides[i]
                rf[i] += (window.kernel[i] - 1) * jump[i]
            else:
                jump[i] /= window.strides[i]
    return tuple(int(math.ceil(r)) for r in rf), tuple(jump), ""


class Explainer:
    """Teaching notes kept between passes: a layer whose analysis result and whose inputs' notes are the
    same objects as last time keeps its notes (an edit on DenseNet121 recomputes a handful of layers, not 429)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[Any, ...], LayerNotes]] = {}
        #: Layers whose notes the last pass computed (for tests and benchmarks).
        self.recomputed = 0

    def explain(self, graph: NetworkGraph, analysis: Analysis, only: set[str] | None = None) -> Teaching:
        """Notes for every layer, or for ``only`` (which must hold the layers above each of its layers: the
        inspector asks for one layer and what feeds it). Totals then cover those layers only."""
        return explain(graph, analysis, self, only)


def explain(graph: NetworkGraph, analysis: Analysis | None = None, cache: Explainer | None = None, only: set[str] | None = None) -> Teaching:
    """Teaching notes for every layer (layers whose shape is unknown get empty notes). With ``cache``, the
    notes of layers that did not change are reused."""
    analysis = analysis or analyse(graph)
    notes: dict[str, LayerNotes] = {}
    total_flops = 0
    activations = 0
    previous = cache._cache if cache is not None else {}
    fresh: dict[str, tuple[tuple[Any, ...], LayerNotes]] = dict(previous) if only is not None else {}
    if cache is not None:
        cache.recomputed = 0
    pred = graph.nx_graph._pred
    for node_id in analysis.order:
        if only is not None and node_id not in only:
            continue
        result = analysis.results[node_id]
        wired = sorted((k, u) for u, keys in pred[node_id].items() for k in keys if k < MASK_SLOT)
        sources = tuple(notes.get(u) for _, u in wired)
        key = (result, *sources)
        hit = previous.get(node_id)
        if hit is not None and len(hit[0]) == len(key) and all(a is b for a, b in zip(hit[0], key)):
            note = hit[1]
            notes[node_id] = note
            fresh[node_id] = hit
            total_flops += note.flops or 0
            activations += note.activation_bytes or 0
            continue
        if cache is not None:
            cache.recomputed += 1
        node = graph.node(node_id)
        note = LayerNotes(node_id)
        notes[node_id] = note
        fresh[node_id] = (key, note)
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
        shapes_in = [t.shape for t in result.inputs if t is not None]
        shape_in = shapes_in[0] if shapes_in else ()
        spec = node.spec
        note.arithmetic = _window_arithmetic(spec, p, shape_in, shape_out)
        note.flops, note.flops_formula = _flops(spec, p, shapes_in, shape_out)
        total_flops += note.flops
        feeding = [n for n in sources if n is not None]
        note.receptive_field, note.jump, note.rf_reason = _receptive(spec, p, feeding, shape_out) if feeding else (None, None, "no input")
    if cache is not None:
        cache._cache = fresh
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
    return _flops(node.spec, dict(node.params), [t.shape for t in result.inputs if t is not None], result.shape)


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
