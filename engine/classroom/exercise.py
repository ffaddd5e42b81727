"""The exercise format: criteria checked on load, and written back by the authoring view.

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
        {"id": "bi", "type": "requires_layer", "layer": "Bidirectional",
         "params": {"layer": {"type": "LSTM", "params": {"return_sequences": true}}}},  # a wrapper and what it wraps
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
from dataclasses import dataclass
from engine.i18n import _
from engine.i18n import ngettext
from pathlib import Path
from typing import Any

from engine.classroom.matching import coerce_settings, layer_pattern
from engine.layers import CATALOGUE, ParamError, fmt_int, fmt_shape
from engine.project import ProjectError, graph_from_dict, read_json_file

__all__ = [
    "Criterion",
    "CriterionResult",
    "Exercise",
    "ExerciseError",
    "FORMAT",
    "SCHEMA",
    "STATUSES",
    "exercise_from_dict",
    "criterion_to_dict",
    "count_sentence",
    "exercise_to_dict",
    "load_exercise",
    "merge_layer",
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
    return "" if _is_number(value) and value >= 0 else 'must be a number of at least 0 (write 0.05, not "5%")'


def _positive_number(value: Any) -> str:
    return "" if _is_number(value) and value > 0 else "must be a number greater than 0"


def _count(value: Any) -> str:
    return "" if _is_int(value) and value >= 0 else "must be a whole number of at least 0"


def _inputs(value: Any) -> str:
    return (
        ""
        if _is_int(value) and value >= 2
        else "must be a whole number of at least 2 (a merge joins two or more tensors)"
    )


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
    if (
        isinstance(value, dict)
        and set(value) == {"params_of"}
        and isinstance(value["params_of"], str)
        and value["params_of"]
    ):
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
    "training": {
        "!dataset": _text,
        "epochs": lambda v: "" if _is_int(v) and 1 <= v <= 10_000 else "must be a whole number from 1 to 10000",
        "!min_val_accuracy": _fraction,
    },
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
        if t in ("input_shape", "output_shape"):
            text = _("Input shape {shape}") if t == "input_shape" else _("Output shape {shape}")
            return text.format(shape=fmt_shape(tuple(s["shape"])))
        if t == "layer_shape":
            return _("{layer} outputs {shape}").format(layer=s["layer"], shape=fmt_shape(tuple(s["shape"])))
        if t in ("max_params", "min_params", "max_flops"):
            text = {
                "max_params": _("At most {value} parameters"),
                "min_params": _("At least {value} parameters"),
                "max_flops": _("At most {value} multiply-adds"),
            }[t]
            return text.format(value=fmt_int(s["value"]))
        if t == "requires_layer":
            return count_sentence(s.get("min", 1), s.get("max"), layer_pattern(s["layer"], s.get("params")))
        if t == "forbids_layer":
            return _("No {pattern} layers").format(pattern=layer_pattern(s["layer"], s.get("params")))
        if t == "merge":
            return _merge_label(s)
        if t == "skip_connection":
            return _("A skip connection joined by {layer}").format(layer=s.get("layer", merge_layer("sum")))
        if t == "concatenation":
            return _("A {layer} of different branches").format(layer=merge_layer("concat"))
        if t in ("max_depth", "min_depth"):
            text = _("At most {value} layers deep") if t == "max_depth" else _("At least {value} layers deep")
            return text.format(value=s["value"])
        if t == "min_receptive_field":
            if "axis" in s:
                return _("A receptive field of at least {value:g} pixels in {axis}").format(
                    value=s["value"], axis=_axis_word(s["axis"])
                )
            return _("A receptive field of at least {value:g} pixels on every axis").format(value=s["value"])
        if t == "question":
            return str(s["prompt"])
        if t == "training":
            return _("At least {percent:.0f}% validation accuracy on {dataset} in {epochs} epochs").format(
                percent=100 * s["min_val_accuracy"], dataset=s["dataset"], epochs=s.get("epochs", 10)
            )
        return t


def count_sentence(lo: int, hi: int | None, pattern: str) -> str:
    """``At least 2 Conv2D(kernel_size=(3, 3)) layers``: how many layers of a kind a criterion asks for."""
    if hi is None:
        return ngettext("At least {min} {pattern} layer", "At least {min} {pattern} layers", lo).format(
            min=lo, pattern=pattern
        )
    if hi == lo:
        return ngettext("Exactly {min} {pattern} layer", "Exactly {min} {pattern} layers", lo).format(
            min=lo, pattern=pattern
        )
    if lo == 0:
        return ngettext("At most {max} {pattern} layer", "At most {max} {pattern} layers", hi).format(
            max=hi, pattern=pattern
        )
    return _("{min} to {max} {pattern} layers").format(min=lo, max=hi, pattern=pattern)


def _merge_label(s: Mapping[str, Any]) -> str:
    lo, hi, many = s.get("min_inputs", 2), s.get("max_inputs"), s.get("min", 1)
    values = {"layer": s["layer"], "min": lo, "max": hi, "count": many, "axis": s.get("axis")}
    if hi == lo:
        text = (
            _("{count} {layer} joining exactly {min} branches")
            if many != 1
            else _("A {layer} joining exactly {min} branches")
        )
    elif hi is not None:
        text = (
            _("{count} {layer} joining {min} to {max} branches")
            if many != 1
            else _("A {layer} joining {min} to {max} branches")
        )
    else:
        text = (
            _("{count} {layer} joining at least {min} branches")
            if many != 1
            else _("A {layer} joining at least {min} branches")
        )
    text = text.format(**values)
    return _("{merge} along axis {axis}").format(merge=text, axis=s["axis"]) if "axis" in s else text


def _axis_word(axis: Any) -> str:
    return _AXES[axis] if isinstance(axis, int) else str(axis)


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
            "id": self.id,
            "label": self.label,
            "status": self.status,
            "passed": self.passed,
            "message": self.message,
            "hint": self.hint,
            "points": self.points,
            "max_points": self.max_points,
            "hidden": self.hidden,
        }


def score(results: list[CriterionResult], *, visible_only: bool = False) -> tuple[float, float]:
    """Points earned and points possible."""
    shown = [r for r in results if not (visible_only and r.hidden)]
    return sum(r.points for r in shown), sum(r.max_points for r in shown)


# ------------------------------------------------------------------------------------------------
# Loading


def _check_layer_params(layer: str, params: Any, fail: Callable[[str, str], ExerciseError]) -> dict[str, Any]:
    """The settings a layer criterion asks for, in the catalogue's canonical form (``3`` → ``(3, 3)``)."""
    try:
        return coerce_settings(layer, params)
    except ParamError as exc:
        raise fail("params", str(exc)) from None


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
        raise ExerciseError(source, f'{where}: a criterion must be an object with a "type"')
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
            raise fail(
                key[1:],
                f"missing (a {kind} criterion needs {', '.join(k[1:] for k in SCHEMA[kind] if k.startswith('!'))})",
            )
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
    return Criterion(
        cid, kind, spec, float(entry.get("points", 1)), entry.get("hint", ""), bool(entry.get("hidden", False))
    )


