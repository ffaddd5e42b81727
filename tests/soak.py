"""A soak driver: random edits through the editing controller, on designs with blocks, shared layers and nested
models, checking after every step what a user relies on.

After each edit (refused ones included) the design's structural invariant holds, the analysis the editor
shows equals a fresh analysis of the file it would save, and save -> load -> save gives the same bytes; at the
end, undoing everything gives the design it started from and redoing everything the design it ended with.
Used by ``tests/test_soak.py`` (a few seeds in the default run) and ``python -m benchmarks soak`` (many more).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from engine.analysis import Analysis, analyse
from engine.graph import GraphError
from engine.keras_import import graph_from_keras_config
from engine.project import graph_from_dict, graph_to_dict, load_project
from engine.resources import resource_dir
from engine.structure import check_structure
from tests.corpus.compare import load

__all__ = ["SOAK_DESIGNS", "SoakReport", "soak", "design_graph", "snapshot", "shown"]

#: Designs the soak edits: shared layers (a siamese tower, a shared Dense), a nested model called twice, two
#: inputs whose order matters (seq2seq), blocks (DenseNet's dense block and transition), and a residual block.
SOAK_DESIGNS = ("corpus:siamese_network", "corpus:shared_dense_tower", "corpus:lstm_seq2seq", "example:densenet_block.json",
                "example:resnet_basic_block.json", "corpus:image_classification_from_scratch")
ADDABLE = ("Dense", "Dropout", "Activation", "BatchNormalization", "Flatten", "Add", "Concatenate", "LayerNormalization", "Conv2D", "Input")


def design_graph(name: str) -> Any:
    """A soak design by name: ``corpus:<model>`` (a real Keras model, imported) or ``example:<file>``."""
    kind, _, which = name.partition(":")
    if kind == "corpus":
        return graph_from_keras_config(load(which)["config"])
    graph, _ = load_project(resource_dir("examples") / which)
    return graph


def snapshot(graph: Any) -> str:
    """The design exactly as it would be saved."""
    return json.dumps(graph_to_dict(graph), sort_keys=False, ensure_ascii=False)


def shown(analysis: Analysis, graph: Any) -> dict[str, Any]:
    """What the editor shows of an analysis, by layer name: shape, counts, status, the diagnostics, the model's inputs and outputs."""
    names = {n: graph.node(n).name for n in graph.node_ids()}
    layers = {}
    for n, result in analysis.results.items():  # counts split into trainable and not: freezing shows here
        counts = None if result.params is None else (result.params.trainable, result.params.non_trainable)
        layers[f"{names[n]}#{n}"] = (result.status, tuple(t.shape for t in result.outputs) if result.status == "ok" else None, counts)
    diagnostics = sorted((d.code, d.severity, names.get(d.node, ""), d.message) for d in analysis.diagnostics)
    return {"layers": layers, "diagnostics": diagnostics, "inputs": [names[n] for n in analysis.input_nodes],
            "outputs": [names[n] for n in analysis.output_nodes], "totals": (analysis.trainable_params, analysis.non_trainable_params)}


@dataclass
class SoakReport:
    steps: int = 0
    refused: int = 0
    verbs: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _pick(rng: random.Random, items: list[Any]) -> Any:
    return rng.choice(items) if items else None


def _edit(rng: random.Random, doc: Any, verb: str) -> None:  # noqa: C901 - one branch per verb
    """One random edit of ``verb`` through the editing controller (it may be refused: `EditRefused`)."""
    graph, editor = doc.graph, doc.editor
    ids = graph.node_ids()
    blocks = [g for g, group in graph.groups.items() if group.kind == "block"]
    edges = graph.edges()
    node = _pick(rng, ids)
    if verb == "add":
        editor.add_layer(rng.choice(ADDABLE), (rng.uniform(-500, 500), rng.uniform(-500, 2000)), after=node if rng.random() < 0.7 else None,
                         params={"shape": [8]} if rng.random() < 0.5 else None)
    elif verb == "connect":
        editor.connect(node or "n0", _pick(rng, ids) or "n0")
    elif verb == "disconnect" and edges:
        editor.disconnect(rng.choice(edges))
    elif verb == "disconnect_all" and node:
        editor.disconnect_all(node)
    elif verb == "remove" and ids:
        editor.remove(rng.sample(ids, min(len(ids), rng.choice((1, 1, 2, 3)))))
    elif verb == "rename" and node:
        other = _pick(rng, ids)
        editor.rename(node, graph.node(other).name if rng.random() < 0.3 else f"renamed_{rng.randrange(1000)}")
    elif verb == "param" and node:
        spec = graph.node(node).spec
        numeric = [p.name for p in spec.params if p.name in ("units", "filters", "rate", "axis")]
        if numeric:
            name = rng.choice(numeric)
            value = {"units": rng.randrange(1, 64), "filters": rng.randrange(1, 32), "rate": rng.random() * 0.9, "axis": rng.choice((-1, 1))}[name]
            editor.set_param(node, name, value)
    elif verb == "paste" and ids:
        chosen = rng.sample(ids, min(len(ids), rng.randrange(1, 6)))
        editor.paste(json.loads(json.dumps(doc.fragment(chosen))), (rng.uniform(0, 300), rng.uniform(0, 300)))
    elif verb == "move" and ids:
        editor.move({n: (rng.uniform(-2000, 2000), rng.uniform(-2000, 4000)) for n in rng.sample(ids, min(len(ids), 3))})
    elif verb == "insert_after" and node:
        editor.insert_after(node, rng.choice(("Dense", "Dropout", "Activation", "LayerNormalization")), (0.0, 0.0))
    elif verb == "insert_on_wire" and edges:
        editor.insert_on_wire(rng.choice(edges), rng.choice(("Dropout", "Activation")), (0.0, 0.0))
    elif verb == "group" and ids:
        home = graph.node(node).group
        mates = [n for n in ids if graph.node(n).group == home]
        inner = [g for g in graph.groups if graph.groups[g].parent == home]  # blocks and nested models
        editor.group(rng.sample(mates, min(len(mates), rng.randrange(1, 4))), groups=rng.sample(inner, min(len(inner), rng.randrange(0, 2))))
    elif verb == "ungroup" and graph.groups:
        editor.ungroup(rng.choice(list(graph.groups)))
    elif verb == "collapse" and graph.groups:
        gid = rng.choice(list(graph.groups))
        editor.set_collapsed(gid, not graph.groups[gid].collapsed)
    elif verb == "repeat" and blocks:
        editor.repeat_block(rng.choice(blocks), rng.randrange(1, 3))
    elif verb == "group_by_prefix":
        editor.group_by_prefixes(collapse_outer=rng.random() < 0.5)
    elif verb == "freeze":
        if graph.groups and rng.random() < 0.4:
            editor.set_trainable([], rng.random() < 0.3, [rng.choice(list(graph.groups))])
        elif ids:
            editor.set_trainable(rng.sample(ids, min(len(ids), 2)), rng.random() < 0.3)
    elif verb == "rename_block" and graph.groups:
        editor.rename_group(rng.choice(list(graph.groups)), f"blk_{rng.randrange(100)}")
    elif verb == "undo":
        doc.undo_stack.undo()
    elif verb == "redo":
        doc.undo_stack.redo()


