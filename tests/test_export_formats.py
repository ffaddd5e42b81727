"""ONNX, LiteRT and SavedModel export: the files compute what the Keras model computes, in their own runtimes.

Every file is checked by LayerLab itself after writing; these tests check it again from outside (ONNX Runtime
and the LiteRT interpreter run the file, Keras loads the ``.keras`` file written in the same call), check that
a mismatch is an error that leaves nothing behind, that layers a format cannot take are refused by name before
anything is written, and that weights given by layer name reach every format.

The default run exports two examples; ``python -m pytest -m slow tests/test_export_formats.py`` exports every
example and ten corpus models to ONNX and LiteRT (several minutes).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from engine.export.formats import ExportError, check_exportable, export_formats, refusals
from engine.project import load_project
from tests.conftest import EXAMPLES, chain, run

#: Corpus models of the slow sweep (the ten the issue names, and some more kinds of layer).
CORPUS = ["ResNet50", "MobileNetV2", "DenseNet121", "InceptionV3", "text_transformer", "lstm_seq2seq", "timeseries_conv1d",
          "oxford_pets_unet", "cnn_lstm_time_distributed", "siamese_network", "attention_layers", "EfficientNetB0"]


def _refused_design():
    return chain((28, 28, 1), ("RandomFlip", {"mode": "horizontal"}), ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 1}),
                 ("Flatten", {}), ("Dense", {"units": 8, "activation": "gelu"}), ("Dense", {"units": 3}))[0]


def test_layers_a_format_cannot_take_are_refused_by_name_before_anything_is_written(tmp_path) -> None:
    from engine.project import save_project

    graph = _refused_design()
    found = refusals(graph, ["onnx", "litert"])
    assert {(r.format, r.layer) for r in found} == {("onnx", "random_flip"), ("onnx", "dense")}
    assert all("export" in r.reason for r in found)  # each says what to do instead
    save_project(graph, tmp_path / "design.json")
    result = run("export", str(tmp_path / "design.json"), "--onnx", str(tmp_path / "m.onnx"), "--keras", str(tmp_path / "m.keras"))
    assert result.returncode == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and message.startswith("error: Nothing was written.")
    assert "ONNX cannot take layer random_flip: tf2onnx cannot convert random augmentation" in message
    assert "ONNX cannot take layer dense: tf2onnx cannot convert the Erfc operation of activation 'gelu'" in message
    assert "Export without dense, random_flip, or to LiteRT or SavedModel or Keras." in message
    assert list(tmp_path.iterdir()) == [tmp_path / "design.json"]
    # LiteRT takes both: nothing is refused there.
    check_exportable(graph, {"litert": str(tmp_path / "m.tflite")})


def test_a_bad_target_is_refused_before_anything_is_built(tmp_path) -> None:
    graph = chain((4,), ("Dense", {"units": 2}))[0]
    with pytest.raises(ExportError, match=r"must end in \.tflite"):
        check_exportable(graph, {"litert": str(tmp_path / "m.lite")})
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty and holds no SavedModel"):
        check_exportable(graph, {"saved_model": str(tmp_path / "notes")})
    with pytest.raises(ExportError, match="does not exist"):
        check_exportable(graph, {"onnx": str(tmp_path / "missing" / "m.onnx")})


@pytest.mark.keras
def test_cli_writes_onnx_litert_saved_model_and_keras_files_that_compute_the_same(tmp_path) -> None:
    import keras
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    from engine.export.verify import sample_inputs

    out = {k: str(tmp_path / v) for k, v in (("onnx", "m.onnx"), ("litert", "m.tflite"), ("saved_model", "saved"), ("keras", "m.keras"))}
    result = run("export", str(EXAMPLES / "resnet_basic_block.json"), "--onnx", out["onnx"], "--litert", out["litert"],
                 "--saved-model", out["saved_model"], "--keras", out["keras"])
    assert result.returncode == 0, result.stderr
    for name in ("ONNX", "LiteRT", "SavedModel"):
        match = re.search(rf"{name} output equals Keras: max \|diff\| ([0-9.e+-]+) on 8 samples", result.stdout)
        assert match and float(match.group(1)) <= 1e-4, result.stdout
    # From outside: the .keras file written in the same call is the model the other files were checked against.
    graph, _ = load_project(EXAMPLES / "resnet_basic_block.json")
    x = sample_inputs(graph, 5, seed=7)[0]
    expected = keras.saving.load_model(out["keras"])(x, training=False).numpy()
    session = onnxruntime.InferenceSession(out["onnx"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0], expected, atol=1e-4)
    runner = Interpreter(model_path=out["litert"]).get_signature_runner()
    (name,) = runner.get_input_details()
    np.testing.assert_allclose(next(iter(runner(**{name: x}).values())), expected, atol=1e-4)
    assert (tmp_path / "saved" / "saved_model.pb").exists()


@pytest.mark.keras
def test_a_file_that_differs_from_keras_is_an_error_and_leaves_the_old_file(tmp_path, monkeypatch) -> None:
    import engine.export.formats as formats

    graph = chain((6,), ("Dense", {"units": 3}))[0]
    target = tmp_path / "m.onnx"
    target.write_bytes(b"the user's previous export")
    real = formats.runtime_outputs
    monkeypatch.setattr(formats, "runtime_outputs", lambda *a: [o + 1e-3 for o in real(*a)])  # a converter off by 1e-3
    with pytest.raises(ExportError, match=r"ONNX output differs from Keras: max \|diff\| 1\.0e-03 on 8 samples, above the tolerance"):
        export_formats(graph, {"onnx": str(target)})
    assert target.read_bytes() == b"the user's previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no staging folder left behind


@pytest.mark.keras
def test_batch_normalization_after_preprocessing_exports_in_inference_mode(tmp_path) -> None:
    """Keras 3.15's ONNX and SavedModel exports call the model without training=False; after Resizing and CenterCrop a
    BatchNormalization was then exported normalising with the batch's statistics (max |diff| 1.7 on this design)."""
    graph, _ = chain((16, 16, 3), ("Resizing", {"height": 8, "width": 8}), ("CenterCrop", {"height": 6, "width": 6}),
                     ("Conv2D", {"filters": 4, "kernel_size": 3}), ("BatchNormalization", {}))
    results = export_formats(graph, {"onnx": str(tmp_path / "m.onnx"), "saved_model": str(tmp_path / "saved")})
    assert [r.comparison.ok for r in results] == [True, True]


