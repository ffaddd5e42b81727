"""Grading a teacher can trust: structural criteria, exercise files checked on load, points and hidden
criteria, batch grading of LMS exports, Gradescope results, validation of exercises, similar designs."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from engine import cli
from engine.exercises import ExerciseError, check_design, exercise_from_dict, load_exercise
from engine.graph import NetworkGraph
from engine.project import graph_to_dict, load_project, save_project
from tests.conftest import ROOT, chain, run

EXERCISES = ROOT / "resources" / "exercises"


def exercise(*criteria: dict, **top) -> object:  # noqa: ANN003
    return exercise_from_dict({"format": "layerlab-exercise", "version": 1, "title": "t", "criteria": list(criteria), **top}, "ex.json")


def verdict(ex, graph, answers=None) -> dict[str, tuple[str, str]]:  # noqa: ANN001
    return {r.id: (r.status, r.message) for r in check_design(ex, graph, answers or {})}


def residual(shortcut: str) -> NetworkGraph:
    """conv-bn-conv on 16x16x8 joined by an Add with: the input itself, a projection, the same tensor, or a twin branch."""
    graph, ids = chain((16, 16, 8), ("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}), ("BatchNormalization", {}),
                       ("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}))
    add = graph.add_node("Add", {}, name="add")
    graph.connect(ids[-1], add)
    if shortcut == "identity":
        graph.connect(ids[0], add)
    elif shortcut == "projection":
        proj = graph.add_node("Conv2D", {"filters": 8, "kernel_size": 1}, name="proj")
        bn = graph.add_node("BatchNormalization", {})
        graph.connect(ids[0], proj)
        graph.connect(proj, bn)
        graph.connect(bn, add)
    elif shortcut == "same tensor":
        graph.connect(ids[-1], add)
    elif shortcut == "twin":
        twin = [graph.add_node("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}), graph.add_node("BatchNormalization", {}),
                graph.add_node("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"})]
        graph.connect(ids[0], twin[0])
        graph.connect(twin[0], twin[1])
        graph.connect(twin[1], twin[2])
        graph.connect(twin[2], add)
    return graph


# ------------------------------------------------------------------------------------------------
# Structural criteria: the false passes teachers found


@pytest.mark.parametrize(("shortcut", "status"), [("identity", "passed"), ("projection", "passed"), ("same tensor", "failed"), ("twin", "failed")])
def test_a_skip_connection_must_go_around_a_block(shortcut: str, status: str) -> None:
    ex = exercise({"id": "skip", "type": "skip_connection"})
    got, message = verdict(ex, residual(shortcut))["skip"]
    assert got == status, message
    if shortcut == "same tensor":
        assert message.startswith("add takes the same tensor 2 times, so it is not a skip connection.")
    if shortcut == "twin":
        assert "none of them goes around the other" in message


def test_identity_only_skip_refuses_a_projection() -> None:
    ex = exercise({"id": "skip", "type": "skip_connection", "max_shortcut_layers": 0})
    assert verdict(ex, residual("identity"))["skip"][0] == "passed"
    assert verdict(ex, residual("projection"))["skip"][0] == "failed"


def inception(branches: int) -> NetworkGraph:
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [28, 28, 192]})
    cat = graph.add_node("Concatenate", {}, name="cat")
    for i in range(branches):
        conv = graph.add_node("Conv2D", {"filters": 32, "kernel_size": 1}, name=f"b{i}")
        graph.connect(x, conv)
        graph.connect(conv, cat)
    return graph


def test_a_merge_criterion_counts_distinct_branches_and_checks_the_axis() -> None:
    four = exercise({"id": "four", "type": "merge", "layer": "Concatenate", "min_inputs": 4, "max_inputs": 4, "axis": -1})
    assert verdict(four, inception(4))["four"] == ("passed", "cat (Concatenate) joins 4 branches.")
    status, message = verdict(four, inception(2))["four"]
    assert (status, message) == ("failed", "cat (Concatenate) joins 2 branches; the exercise asks for exactly 4.")
    on_height = inception(4)
    on_height.set_param(on_height.find("cat"), "axis", 1)
    assert verdict(four, on_height)["four"][0] == "failed"
    doubled = inception(3)
    doubled.connect(doubled.find("b0"), doubled.find("cat"))  # four wires, three tensors
    assert verdict(four, doubled)["four"][0] == "failed"


def test_receptive_field_is_checked_on_every_axis_unless_one_is_named() -> None:
    graph, _ = chain((32, 32, 3), *[("Conv2D", {"filters": 4, "kernel_size": (1, 5)})] * 4)  # 1x17
    every = exercise({"id": "rf", "type": "min_receptive_field", "value": 14})
    status, message = verdict(every, graph)["rf"]
    assert status == "failed" and message.startswith("The largest receptive field is 1x17 pixels: height 1 is below 14")
    width = exercise({"id": "rf", "type": "min_receptive_field", "value": 14, "axis": "width"})
    assert verdict(width, graph)["rf"] == ("passed", "The receptive field reaches 17 pixels in width (1x17).")


def test_layer_settings_counts_depth_and_a_named_layers_shape() -> None:
    graph, ids = chain((28, 28, 1), ("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}),
                       ("Conv2D", {"filters": 8, "kernel_size": 3}), ("Flatten", {}))
    graph.rename(ids[2], "second")
    ex = exercise(
        {"id": "same", "type": "requires_layer", "layer": "Conv2D", "params": {"kernel_size": 3, "padding": "same"}, "min": 2},
        {"id": "no5", "type": "forbids_layer", "layer": "Conv2D", "params": {"kernel_size": 5}},
        {"id": "deep", "type": "min_depth", "value": 4},
        {"id": "shape", "type": "layer_shape", "layer": "second", "shape": [28, 28, 8]},
    )
    got = verdict(ex, graph)
    assert got["same"] == ("failed", "The design has 1 Conv2D(kernel_size=(3, 3), padding='same') layer. The exercise asks for "
                                     "at least 2. second (Conv2D) has padding='valid', not 'same': set padding='same' on it.")
    assert got["no5"][0] == "passed"
    assert got["deep"] == ("failed", "The longest path has 3 layers; it should have at least 4.")
    assert got["shape"] == ("failed", "second outputs (26, 26, 8), but it should output (28, 28, 8).")


def test_an_upstream_error_makes_dependent_criteria_not_checked_rather_than_wrong() -> None:
    graph, ids = chain((28, 28, 1), ("Conv2D", {"filters": 8, "kernel_size": 3}), ("Dense", {"units": 10}))
    graph.rename(ids[1], "conv3")
    graph.set_param(ids[1], "kernel_size", 40)  # bigger than the image: an error in conv3
    ex = exercise(
        {"id": "out", "type": "output_shape", "shape": [10]},
        {"id": "size", "type": "max_params", "value": 1000},
        {"id": "rf", "type": "min_receptive_field", "value": 3},
        {"id": "q", "type": "question", "prompt": "?", "answer": {"params_of": "conv3"}},
    )
    results = {r.id: r for r in check_design(ex, graph, {"q": 3})}
    assert results["valid"].status == "failed"
    for cid in ("out", "size", "rf", "q"):
        assert (results[cid].status, results[cid].message) == ("not checked", "Not checked: fix the error in conv3 first."), cid
        assert results[cid].points == 0


# ------------------------------------------------------------------------------------------------
# Exercise files are checked on load


@pytest.mark.parametrize(("criterion", "expected"), [
    ({"id": "q1", "type": "question", "prompt": "?", "answer": {"value": 3}, "tolerance": "5%"},
     "ex.json: criterion 'q1' (criteria[0]), key 'tolerance': must be a number of at least 0 (write 0.05, not \"5%\")"),
    ({"id": "convs", "type": "requires_layer", "layer": "Conv2D", "minimum": 7},
     "ex.json: criterion 'convs' (criteria[0]), key 'minimum': not a key of a requires_layer criterion (did you mean \"min\"?)"),
    ({"id": "convs", "type": "requires_layer", "layer": "Conv2D", "min": 5, "max": 2},
     "ex.json: criterion 'convs' (criteria[0]), key 'min': 5 is more than max 2: no design can pass"),
    ({"id": "c", "type": "requires_layer", "layer": "Conv2d"},
     "key 'layer': must be a layer type of the catalogue, got 'Conv2d' (did you mean \"Conv2D\"?)"),
    ({"id": "c", "type": "requires_layer", "layer": "Conv2D", "params": {"kernel": 3}},
     "key 'params': Conv2D has no setting 'kernel' (did you mean \"kernel_size\"?)"),
    ({"id": "c", "type": "requires_layer", "layer": "Conv2D", "params": {"padding": "full"}}, "key 'params': padding must be one of"),
    ({"id": "m", "type": "merge", "layer": "Add", "axis": -1}, "key 'axis': Add has no axis"),
    ({"id": "m", "type": "merge", "layer": "Dense"}, "key 'layer': must be a merge layer"),
    ({"id": "s", "type": "skip_conection"}, "key 'type': unknown criterion type 'skip_conection' (did you mean \"skip_connection\"?)"),
    ({"id": "t", "type": "training", "dataset": "digits", "min_val_accuracy": 90}, "key 'min_val_accuracy': must be a fraction"),
    ({"id": "h", "type": "max_params", "value": 10, "hidden": "yes"}, "key 'hidden': must be true or false"),
])
def test_teacher_typos_are_one_line_naming_file_criterion_and_key(criterion: dict, expected: str) -> None:
    with pytest.raises(ExerciseError) as info:
        exercise(criterion)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_unknown_top_level_key_and_bad_points_are_refused() -> None:
    with pytest.raises(ExerciseError, match="unknown key 'critera'"):
        exercise({"type": "max_params", "value": 1}, critera=[])
    with pytest.raises(ExerciseError, match="key 'points': must be a number of at least 0"):
        exercise({"id": "p", "type": "max_params", "value": 1, "points": -2})


def test_a_broken_exercise_gives_exit_2_and_no_report(tmp_path: Path) -> None:
    bad = json.loads((EXERCISES / "ex04_bottleneck.json").read_text())
    bad["criteria"][2]["tolerance"] = "5%"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    (tmp_path / "class").mkdir()
    shutil.copy(EXERCISES / "solutions" / "ex04_bottleneck.json", tmp_path / "class" / "alice.json")
    checked = run("check", str(tmp_path / "bad.json"), str(tmp_path / "class" / "alice.json"))
    graded = run("grade", str(tmp_path / "bad.json"), str(tmp_path / "class"), "-o", str(tmp_path / "r.csv"))
    for result in (checked, graded):
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip().endswith("criterion 'size' (criteria[2]), key 'tolerance': not a key of a max_params criterion")
    assert not (tmp_path / "r.csv").exists()


# ------------------------------------------------------------------------------------------------
# Answers, points, hints, hidden criteria


def test_one_malformed_answer_costs_that_answer_only(tmp_path: Path) -> None:
    doc = json.loads((EXERCISES / "solutions" / "ex02_conv_output_size.json").read_text())
    doc["answers"]["q_width"] = {"oops": [24]}
    (tmp_path / "d.json").write_text(json.dumps(doc))
    graph, meta = load_project(tmp_path / "d.json")
    results = {r.id: r for r in check_design(load_exercise(EXERCISES / "ex02_conv_output_size.json"), graph, meta["answers"],
                                             answer_problems=meta["answer_problems"])}
    assert results["out"].passed and results["q_params"].passed
    assert results["q_width"].status == "failed" and results["q_width"].message.startswith("Not answered: the answer saved in the file is not a number")


def test_points_hints_and_hidden_criteria(tmp_path: Path) -> None:
    ex = json.loads((EXERCISES / "ex04_bottleneck.json").read_text())
    ex["criteria"][2].update(points=3, hint="Put a 1x1 convolution with fewer filters before the 3x3.")
    ex["criteria"].append({"id": "secret", "type": "max_flops", "value": 1, "hidden": True, "points": 2})
    (tmp_path / "ex.json").write_text(json.dumps(ex))
    shutil.copy(EXERCISES / "ex04_bottleneck.json", tmp_path / "ex04_bottleneck.json")
    wrong = EXERCISES / "wrong" / "ex04_bottleneck" / "no_bottleneck.json"
    student = run("check", str(tmp_path / "ex.json"), str(wrong))
    assert student.returncode == 1
    assert "         Hint: Put a 1x1 convolution with fewer filters before the 3x3." in student.stdout
    assert "secret" not in student.stdout and "multiply-adds" not in student.stdout
    assert student.stdout.rstrip().endswith("5 of 7 criteria passed, 5 of 9 points (1 hidden criterion is graded by your teacher).")
    teacher = json.loads(run("check", str(tmp_path / "ex.json"), str(wrong), "--all", "--json").stdout)
    assert (teacher["points"], teacher["max_points"]) == (5, 11)
    assert [c["id"] for c in teacher["criteria"] if c["hidden"]] == ["secret"]


# ------------------------------------------------------------------------------------------------
# A class: LMS folders, the CSV, Gradescope, feedback, exit codes


def lms_export(root: Path) -> Path:
    """Moodle's layout (a folder per student), a flat file, a broken file and a file that is not a design."""
    folder = root / "export"
    graph, meta = load_project(EXERCISES / "solutions" / "ex13_inception_module.json")
    alice = folder / "Alice Martin_4101_assignsubmission_file_"
    alice.mkdir(parents=True)
    save_project(graph, alice / "inception.json", answers=meta["answers"])
    bob = folder / "Bob Li_4102_assignsubmission_file_"
    bob.mkdir()
    shutil.copy(EXERCISES / "wrong" / "ex13_inception_module" / "two_branches.json", bob / "my design.json")
    shutil.copy(EXERCISES / "wrong" / "ex13_inception_module" / "valid_padding.json", folder / "carol.json")
    (folder / "dan.json").write_text('{"format": "layerlab-project"')
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._alice.json").write_text("junk")
    return folder


