"""Architecture-design exercises and the checker that grades a design against them.

Exercise file (JSON)::

    {
      "format": "layerlab-exercise", "version": 1,
      "title": "Small MNIST classifier with a skip connection",
      "instructions": "Markdown shown to the student ...",
      "start": { ...a project document... },                      # optional starting graph
      "solution": "solutions/ex10.json",                           # optional; default solutions/<this file's name>
      "valid_points": 1,                                           # points for "the design has no errors"
      "criteria": [
        {"id": "in",  "type": "input_shape",  "shape": [28, 28, 1]},
        {"id": "out", "type": "output_shape", "shape": [10], "points": 2, "hint": "End with Dense(10)."},
        {"id": "size", "type": "max_params", "value": 50000},       # also min_params, max_flops
        {"id": "conv", "type": "requires_layer", "layer": "Conv2D", "min": 2, "max": 4,
         "params": {"kernel_size": [3, 3], "padding": "same"}},     # only layers with these settings count
        {"id": "nopool", "type": "forbids_layer", "layer": "MaxPooling2D"},
        {"id": "skip", "type": "skip_connection"},                  # a real bypass into an Add ("layer" to change;
                                                                    # "max_shortcut_layers": 0 for identity only)
        {"id": "four", "type": "merge", "layer": "Concatenate", "min_inputs": 4, "max_inputs": 4, "axis": -1},
        {"id": "deep", "type": "max_depth", "value": 12},           # also min_depth; layers on the longest path
        {"id": "rf", "type": "min_receptive_field", "value": 15},   # every axis; "axis": "height" for one
        {"id": "b2", "type": "layer_shape", "layer": "b2_3x3", "shape": [28, 28, 128]},
        {"id": "q1", "type": "question", "prompt": "How many parameters does conv2 have?",
         "answer": {"params_of": "conv2"}, "tolerance": 0},         # or {"value": 1234}
        {"id": "acc", "type": "training", "dataset": "digits", "epochs": 10, "min_val_accuracy": 0.9,
         "hidden": true}                                            # counts in grade, not shown to the student
      ]
    }

Every criterion may carry ``points`` (default 1), a teacher's ``hint`` shown when it fails, and
``hidden``. Files are checked on load: an unknown key, a wrong type or contradictory bounds is one
`ExerciseError` line naming the file, the criterion and the key, with the nearest valid spelling.

Every design must also be valid (no errors): that is checked first, as criterion ``valid``. A
criterion whose number is unknown because of an error is *not checked* ("fix the error in conv3
first"), not a second mistake. Answers live in the design's project file (``"answers": {"q1": 2320}``).
Training criteria run only when asked (``check --train``); otherwise they are *not run*.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from engine.analysis import Analysis, analyse
from engine.graph import NetworkGraph
from engine.layers import CATALOGUE, ParamError, fmt_int, fmt_shape
from engine.project import ProjectError, graph_from_dict, read_json_file
from engine.teaching import Teaching, explain

__all__ = [
    "Criterion",
    "CriterionResult",
    "DesignNumbers",
    "Exercise",
    "ExerciseError",
    "STATUSES",
    "check_design",
    "design_numbers",
    "exercise_from_dict",
    "load_exercise",
    "score",
]

FORMAT = "layerlab-exercise"

#: ``passed`` earns the points; ``failed`` is a mistake; ``not checked`` cannot be decided until an error
#: elsewhere is fixed; ``not run`` is a training criterion that was not asked for.
STATUSES = ("passed", "failed", "not checked", "not run")


class ExerciseError(ProjectError):
    """An exercise file that cannot be used (one line naming the file, the criterion and the key)."""


# ------------------------------------------------------------------------------------------------
# The schema: one entry per criterion type, one checker per key.

_Check = Callable[[Any], str]  # returns "" when the value is fine, else what it must be


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _nonneg_number(value: Any) -> str:
    return "" if _is_number(value) and value >= 0 else "must be a number of at least 0 (write 0.05, not \"5%\")"


def _positive_number(value: Any) -> str:
    return "" if _is_number(value) and value > 0 else "must be a number greater than 0"


def _count(value: Any) -> str:
    return "" if _is_int(value) and value >= 0 else "must be a whole number of at least 0"


def _inputs(value: Any) -> str:
    return "" if _is_int(value) and value >= 2 else "must be a whole number of at least 2 (a merge joins two or more tensors)"


def _fraction(value: Any) -> str:
    return "" if _is_number(value) and 0 <= value <= 1 else "must be a fraction between 0 and 1 (0.9 for 90%)"


def _text(value: Any) -> str:
    return "" if isinstance(value, str) and value.strip() and len(value) <= 10_000 else "must be a non-empty text"


def _bool(value: Any) -> str:
    return "" if isinstance(value, bool) else "must be true or false"


def _int(value: Any) -> str:
    return "" if _is_int(value) else "must be a whole number"


def _shape(value: Any) -> str:
    ok = isinstance(value, list) and len(value) <= 32 and all(v is None or (_is_int(v) and v > 0) for v in value)
    return "" if ok else "must be a list of positive sizes or null, such as [28, 28, 1]"


def _suggest(word: Any, options: Any) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _layer_type(value: Any) -> str:
    if isinstance(value, str) and value in CATALOGUE:
        return ""
    return f"must be a layer type of the catalogue, got {str(value)[:40]!r}{_suggest(value, CATALOGUE)}"


def _merge_type(value: Any) -> str:
    problem = _layer_type(value)
    if problem or CATALOGUE[value].is_merge:
        return problem
    merges = ", ".join(t for t, s in CATALOGUE.items() if s.is_merge and s.family == "Merge")
    return f"must be a merge layer ({merges}), got {value!r}"


def merge_layer(kind: str) -> str:
    """The catalogue's merge layer of a kind: ``sum`` (Add) or ``concat`` (Concatenate)."""
    return next(t for t, spec in CATALOGUE.items() if spec.merge_kind == kind and spec.family == "Merge")


