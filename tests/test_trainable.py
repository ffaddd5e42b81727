"""Frozen layers counted exactly (issue 18, point 1): ``trainable=False`` on a layer or a nested model, read from
Keras files, counted as Keras counts it, kept in project files, exported, and set in the editor as one undo step."""

from __future__ import annotations

import json
import math
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.analysis import analyse  # noqa: E402
from engine.codegen import generate_code  # noqa: E402
from engine.keras_import import graph_from_keras_config  # noqa: E402
from engine.project import graph_from_dict, graph_to_dict  # noqa: E402
from engine.report import summary_json  # noqa: E402
from gui.document import Document  # noqa: E402
from tests.conftest import chain  # noqa: E402
from tests.corpus.compare import load  # noqa: E402

_KEEP: list = []


def document(graph) -> Document:  # noqa: ANN001
    doc = Document(graph)
    _KEEP.append(doc)
    return doc


def counts(graph) -> tuple[int, int]:  # noqa: ANN001
    analysis = analyse(graph)
    return analysis.trainable_params, analysis.non_trainable_params


def test_a_frozen_batch_normalization_has_no_trainable_weight(qapp) -> None:  # noqa: ANN001
    graph, ids = chain((8,), ("Dense", {"units": 4}), ("BatchNormalization", {}))
    assert counts(graph) == (36 + 8, 8)
    doc = document(graph)
    doc.editor.set_trainable([ids[2]], False)
    assert counts(graph) == (36, 16)  # gamma and beta join the moving statistics, as in Keras
    assert "frozen" in analyse(graph)[ids[2]].params.formula
    doc.undo_stack.undo()
    assert counts(graph) == (44, 8)


def test_freezing_a_nested_model_freezes_every_call_of_it_and_everything_inside(qapp) -> None:  # noqa: ANN001
    graph = graph_from_keras_config(load("siamese_network")["config"])
    doc = document(graph)
    total = analyse(graph).total_params
    first = next(g for g, group in graph.groups.items() if group.kind == "model" and group.shares is None)
    doc.editor.set_trainable([], False, [first])
    assert all(not g.trainable for g in graph.groups.values() if g.kind == "model")  # the model and its second call
    head = graph.find("dense_1")
    assert counts(graph) == (analyse(graph)[head].params.total, total - analyse(graph)[head].params.total)
    assert doc.undo_stack.count() == 1 and doc.undo_stack.text(0) == "Freeze 2 items"
    again, _ = graph_from_dict(json.loads(json.dumps(graph_to_dict(graph))))
    assert counts(again) == counts(graph)  # kept in the project file
    doc.undo_stack.undo()
    assert counts(graph) == (total, 0)


def test_freezing_a_block_freezes_its_layers_in_one_step(qapp) -> None:  # noqa: ANN001
    graph, ids = chain((8,), ("Dense", {"units": 4}), ("Dense", {"units": 4}), ("Dense", {"units": 2}))
    doc = document(graph)
    block = doc.editor.group(ids[1:3], "base")
    doc.editor.set_trainable([], False, [block])
    assert [graph.node(n).trainable for n in ids[1:]] == [False, False, True]
    assert counts(graph) == (10, 36 + 20)
    doc.undo_stack.undo()
    assert counts(graph) == (66, 0)


def test_a_layer_called_twice_is_frozen_on_both_calls(qapp) -> None:  # noqa: ANN001
    graph = graph_from_keras_config(load("shared_dense_tower")["config"])
    doc = document(graph)
    sharer = next(n for n in graph.nodes() if n.shares)
    doc.editor.set_trainable([sharer.id], False)  # freezing a later call freezes the layer itself
    assert not graph.node(sharer.shares).trainable and not graph.node(sharer.id).trainable


