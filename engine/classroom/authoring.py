"""Building an exercise from a design: the engine side of the editor's authoring view.

An `ExerciseDraft` holds what a teacher is writing: the title, the instructions, the criteria (as the
exercise file writes them) and which layers of the reference students get in their starting design. The
reference solution is the design open in the editor. `suggest_criterion` fills a new criterion of any kind
from the reference (its input shape, its parameter count, its first merge ...), so that it passes on the
reference until the teacher tightens it; `preview` checks the reference against the draft, the checklist
the authoring view shows on every change; `save_draft` writes the exercise file and its reference solution
beside it (``solutions/NAME.json``, with the right answers to the questions), which ``validate`` accepts.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from engine.i18n import _
from pathlib import Path
from typing import Any

from engine.analysis import Analysis, analyse
from engine.classroom.checker import _distinct_inputs, check_design, design_numbers, right_answers
from engine.classroom.exercise import (
    FORMAT,
    SCHEMA,
    CriterionResult,
    Exercise,
    ExerciseError,
    exercise_from_dict,
    merge_layer,
)
from engine.graph import NetworkGraph
from engine.layers import CATALOGUE
from engine.project import atomic_write_text, graph_to_dict

__all__ = ["CRITERION_TYPES", "ExerciseDraft", "preview", "save_draft", "suggest_criterion"]

#: Every criterion type the format has, in the order the authoring view offers them.
CRITERION_TYPES = tuple(SCHEMA)


@dataclass
class ExerciseDraft:
    """An exercise being written, over a reference design (not owned: the editor's open design)."""

    title: str = ""
    instructions: str = ""
    criteria: list[dict[str, Any]] = field(default_factory=list)
    #: Layers of the reference that students do *not* get in their starting design (they build them).
    removed: set[str] = field(default_factory=set)
    #: Whether students start from a part of the reference at all (else from an empty canvas).
    with_start: bool = False
    valid_points: float = 1.0

    def start(self, reference: NetworkGraph) -> dict[str, Any] | None:
        """The starting design: the reference without the removed layers (and their wires), or None."""
        if not self.with_start:
            return None
        graph = reference.copy()
        for node in [n for n in self.removed if n in graph]:
            graph.remove_node(node)
        doc = graph_to_dict(graph)
        doc.pop("answers", None)
        return doc

    def document(self, reference: NetworkGraph, solution: str = "") -> dict[str, Any]:
        """The exercise file's document (``solution``: the reference's path relative to it)."""
        doc: dict[str, Any] = {
            "format": FORMAT,
            "version": 1,
            "title": self.title.strip() or _("Untitled exercise"),
            "instructions": self.instructions,
        }
        start = self.start(reference)
        if start is not None:
            doc["start"] = start
        if solution:
            doc["solution"] = solution
        if self.valid_points != 1:
            doc["valid_points"] = self.valid_points
        doc["criteria"] = [dict(c) for c in self.criteria]
        return doc

    def exercise(self, reference: NetworkGraph, source: str = "<draft>") -> Exercise:
        """The exercise as `exercise_from_dict` reads it; raises `ExerciseError` (one line) for a criterion that
        is not complete or not valid yet."""
        return exercise_from_dict(self.document(reference), source)


def _fresh_id(kind: str, taken: set[str]) -> str:
    base = {
        "input_shape": "in",
        "output_shape": "out",
        "max_params": "size",
        "min_params": "min_size",
        "max_flops": "flops",
        "requires_layer": "layers",
        "forbids_layer": "no",
        "skip_connection": "skip",
        "concatenation": "concat",
        "min_receptive_field": "rf",
        "question": "q",
        "training": "train",
    }.get(kind, kind)
    if base not in taken and base != "valid":
        return base
    return next(f"{base}{i}" for i in range(2, 10_000) if f"{base}{i}" not in taken)


def _palette_types(family: str) -> list[str]:
    """The layer types of a palette family, in the catalogue's order (Input left out)."""
    return [t for t, spec in CATALOGUE.items() if spec.family == family and spec.max_inputs != 0]


def _nice_bound(value: int, up: bool) -> int:
    """A round bound near ``value`` with room (10% above or below), e.g. 61,706 -> 68,000."""
    target = value * 1.1 if up else value * 0.9
    if target < 100:
        return int(math.ceil(target)) if up else int(math.floor(target))
    step = 10 ** (len(str(int(target))) - 2)
    return int(math.ceil(target / step) * step) if up else int(math.floor(target / step) * step)


def suggest_criterion(
    kind: str, reference: NetworkGraph, taken: set[str] | None = None, analysis: Analysis | None = None
) -> dict[str, Any]:
    """A new criterion of ``kind`` filled from the reference so that the reference passes it (the teacher then
    tightens it). Raises `ValueError` for an unknown kind."""
    if kind not in SCHEMA:
        raise ValueError(f"unknown criterion type {kind!r}")
    analysis = analysis or analyse(reference)
    numbers = design_numbers(reference, analysis)
    entry: dict[str, Any] = {"id": _fresh_id(kind, taken or set()), "type": kind}
    layers = [n for n in analysis.order if reference.node(n).type != "Input"]
    types = Counter(reference.node(n).type for n in layers)
    merges = [n for n in layers if reference.node(n).spec.is_merge and reference.node(n).spec.family == "Merge"]

    def shape_of(nodes: list[str]) -> list[Any]:
        shape = analysis[nodes[0]].shape if nodes else None
        return list(shape) if shape is not None else [1]

    if kind == "input_shape":
        entry["shape"] = shape_of(analysis.input_nodes)
    elif kind == "output_shape":
        entry["shape"] = shape_of(analysis.output_nodes)
    elif kind == "layer_shape":
        node = layers[len(layers) // 2] if layers else None
        entry["layer"] = reference.node(node).name if node else "layer"
        entry["shape"] = shape_of([node] if node else [])
    elif kind in ("max_params", "min_params"):
        entry["value"] = _nice_bound(numbers.params or 0, kind == "max_params")
    elif kind == "max_flops":
        entry["value"] = _nice_bound(numbers.flops or 0, True)
    elif kind in ("requires_layer", "forbids_layer"):
        if kind == "requires_layer":
            layer = types.most_common(1)[0][0] if types else _palette_types("Core")[0]
            entry.update(layer=layer, min=types[layer] or 1)
        else:
            # A type the reference does not use, from the families a student is most tempted by.
            absent = [t for family in ("Pooling", "Reshaping", "Core", "Regularization") for t in _palette_types(family) if t not in types]
            entry["layer"] = absent[0] if absent else _palette_types("Recurrent")[0]
    elif kind == "merge":
        node = merges[0] if merges else None
        entry["layer"] = reference.node(node).type if node else merge_layer("concat")
        count = len(_distinct_inputs(reference, node)) if node else 2
        entry.update(min_inputs=count, max_inputs=count)
        axis = reference.params_of(node).get("axis") if node else None
        if isinstance(axis, int):
            entry["axis"] = axis
    elif kind in ("max_depth", "min_depth"):
        entry["value"] = numbers.depth or 1
    elif kind == "min_receptive_field":
        entry["value"] = min(numbers.receptive_field) if numbers.receptive_field else 3
    elif kind == "question":
        counted = [n for n in layers if (analysis[n].params is not None and analysis[n].params.total > 0)]  # type: ignore[union-attr]
        node = counted[0] if counted else None
        name = reference.node(node).name if node else "layer"
        entry.update(prompt=_("How many parameters does {layer} have?").format(layer=name), answer={"params_of": name})
    elif kind == "training":
        entry.update(dataset="digits", epochs=10, min_val_accuracy=0.9)
    return entry


def preview(
    draft: ExerciseDraft, reference: NetworkGraph, analysis: Analysis | None = None
) -> list[CriterionResult] | str:
    """The checklist of the reference against the draft, or the one line saying what is not valid yet."""
    try:
        exercise = draft.exercise(reference)
    except ExerciseError as exc:
        return exc.detail
    analysis = analysis or analyse(reference)
    return check_design(exercise, reference, right_answers(exercise, reference, analysis), analysis)


def save_draft(draft: ExerciseDraft, reference: NetworkGraph, path: str | Path) -> tuple[Path, Path]:
    """Write the exercise file at ``path`` and the reference solution at ``solutions/<file name>`` beside it
    (with the right answers). Raises `ExerciseError` when the draft is not a valid exercise yet; returns both paths."""
    from engine.project import save_project

    path = Path(path)
    draft.exercise(reference, str(path))  # refuses an invalid draft before anything is written
    solution = path.parent / "solutions" / path.name
    doc = draft.document(reference, f"solutions/{path.name}")
    exercise = exercise_from_dict(doc, str(path))
    solution.parent.mkdir(parents=True, exist_ok=True)
    save_project(reference, solution, name=exercise.title, answers=right_answers(exercise, reference))
    atomic_write_text(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return path, solution