def test_grade_a_class_exported_from_an_lms(tmp_path: Path) -> None:
    folder = lms_export(tmp_path)
    result = run("grade", str(EXERCISES / "ex13_inception_module.json"), str(folder), "-o", str(tmp_path / "r.csv"),
                 "--results-json", str(tmp_path / "gs"), "--feedback", str(tmp_path / "fb"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Graded 4 design(s) (1 unreadable) from 4 student(s)")
    rows = {row["student"]: row for row in csv.DictReader(open(tmp_path / "r.csv", newline=""))}
    assert sorted(rows) == ["Alice Martin_4101", "Bob Li_4102", "carol", "dan"]
    alice, bob, carol, dan = (rows[k] for k in sorted(rows))
    assert (alice["status"], alice["points"], alice["max_points"]) == ("graded", "13", "13")
    assert (alice["parameters"], alice["multiply_adds"], alice["receptive_field"], alice["depth"]) == ("163696", "128049152", "5x5", "3")
    assert alice["answer_q_5x5"] == "12832" and alice["points_four"] == "3"
    assert bob["file"] == "Bob Li_4102_assignsubmission_file_/my design.json" and bob["points_four"] == "0"
    assert bob["message_four"].startswith("failed: inception_3a (Concatenate) joins 2 branches; the exercise asks for exactly 4.")
    # A message with its own punctuation stays in one cell.
    assert carol["message_valid"].startswith("failed: inception_3a: Concatenate along axis -1 needs every other axis to match")
    assert carol["message_valid"].endswith("Hint: branch3x3 gives 26x26, the others 28x28: use padding='same' in branch3x3, so that it keeps the size.")
    assert carol["message_out"] == "not checked: Not checked: fix the error in inception_3a first."
    assert dan["status"] == "unreadable" and dan["problem"].startswith("not valid JSON")

    gs = json.loads((tmp_path / "gs" / "Bob_Li_4102" / "results.json").read_text())
    assert set(gs) == {"score", "execution_time", "output", "tests"} and gs["execution_time"] >= 1  # Gradescope's documented keys
    assert gs["score"] == 4 and sum(t["max_score"] for t in gs["tests"]) == 13
    # What the student reads never tells the hidden criterion's points (Gradescope hides the total score itself).
    assert gs["output"] == "Inception module: 4 of 12 points on the criteria you can see. Your teacher grades 1 more criterion."
    tests = {t["name"].split(":")[0]: t for t in gs["tests"]}
    assert tests["four"] == {**tests["four"], "score": 0, "max_score": 3, "status": "failed", "visibility": "visible"}
    assert all(set(t) <= {"name", "score", "max_score", "status", "output", "visibility"} for t in gs["tests"])
    assert "Hint: Each of the four branches" in tests["four"]["output"]
    assert tests["rf"]["visibility"] == "hidden"
    unreadable = json.loads((tmp_path / "gs" / "dan" / "results.json").read_text())
    assert unreadable["score"] == 0 and "Your file could not be read: not valid JSON" in unreadable["output"]
    assert [t["name"].split(":")[0] for t in unreadable["tests"]] == [t["name"].split(":")[0] for t in gs["tests"]]
    assert all(t["status"] == "failed" and t["output"].startswith("Your file could not be read: not valid JSON") for t in unreadable["tests"])
    feedback = (tmp_path / "fb" / "carol.md").read_text()
    assert "  - Hint: branch3x3 gives 26x26, the others 28x28: use padding='same' in branch3x3" in feedback
    assert "receptive" not in feedback.lower() and "1 more criterion is graded by your teacher." in feedback


def test_grade_exits_non_zero_when_the_checker_itself_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    folder = lms_export(tmp_path)
    import engine.classroom.grading as grading

    real = grading.check_design

    def flaky(exercise, graph, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if graph.find("branch5x5") is None:
            raise ZeroDivisionError("a bug in LayerLab")
        return real(exercise, graph, *args, **kwargs)

    monkeypatch.setattr(grading, "check_design", flaky)
    code = cli.main(["grade", str(EXERCISES / "ex13_inception_module.json"), str(folder), "-o", str(tmp_path / "r.csv")])
    assert code == 3 and "the checker failed on 1 design(s)" in capsys.readouterr().err
    rows = {row["student"]: row for row in csv.DictReader(open(tmp_path / "r.csv", newline=""))}
    assert (rows["Bob Li_4102"]["status"], rows["Bob Li_4102"]["problem"]) == ("checker error", "ZeroDivisionError: a bug in LayerLab")
    assert rows["Alice Martin_4101"]["status"] == "graded"


def test_an_empty_folder_is_said(tmp_path: Path) -> None:
    result = run("grade", str(EXERCISES / "ex04_bottleneck.json"), str(tmp_path), "-o", str(tmp_path / "r.csv"))
    assert result.returncode == 2 and "no .json designs found" in result.stderr


@pytest.mark.keras
def test_grade_trains_in_parallel_workers_without_tensorflow_noise(tmp_path: Path) -> None:
    ex = json.loads((EXERCISES / "ex12_train_digits.json").read_text())
    ex["criteria"][-1]["epochs"] = 2
    (tmp_path / "ex.json").write_text(json.dumps(ex))
    folder = tmp_path / "class"
    folder.mkdir()
    graph, _ = load_project(EXERCISES / "solutions" / "ex12_train_digits.json")
    save_project(graph, folder / "good.json")
    two_outputs, _ = load_project(EXERCISES / "solutions" / "ex12_train_digits.json")
    extra = two_outputs.add_node("Dense", {"units": 3}, name="extra")  # a second output: training refuses it
    two_outputs.connect(two_outputs.find("flatten"), extra)
    save_project(two_outputs, folder / "two_outputs.json")
    result = run("grade", str(tmp_path / "ex.json"), str(folder), "-o", str(tmp_path / "r.csv"), "--train", "-j", "2")
    assert result.returncode == 0, result.stderr
    assert "retracing" not in result.stderr and "tensorflow" not in result.stderr.lower()
    rows = {row["file"]: row for row in csv.DictReader(open(tmp_path / "r.csv", newline=""))}
    assert 0 <= float(rows["good.json"]["val_accuracy"]) <= 1
    assert rows["good.json"]["message_train"].split(": ")[0] in ("passed", "failed")
    assert "% when graded (2 epochs)" in rows["good.json"]["message_train"]
    assert rows["two_outputs.json"]["message_train"] == (
        "failed: Training failed: training needs exactly one output layer; this network has 2")


# ------------------------------------------------------------------------------------------------
# Validating exercises; similar designs


@pytest.mark.parametrize("path", sorted(EXERCISES.glob("ex*.json")), ids=lambda p: p.stem)
def test_every_bundled_exercise_validates_with_its_known_wrong_designs(path: Path) -> None:
    result = run("validate", str(path))
    assert result.returncode == 0, result.stdout
    assert "the reference solution" in result.stdout and result.stdout.count("  ok   ") >= 2  # the solution and a wrong design


def test_validate_catches_a_criterion_that_lets_a_wrong_design_pass(tmp_path: Path) -> None:
    ex = json.loads((EXERCISES / "ex10_small_mnist_skip.json").read_text())
    ex["criteria"] = [c if c["id"] != "skip" else {"id": "skip", "type": "requires_layer", "layer": "Add"} for c in ex["criteria"]]
    (tmp_path / "ex10_small_mnist_skip.json").write_text(json.dumps(ex))
    (tmp_path / "solutions").mkdir()
    shutil.copy(EXERCISES / "solutions" / "ex10_small_mnist_skip.json", tmp_path / "solutions")
    result = run("validate", str(tmp_path / "ex10_small_mnist_skip.json"), str(EXERCISES / "wrong" / "ex10_small_mnist_skip"))
    assert result.returncode == 1
    assert "FAIL add_same_tensor.json passes skip, which it should fail: The design has 1 Add layer." in result.stdout


def test_similar_groups_designs_identical_up_to_names_and_positions(tmp_path: Path) -> None:
    graph, meta = load_project(EXERCISES / "solutions" / "ex13_inception_module.json")
    save_project(graph, tmp_path / "alice.json")
    doc = graph_to_dict(graph)
    for i, node in enumerate(doc["nodes"]):
        node["name"] = f"layer_{i}"
        node["position"] = [i * 37.0, -i * 11.0]
    doc["nodes"].reverse()
    (tmp_path / "bob.json").write_text(json.dumps(doc))
    graph.set_param(graph.find("branch5x5"), "filters", 48)  # one setting changed: a near-duplicate
    save_project(graph, tmp_path / "carol.json")
    shutil.copy(EXERCISES / "solutions" / "ex05_residual_projection.json", tmp_path / "dan.json")
    out = json.loads(run("similar", str(tmp_path), "--json").stdout)
    assert out["identical"] == [["alice.json", "bob.json"]]
    assert [(p["a"], p["b"]) for p in out["near"]] == [("alice.json", "carol.json")] and 0.8 <= out["near"][0]["similarity"] < 1
