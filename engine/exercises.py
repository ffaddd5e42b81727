"""Exercises and the checker (kept for old imports: the code lives in `engine.classroom`).

See `engine.classroom.exercise` for the file format and `engine.classroom.checker` for the checker.
"""

from __future__ import annotations

from engine.classroom.checker import DesignNumbers, check_design, design_numbers, train_check, training_verdict
from engine.classroom.exercise import (
    FORMAT,
    SCHEMA,
    STATUSES,
    Criterion,
    CriterionResult,
    Exercise,
    ExerciseError,
    exercise_from_dict,
    exercise_to_dict,
    load_exercise,
    merge_layer,
    score,
)

__all__ = [
    "FORMAT",
    "SCHEMA",
    "STATUSES",
    "Criterion",
    "CriterionResult",
    "DesignNumbers",
    "Exercise",
    "ExerciseError",
    "check_design",
    "design_numbers",
    "exercise_from_dict",
    "exercise_to_dict",
    "load_exercise",
    "merge_layer",
    "score",
    "train_check",
    "training_verdict",
]