def load_exercise(path: str | Path) -> Exercise:
    return exercise_from_dict(read_json_file(path, ExerciseError), str(path))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def criterion_to_dict(criterion: Criterion) -> dict[str, Any]:
    """A criterion as the exercise file writes it: defaults left out, settings as JSON lists."""
    entry = {k: _jsonable(v) for k, v in criterion.spec.items() if k not in ("id", "type", "points", "hint", "hidden")}
    out: dict[str, Any] = {"id": criterion.id, "type": criterion.type, **entry}
    if criterion.points != 1:
        out["points"] = int(criterion.points) if float(criterion.points).is_integer() else criterion.points
    if criterion.hint:
        out["hint"] = criterion.hint
    if criterion.hidden:
        out["hidden"] = True
    return out


def exercise_to_dict(exercise: Exercise) -> dict[str, Any]:
    """The exercise document `exercise_from_dict` reads back into the same exercise."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "title": exercise.title,
        "instructions": exercise.instructions,
    }
    if exercise.start is not None:
        doc["start"] = exercise.start
    if exercise.solution:
        doc["solution"] = exercise.solution
    if exercise.valid_points != 1:
        doc["valid_points"] = (
            int(exercise.valid_points) if float(exercise.valid_points).is_integer() else exercise.valid_points
        )
    doc["criteria"] = [criterion_to_dict(c) for c in exercise.criteria]
    return doc
