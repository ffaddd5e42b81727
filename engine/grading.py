"""Grading a class (kept for old imports: the code lives in `engine.classroom`).

`engine.classroom.submissions` finds the submissions of an LMS export, `engine.classroom.grading` grades
them, `engine.classroom.reports` writes the CSV, Gradescope ``results.json`` and feedback, and
`engine.classroom.validation` validates an exercise.
"""

from __future__ import annotations

from engine.classroom.grading import GradedSubmission, grade_class, load_submission, problem_results
from engine.classroom.reports import (
    feedback_markdown,
    gradescope_results,
    output_names,
    report_csv,
    safe_file_name,
    write_outputs,
)
from engine.classroom.submissions import (
    MAX_SUBMISSIONS,
    Submission,
    counted_submissions,
    find_submissions,
    gradescope_metadata,
    scan_class,
)
from engine.classroom.validation import ValidationReport, validate_exercise

__all__ = [
    "MAX_SUBMISSIONS",
    "GradedSubmission",
    "Submission",
    "ValidationReport",
    "counted_submissions",
    "feedback_markdown",
    "find_submissions",
    "grade_class",
    "gradescope_metadata",
    "gradescope_results",
    "load_submission",
    "output_names",
    "problem_results",
    "report_csv",
    "safe_file_name",
    "scan_class",
    "validate_exercise",
    "write_outputs",
]
