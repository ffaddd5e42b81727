"""Bad input a user (or a hostile file) can cause: one clear line, never a traceback, never a hang, nothing
clobbered. Crafted Keras configs, half characters (lone surrogates), devices and pipes, symbolic links,
absurd numbers typed into the inspector, and names that change while an error message still shows them."""

from __future__ import annotations

import ast
import copy
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from engine.analysis import analyse
from engine.codegen import generate_code
from engine.graph import NetworkGraph
from engine.keras_import import KerasImportError, graph_from_keras_config, import_keras_model
from engine.layers import ParamError, get_spec
from engine.project import FileRefused, ProjectError, atomic_write_text, graph_to_dict, load_project, save_project
from tests.corpus.compare import load

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def _model() -> dict:
    return copy.deepcopy(load("mnist_convnet")["config"])


def _functional() -> dict:
    return copy.deepcopy(load("lstm_seq2seq")["config"])


def _layers(config: dict) -> list:
    return config["config"]["layers"]


CRAFTED = {
    "a layer config that is a list": lambda c: _layers(c)[1].update(config=[1, 2]),
    "a layer config that is a string": lambda c: _layers(c)[1].update(config="conv"),
    "a layer that is a number": lambda c: _layers(c).insert(1, 7),
    "inbound nodes as a dict": lambda c: _layers(c)[2].update(inbound_nodes={"args": []}),
    "inbound nodes as an int": lambda c: _layers(c)[2].update(inbound_nodes=3),
    "an inbound node that is a string": lambda c: _layers(c)[2].update(inbound_nodes=["lstm"]),
    "a keras history that is a dict": lambda c: _layers(c)[2]["inbound_nodes"][0]["args"][0]["config"].update(keras_history={"a": 1}),
    "an input dtype that is a dict of garbage": lambda c: _layers(c)[0]["config"].update(dtype={"config": 5}),
    "an input shape that is text": lambda c: _layers(c)[0]["config"].update(batch_shape="big"),
    "a Bidirectional without a layer": lambda c: _layers(c)[2].update(class_name="Bidirectional", config={"name": "lstm"}),
    "a backward-only Bidirectional": lambda c: _layers(c)[2].update(class_name="Bidirectional", config={"name": "lstm", "backward_layer": {"class_name": "LSTM", "config": {"units": 3}}}),
    "output layers that are a string": lambda c: c["config"].update(output_layers="dense"),
}


@pytest.mark.parametrize("what", list(CRAFTED))
def test_crafted_keras_configs_are_one_line_errors(what: str, tmp_path) -> None:
    config = _functional()
    CRAFTED[what](config)
    path = tmp_path / "crafted.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    try:
        graph = import_keras_model(path)
    except KerasImportError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:  # what LayerLab could still read must be a design the analysis can judge
        analyse(graph)
    result = cli("summary", str(path))
    assert result.returncode in (0, 1, 2) and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 20


@pytest.mark.parametrize("attribute", [7, [1, 2, 3], b"\xff\xfe garbage"])
def test_h5_model_configs_of_the_wrong_type_are_one_line_errors(attribute, tmp_path) -> None:  # noqa: ANN001
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as fh:
        fh.attrs["model_config"] = attribute
    with pytest.raises(KerasImportError, match="odd.h5: the model configuration is (not text|not valid JSON)"):
        import_keras_model(path)


def test_a_config_that_unpacks_to_a_million_layers_is_refused_before_it_is_parsed(tmp_path) -> None:
    layer = {"class_name": "Dense", "config": {"units": 1}}
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": [layer] * 600_000}}))
    assert path.stat().st_size < 2_000_000
    with pytest.raises(KerasImportError, match="more than LayerLab's limit of 100,000 layers"):
        import_keras_model(path)


