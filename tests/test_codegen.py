"""Exported Keras code: rebuilds exactly the graph, is ruff-clean, and never runs text from a file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.analysis import analyse
from engine.codegen import CodegenError, generate_code, identifier, py_literal
from engine.graph import NetworkGraph
from engine.project import load_project
from tests.conftest import EXAMPLES, ROOT
from tests.keras_build import engine_numbers, layer_numbers


def _exec_build(source: str):
    namespace: dict = {"__name__": "exported"}
    exec(compile(source, "<exported>", "exec"), namespace)  # the test's own generated code
    return namespace["build_model"]()


def _assert_same(graph: NetworkGraph, model) -> None:
    analysis = analyse(graph)
    names = {layer.name for layer in model.layers}
    expected = {graph.node(n).name for n in graph.node_ids() if graph.node(n).type != "Input" or not model.__class__.__name__ == "Sequential"}
    assert expected <= names | {graph.node(n).name for n in analysis.input_nodes}
    for layer in model.layers:
        assert engine_numbers(graph, analysis, layer.name) == layer_numbers(layer)
    assert model.count_params() == analysis.total_params


def _ruff(source: str, tmp_path) -> None:
    path = tmp_path / "exported.py"
    path.write_text(source)
    for args in (["check", "--isolated", "--select", "E,F,W,I,B,UP"], ["format", "--isolated", "--check"]):  # ruff's defaults
        result = subprocess.run([sys.executable, "-m", "ruff", *args, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.keras
@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_every_example_round_trips_through_exported_code(example: str, tmp_path) -> None:
    graph, meta = load_project(EXAMPLES / example)
    source = generate_code(graph, title=meta["name"])
    _ruff(source, tmp_path)
    _assert_same(graph, _exec_build(source))


def test_chain_becomes_sequential_and_only_non_defaults_are_written() -> None:
    graph, _ = load_project(EXAMPLES / "lenet5.json")
    source = generate_code(graph)
    assert "keras.Sequential(" in source and "keras.Model(" not in source
    assert 'layers.Conv2D(6, 5, activation="tanh", name="c1")' in source
    assert "padding=" not in source and "use_bias" not in source and "strides=" not in source
    dag, _ = load_project(EXAMPLES / "inception_module.json")
    text = generate_code(dag)
    assert "keras.Model(inputs=features, outputs=inception_3a" in text
    assert "inception_3a = layers.Concatenate(" in text  # wrapped by ruff format; order of inputs kept:
    assert "[branch1x1, branch3x3, branch5x5, branch_pool_proj]" in text


@pytest.mark.keras
@pytest.mark.parametrize("name", ["ResNet50", "MobileNetV2", "InceptionV3"])
def test_imported_applications_round_trip(name: str, tmp_path) -> None:
    keras = pytest.importorskip("keras")
    from engine.keras_import import import_keras_model

    getattr(keras.applications, name)(weights=None).save(tmp_path / "m.keras")
    graph = import_keras_model(tmp_path / "m.keras")
    _assert_same(graph, _exec_build(generate_code(graph)))


HOSTILE_NAMES = [
    'a"); __import__("os").system("touch PWNED"); ("',
    "b'''; import os; os.system('touch PWNED') #",
    'c\\"; open("PWNED", "w") #',
    "d\\",
    "__import__('os').system('touch PWNED')",
    "еval",  # Cyrillic 'е': a look-alike of "eval"
    "class",
    "1st layer",
]


@pytest.mark.keras
def test_hostile_names_export_code_that_only_builds_the_model(tmp_path) -> None:
    graph = NetworkGraph()
    previous = graph.add_node("Input", {"shape": [4]}, name=HOSTILE_NAMES[0])
    for name in HOSTILE_NAMES[1:]:
        node = graph.add_node("Dense", {"units": 2}, name=name)
        graph.connect(previous, node)
        previous = node
    merge = graph.add_node("Add", name="add\u202e")  # a bidi override in a name
    graph.connect(previous, merge)
    graph.connect(previous, merge)
    source = generate_code(graph, title='x"""\nimport os; os.system("touch PWNED")\n"""')
    _ruff(source, tmp_path)
    script = tmp_path / "exported.py"
    script.write_text(source)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (tmp_path / "PWNED").exists()
    assert source.isascii()  # every non-ASCII character is escaped
    model = _exec_build(source)
    assert [layer.name for layer in model.layers][1:] == HOSTILE_NAMES[1:] + ["add\u202e"]


def test_literals_and_identifiers() -> None:
    assert py_literal('say "hi"\n') == '"say \\"hi\\"\\n"'
    assert py_literal((3, 3)) == "(3, 3)" and py_literal((4,)) == "(4,)" and py_literal(None) == "None"
    assert eval(py_literal("\\x'\"\u0435")) == "\\x'\"\u0435"  # noqa: S307 - checking our own literal
    taken: set[str] = set()
    assert [identifier(n, taken) for n in ("conv 1", "conv_1", "class", "2x", "еval", "")] == ["conv_1", "conv_1_1", "class_layer", "layer_2x", "val", "layer"]


def test_invalid_graph_is_refused() -> None:
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [10]})
    conv = graph.add_node("Conv2D", name="conv")
    graph.connect(x, conv)
    with pytest.raises(CodegenError, match="conv: Conv2D expects an image"):
        generate_code(graph)


def test_cli_export_with_training_and_strategies(tmp_path) -> None:
    for strategy, marker in ((None, "model.fit("), ("mirrored", "tf.distribute.MirroredStrategy("), ("multi-worker", "MultiWorkerMirroredStrategy()")):
        out = tmp_path / f"m_{strategy}.py"
        args = [sys.executable, "main.py", "export", str(EXAMPLES / "digits_cnn.json"), "-o", str(out), "--train", "digits", "--optimizer", "sgd", "--lr", "0.05"]
        if strategy:
            args += ["--strategy", strategy]
        result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        source = out.read_text()
        assert marker in source and "keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)" in source
        assert "def load_data():" in source and "load_digits" in source
        _ruff(source, tmp_path)
    bad = subprocess.run([sys.executable, "main.py", "export", str(EXAMPLES / "lenet5.json"), "-o", str(tmp_path / "x.py"), "--strategy", "mirrored"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "needs --train" in bad.stderr


@pytest.mark.keras
def test_cli_export_saves_untrained_keras_model(tmp_path) -> None:
    result = subprocess.run([sys.executable, "main.py", "export", str(EXAMPLES / "resnet_basic_block.json"), "-o", str(tmp_path / "m.py"), "--keras", str(tmp_path / "m.keras")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    summary = subprocess.run([sys.executable, "main.py", "summary", str(tmp_path / "m.keras"), "--json"], cwd=ROOT, capture_output=True, text=True)
    assert json.loads(summary.stdout)["total_params"] == 230_912
