"""Grading a class: find the submissions in an LMS export, check each one, train in parallel, and write
what a teacher and an LMS read (a CSV, Gradescope ``results.json`` files, Markdown feedback).

Also `validate_exercise`, the ``nbgrader validate`` of LayerLab: the reference solution must pass every
criterion and every known-wrong design must fail the criteria it declares (``"expect_fail"`` in its
project file). TensorFlow is imported only in the training worker processes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.analysis import analyse
from engine.exercises import CriterionResult, DesignNumbers, Exercise, check_design, design_numbers, score
from engine.graph import NetworkGraph
from engine.project import ProjectError, graph_from_dict, graph_to_dict, read_json_file

__all__ = [
    "GradedSubmission",
    "Submission",
    "ValidationReport",
    "feedback_markdown",
    "find_submissions",
    "grade_class",
    "gradescope_results",
    "report_csv",
    "safe_file_name",
    "validate_exercise",
]

#: Moodle names each student's folder ``Full Name_123456_assignsubmission_file_``: the id is the part before.
_LMS_SUFFIX = re.compile(r"_assign(?:submission|feedback)_[a-z]+_?$")
#: More files than a class can hand in: a wrong folder (a home directory), said rather than walked.
MAX_SUBMISSIONS = 20_000


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    #: The path inside the graded folder, as the report shows it.
    relative: str


def find_submissions(folder: Path) -> list[Submission]:
    """Every ``*.json`` design under ``folder``, one folder per student or flat, hidden files skipped.

    The student id is the first folder under ``folder`` (LMS exports: one folder per student, with
    Moodle's ``_assignsubmission_file_`` suffix removed), or the file name without ``.json`` when the
    file lies directly in ``folder``."""
    found = []
    for path in sorted(folder.rglob("*.json")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts) or not path.is_file():
            continue
        student = _LMS_SUFFIX.sub("", rel.parts[0]) if len(rel.parts) > 1 else path.stem
        found.append(Submission(student or path.stem, path, rel.as_posix()))
        if len(found) > MAX_SUBMISSIONS:
            raise ProjectError(str(folder), f"more than {MAX_SUBMISSIONS:,} .json files: is this the folder of one class?")
    return found


@dataclass
class GradedSubmission:
    submission: Submission
    #: ``graded``, ``unreadable`` (the student's file cannot be read) or ``checker error`` (LayerLab failed).
    status: str
    results: list[CriterionResult] = field(default_factory=list)
    numbers: DesignNumbers | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    problem: str = ""
    val_accuracy: float | None = None

    @property
    def points(self) -> float:
        return score(self.results)[0]


def _load(submission: Submission) -> tuple[NetworkGraph, dict[str, Any], dict[str, Any]]:
    doc = read_json_file(submission.path)
    graph, meta = graph_from_dict(doc, submission.relative)
    return graph, meta, doc


def _training_specs(exercise: Exercise) -> list[dict[str, Any]]:
    return [dict(c.spec) for c in exercise.criteria if c.type == "training"]


def grade_class(
    exercise: Exercise,
    submissions: Sequence[Submission],
    *,
    train: bool = False,
    jobs: int = 1,
    progress: Callable[[str], None] = lambda line: None,
) -> list[GradedSubmission]:
    """Check every submission. One broken file or one checker failure never stops the batch.

    With ``train``, designs without errors are trained for each training criterion in ``jobs`` worker
    processes at once (TensorFlow's own log output stays in the workers)."""
    loaded: dict[int, tuple[NetworkGraph, dict[str, Any]]] = {}
    graded: list[GradedSubmission] = []
    for index, submission in enumerate(submissions):
        try:
            graph, meta, _ = _load(submission)
            loaded[index] = (graph, meta)
            graded.append(GradedSubmission(submission, "graded", answers=meta["answers"]))
        except (ProjectError, OSError) as exc:
            detail = exc.detail if isinstance(exc, ProjectError) else (exc.strerror or str(exc))
            graded.append(GradedSubmission(submission, "unreadable", problem=detail))
    runs: dict[int, list[dict[str, Any]]] = {}
    specs = _training_specs(exercise)
    if train and specs:
        todo = {i: graph_to_dict(g) for i, (g, _) in loaded.items() if analyse(g).is_valid}
        runs = _train_all(todo, specs, jobs, lambda i: progress(f"trained {submissions[i].relative}"))
    for index, entry in enumerate(graded):
        if index not in loaded:
            continue
        graph, meta = loaded[index]
        try:
            analysis = analyse(graph)
            entry.numbers = design_numbers(graph, analysis)
            entry.results = check_design(exercise, graph, meta["answers"], analysis, trained=runs.get(index),
                                         numbers=entry.numbers, answer_problems=meta.get("answer_problems"))
            accuracies = [r["val_accuracy"] for r in runs.get(index, []) if r.get("val_accuracy") is not None]
            entry.val_accuracy = max(accuracies) if accuracies else None
        except Exception as exc:  # noqa: BLE001 - LayerLab's own failure on one design must not stop the class
            entry.status, entry.problem = "checker error", f"{type(exc).__name__}: {exc}"
    return graded


# ------------------------------------------------------------------------------------------------
# Training in worker processes


def _quiet_worker(threads: int) -> None:
    """Runs first in each worker: TensorFlow's C++ and Python logging go nowhere, and the cores are shared."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["PYTHONWARNINGS"] = "ignore"
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    import warnings

    warnings.simplefilter("ignore")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))


def _train_job(project: dict[str, Any], specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Train one design for each training criterion; returns one run per criterion (or its error)."""
    from engine.datasets import DatasetError, image_shape_for, resolve
    from engine.training import TrainConfig, TrainingError, run_training

    graph, _ = graph_from_dict(project)
    out = []
    for spec in specs:
        epochs = int(spec.get("epochs", 10))
        try:
            dataset = resolve(spec["dataset"], "", image_shape_for(graph))
            result = run_training(graph, TrainConfig(dataset, epochs=epochs), lambda m: None)
            out.append({"dataset": spec["dataset"], "val_accuracy": result.get("val_accuracy"),
                        "epochs_run": len(result.get("history", [])) or epochs, "where": "when graded"})
        except (TrainingError, DatasetError) as exc:
            out.append({"dataset": spec["dataset"], "error": str(exc)})
        import keras

        keras.backend.clear_session()  # the next design starts from a clean graph: no retracing, no leak
    return out


def _train_all(projects: dict[int, dict[str, Any]], specs: list[dict[str, Any]], jobs: int,
               done: Callable[[int], None]) -> dict[int, list[dict[str, Any]]]:
    import multiprocessing

    if not projects:
        return {}
    jobs = max(1, min(jobs, len(projects)))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    runs: dict[int, list[dict[str, Any]]] = {}
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no copy of this process's state
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_quiet_worker, initargs=(threads,)) as pool:
        futures = {pool.submit(_train_job, project, specs): index for index, project in projects.items()}
        for future, index in futures.items():
            try:
                runs[index] = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker that died fails this design's training, not the class
                runs[index] = [{"dataset": s["dataset"], "error": f"the training worker failed ({type(exc).__name__})"} for s in specs]
            done(index)
    return runs


# ------------------------------------------------------------------------------------------------
# What a teacher and an LMS read


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _cell(result: CriterionResult) -> str:
    return f"{result.status}: {result.message}" + (f" Hint: {result.hint}" if result.hint else "")


def report_csv(exercise: Exercise, graded: Iterable[GradedSubmission]) -> str:
    """One row per submission: status, points, the design's numbers and answers, then each criterion's
    points and sentence in columns of their own (a sentence may hold any punctuation; csv quotes it)."""
    ids = ["valid", *(c.id for c in exercise.criteria)]
    questions = [c.id for c in exercise.criteria if c.type == "question"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([
        "student", "file", "status", "points", "max_points", "passed", "total", "parameters", "multiply_adds",
        "receptive_field", "depth", *(f"answer_{q}" for q in questions), "val_accuracy", *(f"points_{i}" for i in ids),
        *(f"message_{i}" for i in ids),
        "problem",
    ])
    for g in graded:
        by_id = {r.id: r for r in g.results}
        n = g.numbers
        cells = [_number(by_id[i].points) if i in by_id and by_id[i].status != "not run" else "" for i in ids]
        messages = [_cell(by_id[i]) if i in by_id else "" for i in ids]
        writer.writerow([
            g.submission.student, g.submission.relative, g.status, _number(g.points), _number(exercise.max_points),
            sum(r.passed for r in g.results), len(ids), _number(n.params if n else None), _number(n.flops if n else None),
            n.receptive_field_text if n else "", _number(n.depth if n else None), *(str(g.answers.get(q, "")) for q in questions),
            _number(g.val_accuracy), *cells, *messages, g.problem,
        ])
    return buffer.getvalue()


def gradescope_results(exercise: Exercise, graded: GradedSubmission) -> dict[str, Any]:
    """A Gradescope autograder ``results.json``: score, max_score and one test per criterion (hidden
    criteria stay hidden from the student)."""
    if graded.status != "graded":
        reason = "could not be read" if graded.status == "unreadable" else "could not be checked (a LayerLab error; tell your teacher)"
        return {"score": 0, "max_score": exercise.max_points, "output": f"Your design {reason}: {graded.problem}", "tests": []}
    tests = []
    for r in graded.results:
        output = r.message + (f"\nHint: {r.hint}" if r.hint else "")
        tests.append({"name": f"{r.id}: {r.label}", "score": r.points, "max_score": r.max_points, "output": output,
                      "status": "passed" if r.passed else "failed", "visibility": "hidden" if r.hidden else "visible"})
    earned, possible = score(graded.results)
    return {"score": earned, "max_score": possible, "output": f"{exercise.title}: {_number(earned)} of {_number(possible)} points.", "tests": tests}


_MARKS = {"passed": "✔", "failed": "✖", "not checked": "…", "not run": "…"}


def feedback_markdown(exercise: Exercise, graded: GradedSubmission) -> str:
    """The feedback a student reads: every visible criterion with its sentence and hint."""
    lines = [f"# {exercise.title}", "", f"Design: `{graded.submission.relative}`", ""]
    if graded.status != "graded":
        lines += [f"Your design could not be {'read' if graded.status == 'unreadable' else 'checked'}: {graded.problem}", ""]
        return "\n".join(lines)
    earned, possible = score(graded.results, visible_only=True)
    lines += [f"**{_number(earned)} of {_number(possible)} points** on the criteria you can see.", ""]
    for r in graded.results:
        if r.hidden:
            continue
        lines.append(f"- {_MARKS[r.status]} **{r.label}** ({_number(r.points)}/{_number(r.max_points)}): {r.message}")
        if r.hint:
            lines.append(f"  - Hint: {r.hint}")
    hidden = [r for r in graded.results if r.hidden]
    if hidden:
        lines += ["", f"{len(hidden)} more {'criterion is' if len(hidden) == 1 else 'criteria are'} graded by your teacher."]
    return "\n".join(lines) + "\n"


def safe_file_name(text: str) -> str:
    """A file name made of the id's letters, digits, dots, dashes and underscores (never a path)."""
    return re.sub(r"[^\w.-]+", "_", text).strip("._")[:120] or "student"


def output_names(graded: Sequence[GradedSubmission]) -> list[str]:
    """One file name per submission: the student id, with the file's name added where a student handed in several."""
    counts: dict[str, int] = {}
    for g in graded:
        counts[g.submission.student] = counts.get(g.submission.student, 0) + 1
    names = []
    for g in graded:
        s = g.submission
        names.append(safe_file_name(s.student if counts[s.student] == 1 else f"{s.student}-{Path(s.relative).stem}"))
    return names


# ------------------------------------------------------------------------------------------------
# Validating an exercise


@dataclass
class ValidationReport:
    lines: list[str]
    ok: bool


def validate_exercise(exercise: Exercise, wrong_dir: Path | None = None) -> ValidationReport:
    """The reference solution passes every criterion; every known-wrong design fails each criterion its
    ``expect_fail`` lists (a criterion it cannot pass because of an error counts as failed)."""
    lines: list[str] = []
    ok = True
    solution = exercise.solution_path()
    ids = {"valid", *(c.id for c in exercise.criteria)}
    if solution is None or not solution.is_file():
        return ValidationReport([f"FAIL no reference solution at {solution}"], False)
    graph, meta, _ = _load(Submission("solution", solution, solution.name))
    results = check_design(exercise, graph, meta["answers"], answer_problems=meta.get("answer_problems"))
    wrong = [r for r in results if r.status in ("failed", "not checked")]
    not_run = [r.id for r in results if r.status == "not run"]
    if wrong:
        ok = False
        lines += [f"FAIL the reference solution {solution.name} does not pass {r.id}: {r.message}" for r in wrong]
    else:
        extra = f" ({', '.join(not_run)} not run: training)" if not_run else ""
        lines.append(f"ok   the reference solution {solution.name} passes every criterion{extra}")
    if wrong_dir is None:
        default = Path(exercise.source).parent / "wrong" / Path(exercise.source).stem
        wrong_dir = default if default.is_dir() else None
    if wrong_dir is None:
        lines.append("note no known-wrong designs (put them in wrong/<exercise name>/ beside the exercise)")
        return ValidationReport(lines, ok)
    designs = find_submissions(wrong_dir)
    if not designs:
        return ValidationReport([*lines, f"FAIL {wrong_dir} holds no .json designs"], False)
    for submission in designs:
        _, meta, doc = _load(submission)
        expect = doc.get("expect_fail")
        if not isinstance(expect, list) or not expect or not all(isinstance(e, str) for e in expect):
            ok = False
            lines.append(f'FAIL {submission.relative}: declares no "expect_fail": ["criterion id", ...]')
            continue
        unknown = [e for e in expect if e not in ids]
        if unknown:
            ok = False
            lines.append(f"FAIL {submission.relative}: expect_fail names no criterion of this exercise: {', '.join(unknown)}")
            continue
        graph, meta = graph_from_dict(doc, submission.relative)
        by_id = {r.id: r for r in check_design(exercise, graph, meta["answers"], answer_problems=meta.get("answer_problems"))}
        passing = [e for e in expect if by_id[e].status == "passed"]
        if passing:
            ok = False
            lines += [f"FAIL {submission.relative} passes {e}, which it should fail: {by_id[e].message}" for e in passing]
        else:
            lines.append(f"ok   {submission.relative} fails {', '.join(expect)}")
    return ValidationReport(lines, ok)


def write_json(path: Path, doc: Any) -> None:
    from engine.project import atomic_write_text

    atomic_write_text(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