_AXES = ("depth", "height", "width")


def _rf_axis(value: Any) -> str:
    return "" if value in _AXES or (_is_int(value) and 0 <= value < 3) else 'must be "height", "width" or "depth"'


def _answer(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"value"} and _is_number(value["value"]):
        return ""
    if isinstance(value, dict) and set(value) == {"params_of"} and isinstance(value["params_of"], str) and value["params_of"]:
        return ""
    return 'must be {"value": NUMBER} or {"params_of": "LAYER NAME"}'


_COMMON: dict[str, _Check] = {"id": _text, "type": _text, "points": _nonneg_number, "hint": _text, "hidden": _bool}

#: Every criterion type: its keys (required ones marked with a leading "!") and what each must hold.
SCHEMA: dict[str, dict[str, _Check]] = {
    "input_shape": {"!shape": _shape},
    "output_shape": {"!shape": _shape},
    "layer_shape": {"!layer": _text, "!shape": _shape},
    "max_params": {"!value": _nonneg_number},
    "min_params": {"!value": _nonneg_number},
    "max_flops": {"!value": _nonneg_number},
    "requires_layer": {"!layer": _layer_type, "min": _count, "max": _count, "params": lambda v: ""},
    "forbids_layer": {"!layer": _layer_type, "params": lambda v: ""},
    "merge": {"!layer": _merge_type, "min_inputs": _inputs, "max_inputs": _inputs, "axis": _int, "min": _count},
    "skip_connection": {"layer": _merge_type, "min": _count, "max_shortcut_layers": _count},
    "concatenation": {"min": _count},
    "max_depth": {"!value": _count},
    "min_depth": {"!value": _count},
    "min_receptive_field": {"!value": _positive_number, "axis": _rf_axis},
    "question": {"!prompt": _text, "!answer": _answer, "tolerance": _nonneg_number},
    "training": {"!dataset": _text, "epochs": lambda v: "" if _is_int(v) and 1 <= v <= 10_000 else "must be a whole number from 1 to 10000",
                 "!min_val_accuracy": _fraction},
}

_TOP_KEYS = ("format", "version", "title", "instructions", "start", "criteria", "solution", "valid_points")


