"""A teacher builds an exercise from a design and tests it with generated mistakes (issue 20, points 9 and 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.classroom.authoring import CRITERION_TYPES, ExerciseDraft, preview, save_draft, suggest_criterion
from engine.classroom.mutants import MUTATIONS, check_mutants, mutants
from engine.exercises import ExerciseError, exercise_from_dict, load_exercise
from engine.grading import validate_exercise
from engine.project import graph_from_dict, load_project
from tests.conftest import ROOT, run

EXERCISES = ROOT / "resources" / "exercises"
INCEPTION = EXERCISES / "solutions" / "ex13_inception_module.json"
MNIST_SKIP = EXERCISES / "solutions" / "ex10_small_mnist_skip.json"


def test_a_criterion_of_every_kind_is_suggested_from_the_reference_and_passes_on_it() -> None:
    reference, _ = load_project(MNIST_SKIP)
    draft = ExerciseDraft(title="From the editor")
    for kind in CRITERION_TYPES:
        draft.criteria.append(suggest_criterion(kind, reference, {c["id"] for c in draft.criteria}))
    assert [c["type"] for c in draft.criteria] == list(CRITERION_TYPES)
    results = preview(draft, reference)
    assert not isinstance(results, str), results
    status = {r.id: r.status for r in results}
    # The one design passes all it can: it has an Add skip but no Concatenate; training is run only when asked.
    assert {k for k, v in status.items() if v != "passed"} == {"concat", "train"}
    assert status["skip"] == "passed" and status["train"] == "not run"


def test_a_saved_draft_is_an_exercise_validate_accepts_with_a_partial_start(tmp_path: Path) -> None:
    reference, _ = load_project(INCEPTION)
    draft = ExerciseDraft(title="Inception", instructions="Build the **four** branches.", with_start=True)
    for kind in ("input_shape", "output_shape", "merge", "question"):
        draft.criteria.append(suggest_criterion(kind, reference, {c["id"] for c in draft.criteria}))
    draft.removed = {reference.find(name) for name in ("branch3x3", "branch5x5", "inception_3a")}
    path, solution = save_draft(draft, reference, tmp_path / "inception.json")
    assert solution == tmp_path / "solutions" / "inception.json"
    exercise = load_exercise(path)
    report = validate_exercise(exercise)
    assert report.ok, report.lines
    start, _ = graph_from_dict(exercise.start)
    assert {n.name for n in start.nodes()} == {n.name for n in reference.nodes()} - {
        "branch3x3",
        "branch5x5",
        "inception_3a",
    }
    _, meta = load_project(solution)
    assert meta["answers"] == {"q": 12352}  # the reference answers its own question right
    cli = run("validate", str(path), "--mutants")
    assert cli.returncode == 0 and "The exercise is valid." in cli.stdout and "mutants: " in cli.stdout


def test_an_unfinished_draft_says_what_is_wrong_and_writes_nothing(tmp_path: Path) -> None:
    reference, _ = load_project(INCEPTION)
    draft = ExerciseDraft(title="t", criteria=[{"id": "out", "type": "output_shape", "shape": "28 by 28"}])
    assert (
        preview(draft, reference)
        == "criterion 'out' (criteria[0]), key 'shape': must be a list of positive sizes or null, such as [28, 28, 1]"
    )
    with pytest.raises(ExerciseError):
        save_draft(draft, reference, tmp_path / "ex.json")
    assert not list(tmp_path.iterdir())


def test_mutants_cover_every_kind_of_mistake_and_find_weak_criteria() -> None:
    reference, _ = load_project(MNIST_SKIP)
    kinds = {m.kind for m in mutants(reference)}
    assert kinds == set(MUTATIONS) - {"drop_branch"}  # its only merge is a skip connection
    inception, _ = load_project(INCEPTION)
    assert "drop_branch" in {m.kind for m in mutants(inception)}
    weak = exercise_from_dict(
        {
            "format": "layerlab-exercise",
            "version": 1,
            "title": "weak",
            "criteria": [
                {"id": "in", "type": "input_shape", "shape": [28, 28, 1]},
                {"id": "out", "type": "output_shape", "shape": [10]},
            ],
        }
    )
    strong = load_exercise(EXERCISES / "ex10_small_mnist_skip.json")
    weak_results, strong_results = check_mutants(weak, reference), check_mutants(strong, reference)
    removed_skip = next(r for r in strong_results if r.mutant.kind == "remove_skip")
    assert "skip" in removed_skip.failed and removed_skip.mutant.description.startswith(
        "the skip connection into skip removed"
    )
    assert next(r for r in weak_results if r.mutant.kind == "remove_skip").survives  # the weak exercise lets it through
    assert sum(r.survives for r in weak_results) > sum(r.survives for r in strong_results)
    # The reference stays as it was: every mutant is a copy.
    assert json.dumps(load_project(MNIST_SKIP)[0].copy().params_of(reference.find("conv1")), default=str) == json.dumps(
        reference.params_of(reference.find("conv1")), default=str
    )


def test_validate_mutants_lists_the_mistakes_an_exercise_lets_through() -> None:
    result = run("validate", str(EXERCISES / "ex10_small_mnist_skip.json"), "--mutants")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    summary = next(line for line in lines if "mutants:" in line)
    assert "typical mistakes generated from the reference" in summary
    assert any(line.strip().startswith("PASS conv2 (Conv2D) deleted: passes every criterion") for line in lines)
    assert any("the skip connection into skip removed (its shortcut from pool1): fails skip" in line for line in lines)


# ------------------------------------------------------------------------------------------------
# The editor's authoring view


def test_new_exercise_from_this_design_in_the_editor(window, tmp_path: Path) -> None:  # noqa: ANN001
    from gui.document import Document

    window.set_document(Document.open(str(INCEPTION)))
    window.new_exercise_from_design()
    panel = window.authoring
    assert window.authoring_dock.isVisible()
    panel.title.setText("Inception, from the editor")
    panel._title_edited(panel.title.text())
    for kind in CRITERION_TYPES:
        panel.add_criterion(kind)
    rows = [panel.checklist.item(i).text() for i in range(panel.checklist.count())]
    assert len(rows) == len(CRITERION_TYPES) + 1 and rows[0].startswith("✔  valid")
    # The form edits the selected criterion; the checklist on the reference follows.
    panel.checklist.setCurrentRow(2)  # output_shape
    shape = panel._fields["shape"]
    shape.setText("10")
    shape.editingFinished.emit()
    out = panel.checklist.item(2).text()
    assert out.startswith("✖  out: Output shape (10,)") and "inception_3a outputs (28, 28, 256)" in out
    shape.setText("28, 28, 256")
    shape.editingFinished.emit()
    assert panel.checklist.item(2).text().startswith("✔  out")
    panel.checklist.setCurrentRow(1)
    bad = panel._fields["shape"]
    bad.setText("28 by 28")
    bad.editingFinished.emit()
    assert "Not a valid exercise yet: criterion 'in' (criteria[0]), key 'shape'" in panel.problem.text()
    bad.setText("28, 28, 192")
    bad.editingFinished.emit()
    # Remove what cannot pass on this design (it has no Add; training is not run here), then save.
    for kind in ("skip_connection", "training"):
        row = 1 + next(i for i, c in enumerate(panel.draft.criteria) if c["type"] == kind)
        panel.checklist.setCurrentRow(row)
        panel.remove_criterion()
    panel.set_start({window.document.graph.find("branch5x5")})
    undo_before = window.document.undo_stack.count()
    report = panel.save_to(tmp_path / "ex_from_editor.json")
    assert report.ok, report.lines
    exercise = load_exercise(tmp_path / "ex_from_editor.json")
    assert exercise.title == "Inception, from the editor" and len(exercise.criteria) == len(CRITERION_TYPES) - 2
    assert "branch5x5" not in {n.name for n in graph_from_dict(exercise.start)[0].nodes()}
    results = panel.check_mutants()
    assert results and panel.mutants_list.count() >= len(results)
    assert "typical mistakes generated from the reference" in panel.mutants_summary.text()
    assert (
        window.document.undo_stack.count() == undo_before and not window.document.modified
    )  # the design was only read