def test_freezing_what_is_frozen_is_refused_before_the_undo_stack(qapp) -> None:  # noqa: ANN001
    from gui.document import EditRefused

    graph, ids = chain((8,), ("Dense", {"units": 4}))
    doc = document(graph)
    doc.editor.set_trainable([ids[1]], False)
    with pytest.raises(EditRefused, match="already frozen"):
        doc.editor.set_trainable([ids[1]], False)
    assert doc.undo_stack.count() == 1


def test_export_writes_trainable_false_and_summary_json_says_frozen() -> None:
    graph = graph_from_keras_config(load("siamese_network")["config"])
    model = next(g for g, group in graph.groups.items() if group.kind == "model" and group.shares is None)
    graph.update_group(model, trainable=False)
    graph.set_trainable(graph.find("dense_1"), False)
    source = generate_code(graph, formatted=False)
    assert "model.trainable = False" in source and "trainable=False" in source
    rows = {row["name"]: row for row in summary_json(graph, analyse(graph))["layers"]}
    assert rows["dense_1"]["frozen"] is True and rows["conv2d"]["frozen"] is True and "frozen" not in rows["subtract"]


def test_a_file_saying_a_layer_is_frozen_keeps_it_frozen_and_checks_the_value() -> None:
    from engine.project import ProjectError

    graph, ids = chain((8,), ("Dense", {"units": 4}))
    graph.set_trainable(ids[1], False)
    doc = graph_to_dict(graph)
    assert doc["version"] == 2 and doc["nodes"][1]["trainable"] is False
    again, _ = graph_from_dict(doc)
    assert counts(again) == (0, 36)
    doc["nodes"][1]["trainable"] = "no"
    with pytest.raises(ProjectError, match='"trainable" must be true or false'):
        graph_from_dict(doc)


def test_inspector_check_box_freezes_and_the_canvas_shows_it(window, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QCheckBox

    from tests.test_gui import open_example

    open_example(window, "lenet5.json")
    node = window.document.graph.find("c1")
    window.scene.select_nodes([node])
    box = window.inspector.findChild(QCheckBox, "param:trainable")
    assert box is not None and box.isChecked()
    box.setChecked(False)
    window.document.refresh()
    assert window.document.graph.node(node).trainable is False
    assert window.scene.nodes[node].frozen and window.document.analysis[node].params.trainable == 0
    window.document.undo_stack.undo()
    window.document.refresh()
    assert box.isChecked() and not window.scene.nodes[node].frozen


# -- against Keras itself ----------------------------------------------------------------------------------


def _keras_split(model) -> tuple[int, int]:  # noqa: ANN001
    return (sum(math.prod(w.shape) for w in model.trainable_weights), sum(math.prod(w.shape) for w in model.non_trainable_weights))


def _transfer_models():  # noqa: ANN202
    import keras

    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False, weights=None)
    base.trainable = False  # the transfer-learning guide's frozen backbone
    inputs = keras.Input((96, 96, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    yield "MobileNetV2 backbone frozen", keras.Model(inputs, keras.layers.Dense(10)(x))
    tokens = keras.Input((20,), dtype="int32")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(10_000, 200, trainable=False)(tokens))
    yield "pretrained Embedding frozen", keras.Model(tokens, keras.layers.Dense(1)(x))
    whole = keras.applications.EfficientNetB0(weights=None, input_shape=(64, 64, 3))
    whole.trainable = False
    yield "EfficientNetB0 frozen", whole
    resnet = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3))
    for layer in resnet.layers:
        layer.trainable = False
        if layer.name == "conv5_block1_out":
            break
    yield "ResNet50 frozen up to conv5_block1_out", resnet


@pytest.mark.keras
def test_frozen_models_count_and_export_exactly_as_keras() -> None:
    for label, model in _transfer_models():
        graph = graph_from_keras_config(json.loads(model.to_json()))
        assert counts(graph) == _keras_split(model), label
        namespace: dict = {}
        exec(compile(generate_code(graph, formatted=False), "exported.py", "exec"), namespace)  # noqa: S102 - our own export
        assert _keras_split(namespace["build_model"]()) == _keras_split(model), label