def test_lone_surrogates_are_refused_on_load_and_emoji_export_correctly(tmp_path) -> None:
    graph = graph_from_keras_config(_model())
    doc = graph_to_dict(graph, name="ok")
    doc["nodes"][1]["name"] = "conv_\ud83d"
    (tmp_path / "half.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProjectError, match="valid Unicode text"):
        load_project(tmp_path / "half.json")
    doc["nodes"][1]["name"] = "conv_ok"
    doc["name"] = "title \udc00"
    (tmp_path / "title.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProjectError, match='"name" holds half of a character'):
        load_project(tmp_path / "title.json")
    smiley = "dense_\U0001f642"
    graph.rename(graph.find("dense"), smiley)
    source = generate_code(graph)
    names = [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert smiley in names and source.isascii()
    save_project(graph, tmp_path / "smiley.json")
    assert load_project(tmp_path / "smiley.json")[0].find(smiley) is not None


def test_devices_and_pipes_are_refused_without_reading_them(tmp_path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for target in (str(fifo), "/dev/zero", str(tmp_path)):
        result = cli("summary", target, timeout=20)
        assert result.returncode == 2 and "not a regular file" in result.stderr and "Traceback" not in result.stderr, target


def test_writing_refuses_devices_and_pipes_and_writes_through_symbolic_links(tmp_path) -> None:
    fifo = tmp_path / "out.py"
    os.mkfifo(fifo)
    result = cli("export", str(ROOT / "resources" / "examples" / "lenet5.json"), "-o", str(fifo))
    assert result.returncode == 2 and "not a regular file" in result.stderr
    assert fifo.is_fifo()  # not replaced by a regular file
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    graph = graph_from_keras_config(_model())
    save_project(graph, link)
    assert link.is_symlink() and load_project(real)[0].find("dense") is not None
    with pytest.raises(FileRefused):
        atomic_write_text(tmp_path, "x")


def test_a_cycle_message_follows_a_rename_of_another_layer_on_it() -> None:
    from engine.analysis import Analyzer

    graph = NetworkGraph()
    a, b = graph.add_node("Dense", name="A"), graph.add_node("Dense", name="B")
    graph.connect(a, b)
    graph.connect(b, a)
    analyzer = Analyzer()
    assert "(A -> B)" in analyzer.analyse(graph).diagnostics_for(b)[0].message
    graph.rename(a, "first")
    assert "(first -> B)" in analyzer.analyse(graph).diagnostics_for(b)[0].message


def test_thousands_of_digits_typed_into_a_field_are_refused_with_a_message() -> None:
    pytest.importorskip("PySide6")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gui.inspector import parse_text

    for layer_type, name in (("Input", "shape"), ("Dropout", "seed"), ("ZeroPadding2D", "padding"), ("Dense", "units")):
        with pytest.raises(ParamError, match="far too large"):
            parse_text(get_spec(layer_type).param(name), "9" * 4301)


def test_nameless_layers_load_with_keras_names() -> None:
    from engine.project import graph_from_dict

    doc = {"format": "layerlab-project", "version": 1, "nodes": [{"id": f"n{i}", "type": "Dense", "params": {"units": 1}} for i in range(20_000)]}
    graph, _ = graph_from_dict(doc)
    names = [n.name for n in graph.nodes()]
    assert names[:3] == ["dense", "dense_1", "dense_2"] and len(set(names)) == 20_000


@pytest.mark.parametrize("request_line", ["[1, 2]", '{"project": 3}', "[" * 100_000 + "]" * 100_000, "garbage", '{"project": {}, "config": {}, "model_path": 7}'],
                         ids=["list", "project-not-object", "deeply-nested", "garbage", "model-path-number"])
def test_the_training_worker_answers_a_bad_request_with_one_json_error_line(request_line: str) -> None:
    result = subprocess.run([sys.executable, "-m", "engine.worker"], input=request_line + "\n", capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    # The worker says it is ready (TensorFlow loaded) before it reads a job; the job gets one error line.
    assert [m["type"] for m in lines] == ["ready", "error"] and "Traceback" not in result.stderr


def _hostile_files(tmp_path) -> list[Path]:  # noqa: ANN001
    files = []
    for what in ("a layer config that is a list", "inbound nodes as an int", "a backward-only Bidirectional"):
        config = _functional()
        CRAFTED[what](config)
        path = tmp_path / f"{len(files)}.keras"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", json.dumps(config))
        files.append(path)
    half = tmp_path / "half.json"
    half.write_text('{"format": "layerlab-project", "version": 1, "name": "\\ud800", "nodes": []}')
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 50_000 + "]" * 50_000)
    return [*files, half, fifo, deep]


def test_hostile_files_through_every_command_and_the_editor(tmp_path, qtbot) -> None:  # noqa: ANN001
    exercise = str(ROOT / "resources" / "exercises" / "ex01_dense_parameters.json")
    lenet = str(ROOT / "resources" / "examples" / "lenet5.json")
    for path in _hostile_files(tmp_path):
        for args in (["summary", str(path)], ["export", str(path), "-o", str(tmp_path / "out.py")], ["diff", lenet, str(path)],
                     ["check", exercise, str(path)], ["import", str(path), "-o", str(tmp_path / "imported.json")]):
            if args[0] == "import" and path.suffix != ".keras":
                continue
            result = cli(*args, timeout=30)
            assert result.returncode in (1, 2) and "Traceback" not in result.stderr, (args, result.stderr[-500:])
            assert result.stderr.strip().startswith("error:") or result.returncode == 1, (args, result.stderr[-300:])
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from gui.main_window import MainWindow

    shown = []
    original = QMessageBox.warning
    QMessageBox.warning = staticmethod(lambda *a, **k: shown.append(a[2]))  # type: ignore[method-assign]
    try:
        window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(window)
        again = tmp_path / "again"
        again.mkdir()
        for path in _hostile_files(again):
            assert not window.open_path(str(path))
    finally:
        QMessageBox.warning = original  # type: ignore[method-assign]
    assert len(shown) == 6 and all("\n" not in m for m in shown)
