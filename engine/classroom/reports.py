"""What a teacher and an LMS read after grading: the CSV, Gradescope ``results.json`` files and Markdown feedback.

Every submission gets its own output file (`output_names`: never two submissions on one name, also on a
file system that ignores case). Nothing a student reads (feedback, the visible tests and the top-level
``output`` of ``results.json``) says how many points hidden criteria are worth or earned.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Sequence
from engine.i18n import _
from engine.i18n import ngettext
from pathlib import Path
from typing import Any

from engine.classroom.exercise import CriterionResult, Exercise, score
from engine.classroom.grading import GradedSubmission
from engine.classroom.submissions import OUTPUT_MARKER, counted_submissions

__all__ = [
    "feedback_markdown",
    "gradescope_results",
    "output_names",
    "report_csv",
    "safe_file_name",
    "write_outputs",
]


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _cell(result: CriterionResult) -> str:
    return f"{result.status}: {result.message}" + (f" Hint: {result.hint}" if result.hint else "")


def safe_file_name(text: str) -> str:
    """A file name made of the id's letters, digits, dots, dashes and underscores (never a path)."""
    return re.sub(r"[^\w.-]+", "_", text).strip("._")[:120] or "student"


def output_names(graded: Sequence[GradedSubmission]) -> list[str]:
    """One file name per submission, never the same for two (compared without case, as macOS and Windows do).

    The student id alone when the student handed in one file; with the file's path inside the student's
    folder when several; a number after a name that is still taken (``a b`` and ``a_b`` give ``a_b`` and ``a_b-2``)."""
    counts: dict[str, int] = {}
    for g in graded:
        counts[g.submission.key] = counts.get(g.submission.key, 0) + 1
    taken: set[str] = set()
    names = []
    for g in graded:
        s = g.submission
        if counts[s.key] == 1:
            base = safe_file_name(s.student)
        else:
            inside = Path(s.relative).with_suffix("")
            inside = Path(*inside.parts[1:]) if len(inside.parts) > 1 else inside
            base = safe_file_name(f"{s.student}-{'-'.join(inside.parts)}")
        name, number = base, 1
        while name.casefold() in taken:
            number += 1
            name = f"{base}-{number}"
        taken.add(name.casefold())
        names.append(name)
    return names


def report_csv(exercise: Exercise, graded: Sequence[GradedSubmission], names: Sequence[str] | None = None) -> str:
    """One row per submission: who (student, name, user id, late), which file and whether it counts (the newest of
    a student's files does; ``other_files`` lists the rest), status, points, the design's numbers and answers,
    then each criterion's points and sentence in columns of their own (csv quotes any punctuation)."""
    ids = ["valid", *(c.id for c in exercise.criteria)]
    questions = [c.id for c in exercise.criteria if c.type == "question"]
    names = list(names) if names is not None else output_names(graded)
    counted = counted_submissions([g.submission for g in graded])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "student",
            "name",
            "user_id",
            "late",
            "file",
            "counted",
            "other_files",
            "output",
            "status",
            "points",
            "max_points",
            "passed",
            "total",
            "parameters",
            "multiply_adds",
            "receptive_field",
            "depth",
            *(f"answer_{q}" for q in questions),
            "val_accuracy",
            *(f"points_{i}" for i in ids),
            *(f"message_{i}" for i in ids),
            "problem",
        ]
    )
    for g, name, (counts, others) in zip(graded, names, counted):
        s = g.submission
        by_id = {r.id: r for r in g.results}
        n = g.numbers
        cells = [_number(by_id[i].points) if i in by_id and by_id[i].status != "not run" else "" for i in ids]
        messages = [_cell(by_id[i]) if i in by_id else "" for i in ids]
        late = "" if s.late is None else ("yes" if s.late else "no")
        writer.writerow(
            [
                s.student,
                s.name,
                s.user_id,
                late,
                s.relative,
                "yes" if counts else "no",
                "; ".join(others),
                name,
                g.status,
                _number(g.points),
                _number(exercise.max_points),
                sum(r.passed for r in g.results),
                len(ids),
                _number(n.params if n else None),
                _number(n.flops if n else None),
                n.receptive_field_text if n else "",
                _number(n.depth if n else None),
                *(str(g.answers.get(q, "")) for q in questions),
                _number(g.val_accuracy),
                *cells,
                *messages,
                g.problem,
            ]
        )
    return buffer.getvalue()


