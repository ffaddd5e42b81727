"""Grading a class: check every submission, train the designs in worker processes when asked.

One broken file or one checker failure never stops the batch: an unreadable file is a row whose criteria
are all failed with the reason, so that every report lists every criterion. TensorFlow is imported only
in the training worker processes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from engine.i18n import _
from typing import Any

from engine.analysis import analyse
from engine.classroom.checker import DesignNumbers, check_design, design_numbers
from engine.classroom.exercise import CriterionResult, Exercise, score
from engine.classroom.submissions import Submission
from engine.graph import NetworkGraph
from engine.project import ProjectError, graph_from_dict, graph_to_dict, read_json_file

__all__ = ["GradedSubmission", "grade_class", "load_submission", "problem_results"]

#: ``graded``; ``unreadable``: the student's file cannot be read; ``checker error``: LayerLab itself failed.
GRADE_STATUSES = ("graded", "unreadable", "checker error")


@dataclass
class GradedSubmission:
    submission: Submission
    #: One of `GRADE_STATUSES`.
    status: str
    results: list[CriterionResult] = field(default_factory=list)
    numbers: DesignNumbers | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    problem: str = ""
    val_accuracy: float | None = None
    #: Seconds spent reading and checking this design (training excluded: it runs in other processes).
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return score(self.results)[0]


def load_submission(submission: Submission) -> tuple[NetworkGraph, dict[str, Any], dict[str, Any]]:
    """The design, the project file's metadata (answers) and the raw document; raises `ProjectError` or `OSError`."""
    doc = read_json_file(submission.path)
    graph, meta = graph_from_dict(doc, submission.relative)
    return graph, meta, doc


def problem_results(exercise: Exercise, status: str, problem: str) -> list[CriterionResult]:
    """Every criterion failed with the reason, for a file that cannot be read or checked."""
    if status == "unreadable":
        message = _("Your file could not be read: {problem}").format(problem=problem)
    else:
        message = _(
            "Your design could not be checked because of an error in LayerLab (tell your teacher): {problem}"
        ).format(problem=problem)
    label = _("The design has no errors")
    results = [CriterionResult("valid", label, "failed", message, 0.0, exercise.valid_points)]
    results += [
        CriterionResult(c.id, c.label, "failed", message, 0.0, c.points, "", c.hidden) for c in exercise.criteria
    ]
    return results


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
        start = time.perf_counter()
        try:
            graph, meta, _doc = load_submission(submission)
            loaded[index] = (graph, meta)
            graded.append(GradedSubmission(submission, "graded", answers=meta["answers"]))
        except (ProjectError, OSError) as exc:
            detail = exc.detail if isinstance(exc, ProjectError) else (exc.strerror or str(exc))
            graded.append(
                GradedSubmission(
                    submission, "unreadable", problem_results(exercise, "unreadable", detail), problem=detail
                )
            )
        graded[-1].seconds = time.perf_counter() - start
    runs: dict[int, list[dict[str, Any]]] = {}
    specs = [dict(c.spec) for c in exercise.criteria if c.type == "training"]
    if train and specs:
        todo = {i: graph_to_dict(g) for i, (g, _m) in loaded.items() if analyse(g).is_valid}
        runs = _train_all(
            todo, specs, jobs, lambda i: progress(_("trained {file}").format(file=submissions[i].relative))
        )
    for index, entry in enumerate(graded):
        if index not in loaded:
            continue
        graph, meta = loaded[index]
        start = time.perf_counter()
        try:
            analysis = analyse(graph)
            entry.numbers = design_numbers(graph, analysis)
            entry.results = check_design(
                exercise,
                graph,
                meta["answers"],
                analysis,
                trained=runs.get(index),
                numbers=entry.numbers,
                answer_problems=meta.get("answer_problems"),
            )
            accuracies = [r["val_accuracy"] for r in runs.get(index, []) if r.get("val_accuracy") is not None]
            entry.val_accuracy = max(accuracies) if accuracies else None
        except Exception as exc:  # noqa: BLE001 - LayerLab's own failure on one design must not stop the class
            entry.status, entry.problem = "checker error", f"{type(exc).__name__}: {exc}"
            entry.results = problem_results(exercise, "checker error", entry.problem)
        entry.seconds += time.perf_counter() - start
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

    graph, _meta = graph_from_dict(project)
    out = []
    for spec in specs:
        epochs = int(spec.get("epochs", 10))
        try:
            dataset = resolve(spec["dataset"], "", image_shape_for(graph))
            result = run_training(graph, TrainConfig(dataset, epochs=epochs), lambda m: None)
            out.append(
                {
                    "dataset": spec["dataset"],
                    "val_accuracy": result.get("val_accuracy"),
                    "epochs_run": len(result.get("history", [])) or epochs,
                    "where": _("when graded"),
                }
            )
        except (TrainingError, DatasetError) as exc:
            out.append({"dataset": spec["dataset"], "error": str(exc)})
        import keras

        keras.backend.clear_session()  # the next design starts from a clean graph: no retracing, no leak
    return out


def _train_all(
    projects: dict[int, dict[str, Any]], specs: list[dict[str, Any]], jobs: int, done: Callable[[int], None]
) -> dict[int, list[dict[str, Any]]]:
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
                failed = _("the training worker failed ({problem})").format(problem=type(exc).__name__)
                runs[index] = [{"dataset": s["dataset"], "error": failed} for s in specs]
            done(index)
    return runs
