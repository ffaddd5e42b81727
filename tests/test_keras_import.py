"""Importing saved Keras models: connections, names and parameters kept; unknown layers named."""

from __future__ import annotations

import zipfile

import pytest

from engine.analysis import analyse
from engine.keras_import import KerasImportError, graph_from_keras_config, import_keras_model

keras = pytest.importorskip("keras")


def _functional():
    x = keras.Input((16, 16, 3), name="image")
    a = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(x)
    b = keras.layers.Conv2D(4, 1, name="conv_b")(x)
    c = keras.layers.Concatenate(name="concat")([b, a])
    d = keras.layers.Subtract(name="sub")([c, c])
    y = keras.layers.GlobalAveragePooling2D(name="gap")(d)
    y = keras.layers.LeakyReLU(negative_slope=0.2, name="leaky")(y)
    return keras.Model(x, keras.layers.Dense(10, activation="softmax", name="out")(y))


@pytest.mark.keras
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_functional_model_round_trips(tmp_path, suffix: str) -> None:
    model = _functional()
    path = tmp_path / f"m{suffix}"
    model.save(path)
    graph = import_keras_model(path)
    analysis = analyse(graph)
    assert analysis.is_valid
    concat = graph.find("concat")
    # input order is kept: conv_b first, conv_a second
    assert [graph.node(e.source).name for e in graph.inputs_of(concat)] == ["conv_b", "conv_a"]
    assert [graph.node(e.source).name for e in graph.inputs_of(graph.find("sub"))] == ["concat", "concat"]
    assert graph.node(graph.find("leaky")).params["negative_slope"] == pytest.approx(0.2)
    assert graph.node(graph.find("conv_a")).params["activation"] == "relu"
    assert analysis.total_params == model.count_params()
    assert analysis[graph.find("concat")].shape == (16, 16, 12)


@pytest.mark.keras
def test_sequential_model(tmp_path) -> None:
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="hidden"), keras.layers.Dense(1, name="out")])
    model.save(tmp_path / "s.keras")
    graph = import_keras_model(tmp_path / "s.keras")
    analysis = analyse(graph)
    assert [graph.node(n).type for n in analysis.order] == ["Input", "Dense", "Dense"]
    assert analysis.total_params == model.count_params() == 41


@pytest.mark.keras
def test_lambda_and_unknown_layers_are_named_not_dropped(tmp_path) -> None:
    x = keras.Input((4,))
    y = keras.layers.Lambda(lambda t: t * 2, name="double")(x)
    z = keras.layers.Lambda(lambda t: t * 3, name="triple")(x)
    model = keras.Model(x, keras.layers.Dense(1)(keras.layers.Concatenate()([y, z])))
    model.save(tmp_path / "lam.keras")
    with pytest.raises(KerasImportError) as info:
        import_keras_model(tmp_path / "lam.keras")
    message = str(info.value)
    # Every refused layer, grouped by class, on one line; what they feed is not listed again.
    assert "2 × Lambda (it holds Python code, which LayerLab never runs) layers: double, triple" in message
    assert "lam.keras" in message and "\n" not in message and "concatenate" not in message


def test_broken_files_give_one_line_errors(tmp_path) -> None:
    cases = {
        "missing.keras": None,
        "text.keras": b"hello",
        "empty.h5": b"",
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(KerasImportError) as info:
            import_keras_model(path)
        assert name in str(info.value) and "\n" not in str(info.value)
    bad_zip = tmp_path / "noconfig.keras"
    with zipfile.ZipFile(bad_zip, "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(KerasImportError, match="no config.json"):
        import_keras_model(bad_zip)
    bad_json = tmp_path / "badjson.keras"
    with zipfile.ZipFile(bad_json, "w") as archive:
        archive.writestr("config.json", "{not json")
    with pytest.raises(KerasImportError, match="not valid JSON"):
        import_keras_model(bad_json)


def test_keras2_legacy_config_layout() -> None:
    config = {
        "class_name": "Model",
        "config": {
            "layers": [
                {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [None, 10], "dtype": "float32", "name": "in"}, "inbound_nodes": []},
                {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 3, "activation": "relu", "use_bias": True}, "inbound_nodes": [[["in", 0, 0, {}]]]},
                {"class_name": "LeakyReLU", "name": "lr", "config": {"name": "lr", "alpha": 0.1}, "inbound_nodes": [[["d", 0, 0, {}]]]},
                {"class_name": "Add", "name": "add", "config": {"name": "add"}, "inbound_nodes": [[["d", 0, 0, {}], ["lr", 0, 0, {}]]]},
            ]
        },
    }
    graph = graph_from_keras_config(config)
    analysis = analyse(graph)
    assert analysis.is_valid and analysis.total_params == 33
    assert graph.node(graph.find("lr")).params["negative_slope"] == pytest.approx(0.1)


def test_channels_first_is_refused_and_a_shared_layer_is_one_set_of_weights() -> None:
    base = {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 3, 8, 8], "name": "in"}, "inbound_nodes": []}
    tensor = {"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0]}}
    conv = {"class_name": "Conv2D", "name": "c", "config": {"name": "c", "filters": 2, "kernel_size": [3, 3], "data_format": "channels_first"},
            "inbound_nodes": [{"args": [tensor]}]}
    with pytest.raises(KerasImportError, match="channels_last only"):
        graph_from_keras_config({"class_name": "Functional", "config": {"layers": [base, conv]}})
    dense = {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2}, "inbound_nodes": [{"args": [tensor]}, {"args": [tensor]}]}
    graph = graph_from_keras_config({"class_name": "Functional", "config": {"layers": [base, dense]}})
    first, second = graph.find("d"), graph.find("d (call 2)")
    assert graph.node(second).shares == first
    analysis = analyse(graph)
    assert analysis.is_valid
    assert analysis.total_params == 8 * 2 + 2  # counted once, as Keras counts it
    assert analysis[second].params.total == 0 and analysis[second].own_params.total == 18


def test_a_layer_that_is_never_called_is_reported_not_dropped() -> None:
    base = {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 4], "name": "in"}, "inbound_nodes": []}
    dense = {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2}, "inbound_nodes": []}
    with pytest.raises(KerasImportError, match="d \\(Dense\\): it is never called"):
        graph_from_keras_config({"class_name": "Functional", "config": {"layers": [base, dense]}})
