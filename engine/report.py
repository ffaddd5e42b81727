"""Summaries of an analysed network: Keras-style text tables and the ``summary --json`` document."""

from __future__ import annotations

from typing import Any

from engine.analysis import Analysis
from engine.graph import Edge, NetworkGraph
from engine.layers import fmt_int, get_spec
from engine.teaching import Teaching, explain, human_bytes, training_memory

__all__ = ["summary_rows", "summary_json", "summary_text", "batch_shape", "source_text", "outputs_text"]


def batch_shape(shape: tuple[int | None, ...] | None) -> list[int | None] | None:
    """A batch-less shape as Keras prints it: ``(28, 28, 1)`` -> ``[None, 28, 28, 1]``."""
    return None if shape is None else [None, *shape]


def _shape_text(shape: tuple[int | None, ...] | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in (None, *shape)) + ")"


def source_text(graph: NetworkGraph, edge: Edge) -> str:
    """How a wire's source reads in a summary: ``lstm``, ``lstm.state_h`` (a second output), ``any (mask)``."""
    data = graph.nx_graph._node[edge.source]
    text = data["name"]
    if edge.output:
        labels = get_spec(data["type"]).output_labels(data["params"])
        text += f".{labels[edge.output]}" if edge.output < len(labels) else f"[{edge.output}]"
    return text + (" (mask)" if edge.is_mask else "")


def outputs_text(result: Any) -> str | None:
    """Every output shape of a layer with several outputs, Keras-style ``[(None, 256), (None, 256)]``; None otherwise."""
    if not result.extra_outputs:
        return None
    return "[" + ", ".join(_shape_text(t.shape) for t in result.outputs) + "]"


def summary_rows(graph: NetworkGraph, analysis: Analysis, teaching: Teaching | None = None) -> list[dict[str, Any]]:
    """One dict per layer in topological order: id, name, type, output_shape, params,
    trainable_params, non_trainable_params, formula, inputs (names), status, ``frozen`` (only when true); with ``teaching`` also
    flops (multiply-adds per sample), flops_formula, output_size (arithmetic lines), activation_bytes and
    receptive_field (``{"size", "jump", "reason"}``)."""
    rows = []
    g = graph.nx_graph
    for node_id in analysis.order:
        data = g.nodes[node_id]
        result = analysis.results[node_id]
        count = result.params
        extra: dict[str, Any] = {}
        if result.extra_outputs:
            extra["output_shapes"] = [batch_shape(t.shape) for t in result.outputs]
        if graph.model_group(data.get("group")) is not None:  # the nested model (blocks are only drawn)
            extra["group"] = "/".join(graph.group_path(graph.model_group(data["group"])))
        if graph.is_frozen(node_id) and get_spec(data["type"]).call not in ("op", "input"):
            extra["frozen"] = True  # trainable=False, on the layer or on a nested model around it
        rows.append({
            "id": node_id,
            "name": data["name"],
            "type": get_spec(data["type"]).keras_class,
            "output_shape": batch_shape(result.shape),
            "params": None if count is None else count.total,
            "trainable_params": None if count is None else count.trainable,
            "non_trainable_params": None if count is None else count.non_trainable,
            "formula": None if count is None else count.formula,
            "inputs": [source_text(graph, e) for e in graph.inputs_of(node_id)],
            "status": result.status,
            **extra,
        })
        if teaching is not None:
            note = teaching.notes[node_id]
            rows[-1].update({
                "flops": note.flops,
                "flops_formula": note.flops_formula,
                "output_size": note.arithmetic,
                "activation_bytes": note.activation_bytes,
                "receptive_field": note.receptive_field_json(),
            })
    return rows


def summary_json(graph: NetworkGraph, analysis: Analysis, batch_size: int = 32) -> dict[str, Any]:
    """The object printed by ``main.py summary --json``."""
    names = {n: graph.nx_graph.nodes[n]["name"] for n in graph.nx_graph.nodes}
    teaching = explain(graph, analysis)
    return {
        "layers": summary_rows(graph, analysis, teaching),
        "total_params": analysis.total_params,
        "trainable_params": analysis.trainable_params,
        "non_trainable_params": analysis.non_trainable_params,
        "total_flops": teaching.total_flops,
        "activation_bytes_per_sample": teaching.activation_bytes,
        "max_receptive_field": teaching.max_receptive_field,
        "training_memory": {"batch_size": batch_size, "optimizer": "adam", **training_memory(graph, batch_size, analysis=analysis)},
        "totals_complete": analysis.totals_complete,
        "valid": analysis.is_valid,
        "diagnostics": [d.to_dict(names) for d in analysis.diagnostics],
    }