@dataclass(frozen=True)
class Criterion:
    id: str
    type: str
    spec: Mapping[str, Any]
    points: float = 1.0
    hint: str = ""
    hidden: bool = False

    @property
    def label(self) -> str:  # noqa: C901 - one sentence per criterion type
        s, t = self.spec, self.type
        if t == "input_shape":
            return f"Input shape {fmt_shape(tuple(s['shape']))}"
        if t == "output_shape":
            return f"Output shape {fmt_shape(tuple(s['shape']))}"
        if t == "layer_shape":
            return f"{s['layer']} outputs {fmt_shape(tuple(s['shape']))}"
        if t in ("max_params", "min_params", "max_flops"):
            word = "At least" if t == "min_params" else "At most"
            unit = "multiply-adds" if t == "max_flops" else "parameters"
            return f"{word} {fmt_int(s['value'])} {unit}"
        if t == "requires_layer":
            lo, hi = s.get("min", 1), s.get("max")
            count = f"{lo} to {hi}" if hi is not None and hi != lo else (f"exactly {lo}" if hi == lo else f"at least {lo}")
            return f"{count[0].upper()}{count[1:]} {s['layer']} layer(s){_settings_text(s.get('params'))}"
        if t == "forbids_layer":
            return f"No {s['layer']} layers{_settings_text(s.get('params'))}"
        if t == "merge":
            lo, hi = s.get("min_inputs", 2), s.get("max_inputs")
            joins = f"{lo} inputs" if hi == lo else (f"{lo} to {hi} inputs" if hi is not None else f"at least {lo} inputs")
            axis = f" along axis {s['axis']}" if "axis" in s else ""
            many = f"{s['min']} " if s.get("min", 1) != 1 else "A "
            return f"{many}{s['layer']} joining {joins}{axis}"
        if t == "skip_connection":
            return f"A skip connection ({s.get('layer', merge_layer('sum'))})"
        if t == "concatenation":
            return f"A concatenation ({merge_layer('concat')})"
        if t == "max_depth":
            return f"At most {s['value']} layers deep"
        if t == "min_depth":
            return f"At least {s['value']} layers deep"
        if t == "min_receptive_field":
            which = f"{_axis_word(s['axis'])} of the receptive field" if "axis" in s else "Receptive field"
            return f"{which[0].upper()}{which[1:]} of at least {s['value']:g} pixels" + ("" if "axis" in s else " on every axis")
        if t == "question":
            return str(s["prompt"])
        if t == "training":
            return f"At least {100 * s['min_val_accuracy']:.0f}% validation accuracy on {s['dataset']} in {s.get('epochs', 10)} epochs"
        return t


def _axis_word(axis: Any) -> str:
    return _AXES[axis] if isinstance(axis, int) else str(axis)


def _settings_text(params: Mapping[str, Any] | None) -> str:
    if not params:
        return ""
    return " with " + ", ".join(f"{k}={_value_text(v)}" for k, v in params.items())


def _value_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(_value_text(v) for v in value) if all(_is_int(v) for v in value) else repr(list(value))
    return repr(value) if isinstance(value, str) else str(value)


@dataclass
class Exercise:
    title: str
    instructions: str
    criteria: list[Criterion]
    start: dict[str, Any] | None = None
    source: str = ""
    valid_points: float = 1.0
    #: Where the reference solution is (relative to the exercise file), when the file names one.
    solution: str = ""

    @property
    def questions(self) -> list[Criterion]:
        return [c for c in self.criteria if c.type == "question" and not c.hidden]

    @property
    def max_points(self) -> float:
        return self.valid_points + sum(c.points for c in self.criteria)

    def solution_path(self) -> Path | None:
        """The reference solution: the file's ``solution``, else ``solutions/<exercise file name>`` beside it."""
        if not self.source or self.source.startswith("<"):
            return None
        here = Path(self.source).parent
        return here / self.solution if self.solution else here / "solutions" / Path(self.source).name


@dataclass
class CriterionResult:
    id: str
    label: str
    status: str  # one of STATUSES
    message: str
    points: float = 0.0
    max_points: float = 1.0
    #: The teacher's hint or the analysis's fix, shown with a failed criterion.
    hint: str = ""
    hidden: bool = False

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "label": self.label, "status": self.status, "passed": self.passed, "message": self.message,
            "hint": self.hint, "points": self.points, "max_points": self.max_points, "hidden": self.hidden,
        }


def score(results: list[CriterionResult], *, visible_only: bool = False) -> tuple[float, float]:
    """Points earned and points possible."""
    shown = [r for r in results if not (visible_only and r.hidden)]
    return sum(r.points for r in shown), sum(r.max_points for r in shown)


# ------------------------------------------------------------------------------------------------
# Loading


def _check_layer_params(layer: str, params: Any, fail: Callable[[str, str], ExerciseError]) -> dict[str, Any]:
    """The settings a layer criterion asks for, in the catalogue's canonical form (``3`` → ``(3, 3)``)."""
    if not isinstance(params, dict) or not params:
        raise fail("params", 'must be an object of layer settings, such as {"kernel_size": [3, 3]}')
    spec = CATALOGUE[layer]
    known = {p.name: p for p in spec.params}
    out = {}
    for name, value in params.items():
        if name not in known:
            raise fail("params", f"{layer} has no setting {name!r}{_suggest(name, known)}")
        try:
            out[name] = known[name].coerce(value)
        except ParamError as exc:
            raise fail("params", str(exc)) from None
    return out


