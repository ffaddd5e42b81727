"""Architecture-design exercises and the checker that grades a design against them.

Exercise file (JSON)::

    {
      "format": "layerlab-exercise", "version": 1,
      "title": "Small MNIST classifier with a skip connection",
      "instructions": "Markdown shown to the student ...",
      "start": { ...a project document... },                      # optional starting graph
      "criteria": [
        {"id": "in",  "type": "input_shape",  "shape": [28, 28, 1]},
        {"id": "out", "type": "output_shape", "shape": [10]},
        {"id": "size", "type": "max_params", "value": 50000},       # also min_params, max_flops
        {"id": "conv", "type": "requires_layer", "layer": "Conv2D", "min": 2, "max": 4},
        {"id": "nopool", "type": "forbids_layer", "layer": "MaxPooling2D"},
        {"id": "skip", "type": "skip_connection"},                   # an Add; "concatenation": a Concatenate
        {"id": "deep", "type": "max_depth", "value": 12},            # layers on the longest path, Input excluded
        {"id": "rf", "type": "min_receptive_field", "value": 15},
        {"id": "q1", "type": "question", "prompt": "How many parameters does conv2 have?",
         "answer": {"params_of": "conv2"}},                           # or {"value": 1234}; optional "tolerance"
        {"id": "acc", "type": "training", "dataset": "digits", "epochs": 10, "min_val_accuracy": 0.9}
      ]
    }

Every design must also be valid (no errors): that is checked first, as criterion ``valid``. Answers to
questions live in the design's project file under ``"answers": {"q1": 2320}``. Training criteria run only
when asked (``check --train``), since they take a while; otherwise they are reported as not run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from engine.analysis import Analysis, analyse
from engine.graph import NetworkGraph
from engine.layers import CATALOGUE, fmt_int, fmt_shape
from engine.project import ProjectError, graph_from_dict, read_json_file
from engine.teaching import explain

__all__ = ["Exercise", "Criterion", "CriterionResult", "ExerciseError", "load_exercise", "check_design", "exercise_from_dict"]

FORMAT = "layerlab-exercise"
KINDS = {
    "input_shape", "output_shape", "max_params", "min_params", "max_flops", "requires_layer", "forbids_layer",
    "skip_connection", "concatenation", "max_depth", "min_receptive_field", "question", "training",
}


class ExerciseError(ProjectError):
    """An exercise file that cannot be used (one line naming the file and the criterion)."""


@dataclass(frozen=True)
class Criterion:
    id: str
    type: str
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        s = self.spec
        t = self.type
        if t == "input_shape":
            return f"Input shape {fmt_shape(tuple(s['shape']))}"
        if t == "output_shape":
            return f"Output shape {fmt_shape(tuple(s['shape']))}"
        if t in ("max_params", "min_params", "max_flops"):
            word = {"max_params": "At most", "min_params": "At least", "max_flops": "At most"}[t]
            unit = "multiply-adds" if t == "max_flops" else "parameters"
            return f"{word} {fmt_int(s['value'])} {unit}"
        if t == "requires_layer":
            lo, hi = s.get("min", 1), s.get("max")
            count = f"{lo} to {hi}" if hi is not None and hi != lo else (f"exactly {lo}" if hi == lo else f"at least {lo}")
            return f"{count[0].upper()}{count[1:]} {s['layer']} layer(s)"
        if t == "forbids_layer":
            return f"No {s['layer']} layers"
        if t == "skip_connection":
            return "A skip connection (Add)"
        if t == "concatenation":
            return "A concatenation (Concatenate)"
        if t == "max_depth":
            return f"At most {s['value']} layers deep"
        if t == "min_receptive_field":
            return f"Receptive field of at least {s['value']} pixels"
        if t == "question":
            return s["prompt"]
        if t == "training":
            return f"At least {100 * s['min_val_accuracy']:.0f}% validation accuracy on {s['dataset']} in {s.get('epochs', 10)} epochs"
        return t


@dataclass
class Exercise:
    title: str
    instructions: str
    criteria: list[Criterion]
    start: dict[str, Any] | None = None
    source: str = ""

    @property
    def questions(self) -> list[Criterion]:
        return [c for c in self.criteria if c.type == "question"]


@dataclass
class CriterionResult:
    id: str
    label: str
    status: str  # "passed", "failed", "not run"
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "status": self.status, "passed": self.passed, "message": self.message}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def exercise_from_dict(doc: Any, source: str = "<exercise>") -> Exercise:
    def fail(message: str) -> ExerciseError:
        return ExerciseError(source, message)

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise fail(f'not a LayerLab exercise ("format" must be "{FORMAT}")')
    if doc.get("version") != 1:
        raise fail(f'"version" must be 1, got {doc.get("version")!r}')
    title, instructions = doc.get("title", ""), doc.get("instructions", "")
    if not isinstance(title, str) or not isinstance(instructions, str):
        raise fail('"title" and "instructions" must be text')
    start = doc.get("start")
    if start is not None:
        try:
            graph_from_dict(start, f"{source} (start)")
        except ProjectError as exc:
            raise fail(f"the starting graph is invalid: {exc.detail}") from None
    raw = doc.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise fail('"criteria" must be a non-empty list')
    criteria, seen = [], set()
    for index, entry in enumerate(raw):
        where = f"criteria[{index}]"
        if not isinstance(entry, dict) or entry.get("type") not in KINDS:
            raise fail(f"{where}: unknown criterion type {entry.get('type') if isinstance(entry, dict) else entry!r}")
        cid = entry.get("id", f"c{index + 1}")
        if not isinstance(cid, str) or not cid or cid in seen or cid == "valid":
            raise fail(f"{where}: id must be a unique text (not 'valid')")
        seen.add(cid)
        t = entry["type"]
        if t in ("input_shape", "output_shape") and not (isinstance(entry.get("shape"), list) and all(v is None or (isinstance(v, int) and v > 0) for v in entry["shape"])):
            raise fail(f"{where} ({cid}): shape must be a list of positive sizes or null")
        if t in ("max_params", "min_params", "max_flops", "max_depth", "min_receptive_field") and not (_number(entry.get("value")) and entry["value"] >= 0):
            raise fail(f"{where} ({cid}): value must be a non-negative number")
        if t in ("requires_layer", "forbids_layer") and entry.get("layer") not in CATALOGUE:
            raise fail(f"{where} ({cid}): unknown layer type {entry.get('layer')!r}")
        if t == "question":
            answer = entry.get("answer")
            if not isinstance(entry.get("prompt"), str) or not isinstance(answer, dict) or not (_number(answer.get("value")) or isinstance(answer.get("params_of"), str)):
                raise fail(f'{where} ({cid}): a question needs "prompt" and "answer": {{"value": N}} or {{"params_of": LAYER}}')
        if t == "training" and not (isinstance(entry.get("dataset"), str) and _number(entry.get("min_val_accuracy"))):
            raise fail(f'{where} ({cid}): a training criterion needs "dataset" and "min_val_accuracy"')
        criteria.append(Criterion(cid, t, entry))
    return Exercise(title, instructions, criteria, start, source)


def load_exercise(path: str | Path) -> Exercise:
    return exercise_from_dict(read_json_file(path, ExerciseError), str(path))


def _depth(graph: NetworkGraph) -> int:
    g = nx.DiGraph(graph.nx_graph)
    longest = 0
    depth: dict[str, int] = {}
    for n in nx.topological_sort(g):
        preds = list(g.predecessors(n))
        depth[n] = (0 if graph.node(n).type == "Input" else 1) + max((depth[p] for p in preds), default=0)
        longest = max(longest, depth[n])
    return longest


def check_design(
    exercise: Exercise,
    graph: NetworkGraph,
    answers: dict[str, Any] | None = None,
    analysis: Analysis | None = None,
    train: bool = False,
    trained: dict[str, Any] | None = None,
) -> list[CriterionResult]:
    """Check ``graph`` against every criterion; each result carries a sentence a student understands.

    ``trained`` is the result of a training run already made on this very design (``{"dataset",
    "epochs_run", "val_accuracy"}``, e.g. in the editor); training criteria use it instead of training again.
    """
    answers = answers or {}
    analysis = analysis or analyse(graph)
    results = []
    if analysis.is_valid:
        results.append(CriterionResult("valid", "The design has no errors", "passed", "The design has no errors."))
    else:
        first = analysis.errors[0]
        where = f"{graph.node(first.node).name}: " if first.node else ""
        results.append(CriterionResult("valid", "The design has no errors", "failed", f"The design has {len(analysis.errors)} error(s), e.g. {where}{first.message}"))
    teaching = explain(graph, analysis) if analysis.is_valid else None
    types = [graph.node(n).type for n in graph.node_ids()]
    for c in exercise.criteria:
        s, label = c.spec, c.label
        status, message = "failed", ""
        if c.type in ("input_shape", "output_shape"):
            nodes = analysis.input_nodes if c.type == "input_shape" else analysis.output_nodes
            shapes = [analysis[n].shape for n in nodes]
            want = tuple(s["shape"])
            what = "input" if c.type == "input_shape" else "output"
            if len(shapes) == 1 and shapes[0] == want:
                status, message = "passed", f"The {what} is {fmt_shape(want)}."
            elif len(shapes) != 1:
                message = f"The design has {len(shapes)} {what}s; the exercise wants one {what} of shape {fmt_shape(want)}."
            elif shapes[0] is None:
                message = f"The {what} shape is unknown until the errors are fixed; it should be {fmt_shape(want)}."
            else:
                message = f"The {what} is {fmt_shape(shapes[0])}, but it should be {fmt_shape(want)}."
        elif c.type in ("max_params", "min_params"):
            total = analysis.total_params
            if not analysis.totals_complete:
                message = "The parameter count is unknown until the errors are fixed."
            elif (total <= s["value"]) if c.type == "max_params" else (total >= s["value"]):
                status, message = "passed", f"The design has {fmt_int(total)} parameters."
            else:
                bound = "at most" if c.type == "max_params" else "at least"
                message = f"The design has {fmt_int(total)} parameters; it should have {bound} {fmt_int(s['value'])}."
        elif c.type == "max_flops":
            if teaching is None:
                message = "Multiply-adds are unknown until the errors are fixed."
            elif teaching.total_flops <= s["value"]:
                status, message = "passed", f"The design needs {fmt_int(teaching.total_flops)} multiply-adds per sample."
            else:
                message = f"The design needs {fmt_int(teaching.total_flops)} multiply-adds per sample; the limit is {fmt_int(s['value'])}."
        elif c.type == "requires_layer":
            count = types.count(s["layer"])
            lo, hi = s.get("min", 1), s.get("max")
            if count >= lo and (hi is None or count <= hi):
                status, message = "passed", f"The design has {count} {s['layer']} layer(s)."
            else:
                message = f"The design has {count} {s['layer']} layer(s); it needs {label.split(' ' + s['layer'])[0].lower()}."
        elif c.type == "forbids_layer":
            count = types.count(s["layer"])
            status = "passed" if count == 0 else "failed"
            message = f"No {s['layer']} layers are used." if count == 0 else f"The design uses {count} {s['layer']} layer(s), which this exercise does not allow."
        elif c.type in ("skip_connection", "concatenation"):
            kind = "sum" if c.type == "skip_connection" else "concat"
            layer = next(spec.type for spec in CATALOGUE.values() if spec.merge_kind == kind and spec.family == "Merge")
            merges = [
                n for n in graph.node_ids()
                if graph.node(n).spec.merge_kind == kind and analysis[n].status == "ok" and len([e for e in graph.inputs_of(n) if not e.is_mask]) >= 2
            ]
            if merges:
                status, message = "passed", f"{graph.node(merges[0]).name} ({graph.node(merges[0]).type}) joins {len(graph.inputs_of(merges[0]))} branches."
            else:
                message = f"The design has no working {layer} layer: {f'add the input of a block to its output with {layer}' if kind == 'sum' else f'join parallel branches with {layer}'}."
        elif c.type == "max_depth":
            depth = _depth(graph) if nx.is_directed_acyclic_graph(graph.nx_graph) else None
            if depth is not None and depth <= s["value"]:
                status, message = "passed", f"The longest path has {depth} layers."
            else:
                message = f"The longest path has {depth} layers; the limit is {s['value']}." if depth is not None else "The design has a cycle."
        elif c.type == "min_receptive_field":
            best = teaching.max_receptive_field if teaching else None
            if best is not None and best >= s["value"]:
                status, message = "passed", f"The largest receptive field is {best} pixels."
            else:
                message = f"The largest receptive field is {best or 'undefined'}; it should reach {s['value']} pixels (stack more, larger or strided convolutions)."
        elif c.type == "question":
            answer = s["answer"]
            if "params_of" in answer:
                node = graph.find(answer["params_of"])
                weights = analysis[node].params if node is not None else None
                expected = weights.total if weights is not None else None
            else:
                expected = answer["value"]
            given = answers.get(c.id)
            tolerance = float(s.get("tolerance", 0))
            if given is None or (isinstance(given, str) and not given.strip()):
                message = "Not answered yet."
            elif expected is None:
                message = f"The design has no layer called {answer['params_of']}, so the answer cannot be checked."
            else:
                try:
                    value = float(str(given).replace(",", "").replace("_", ""))
                except ValueError:
                    value = float("nan")
                if abs(value - expected) <= tolerance:
                    status, message = "passed", f"Correct: {fmt_int(int(expected)) if float(expected).is_integer() else expected}."
                else:
                    message = f"{given} is not right; look at the formula in the inspector and try again."
        elif c.type == "training":
            if trained is not None and trained.get("dataset") == s["dataset"]:
                accuracy = trained.get("val_accuracy") or 0.0
                ok = accuracy >= s["min_val_accuracy"]
                status = "passed" if ok else "failed"
                target = "" if ok else f", below the {100 * s['min_val_accuracy']:.0f}% target"
                message = f"Validation accuracy {100 * accuracy:.1f}% in your last training run ({trained.get('epochs_run')} epochs){target}."
            elif not train:
                status, message = "not run", "Training was not run (use check --train, or Train in the editor)."
            elif not analysis.is_valid:
                message = "Fix the errors first."
            else:
                status, message = _train_check(graph, s)
        results.append(CriterionResult(c.id, label, status, message))
    return results


def _train_check(graph: NetworkGraph, spec: dict[str, Any]) -> tuple[str, str]:
    from engine.datasets import DatasetError, resolve
    from engine.training import TrainConfig, TrainingError, run_training

    try:
        result = run_training(graph, TrainConfig(resolve(spec["dataset"]), epochs=int(spec.get("epochs", 10))), lambda m: None)
    except (TrainingError, DatasetError) as exc:
        return "failed", f"Training failed: {exc}"
    accuracy = result.get("val_accuracy") or 0.0
    if accuracy >= spec["min_val_accuracy"]:
        return "passed", f"Validation accuracy {100 * accuracy:.1f}%."
    return "failed", f"Validation accuracy {100 * accuracy:.1f}%, below the {100 * spec['min_val_accuracy']:.0f}% target."
