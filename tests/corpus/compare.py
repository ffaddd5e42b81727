"""Compare LayerLab's import of a corpus model with the numbers Keras recorded (no TensorFlow needed)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from engine.analysis import analyse
from engine.graph import NetworkGraph
from engine.keras_import import KerasImportError, graph_from_keras_config

MODELS = Path(__file__).resolve().parent / "models"


def names() -> list[str]:
    return sorted(p.name[: -len(".json.gz")] for p in MODELS.glob("*.json.gz"))


def load(name: str) -> dict[str, Any]:
    with gzip.open(MODELS / f"{name}.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


def find(graph: NetworkGraph, group_path: list[str], name: str, call: int) -> str | None:
    """The node for call ``call`` of layer ``name`` inside the (first) group with that path."""
    wanted = name if call == 0 else f"{name} (call {call + 1})"
    for node in graph.nodes():
        if node.name != wanted:
            continue
        if graph.group_path(node.group) != group_path:
            continue
        if node.group is not None and graph.groups[node.group].shares is not None:
            continue
        return node.id
    return None


def mismatches(name: str) -> tuple[NetworkGraph | None, list[str]]:
    """Every difference between LayerLab and Keras for corpus model ``name`` (empty when exact)."""
    doc = load(name)
    try:
        graph = graph_from_keras_config(doc["config"])
    except KerasImportError as exc:
        return None, [f"refused: {exc}"]
    analysis = analyse(graph)
    problems = [f"diagnostic: {d}" for d in analysis.errors]
    groups = {tuple(graph.group_path(g)) for g in graph.groups}
    for entry in doc["expected"]:
        if entry["class"] in ("Functional", "Sequential"):
            if tuple(entry["group"] + [entry["name"]]) not in groups:
                problems.append(f"nested model {entry['name']}: no group")
            continue
        for call, shapes in enumerate(entry["calls"]):
            if entry["group"] and call > 0:
                continue  # a nested model's own graph has one call per layer
            node = find(graph, entry["group"], entry["name"], call)
            if node is None:
                problems.append(f"{'/'.join(entry['group'] + [entry['name']])} call {call}: not imported")
                continue
            result = analysis[node]
            got = [list(t.shape) for t in result.outputs]
            if got != shapes:
                problems.append(f"{entry['name']} call {call}: shapes {got} != Keras {shapes}")
            if "params" in entry and call == 0:
                params = result.own_params or result.params
                if params is None or (params.total, params.non_trainable) != (entry["params"], entry["non_trainable"]):
                    mine = None if params is None else (params.total, params.non_trainable)
                    problems.append(f"{entry['name']}: params {mine} != Keras {(entry['params'], entry['non_trainable'])}")
    if (analysis.total_params, analysis.trainable_params) != (doc["total"], doc["trainable"]):
        problems.append(f"totals {(analysis.total_params, analysis.trainable_params)} != Keras {(doc['total'], doc['trainable'])}")
    return graph, problems