def exercise_from_dict(doc: Any, source: str = "<exercise>") -> Exercise:
    """Check every key of an exercise document and build the `Exercise`; raises `ExerciseError` (one line)."""

    def fail_top(message: str) -> ExerciseError:
        return ExerciseError(source, message)

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise fail_top(f'not a LayerLab exercise ("format" must be "{FORMAT}")')
    if doc.get("version") != 1:
        raise fail_top(f'"version" must be 1, got {doc.get("version")!r}')
    for key in doc:
        if key not in _TOP_KEYS:
            raise fail_top(f"unknown key {str(key)[:40]!r}{_suggest(key, _TOP_KEYS)}")
    title, instructions = doc.get("title", ""), doc.get("instructions", "")
    if not isinstance(title, str) or not isinstance(instructions, str):
        raise fail_top('"title" and "instructions" must be text')
    solution = doc.get("solution", "")
    if not isinstance(solution, str) or Path(solution).is_absolute() or ".." in Path(solution).parts:
        raise fail_top('"solution" must be a path relative to the exercise file, inside its folder')
    valid_points = doc.get("valid_points", 1)
    if _nonneg_number(valid_points):
        raise fail_top(f'"valid_points" {_nonneg_number(valid_points)}')
    start = doc.get("start")
    if start is not None:
        try:
            graph_from_dict(start, f"{source} (start)")
        except ProjectError as exc:
            raise fail_top(f"the starting graph is invalid: {exc.detail}") from None
    raw = doc.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise fail_top('"criteria" must be a non-empty list')
    criteria: list[Criterion] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        criteria.append(_criterion(entry, index, seen, source))
    return Exercise(title, instructions, criteria, start, source, float(valid_points), solution)


def _criterion(entry: Any, index: int, seen: set[str], source: str) -> Criterion:
    where = f"criteria[{index}]"
    if not isinstance(entry, dict):
        raise ExerciseError(source, f"{where}: a criterion must be an object with a \"type\"")
    cid = entry.get("id", f"c{index + 1}")
    name = f"criterion {str(cid)[:40]!r} ({where})"

    def fail(key: str, problem: str) -> ExerciseError:
        return ExerciseError(source, f"{name}, key {key!r}: {problem}")

    if not isinstance(cid, str) or not cid.strip() or len(cid) > 100:
        raise ExerciseError(source, f"{where}, key 'id': must be a non-empty text of at most 100 characters")
    if cid in seen or cid == "valid":
        raise fail("id", "must be unique among the criteria (and not 'valid', which every exercise has)")
    seen.add(cid)
    kind = entry.get("type")
    if kind not in SCHEMA:
        raise fail("type", f"unknown criterion type {str(kind)[:40]!r}{_suggest(kind, SCHEMA)}")
    keys = {k.lstrip("!"): check for k, check in SCHEMA[kind].items()}
    allowed = {**_COMMON, **keys}
    for key, value in entry.items():
        if key not in allowed:
            raise fail(key, f"not a key of a {kind} criterion{_suggest(key, allowed)}")
        problem = allowed[key](value)
        if problem:
            raise fail(key, problem)
    for key in SCHEMA[kind]:
        if key.startswith("!") and key[1:] not in entry:
            raise fail(key[1:], f"missing (a {kind} criterion needs {', '.join(k[1:] for k in SCHEMA[kind] if k.startswith('!'))})")
    spec = dict(entry)
    for lo, hi in (("min", "max"), ("min_inputs", "max_inputs")):
        if lo in spec and hi in spec and spec[lo] > spec[hi]:
            raise fail(lo, f"{spec[lo]} is more than {hi} {spec[hi]}: no design can pass")
    if "params" in spec:
        spec["params"] = _check_layer_params(spec["layer"], spec["params"], fail)
    if kind == "merge" and "axis" in spec and not any(p.name == "axis" for p in CATALOGUE[spec["layer"]].params):
        raise fail("axis", f"{spec['layer']} has no axis; only layers such as {merge_layer('concat')} join along one")
    if kind == "forbids_layer" and "max" in entry:
        raise fail("max", "use requires_layer with max")
    return Criterion(cid, kind, spec, float(entry.get("points", 1)), entry.get("hint", ""), bool(entry.get("hidden", False)))


def load_exercise(path: str | Path) -> Exercise:
    return exercise_from_dict(read_json_file(path, ExerciseError), str(path))


# ------------------------------------------------------------------------------------------------
# Measuring a design


def _depth(graph: NetworkGraph) -> int | None:
    """Layers on the longest path (Inputs excluded); None when the design has a cycle."""
    g = graph.nx_graph
    if not nx.is_directed_acyclic_graph(g):
        return None
    depth: dict[str, int] = {}
    for n in nx.topological_sort(g):
        depth[n] = (0 if g.nodes[n]["type"] == "Input" else 1) + max((depth[p] for p in g.predecessors(n)), default=0)
    return max(depth.values(), default=0)


def _receptive_field(teaching: Teaching | None) -> tuple[int, ...] | None:
    """The largest receptive field any layer reaches, per spatial axis (of the layers with the most axes)."""
    if teaching is None:
        return None
    fields = [n.receptive_field for n in teaching.notes.values() if n.receptive_field]
    if not fields:
        return None
    rank = max(len(f) for f in fields)
    return tuple(max(f[i] for f in fields if len(f) == rank) for i in range(rank))


