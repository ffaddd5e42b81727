"""Compare two designs layer by layer (matched by layer name): what was added, removed and changed,
and what that did to shapes, parameters and multiply-adds."""

from __future__ import annotations

from typing import Any

from engine.analysis import analyse
from engine.graph import NetworkGraph
from engine.layers import fmt_int
from engine.report import batch_shape
from engine.teaching import explain

__all__ = ["diff_graphs", "diff_text"]


def _value(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _value(x) for k, x in v.items()}
    return v


def diff_graphs(a: NetworkGraph, b: NetworkGraph) -> dict[str, Any]:
    """``{"added", "removed", "changed", "totals", "same"}``; each layer entry names the layer and its type."""
    ra, rb = analyse(a), analyse(b)
    ta, tb = explain(a, ra), explain(b, rb)
    names_a = {a.node(n).name: n for n in ra.order}
    names_b = {b.node(n).name: n for n in rb.order}

    def info(graph: NetworkGraph, analysis, teaching, node_id: str) -> dict[str, Any]:  # noqa: ANN001
        result = analysis[node_id]
        return {"name": graph.node(node_id).name, "type": graph.node(node_id).type, "output_shape": batch_shape(result.shape),
                "params": None if result.params is None else result.params.total, "flops": teaching.notes[node_id].flops}

    added = [info(b, rb, tb, names_b[n]) for n in names_b if n not in names_a]
    removed = [info(a, ra, ta, names_a[n]) for n in names_a if n not in names_b]
    changed = []
    for name, na in names_a.items():
        nb = names_b.get(name)
        if nb is None:
            continue
        la, lb = info(a, ra, ta, na), info(b, rb, tb, nb)
        pa, pb = a.node(na).params, b.node(nb).params
        params = {k: {"from": _value(pa.get(k)), "to": _value(pb.get(k))} for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)}
        inputs_a = [a.node(e.source).name for e in a.inputs_of(na)]
        inputs_b = [b.node(e.source).name for e in b.inputs_of(nb)]
        entry: dict[str, Any] = {"name": name}
        if la["type"] != lb["type"]:
            entry["type"] = {"from": la["type"], "to": lb["type"]}
        if params and la["type"] == lb["type"]:
            entry["params_changed"] = params
        if inputs_a != inputs_b:
            entry["inputs"] = {"from": inputs_a, "to": inputs_b}
        for key in ("output_shape", "params", "flops"):
            if la[key] != lb[key]:
                entry[key] = {"from": la[key], "to": lb[key]}
        if len(entry) > 1:
            changed.append(entry)
    totals = {
        "params": {"from": ra.total_params, "to": rb.total_params, "delta": rb.total_params - ra.total_params},
        "flops": {"from": ta.total_flops, "to": tb.total_flops, "delta": tb.total_flops - ta.total_flops},
        "layers": {"from": len(a), "to": len(b), "delta": len(b) - len(a)},
    }
    return {"added": added, "removed": removed, "changed": changed, "totals": totals, "same": not (added or removed or changed)}


def _shape(v: Any) -> str:
    return "?" if v is None else "(" + ", ".join("None" if d is None else str(d) for d in v) + ")"


def _signed(n: int) -> str:
    return ("+" if n > 0 else "") + fmt_int(n)


def diff_text(d: dict[str, Any], name_a: str = "A", name_b: str = "B") -> str:
    out = [f"Comparing {name_a} -> {name_b}"]
    if d["same"]:
        out.append("The designs are the same layer for layer.")
    for layer in d["removed"]:
        out.append(f"- removed {layer['name']} ({layer['type']}), {_shape(layer['output_shape'])}, {fmt_int(layer['params'] or 0)} params")
    for layer in d["added"]:
        out.append(f"+ added   {layer['name']} ({layer['type']}), {_shape(layer['output_shape'])}, {fmt_int(layer['params'] or 0)} params")
    for c in d["changed"]:
        parts = []
        if "type" in c:
            parts.append(f"type {c['type']['from']} -> {c['type']['to']}")
        for k, v in c.get("params_changed", {}).items():
            parts.append(f"{k} {v['from']} -> {v['to']}")
        if "inputs" in c:
            parts.append(f"inputs {', '.join(c['inputs']['from']) or '-'} -> {', '.join(c['inputs']['to']) or '-'}")
        if "output_shape" in c:
            parts.append(f"shape {_shape(c['output_shape']['from'])} -> {_shape(c['output_shape']['to'])}")
        if "params" in c and None not in (c["params"]["from"], c["params"]["to"]):
            parts.append(f"params {fmt_int(c['params']['from'])} -> {fmt_int(c['params']['to'])} ({_signed(c['params']['to'] - c['params']['from'])})")
        out.append(f"~ changed {c['name']}: " + "; ".join(parts))
    t = d["totals"]
    out.append("")
    out.append(f"Parameters: {fmt_int(t['params']['from'])} -> {fmt_int(t['params']['to'])} ({_signed(t['params']['delta'])})")
    out.append(f"Multiply-adds per sample: {fmt_int(t['flops']['from'])} -> {fmt_int(t['flops']['to'])} ({_signed(t['flops']['delta'])})")
    out.append(f"Layers: {t['layers']['from']} -> {t['layers']['to']} ({_signed(t['layers']['delta'])})")
    return "\n".join(out)
