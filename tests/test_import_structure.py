"""Import of what real Keras models hold besides plain layers, read from configs alone (no TensorFlow).

Shared layers, nested models, operations, several outputs and keyword inputs survive import, a save to a
project file (format version 2) and a reload; what LayerLab cannot model is refused in one line that
lists every problem, grouped by class; the CLI never presents a partial count as the model's.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from engine.analysis import analyse
from engine.keras_import import MAX_DEPTH, KerasImportError, graph_from_keras_config
from engine.project import ProjectError, graph_from_dict, graph_to_dict, load_project, save_project
from tests.corpus.compare import load

ROOT = Path(__file__).resolve().parent.parent


def _keras_file(path: Path, config: dict) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    return path


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("name", ["siamese_network", "lstm_seq2seq", "masked_lstm", "ConvNeXtTiny", "shared_dense_tower", "vision_transformer_small"])
def test_structure_survives_a_project_file(name: str, tmp_path) -> None:
    graph = graph_from_keras_config(load(name)["config"])
    save_project(graph, tmp_path / "p.json")
    again, _ = load_project(tmp_path / "p.json")
    needs_v2 = bool(graph.groups) or any(n.shares for n in graph.nodes()) or any(e.output for e in graph.edges())
    assert json.loads((tmp_path / "p.json").read_text())["version"] == (2 if needs_v2 else 1)
    before, after = analyse(graph), analyse(again)
    assert after.is_valid and (after.total_params, after.trainable_params) == (before.total_params, before.trainable_params)
    assert {(e.source, e.target, e.slot, e.output) for e in again.edges()} == {(e.source, e.target, e.slot, e.output) for e in graph.edges()}
    assert {n.id: (n.group, n.shares) for n in again.nodes()} == {n.id: (n.group, n.shares) for n in graph.nodes()}
    assert again.groups == graph.groups


def test_plain_designs_are_still_written_as_version_1_and_version_1_files_still_load(tmp_path) -> None:
    graph = graph_from_keras_config(load("mnist_convnet")["config"])
    doc = graph_to_dict(graph)
    assert doc["version"] == 1 and "groups" not in doc
    graph_from_dict(doc)


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d["groups"].append({"id": "g9", "name": "x", "parent": "nope"}), '"parent" \'nope\' is not the id of a group'),
    (lambda d: d["groups"].append({"id": "g1", "name": "again"}), "the group id 'g1' is used twice"),
    (lambda d: d["nodes"][-1].update(group="g77"), '"group" \'g77\' is not the id of a group'),
    (lambda d: d["nodes"][-1].update(shares="n1"), "can share the weights of another"),
    (lambda d: d["edges"][0].update(output=-1), "output index must be a whole number"),
    (lambda d: d["groups"][0].update(kind="macro"), '"kind" must be "model" or "block"'),
])
def test_hostile_version_2_fields_are_one_line_errors(mutate, expected: str) -> None:  # noqa: ANN001
    doc = graph_to_dict(graph_from_keras_config(load("siamese_network")["config"]))
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(ProjectError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        graph_from_dict(bad, "bad.json")


def test_refusals_are_grouped_by_class_and_every_problem_is_listed() -> None:
    config = copy.deepcopy(load("InceptionResNetV2")["config"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "CustomScaleLayer":
            layer["module"], layer["registered_name"] = "my_project.layers", "my_project>ScaleIt"
    with pytest.raises(KerasImportError) as info:
        graph_from_keras_config(config)
    message = str(info.value)
    assert message.startswith("LayerLab does not know 40 × CustomScaleLayer layers: custom_scale_layer, custom_scale_layer_1, custom_scale_layer_2, ...")
    assert "\n" not in message and "not in the model" not in message  # what they feed is not reported again


def test_a_deeply_nested_or_self_referencing_config_is_refused_in_one_line() -> None:
    inner = {"class_name": "Functional", "config": {"layers": []}}
    deepest = inner
    for _ in range(MAX_DEPTH + 5):
        nested = {"class_name": "Sequential", "name": "s", "config": {"layers": [{"class_name": "Dense", "config": {"units": 1}}]}}
        deepest["config"]["layers"].append(nested)
        deepest = nested
    with pytest.raises(KerasImportError, match=f"nested more than {MAX_DEPTH} deep"):
        graph_from_keras_config(inner)
    loop = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 4], "name": "in"}, "inbound_nodes": []},
        {"class_name": "Dense", "name": "d", "config": {"units": 2}, "inbound_nodes": [
            {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["d", 0, 0]}}]}]},
    ]}}
    with pytest.raises(KerasImportError, match=r"^d \(Dense\): it is fed by d, which is not in the model \(or comes after it\)$"):
        graph_from_keras_config(loop)


def test_absurd_sizes_are_refused_with_the_layer_and_the_value() -> None:
    config = copy.deepcopy(load("video_classifier_3d")["config"])
    conv = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Conv3D")
    conv["config"]["filters"] = 10**12
    with pytest.raises(KerasImportError, match=r"conv3d \(Conv3D\): filters must be at most 2,147,483,647, got 1000000000000"):
        graph_from_keras_config(config)


def test_cli_import_reports_layers_operations_and_nested_models(tmp_path) -> None:
    path = _keras_file(tmp_path / "mnv3.keras", load("MobileNetV3Small")["config"])
    result = _cli("import", str(path), "-o", str(tmp_path / "m.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Imported 164 layers and 18 operations from {path} into {tmp_path / 'm.json'} (2,554,968 parameters)."


def test_cli_import_with_errors_exits_1_and_gives_no_parameter_count(tmp_path) -> None:
    config = copy.deepcopy(load("mnist_convnet")["config"])
    first_dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Conv2D")
    first_dense["config"]["kernel_size"] = [40, 40]  # larger than the 28x28 image: Keras refuses the model
    path = _keras_file(tmp_path / "bad.keras", config)
    result = _cli("import", str(path), "-o", str(tmp_path / "m.json"))
    assert result.returncode == 1
    assert "parameters)" not in result.stdout and "1 error(s)" in result.stderr and "kernel 40 is larger than the input" in result.stderr


def test_summaries_name_the_nested_model_a_layer_belongs_to() -> None:
    from engine.report import summary_json, summary_text

    graph = graph_from_keras_config(load("siamese_network")["config"])
    analysis = analyse(graph)
    rows = summary_json(graph, analysis)["layers"]
    convs = [r for r in rows if r["name"] == "conv2d"]
    assert [r["group"] for r in convs] == ["embedding", "embedding"] and [r["params"] for r in convs] == [416, 0]
    assert "embedding/conv2d (Conv2D)" in summary_text(graph, analysis)