@dataclass
class DesignNumbers:
    """What a teacher's report lists for one design (None where an error leaves a number unknown)."""

    params: int | None
    flops: int | None
    receptive_field: tuple[int, ...] | None
    depth: int | None
    teaching: Teaching | None = field(default=None, repr=False)

    @property
    def receptive_field_text(self) -> str:
        return "x".join(map(str, self.receptive_field)) if self.receptive_field else ""


def design_numbers(graph: NetworkGraph, analysis: Analysis, teaching: Teaching | None = None) -> DesignNumbers:
    """The design's numbers; ``teaching`` (the notes of this very analysis) saves computing them again."""
    teaching = (teaching or explain(graph, analysis)) if analysis.is_valid else None
    return DesignNumbers(
        analysis.total_params if analysis.totals_complete else None,
        teaching.total_flops if teaching else None,
        _receptive_field(teaching),
        _depth(graph),
        teaching,
    )


# ------------------------------------------------------------------------------------------------
# Checking


def _matches(graph: NetworkGraph, node_id: str, layer: str, params: Mapping[str, Any] | None) -> bool:
    node = graph.node(node_id)
    if node.type != layer:
        return False
    return not params or all(graph.params_of(node_id).get(k) == v for k, v in params.items())


def _distinct_inputs(graph: NetworkGraph, node_id: str) -> list[tuple[str, int]]:
    """The distinct tensors a layer receives (the same tensor wired twice counts once)."""
    return list(dict.fromkeys((e.source, e.output) for e in graph.inputs_of(node_id) if not e.is_mask))


def _is_bypass(graph: NetworkGraph, node_id: str, max_shortcut: int = 2) -> bool:
    """A merge that joins a block's output with a shortcut around the block: a real skip connection.

    The shortcut is one input's tensor itself (identity) or a chain of at most ``max_shortcut`` one-input
    layers (a 1x1 projection and its normalisation) leading back to a layer F, and F lies on a path to
    another input that is longer than the shortcut. Two equal branches from one input are not a bypass,
    nor is the same tensor wired twice."""
    g = graph.nx_graph
    sources = list(dict.fromkeys(s for s, _ in _distinct_inputs(graph, node_id)))
    for a in sources:
        chain, steps = a, 0
        while True:
            for b in sources:
                if b != a and chain != b and nx.has_path(g, chain, b) and nx.shortest_path_length(g, chain, b) > steps:
                    return True
            ins = [e for e in graph.inputs_of(chain) if not e.is_mask]
            if steps >= max_shortcut or len(ins) != 1:
                break
            chain, steps = ins[0].source, steps + 1
    return False