VERBS = ("add", "connect", "disconnect", "disconnect_all", "remove", "rename", "param", "paste", "move", "insert_after", "insert_on_wire",
         "group", "ungroup", "collapse", "repeat", "group_by_prefix", "rename_block", "freeze", "undo", "undo", "redo")


def soak(design: str, seed: int, steps: int, *, scene: bool = True, settle: Any = None) -> SoakReport:
    """Run ``steps`` random edits on ``design`` (see `SOAK_DESIGNS`); returns what went wrong in ``problems``.

    ``settle()`` is called after some steps (in the GUI tests: process Qt events, so that the canvas re-syncs
    sometimes before the next edit and sometimes not)."""
    from gui.canvas.scene import GraphScene
    from gui.document import Document, EditRefused

    rng = random.Random(seed)
    graph = design_graph(design)
    doc = Document(graph)
    canvas = GraphScene(doc) if scene else None
    start = snapshot(graph)
    report = SoakReport()
    for step in range(steps):
        verb = rng.choice(VERBS)
        report.verbs[verb] = report.verbs.get(verb, 0) + 1
        try:
            _edit(rng, doc, verb)
        except EditRefused:
            report.refused += 1
        except GraphError as exc:  # a refusal the controller let through: a defect
            report.problems.append(f"step {step} {verb}: GraphError escaped: {exc}")
        report.steps += 1
        if settle is not None and rng.random() < 0.5:
            settle()
        problems = check_structure(graph)
        if problems:
            report.problems.append(f"step {step} {verb}: structure broken: {problems[0]}")
            break
        text = snapshot(graph)
        again, _ = graph_from_dict(json.loads(text), "soak")
        if snapshot(again) != text:
            report.problems.append(f"step {step} {verb}: save -> load -> save differs")
            break
        if shown(doc.analysis, graph) != shown(analyse(again), again):
            report.problems.append(f"step {step} {verb}: the analysis shown differs from a fresh analysis of the saved file")
            break
    end = snapshot(graph)
    stack = doc.undo_stack
    index = stack.index()
    stack.setIndex(0)
    if snapshot(graph) != start:
        report.problems.append("undo all does not give the design it started from")
    stack.setIndex(index)
    if snapshot(graph) != end:
        report.problems.append("redoing every step does not give the design it ended with")
    stack.setIndex(stack.count())
    if settle is not None:
        settle()
    if canvas is not None:
        canvas.detach()
    _KEEP.append((doc, canvas))
    return report


#: PySide6 can crash collecting many unparented QObject cycles mid-run: they are kept to the end of the process.
_KEEP: list[Any] = []


def valid_designs(design: str, seed: int, steps: int, every: int = 5) -> Any:
    """Random edits that keep the design valid (an edit that makes the analysis report an error is undone):
    yields the graph after every ``every`` edits that were kept, for the property test that exports and builds it."""
    from gui.document import Document, EditRefused

    rng = random.Random(seed)
    doc = Document(design_graph(design))
    _KEEP.append(doc)
    kept = 0
    for _ in range(steps):
        index = doc.undo_stack.index()
        try:
            _edit(rng, doc, rng.choice(VERBS))
        except EditRefused:
            continue
        if not analyse(doc.graph).is_valid:
            doc.undo_stack.setIndex(index)
            continue
        kept += 1
        if kept % every == 0:
            yield doc.graph