def _visible_summary(exercise: Exercise, graded: GradedSubmission) -> str:
    """The one line about the whole submission a student may read: the visible criteria's points only."""
    earned, possible = score(graded.results, visible_only=True)
    text = _("{title}: {earned} of {possible} points on the criteria you can see.").format(
        title=exercise.title, earned=_number(earned), possible=_number(possible)
    )
    hidden = sum(r.hidden for r in graded.results)
    if hidden:
        text += " " + ngettext(
            "Your teacher grades {count} more criterion.", "Your teacher grades {count} more criteria.", hidden
        ).format(count=hidden)
    if graded.status != "graded":
        text += " " + graded.results[0].message
    return text


def gradescope_results(exercise: Exercise, graded: GradedSubmission) -> dict[str, Any]:
    """A Gradescope autograder ``results.json`` with only the keys Gradescope documents: ``score`` (every
    criterion: the grade), ``execution_time`` (whole seconds, rounded up), ``output`` (the visible points only),
    and ``tests``, one per criterion (``name``, ``score``, ``max_score``, ``status``, ``output``, ``visibility``:
    ``hidden`` for hidden criteria, which Gradescope never shows to the student)."""
    tests = []
    for r in graded.results:
        test: dict[str, Any] = {"name": f"{r.id}: {r.label}", "score": r.points, "max_score": r.max_points}
        if r.status != "not run":
            test["status"] = "passed" if r.passed else "failed"
        test["output"] = r.message + (f"\n{_('Hint: {hint}').format(hint=r.hint)}" if r.hint else "")
        test["visibility"] = "hidden" if r.hidden else "visible"
        tests.append(test)
    return {
        "score": score(graded.results)[0],
        "execution_time": max(1, math.ceil(graded.seconds)),
        "output": _visible_summary(exercise, graded),
        "tests": tests,
    }


_MARKS = {"passed": "✔", "failed": "✖", "not checked": "…", "not run": "…"}


def feedback_markdown(exercise: Exercise, graded: GradedSubmission) -> str:
    """The feedback a student reads: every visible criterion with its sentence and hint (never hidden points)."""
    lines = [f"# {exercise.title}", "", _("Design: `{file}`").format(file=graded.submission.relative), ""]
    if graded.status != "graded":
        lines += [graded.results[0].message, ""]
    earned, possible = score(graded.results, visible_only=True)
    lines += [
        _("**{earned} of {possible} points** on the criteria you can see.").format(
            earned=_number(earned), possible=_number(possible)
        ),
        "",
    ]
    for r in graded.results:
        if r.hidden:
            continue
        if graded.status != "graded":  # one reason for every criterion, said once above
            lines.append(f"- {_MARKS[r.status]} **{r.label}** ({_number(r.points)}/{_number(r.max_points)})")
            continue
        lines.append(f"- {_MARKS[r.status]} **{r.label}** ({_number(r.points)}/{_number(r.max_points)}): {r.message}")
        if r.hint:
            lines.append("  - " + _("Hint: {hint}").format(hint=r.hint))
    hidden = sum(r.hidden for r in graded.results)
    if hidden:
        lines += [
            "",
            ngettext(
                "{count} more criterion is graded by your teacher.",
                "{count} more criteria are graded by your teacher.",
                hidden,
            ).format(count=hidden),
        ]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    # One small file per student, all written anew on each run: a plain write; the CSV (the record) is atomic.
    path.write_text(text, encoding="utf-8", newline="\n")


def write_outputs(
    exercise: Exercise,
    graded: Sequence[GradedSubmission],
    names: Sequence[str],
    *,
    results_json: Path | None = None,
    feedback: Path | None = None,
) -> None:
    """``results_json/NAME/results.json`` and ``feedback/NAME.md`` per submission, with `OUTPUT_MARKER` in each
    folder so that a later ``grade`` of a class folder holding them never reads them as submissions."""
    if results_json is not None:
        results_json.mkdir(parents=True, exist_ok=True)
        (results_json / OUTPUT_MARKER).write_text("LayerLab grade --results-json output\n", encoding="utf-8")
        for name, g in zip(names, graded):
            (results_json / name).mkdir(exist_ok=True)
            _write(
                results_json / name / "results.json",
                json.dumps(gradescope_results(exercise, g), indent=1, ensure_ascii=False) + "\n",
            )
    if feedback is not None:
        feedback.mkdir(parents=True, exist_ok=True)
        (feedback / OUTPUT_MARKER).write_text("LayerLab grade --feedback output\n", encoding="utf-8")
        for name, g in zip(names, graded):
            _write(feedback / f"{name}.md", feedback_markdown(exercise, g))
