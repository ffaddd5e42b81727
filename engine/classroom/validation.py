"""Validating an exercise, the ``nbgrader validate`` of LayerLab.

The reference solution must pass every criterion, and every known-wrong design must fail the criteria it
declares (``"expect_fail"`` in its project file). With mutants, typical mistakes generated from the reference
(`engine.classroom.mutants`) are graded too, and the report lists those the exercise cannot tell from the
solution: they pass every criterion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from engine.i18n import _
from engine.i18n import ngettext
from pathlib import Path

from engine.classroom.checker import check_design
from engine.classroom.exercise import Exercise
from engine.classroom.grading import load_submission
from engine.classroom.mutants import MutantResult, check_mutants
from engine.classroom.submissions import Submission, find_submissions
from engine.project import graph_from_dict

__all__ = ["ValidationReport", "mutant_lines", "validate_exercise"]


@dataclass
class ValidationReport:
    lines: list[str]
    ok: bool
    #: With ``mutants=True``: every generated mutant and the criteria it fails.
    mutants: list[MutantResult] = field(default_factory=list)


def validate_exercise(exercise: Exercise, wrong_dir: Path | None = None, *, mutants: bool = False) -> ValidationReport:
    """The reference solution passes every criterion; every known-wrong design fails each criterion its
    ``expect_fail`` lists (a criterion it cannot pass because of an error counts as failed). With ``mutants``,
    typical mistakes generated from the reference are graded too (they never make the exercise invalid:
    a mutant that passes every criterion is a finding for the teacher, listed first)."""
    lines: list[str] = []
    ok = True
    solution = exercise.solution_path()
    ids = {"valid", *(c.id for c in exercise.criteria)}
    if solution is None or not solution.is_file():
        return ValidationReport([f"FAIL no reference solution at {solution}"], False)
    reference, meta, _doc = load_submission(Submission("solution", solution, solution.name))
    results = check_design(exercise, reference, meta["answers"], answer_problems=meta.get("answer_problems"))
    wrong = [r for r in results if r.status in ("failed", "not checked")]
    not_run = [r.id for r in results if r.status == "not run"]
    if wrong:
        ok = False
        lines += [f"FAIL the reference solution {solution.name} does not pass {r.id}: {r.message}" for r in wrong]
    else:
        extra = f" ({', '.join(not_run)} not run: training)" if not_run else ""
        lines.append(f"ok   the reference solution {solution.name} passes every criterion{extra}")
    ok = _known_wrong(exercise, wrong_dir, ids, lines) and ok
    report = ValidationReport(lines, ok)
    if mutants:
        report.mutants = check_mutants(exercise, reference)
        lines += mutant_lines(report.mutants)
    return report


def _known_wrong(exercise: Exercise, wrong_dir: Path | None, ids: set[str], lines: list[str]) -> bool:
    if wrong_dir is None:
        default = Path(exercise.source).parent / "wrong" / Path(exercise.source).stem
        wrong_dir = default if default.is_dir() else None
    if wrong_dir is None:
        lines.append("note no known-wrong designs (put them in wrong/<exercise name>/ beside the exercise)")
        return True
    designs = find_submissions(wrong_dir)
    if not designs:
        lines.append(f"FAIL {wrong_dir} holds no .json designs")
        return False
    ok = True
    for submission in designs:
        _graph, meta, doc = load_submission(submission)
        expect = doc.get("expect_fail")
        if not isinstance(expect, list) or not expect or not all(isinstance(e, str) for e in expect):
            ok = False
            lines.append(f'FAIL {submission.relative}: declares no "expect_fail": ["criterion id", ...]')
            continue
        unknown = [e for e in expect if e not in ids]
        if unknown:
            ok = False
            lines.append(
                f"FAIL {submission.relative}: expect_fail names no criterion of this exercise: {', '.join(unknown)}"
            )
            continue
        graph, meta = graph_from_dict(doc, submission.relative)
        by_id = {
            r.id: r for r in check_design(exercise, graph, meta["answers"], answer_problems=meta.get("answer_problems"))
        }
        passing = [e for e in expect if by_id[e].status == "passed"]
        if passing:
            ok = False
            lines += [
                f"FAIL {submission.relative} passes {e}, which it should fail: {by_id[e].message}" for e in passing
            ]
        else:
            lines.append(f"ok   {submission.relative} fails {', '.join(expect)}")
    return ok


def mutant_lines(results: list[MutantResult]) -> list[str]:
    """The mutants report: a summary, then each surviving mutant (``PASS``), then each caught one and what caught it."""
    survivors = [m for m in results if m.survives]
    lines = [
        ngettext(
            "mutants: {count} typical mistake generated from the reference; {caught} fails at least one criterion, "
            "{survivors} passes every criterion.",
            "mutants: {count} typical mistakes generated from the reference; {caught} fail at least one criterion, "
            "{survivors} pass every criterion.",
            len(results),
        ).format(count=len(results), caught=len(results) - len(survivors), survivors=len(survivors))
    ]
    unjudged = sorted({r.id for m in results for r in m.results if r.id not in m.judged and r.status != "not run"})
    if unjudged:
        lines.append(
            "note "
            + _("left out, because the reference solution does not pass them: {criteria}").format(
                criteria=", ".join(unjudged)
            )
        )
    for m in survivors:
        lines.append(
            "PASS "
            + _("{mutant}: passes every criterion (the exercise cannot tell it from the solution)").format(
                mutant=m.mutant.description
            )
        )
    for m in results:
        if not m.survives:
            lines.append(
                "ok   "
                + _("{mutant}: fails {criteria}").format(mutant=m.mutant.description, criteria=", ".join(m.failed))
            )
    return lines
