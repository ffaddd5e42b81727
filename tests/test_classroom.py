"""Teaching aids, exercises, grading and comparing designs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from engine.analysis import analyse
from engine.diff import diff_graphs
from engine.exercises import ExerciseError, check_design, exercise_from_dict, load_exercise
from engine.project import load_project, save_project
from engine.teaching import explain, training_memory
from tests.conftest import EXAMPLES, ROOT, chain, run

EXERCISES = ROOT / "resources" / "exercises"


def test_formulas_from_the_lessons() -> None:
    graph, ids = chain((32, 32, 64), ("Conv2D", {"filters": 128, "kernel_size": 3}), ("BatchNormalization", {}))
    analysis = analyse(graph)
    assert analysis[ids[1]].params.formula == "(3*3*64 + 1) * 128 = 73,856"
    assert analysis[ids[2]].params.formula.startswith("4 * 128 = 512") and "256 non-trainable" in analysis[ids[2]].params.formula
    graph, ids = chain((10, 32), ("LSTM", {"units": 64}))
    assert analyse(graph)[ids[1]].params.formula == "4 * ((32 + 64) * 64 + 64) = 24,832"


def test_output_size_arithmetic_and_multiply_adds() -> None:
    graph, ids = chain((28, 28, 1), ("Conv2D", {"filters": 8, "kernel_size": 5}), ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2}),
                       ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}), ("Flatten", {}), ("Dense", {"units": 10}))
    notes = explain(graph).notes
    assert notes[ids[1]].arithmetic == ["height: (28 - 5 + 2*0) / 1 + 1 = 24", "width: (28 - 5 + 2*0) / 1 + 1 = 24"]
    assert notes[ids[2]].arithmetic[0] == "height: (24 - 3 + 2*0) / 2 + 1 = 11 (rounded down from 11.5)"
    assert notes[ids[3]].arithmetic[0].startswith("height: padding='same' gives ceil(11 / 2) = 6")
    assert notes[ids[1]].flops == 24 * 24 * 5 * 5 * 1 * 8 and "24*24 positions" in notes[ids[1]].flops_formula
    assert notes[ids[5]].flops == 6 * 6 * 4 * 10
    assert notes[ids[4]].flops == 0 and notes[ids[1]].activation_bytes == 24 * 24 * 8 * 4
    teaching = explain(graph)
    assert teaching.total_flops == sum(n.flops or 0 for n in teaching.notes.values())


def test_receptive_field_and_jump() -> None:
    graph, _ = load_project(EXAMPLES / "vgg_block.json")
    notes = explain(graph).notes
    rf = {graph.node(n).name: (note.receptive_field, note.jump) for n, note in notes.items()}
    assert rf["block1_conv1"] == ((3, 3), (1, 1)) and rf["block1_conv2"][0] == (5, 5)
    assert rf["block1_pool"] == ((6, 6), (2, 2)) and rf["block2_conv2"][0] == (14, 14) and rf["block2_pool"] == ((16, 16), (4, 4))
    graph, ids = chain((32, 32, 3), ("Conv2D", {"filters": 4}), ("GlobalAveragePooling2D", {}), ("Dense", {"units": 2}))
    notes = explain(graph).notes
    assert notes[ids[2]].receptive_field is None and "global pooling" in notes[ids[2]].rf_reason
    assert "global pooling" in notes[ids[3]].rf_reason
    graph, ids = chain((32, 32, 3), ("Conv2D", {"filters": 4, "dilation_rate": 2}))
    assert explain(graph).notes[ids[1]].receptive_field == (5, 5)


@pytest.mark.keras
def test_receptive_field_of_vgg16_matches_the_literature(tmp_path) -> None:
    keras = pytest.importorskip("keras")
    from engine.keras_import import import_keras_model

    keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3)).save(tmp_path / "vgg.keras")
    graph = import_keras_model(tmp_path / "vgg.keras")
    notes = explain(graph).notes
    assert notes[graph.find("block5_conv3")].receptive_field == (196, 196)
    assert notes[graph.find("block5_pool")].receptive_field == (212, 212) and notes[graph.find("block5_pool")].jump == (32, 32)


def test_training_memory_estimate_is_explained() -> None:
    graph, _ = load_project(EXAMPLES / "lenet5.json")
    memory = training_memory(graph, 32)
    assert memory["weights"] == 61_706 * 4 and memory["optimizer_state"] == 2 * memory["gradients"]
    assert memory["activations"] > 0


def test_summary_json_has_teaching_fields() -> None:
    doc = json.loads(run("summary", str(EXAMPLES / "lenet5.json"), "--json").stdout)
    c1 = next(layer for layer in doc["layers"] if layer["name"] == "c1")
    assert c1["flops"] == 28 * 28 * 25 * 6 and c1["formula"] == "(5*5*1 + 1) * 6 = 156"
    assert c1["receptive_field"] == {"size": [5, 5], "jump": [1, 1], "reason": ""}
    assert c1["output_size"][0] == "height: (32 - 5 + 2*0) / 1 + 1 = 28"
    assert doc["total_flops"] == sum(layer["flops"] or 0 for layer in doc["layers"]) and doc["max_receptive_field"] == 16
    text = run("summary", str(EXAMPLES / "lenet5.json"), "--explain").stdout
    assert "How the numbers come about" in text and "receptive field: 16x16, jump 4x4" in text


@pytest.mark.parametrize("exercise", sorted(p.name for p in EXERCISES.glob("ex*.json")))
def test_every_reference_solution_passes(exercise: str) -> None:
    ex = load_exercise(EXERCISES / exercise)
    graph, meta = load_project(EXERCISES / "solutions" / exercise)
    results = check_design(ex, graph, meta["answers"])
    assert [r.id for r in results if r.status == "failed"] == []
    assert all(r.message for r in results)


def _solution(stem: str):
    graph, meta = load_project(EXERCISES / "solutions" / f"{stem}.json")
    return load_exercise(EXERCISES / f"{stem}.json"), graph, meta["answers"]


def failed(results) -> dict[str, str]:
    return {r.id: r.message for r in results if r.status == "failed"}


def test_typical_wrong_designs_fail_for_the_right_reason() -> None:
    ex, graph, answers = _solution("ex01_dense_parameters")
    for node in list(graph.nodes()):
        if node.type == "Dense":
            graph.set_param(node.id, "use_bias", True)
    assert failed(check_design(ex, graph, {"q_no_bias": "18", "q_bias": "18"})) == {
        "size": "The design has 18 parameters; it should have at most 13. dense_3 holds the most (9): make it smaller, "
                "or use fewer filters or units.",
        "q_no_bias": "18 is not right. Check your working, and try again.",
    }
    ex, graph, answers = _solution("ex04_bottleneck")
    graph.remove_node(graph.find("bottleneck"))
    graph.connect(graph.find("features"), graph.find("conv3x3"))
    assert failed(check_design(ex, graph, answers)) == {
        "size": "The design has 147,456 parameters; it should have at most 45,000. conv3x3 holds the most (147,456): "
                "make it smaller, or use fewer filters or units.",
        "convs": "The design has 1 Conv2D layer. The exercise asks for at least 2.",
    }
    ex, graph, answers = _solution("ex05_residual_projection")
    graph.remove_node(graph.find("bn_projection"))
    graph.remove_node(graph.find("projection"))
    graph.connect(graph.find("features"), graph.find("add"))  # the shortcut without its projection
    problems = failed(check_design(ex, graph, answers))
    assert "valid" in problems and "Add combines its inputs value by value" in problems["valid"]
    assert "skip" not in problems  # the skip is there; its error is counted once, under "valid"
    skip = next(r for r in check_design(ex, graph, answers) if r.id == "skip")
    assert (skip.status, skip.message) == ("not checked", "Not checked: fix the error in add first.")
    ex, graph, answers = _solution("ex08_pooling_vs_strided")
    graph.set_param(graph.find("strided"), "strides", 1)
    pool = graph.add_node("MaxPooling2D")
    graph.connect(graph.find("strided"), pool)
    assert set(failed(check_design(ex, graph, answers))) == {"no_max"}
    ex, graph, answers = _solution("ex02_conv_output_size")
    assert failed(check_design(ex, graph, {}))["q_params"] == "Not answered yet."
    graph.set_param(graph.find("conv"), "padding", "same")
    assert failed(check_design(ex, graph, answers))["out"] == "conv outputs (28, 28, 8), but the output should be (24, 24, 8)."


def test_training_criterion_is_reported_not_run_without_train() -> None:
    ex, graph, answers = _solution("ex12_train_digits")
    result = {r.id: r for r in check_design(ex, graph, answers)}
    assert result["train"].status == "not run"
    # Not a pass: a teacher scripting `check` must not read a skipped training criterion as met.
    skipped = run("check", str(EXERCISES / "ex12_train_digits.json"), str(EXERCISES / "solutions" / "ex12_train_digits.json"))
    assert skipped.returncode == 3 and "1 training criterion(s) not run: use --train" in skipped.stdout


@pytest.mark.keras
def test_check_with_training() -> None:
    result = run("check", str(EXERCISES / "ex12_train_digits.json"), str(EXERCISES / "solutions" / "ex12_train_digits.json"), "--train", "--json")
    doc = json.loads(result.stdout)
    train = next(c for c in doc["criteria"] if c["id"] == "train")
    assert result.returncode == 0 and train["passed"] and train["message"].startswith("Validation accuracy")


def test_malformed_exercises_are_refused_with_one_line() -> None:
    good = json.loads((EXERCISES / "ex04_bottleneck.json").read_text())
    cases = [
        ({**good, "format": "x"}, "not a LayerLab exercise"),
        ({**good, "criteria": []}, '"criteria" must be a non-empty list'),
        ({**good, "criteria": [{"type": "max_params", "value": -1}]}, "key 'value': must be a number of at least 0"),
        ({**good, "criteria": [{"type": "requires_layer", "layer": "Lambda"}]}, "key 'layer': must be a layer type of the catalogue, got 'Lambda'"),
        ({**good, "criteria": [{"type": "question", "prompt": "?"}]}, "key 'answer': missing"),
        ({**good, "criteria": [{"type": "exec", "code": "rm -rf"}]}, "unknown criterion type 'exec'"),
        ({**good, "criteria": [{"id": "a", "type": "skip_connection"}, {"id": "a", "type": "concatenation"}]}, "key 'id': must be unique"),
    ]
    for doc, message in cases:
        with pytest.raises(ExerciseError) as info:
            exercise_from_dict(doc, "bad.json")
        assert message in str(info.value) and "\n" not in str(info.value)


def test_check_cli_exit_codes(tmp_path) -> None:
    ex = str(EXERCISES / "ex07_depthwise_separable.json")
    assert run("check", ex, str(EXERCISES / "solutions" / "ex07_depthwise_separable.json")).returncode == 0
    wrong = run("check", ex, str(EXAMPLES / "lenet5.json"), "--json")
    assert wrong.returncode == 1 and json.loads(wrong.stdout)["passed"] is False
    (tmp_path / "junk.json").write_text("{")
    assert run("check", ex, str(tmp_path / "junk.json")).returncode == 2
    assert run("check", str(tmp_path / "junk.json"), str(EXAMPLES / "lenet5.json")).returncode == 2


def test_grade_a_folder_with_a_broken_file(tmp_path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    graph, meta = load_project(EXERCISES / "solutions" / "ex04_bottleneck.json")
    save_project(graph, folder / "alice.json", answers=meta["answers"])
    save_project(load_project(EXAMPLES / "lesson_bottleneck.json")[0], folder / "bob.json")
    (folder / "carol.json").write_text('{"format": "layerlab-project", "version": 1, "nodes": [{"id": 1}]}')
    (folder / "notes.txt").write_text("not a design")
    result = run("grade", str(EXERCISES / "ex04_bottleneck.json"), str(folder), "-o", str(tmp_path / "report.csv"))
    assert result.returncode == 0, result.stderr
    rows = {row["file"]: row for row in csv.DictReader(open(tmp_path / "report.csv"))}
    assert sorted(rows) == ["alice.json", "bob.json", "carol.json"]
    assert rows["alice.json"]["passed"] == rows["alice.json"]["total"] == "7" and rows["alice.json"]["status"] == "graded"
    assert rows["bob.json"]["points_size"] == "0" and "188,416 parameters" in rows["bob.json"]["message_size"]
    assert rows["carol.json"]["status"] == "unreadable" and '"id" must be a non-empty text' in rows["carol.json"]["problem"]


def test_diff_shows_added_removed_changed_and_totals(tmp_path) -> None:
    a, _ = load_project(EXAMPLES / "lenet5.json")
    b, _ = load_project(EXAMPLES / "lenet5.json")
    b.set_param(b.find("c1"), "filters", 10)
    b.remove_node(b.find("f6"))
    b.connect(b.find("c5"), b.find("output"))
    extra = b.add_node("Dropout", {"rate": 0.2}, name="drop")
    b.connect(b.find("output"), extra)
    d = diff_graphs(a, b)
    assert [x["name"] for x in d["added"]] == ["drop"] and [x["name"] for x in d["removed"]] == ["f6"]
    changed = {c["name"]: c for c in d["changed"]}
    assert changed["c1"]["params_changed"] == {"filters": {"from": 6, "to": 10}}
    assert changed["c1"]["output_shape"] == {"from": [None, 28, 28, 6], "to": [None, 28, 28, 10]}
    assert changed["output"]["inputs"] == {"from": ["f6"], "to": ["c5"]}
    assert d["totals"]["params"]["delta"] == analyse(b).total_params - analyse(a).total_params
    save_project(b, tmp_path / "b.json")
    text = run("diff", str(EXAMPLES / "lenet5.json"), str(tmp_path / "b.json"))
    assert text.returncode == 1 and "+ added   drop (Dropout)" in text.stdout and "~ changed c1: filters 6 -> 10" in text.stdout
    same = run("diff", str(EXAMPLES / "lenet5.json"), str(EXAMPLES / "lenet5.json"), "--json")
    assert same.returncode == 0 and json.loads(same.stdout)["same"] is True
    assert Path(tmp_path / "b.json").exists()


def test_training_memory_for_a_chosen_batch_size() -> None:
    small = json.loads(run("summary", str(EXAMPLES / "lenet5.json"), "--json", "--batch-size", "1").stdout)["training_memory"]
    large = json.loads(run("summary", str(EXAMPLES / "lenet5.json"), "--json", "--batch-size", "100").stdout)["training_memory"]
    assert small["batch_size"] == 1 and large["activations"] == 100 * small["activations"]
    assert large["weights"] == small["weights"] == 61_706 * 4
    assert run("summary", str(EXAMPLES / "lenet5.json"), "--batch-size", "0").returncode == 2