@pytest.mark.keras
def test_weights_given_by_layer_name_are_the_weights_every_format_carries(tmp_path) -> None:
    import onnxruntime

    from engine.export.keras_model import WeightsError, build_keras_model, model_layers
    from engine.export.verify import keras_outputs, sample_inputs

    graph, _ = load_project(EXAMPLES / "lenet5.json")
    seeded = build_keras_model(graph)
    assert all(np.array_equal(a, b) for a, b in zip(seeded.get_weights(), build_keras_model(graph).get_weights()))
    rng = np.random.default_rng(3)
    weights = {"c3": [rng.normal(size=w.shape).astype("float32") for w in model_layers(seeded)["c3"].get_weights()],
               "output": [rng.normal(size=w.shape).astype("float32") for w in model_layers(seeded)["output"].get_weights()]}
    with pytest.raises(WeightsError, match="shape"):
        build_keras_model(graph, {**weights, "c5": [np.zeros((3, 3), "float32"), np.zeros(120, "float32")]})
    with pytest.raises(WeightsError, match="'nowhere'"):
        build_keras_model(graph, {"nowhere": []})
    model = build_keras_model(graph, weights)
    assert np.array_equal(model_layers(model)["c3"].get_weights()[0], weights["c3"][0])
    export_formats(graph, {"onnx": str(tmp_path / "m.onnx")}, weights)
    x = sample_inputs(graph, 4, seed=1)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    onnx_out = session.run(None, {session.get_inputs()[0].name: x[0]})[0]
    np.testing.assert_allclose(onnx_out, keras_outputs(model, x)[0], atol=1e-5)
    assert np.abs(onnx_out - keras_outputs(seeded, x)[0]).max() > 1e-3  # the given weights, not the seeded ones


@pytest.mark.keras
def test_weights_of_a_layer_that_computes_from_them_once_take_effect() -> None:
    """Normalization computes its mean and variance from its weights when built; given weights must replace them."""
    from engine.export.keras_model import build_keras_model
    from engine.export.verify import keras_outputs

    graph, _ = chain((3,), ("Normalization", {}))
    mean, variance = np.array([1.0, -2.0, 0.5], "float32"), np.array([4.0, 0.25, 1.0], "float32")
    model = build_keras_model(graph, {"normalization": [mean, variance, np.array(10.0, "float32")]})
    x = np.array([[3.0, -2.0, 1.5]], "float32")
    np.testing.assert_allclose(keras_outputs(model, [x])[0], (x - mean) / np.sqrt(variance), rtol=1e-6)


@pytest.mark.keras
def test_a_recurrent_design_becomes_a_litert_file_of_litert_operations_only(tmp_path) -> None:
    graph, _ = load_project(EXAMPLES / "seq2seq_lstm.json")
    (result,) = export_formats(graph, {"litert": str(tmp_path / "m.tflite")})
    # TensorFlow's converter turns an LSTM's loop into LiteRT's own operations only with a fixed batch size.
    assert result.one_sample and result.comparison.ok and result.comparison.samples == 8


def _sweep(graph, tmp_path) -> None:  # noqa: ANN001
    """Export to ONNX and LiteRT, except to a format that refuses one of the layers (then the refusal is the answer)."""
    import keras

    targets = {"onnx": str(tmp_path / "m.onnx"), "litert": str(tmp_path / "m.tflite")}
    refused = {r.format for r in refusals(graph, list(targets))}
    results = export_formats(graph, {k: v for k, v in targets.items() if k not in refused}, samples=4)
    assert [r.comparison.ok for r in results] == [True] * (2 - len(refused))
    keras.backend.clear_session()


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_every_example_exports_to_onnx_and_litert_equal_to_keras(example: str, tmp_path) -> None:
    graph, _ = load_project(EXAMPLES / example)
    _sweep(graph, tmp_path)


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS)
def test_corpus_models_export_to_onnx_and_litert_equal_to_keras(name: str, tmp_path) -> None:
    from engine.keras_import import graph_from_keras_config
    from tests.corpus.compare import load

    _sweep(graph_from_keras_config(load(name)["config"]), tmp_path)