def _size(n: int) -> str:
    size = n * 4.0
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def summary_text(graph: NetworkGraph, analysis: Analysis, title: str = "", width: int = 110, explain_numbers: bool = False, batch_size: int = 32) -> str:
    """A table like Keras's ``model.summary()``, totals with multiply-adds and memory, optionally how every
    number comes about (``explain_numbers``), then the diagnostics."""
    rows = summary_rows(graph, analysis)
    headers = ("Layer (type)", "Output Shape", "Param #", "Connected to")
    cells = []
    for row in rows:
        params = "?" if row["params"] is None else fmt_int(row["params"])
        shape = _shape_text(None if row["output_shape"] is None else tuple(row["output_shape"][1:]))
        if "output_shapes" in row:
            shape = "[" + ", ".join(_shape_text(tuple(s[1:])) for s in row["output_shapes"]) + "]"
        if row["status"] == "error":
            shape = "ERROR"
        name = f"{row['group']}/{row['name']}" if "group" in row else row["name"]
        cells.append((f"{name} ({row['type']})", shape, params, ", ".join(row["inputs"]) or "-"))
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    widths[0] = min(widths[0], 48)
    widths[3] = max(12, min(widths[3], width - sum(widths[:3]) - 6))

    def line(values: tuple[str, ...]) -> str:
        a, b, c, d = values
        return f"{a[: widths[0]]:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}"

    rule_len = sum(widths) + 6
    out = []
    if title:
        out.append(f'Model: "{title}"')
    out += ["━" * rule_len, line(headers), "━" * rule_len]
    for i, cell in enumerate(cells):
        out.append(line(cell))
        if i < len(cells) - 1:
            out.append("─" * rule_len)
    out.append("━" * rule_len)
    suffix = "" if analysis.totals_complete else "  (incomplete: some layers are unknown)"
    out.append(f"Total params: {fmt_int(analysis.total_params)} ({_size(analysis.total_params)}){suffix}")
    out.append(f"Trainable params: {fmt_int(analysis.trainable_params)} ({_size(analysis.trainable_params)})")
    out.append(f"Non-trainable params: {fmt_int(analysis.non_trainable_params)} ({_size(analysis.non_trainable_params)})")
    teaching = explain(graph, analysis)
    memory = training_memory(graph, batch_size, analysis=analysis)
    out.append(f"Multiply-adds per sample: {fmt_int(teaching.total_flops)}   Activations per sample: {human_bytes(teaching.activation_bytes)}")
    out.append(
        f"Training memory, batch {batch_size}, Adam: {human_bytes(sum(memory.values()))} (weights {human_bytes(memory['weights'])}, gradients "
        f"{human_bytes(memory['gradients'])}, optimizer state {human_bytes(memory['optimizer_state'])}, activations {human_bytes(memory['activations'])})"
    )
    if explain_numbers:
        out += ["", "How the numbers come about:"]
        for row in summary_rows(graph, analysis, teaching):
            if row["status"] != "ok" or row["type"] == "InputLayer":
                continue
            out.append(f"  {row['name']} ({row['type']})")
            if row["params"]:
                out.append(f"      params: {row['formula']}")
            for line in row["output_size"]:
                out.append(f"      output {line}")
            if row["flops"]:
                out.append(f"      multiply-adds: {row['flops_formula']}")
            rf = row["receptive_field"]
            out.append(f"      receptive field: {'x'.join(map(str, rf['size']))}, jump {'x'.join(map(str, rf['jump']))}" if rf["size"] else f"      receptive field: {rf['reason']}")
    out.append("")
    if not analysis.diagnostics:
        out.append("No problems found.")
    else:
        n_err, n_warn = len(analysis.errors), len(analysis.warnings)
        out.append(f"Problems: {n_err} error(s), {n_warn} warning(s)")
        names = {n: graph.nx_graph.nodes[n]["name"] for n in graph.nx_graph.nodes}
        for d in analysis.diagnostics:
            where = f" [{names[d.node]}]" if d.node else ""
            out.append(f"  {d.severity.upper()}{where}: {d.message}")
            if d.hint:
                out.append(f"      hint: {d.hint}")
    return "\n".join(out)