class _Checker:
    """Checks one design; each ``c_<type>`` method returns ``(status, message)``."""

    def __init__(self, exercise: Exercise, graph: NetworkGraph, answers: Mapping[str, Any], analysis: Analysis,
                 train: bool, trained: list[dict[str, Any]], numbers: DesignNumbers, answer_problems: Mapping[str, str]) -> None:
        self.exercise, self.graph, self.answers, self.analysis = exercise, graph, answers, analysis
        self.train, self.trained, self.numbers, self.answer_problems = train, trained, numbers, answer_problems
        self.types = [graph.node(n).type for n in graph.node_ids()]

    # -- what blocks a number ------------------------------------------------------------------

    def _first_error(self, upstream_of: str | None = None) -> str:
        """``Not checked: fix the error in conv3 first.`` for the first error (upstream of a layer, if given)."""
        errors = [d for d in self.analysis.errors if d.node is not None]
        if upstream_of is not None:
            above = nx.ancestors(self.graph.nx_graph, upstream_of) | {upstream_of}
            errors = [d for d in errors if d.node in above] or errors
        if not errors:
            first = self.analysis.errors[0] if self.analysis.errors else None
            return f"Not checked: fix the design's error first ({first.message})." if first else "Not checked."
        order = {n: i for i, n in enumerate(self.analysis.order)}
        first = min(errors, key=lambda d: order.get(d.node, 0))  # type: ignore[arg-type]
        return f"Not checked: fix the error in {self.graph.node(first.node).name} first."  # type: ignore[arg-type]

    # -- one method per criterion type ---------------------------------------------------------

    def c_input_shape(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._shape_of(self.analysis.input_nodes, tuple(s["shape"]), "input")

    def c_output_shape(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._shape_of(self.analysis.output_nodes, tuple(s["shape"]), "output")

    def _shape_of(self, nodes: list[str], want: tuple[Any, ...], what: str) -> tuple[str, str]:
        if len(nodes) != 1:
            return "failed", f"The design has {len(nodes)} {what}s; the exercise wants one {what} of shape {fmt_shape(want)}."
        shape = self.analysis[nodes[0]].shape
        if shape is None:
            return "not checked", self._first_error(nodes[0])
        if shape == want:
            return "passed", f"The {what} is {fmt_shape(want)}."
        return "failed", f"The {what} is {fmt_shape(shape)}, but it should be {fmt_shape(want)}."

    def c_layer_shape(self, s: Mapping[str, Any]) -> tuple[str, str]:
        node = self.graph.find(s["layer"])
        want = tuple(s["shape"])
        if node is None:
            return "failed", f"The design has no layer called {s['layer']}; the exercise asks for one with output {fmt_shape(want)}."
        shape = self.analysis[node].shape
        if shape is None:
            return "not checked", self._first_error(node)
        if shape == want:
            return "passed", f"{s['layer']} outputs {fmt_shape(want)}."
        return "failed", f"{s['layer']} outputs {fmt_shape(shape)}, but it should output {fmt_shape(want)}."

    def c_max_params(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._params(s["value"], "at most")

    def c_min_params(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._params(s["value"], "at least")

    def _params(self, bound: float, word: str) -> tuple[str, str]:
        return self._bounded(self.numbers.params, bound, word, "The design has {} parameters", "it should have {} {}")

    def _bounded(self, value: int | None, bound: float, word: str, says: str, wants: str) -> tuple[str, str]:
        """Compare a number of the design with ``at most``/``at least`` a bound; unknown numbers are not checked."""
        if value is None:
            return "not checked", self._first_error()
        text = says.format(fmt_int(value))
        if (value <= bound) if word == "at most" else (value >= bound):
            return "passed", f"{text}."
        return "failed", f"{text}; {wants.format(word, fmt_int(int(bound)))}."

    def c_max_flops(self, s: Mapping[str, Any]) -> tuple[str, str]:
        flops = self.numbers.flops
        if flops is None:
            return "not checked", self._first_error()
        if flops <= s["value"]:
            return "passed", f"The design needs {fmt_int(flops)} multiply-adds per sample."
        return "failed", f"The design needs {fmt_int(flops)} multiply-adds per sample; the limit is {fmt_int(int(s['value']))}."

    def c_requires_layer(self, s: Mapping[str, Any]) -> tuple[str, str]:
        layer, params = s["layer"], s.get("params")
        count = sum(_matches(self.graph, n, layer, params) for n in self.graph.node_ids())
        lo, hi = s.get("min", 1), s.get("max")
        what = f"{layer} layer(s){_settings_text(params)}"
        if count >= lo and (hi is None or count <= hi):
            return "passed", f"The design has {count} {what}."
        need = f"{lo} to {hi}" if hi is not None and hi != lo else (f"exactly {lo}" if hi == lo else f"at least {lo}")
        message = f"The design has {count} {what}; it needs {need}."
        if params and count < lo:
            plain = self.types.count(layer)
            if plain > count:
                message += f" ({plain - count} other {layer} layer(s) have different settings.)"
        return "failed", message

    def c_forbids_layer(self, s: Mapping[str, Any]) -> tuple[str, str]:
        layer, params = s["layer"], s.get("params")
        hits = [self.graph.node(n).name for n in self.graph.node_ids() if _matches(self.graph, n, layer, params)]
        what = f"{layer} layers{_settings_text(params)}"
        if not hits:
            return "passed", f"No {what} are used."
        return "failed", f"The design uses {len(hits)} {what} ({', '.join(hits[:5])}), which this exercise does not allow."

    def _merges(self, layer: str, *, lo: int = 2, hi: int | None = None, axis: int | None = None,
                bypass: int | None = None) -> tuple[list[str], list[str]]:
        """Merges of ``layer`` that fit, and those of that type that do not (for the message)."""
        good: list[str] = []
        other: list[str] = []
        for n in self.graph.node_ids():
            if self.graph.node(n).type != layer:
                continue
            distinct = len(_distinct_inputs(self.graph, n))
            fits = distinct >= lo and (hi is None or distinct <= hi)
            fits = fits and (axis is None or self.graph.params_of(n).get("axis") == axis)
            fits = fits and (bypass is None or _is_bypass(self.graph, n, bypass))
            (good if fits else other).append(n)
        return good, other

    def _merge_result(self, good: list[str], other: list[str], need: int, what: str, advice: str) -> tuple[str, str]:
        working = [n for n in good if self.analysis[n].status == "ok"]
        if len(working) >= need:
            first = self.graph.node(working[0])
            joins = len(_distinct_inputs(self.graph, working[0]))
            return "passed", f"{first.name} ({first.type}) joins {joins} branches{' as a skip connection' if 'skip' in what else ''}."
        if len(good) >= need:
            return "not checked", self._first_error(next(n for n in good if self.analysis[n].status != "ok"))
        if other:
            n = other[0]
            node = self.graph.node(n)
            inputs = self.graph.inputs_of(n)
            distinct = len(_distinct_inputs(self.graph, n))
            if distinct < len([e for e in inputs if not e.is_mask]):
                return "failed", (f"{node.name} takes the same tensor {len(inputs) - distinct + 1} times, so it is not {what}: "
                                  f"wire it to different branches. {advice}")
            if "skip" in what and distinct >= 2:
                return "failed", f"{node.name} ({node.type}) joins {distinct} parallel branches, but none of them goes around the other: {advice}"
            return "failed", f"{node.name} ({node.type}) joins {distinct} branch(es), which is not {what}. {advice}"
        return "failed", f"The design has no {what}: {advice}"

    def c_merge(self, s: Mapping[str, Any]) -> tuple[str, str]:
        lo, hi, axis = s.get("min_inputs", 2), s.get("max_inputs"), s.get("axis")
        good, other = self._merges(s["layer"], lo=lo, hi=hi, axis=axis)
        joins = f"exactly {lo}" if hi == lo else (f"{lo} to {hi}" if hi is not None else f"at least {lo}")
        where = f" along axis {axis}" if axis is not None else ""
        what = f"a {s['layer']} of {joins} different branches{where}"
        return self._merge_result(good, other, s.get("min", 1), what, f"Join {joins} parallel branches with {s['layer']}{where}.")

    def c_skip_connection(self, s: Mapping[str, Any]) -> tuple[str, str]:
        layer = s.get("layer", merge_layer("sum"))
        good, other = self._merges(layer, bypass=s.get("max_shortcut_layers", 2))
        advice = f"Send a block's input both through the block and around it, and join the two with {layer}."
        return self._merge_result(good, other, s.get("min", 1), f"a skip connection ({layer})", advice)

    def c_concatenation(self, s: Mapping[str, Any]) -> tuple[str, str]:
        layer = merge_layer("concat")
        good, other = self._merges(layer)
        return self._merge_result(good, other, s.get("min", 1), f"a {layer} of different branches", f"Join parallel branches with {layer}.")

    def c_max_depth(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._depth(s["value"], "at most")

    def c_min_depth(self, s: Mapping[str, Any]) -> tuple[str, str]:
        return self._depth(s["value"], "at least")

    def _depth(self, bound: int, word: str) -> tuple[str, str]:
        return self._bounded(self.numbers.depth, bound, word, "The longest path has {} layers", "it should have {} {}")

    def c_min_receptive_field(self, s: Mapping[str, Any]) -> tuple[str, str]:
        if not self.analysis.is_valid:
            return "not checked", self._first_error()
        rf = self.numbers.receptive_field
        want = s["value"]
        if rf is None:
            return "failed", "The design has no layer with spatial axes, so it has no receptive field: start from an image or a sequence."
        names = _AXES[3 - len(rf):] if len(rf) <= 3 else tuple(f"axis {i + 1}" for i in range(len(rf)))
        size = "x".join(map(str, rf))
        if "axis" in s:
            name = _axis_word(s["axis"])
            if name not in names:
                return "failed", f"The receptive field is {size} pixels; it has no {name} axis."
            got = rf[names.index(name)]
            if got >= want:
                return "passed", f"The receptive field reaches {got} pixels in {name} ({size})."
            return "failed", f"The receptive field reaches {got} pixels in {name} ({size}); it should reach {want:g}. Stack more, larger or strided convolutions."
        short = [f"{n} {v}" for n, v in zip(names, rf) if v < want]
        if not short:
            return "passed", f"The largest receptive field is {size} pixels."
        return "failed", (f"The largest receptive field is {size} pixels: {', '.join(short)} is below {want:g} "
                          "(every axis must reach it). Stack more, larger or strided convolutions along it.")

    def c_question(self, s: Mapping[str, Any], cid: str) -> tuple[str, str]:
        answer = s["answer"]
        given = self.answers.get(cid)
        unreadable = self.answer_problems.get(cid) or self.answer_problems.get("*")
        layer = answer.get("params_of")
        expected: float | None = answer.get("value")
        if layer is not None:
            node = self.graph.find(layer)
            if node is None:
                return "failed", f"The design has no layer called {layer}, so the answer cannot be checked: name the layer {layer}."
            count = self.analysis[node].params
            if count is None:
                return "not checked", self._first_error(node)
            expected = count.total
        assert expected is not None
        if given is None and unreadable:
            return "failed", f"Not answered: {unreadable}."
        if given is None or (isinstance(given, str) and not given.strip()):
            return "failed", "Not answered yet."
        try:
            value = float(str(given).replace(",", "").replace("_", "").strip())
        except ValueError:
            return "failed", f"{str(given)[:40]!r} is not a number."
        if math.isfinite(value) and abs(value - expected) <= s.get("tolerance", 0):
            shown = fmt_int(int(expected)) if float(expected).is_integer() else f"{expected:g}"
            return "passed", f"Correct: {shown}."
        if layer is not None:
            spec = self.graph.node(self.graph.find(layer)).spec  # type: ignore[arg-type]
            return "failed", f"{given} is not right. Work out {layer}'s weights from how a {spec.type} layer counts them, and try again."
        return "failed", f"{given} is not right; try again."

    def c_training(self, s: Mapping[str, Any]) -> tuple[str, str]:
        target = s["min_val_accuracy"]
        run = next((r for r in self.trained if r.get("dataset") == s["dataset"]), None)
        if run is not None:
            if run.get("error"):
                return "failed", f"Training failed: {run['error']}"
            accuracy = run.get("val_accuracy") or 0.0
            ok = accuracy >= target
            below = "" if ok else f", below the {100 * target:.0f}% target"
            where = run.get("where", "in your last training run")
            return ("passed" if ok else "failed"), f"Validation accuracy {100 * accuracy:.1f}% {where} ({run.get('epochs_run')} epochs){below}."
        if not self.analysis.is_valid:
            return "not checked", self._first_error()
        if not self.train:
            return "not run", "Training was not run (use check --train, or Train in the editor)."
        return train_check(self.graph, s)


def check_design(
    exercise: Exercise,
    graph: NetworkGraph,
    answers: Mapping[str, Any] | None = None,
    analysis: Analysis | None = None,
    train: bool = False,
    trained: dict[str, Any] | list[dict[str, Any]] | None = None,
    numbers: DesignNumbers | None = None,
    answer_problems: Mapping[str, str] | None = None,
) -> list[CriterionResult]:
    """Check ``graph`` against every criterion; each result carries a sentence a student understands.

    ``trained`` is the result of training runs already made on this very design (each ``{"dataset",
    "epochs_run", "val_accuracy"}`` or ``{"dataset", "error"}``, from the editor or from ``grade --train``);
    training criteria use them instead of training again. ``answer_problems`` says why answers the
    project file held could not be read (`engine.project` keeps the rest).
    """
    analysis = analysis or analyse(graph)
    numbers = numbers or design_numbers(graph, analysis)
    runs = [] if trained is None else ([trained] if isinstance(trained, dict) else list(trained))
    checker = _Checker(exercise, graph, answers or {}, analysis, train, runs, numbers, answer_problems or {})
    label = "The design has no errors"
    if analysis.is_valid:
        results = [CriterionResult("valid", label, "passed", "The design has no errors.", exercise.valid_points, exercise.valid_points)]
    else:
        first = analysis.errors[0]
        where = f"{graph.node(first.node).name}: " if first.node else ""
        more = f" (and {len(analysis.errors) - 1} more)" if len(analysis.errors) > 1 else ""
        results = [CriterionResult("valid", label, "failed", f"{where}{first.message}{more}", 0.0, exercise.valid_points, first.hint)]
    for c in exercise.criteria:
        method = getattr(checker, f"c_{c.type}")
        status, message = method(c.spec, c.id) if c.type == "question" else method(c.spec)
        hint = c.hint if status == "failed" else ""
        results.append(CriterionResult(c.id, c.label, status, message, c.points if status == "passed" else 0.0, c.points, hint, c.hidden))
    return results


def train_check(graph: NetworkGraph, spec: Mapping[str, Any]) -> tuple[str, str]:
    """Train ``graph`` as a training criterion asks, in this process."""
    from engine.datasets import DatasetError, image_shape_for, resolve
    from engine.training import TrainConfig, TrainingError, run_training

    try:
        dataset = resolve(spec["dataset"], "", image_shape_for(graph))
        result = run_training(graph, TrainConfig(dataset, epochs=int(spec.get("epochs", 10))), lambda m: None)
    except (TrainingError, DatasetError) as exc:
        return "failed", f"Training failed: {exc}"
    return training_verdict(result.get("val_accuracy"), spec["min_val_accuracy"])


def training_verdict(accuracy: float | None, target: float) -> tuple[str, str]:
    accuracy = accuracy or 0.0
    if accuracy >= target:
        return "passed", f"Validation accuracy {100 * accuracy:.1f}%."
    return "failed", f"Validation accuracy {100 * accuracy:.1f}%, below the {100 * target:.0f}% target."
