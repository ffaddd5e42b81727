"""PyTorch code export: readable code, generated without PyTorch, that computes what the Keras model computes.

The numeric tests (marker ``torch``) give every layer of the Keras model random weights (``build_keras_model``
with a weights mapping, as design weights will), save it as Keras saves, load the file into the generated
module with ``load_keras_weights`` and compare the outputs on a random batch (1e-4). The default run covers
the examples that hold each kind of layer; ``python -m pytest -m slow tests/test_torch_export.py`` runs every
example, the corpus models and every layer case of the parity table (several minutes).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from engine.export.torch_code import TorchExportError, generate_torch_code, keras_layer_paths
from engine.graph import NetworkGraph
from engine.project import load_project
from tests.conftest import EXAMPLES, ROOT, chain, run

#: Examples of the default run: together they hold convolutions ('same' with strides, depthwise), batch
#: normalisation, pooling with 'same', skip connections, concatenation, LSTM states, a bidirectional GRU,
#: attention and layer normalisation.
DEFAULT = ["resnet_basic_block.json", "mobilenet_stack.json", "inception_module.json", "seq2seq_lstm.json", "text_classifier.json",
           "transformer_classifier.json"]


def _gru_design(reset_after: bool) -> NetworkGraph:
    graph, ids = chain((12, 5), ("GRU", {"units": 6, "reset_after": reset_after, "return_sequences": True}),
                       ("GRU", {"units": 4, "reset_after": reset_after, "return_state": True}))
    return graph
#: Corpus models: shared layers, a nested model called twice, transposed convolutions, TimeDistributed, attention.
CORPUS_DEFAULT = ["siamese_network", "oxford_pets_unet"]
CORPUS_SLOW = ["attention_layers", "cnn_lstm_time_distributed", "ResNet50", "MobileNetV2", "DenseNet121", "InceptionV3", "text_transformer", "lstm_seq2seq", "timeseries_conv1d",
               "denoising_autoencoder", "video_classifier_3d", "shared_dense_tower", "mnist_convnet", "EfficientNetB0",
               "MobileNetV3Small", "ConvNeXtTiny", "Xception", "NASNetMobile", "image_classification_from_scratch"]


def _corpus(name: str) -> NetworkGraph:
    from engine.keras_import import graph_from_keras_config
    from tests.corpus.compare import load

    return graph_from_keras_config(load(name)["config"])


def test_generating_pytorch_code_needs_neither_pytorch_nor_tensorflow() -> None:
    code = """
import sys
sys.modules["torch"] = sys.modules["tensorflow"] = sys.modules["keras"] = None  # importing any of them now fails
from pathlib import Path
from engine.project import load_project
from engine.export.torch_code import generate_torch_code
for path in sorted(Path("resources/examples").glob("*.json")):
    source = generate_torch_code(load_project(path)[0], model_name=path.stem).source
    compile(source, path.name, "exec")
    print(path.stem, source.count("\\n"))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(list(EXAMPLES.glob("*.json")))


def test_the_code_reads_as_pytorch_one_attribute_per_layer_and_a_forward_that_follows_the_graph() -> None:
    graph, _ = load_project(EXAMPLES / "resnet_basic_block.json")
    source = generate_torch_code(graph, model_name="resnet_block").source
    assert "class ResnetBlock(nn.Module):" in source
    for name in ("conv_a", "bn_a", "conv_b", "bn_b", "projection", "bn_projection"):
        assert f"self.{name} = nn." in source
    assert "nn.BatchNorm2d(128, eps=0.001, momentum=0.01)" in source  # Keras's momentum 0.99
    assert "conv_a = self.conv_a(pad_same(features_cf, (3, 3), (2, 2), (1, 1)))" in source  # 'same' with strides, as Keras pads
    assert "add = bn_b + bn_projection" in source  # the skip connection
    assert "def build_model():" in source and "def load_keras_weights(model, path):" in source


def test_the_code_of_every_example_is_ruff_clean(tmp_path) -> None:
    """What ruff's defaults ask of the exported Keras code: no unused import or variable, 88 columns, formatted."""
    for path in sorted(EXAMPLES.glob("*.json")):
        (tmp_path / f"{path.stem}.py").write_text(generate_torch_code(load_project(path)[0], model_name=path.stem).source)
    (tmp_path / "gru.py").write_text(generate_torch_code(_gru_design(False)).source)
    for args in (["check", "--isolated", "--select", "E,F,W,I,B,UP"], ["format", "--isolated", "--check"]):
        result = subprocess.run([sys.executable, "-m", "ruff", *args, str(tmp_path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


def test_blocks_are_sub_modules_and_blocks_of_one_structure_one_class() -> None:
    """DenseNet121's 58 dense blocks are one class whose argument is the block's input channels (each block adds 32);
    the stages holding them are classes of their own, and the model's forward reads as the stages."""
    graph, _ = load_project(EXAMPLES / "densenet121.json")
    source = generate_torch_code(graph, model_name="densenet121").source
    assert source.count("class ConvBlock(nn.Module):") == 1 and "    def __init__(self, channels):" in source
    assert "self.layer_1_conv = nn.Conv2d(channels, 128, kernel_size=(1, 1), bias=False)" in source
    assert source.count("= ConvBlock(") == 58 and "self.block2 = ConvBlock(96)" in source
    assert "conv2_block6_concat = self.conv2(pool1)" in source
    assert "model.conv2.block2.layer_0_bn," in source  # load_keras_weights fills each block's own module


def test_layers_pytorch_cannot_take_are_refused_in_one_line(tmp_path) -> None:
    from engine.project import save_project

    graph, _ = chain((10, 8), ("Masking", {}), ("LSTM", {"units": 4, "go_backwards": True}), ("Dense", {"units": 2}))
    with pytest.raises(TorchExportError) as refused:
        generate_torch_code(graph)
    message = str(refused.value)
    assert "\n" not in message and message.startswith("PyTorch export cannot take 2 layer(s): masking (Masking): ")
    assert "lstm (LSTM): go_backwards has no PyTorch counterpart; use Bidirectional instead." in message
    save_project(graph, tmp_path / "design.json")
    result = run("export", str(tmp_path / "design.json"), "--torch", str(tmp_path / "m.py"))
    assert result.returncode == 2 and result.stderr.startswith("error: PyTorch export cannot take 2 layer(s)")
    assert not (tmp_path / "m.py").exists()


def test_parameter_counts_are_keras_s_except_where_pytorch_itself_has_more(tmp_path) -> None:
    graph, _ = load_project(EXAMPLES / "seq2seq_lstm.json")
    code = generate_torch_code(graph)
    lstm_units = [n.params["units"] for n in graph.nodes() if n.type == "LSTM"]
    assert code.torch_params - code.keras_params == sum(4 * u for u in lstm_units)  # bias_hh: one more bias per gate
    assert f"PyTorch holds more numbers than Keras: {code.torch_params:,} parameters where Keras has {code.keras_params:,}" in code.source
    result = run("export", str(EXAMPLES / "seq2seq_lstm.json"), "--torch", str(tmp_path / "m.py"))
    assert result.returncode == 0, result.stderr
    assert f"with {code.torch_params:,} parameters where Keras has {code.keras_params:,}" in result.stdout
    plain = generate_torch_code(load_project(EXAMPLES / "inception_module.json")[0])
    assert plain.torch_params == plain.keras_params and "PyTorch holds more" not in plain.source


@pytest.mark.keras
@pytest.mark.parametrize("source", ["seq2seq_lstm.json", "text_classifier.json", "siamese_network", "attention_layers"])
def test_weight_paths_are_where_keras_saves_each_layer(source: str, tmp_path) -> None:
    """Keras 3 files a layer's arrays under its class name, numbered in model.layers order; LayerLab computes that order
    itself. With random weights in every layer, the arrays at each computed path are that layer's own."""
    import h5py

    from engine.analysis import analyse
    from engine.export.keras_model import build_keras_model, model_layers

    graph = load_project(EXAMPLES / source)[0] if source.endswith(".json") else _corpus(source)
    model = build_keras_model(graph, _random_weights(build_keras_model(graph), np.random.default_rng(1)))
    model.save_weights(tmp_path / "m.weights.h5")
    layers = model_layers(model)
    results = analyse(graph).results
    paths = keras_layer_paths(graph)
    checked = 0
    with h5py.File(tmp_path / "m.weights.h5", "r") as file:
        for owner, path in paths.items():
            if owner.startswith(("group:", "input:")) or not results[owner].params.total:
                continue
            saved = _arrays_under(file[path])
            expected = layers[graph.node(owner).name].get_weights()
            assert _fingerprint(saved) == _fingerprint(expected)
            checked += 1
    assert checked >= 2


def _arrays_under(group) -> list:  # noqa: ANN001
    import h5py

    found: list = []
    group.visititems(lambda _name, item: found.append(item[()]) if isinstance(item, h5py.Dataset) else None)
    return found


def _fingerprint(arrays: list) -> list:
    return sorted((a.shape, round(float(a.sum()), 3)) for a in arrays)


def _random_weights(model, rng) -> dict:  # noqa: ANN001
    """Every array of every layer moved off Keras's initial values (zero biases, unit variances, zero means), as
    training moves them, keeping their scale (so a deep network's outputs stay in float32's comfortable range)."""
    from engine.export.keras_model import model_layers

    weights = {}
    for name, layer in model_layers(model).items():
        arrays = []
        for variable in layer.weights:
            initial = np.asarray(variable.numpy())
            spread = float(initial.std()) if initial.size > 1 and initial.std() > 0 else 1.0
            array = initial + rng.normal(scale=0.1 * spread, size=tuple(variable.shape))
            if "variance" in variable.name or "count" in variable.name:
                array = np.abs(array) + 0.1
            arrays.append(array.astype("float32"))
        if arrays and not isinstance(layer, __import__("keras").Model):
            weights[name] = arrays
    return weights


def _check(graph: NetworkGraph, tmp_path, samples: int = 4, file: str = "m.keras") -> None:  # noqa: ANN001
    import keras

    from engine.export.keras_model import build_keras_model
    from engine.export.verify import compare, keras_outputs, sample_inputs, torch_outputs

    code = generate_torch_code(graph)
    (tmp_path / "m_torch.py").write_text(code.source)
    model = build_keras_model(graph, _random_weights(build_keras_model(graph), np.random.default_rng(0)))
    inputs = sample_inputs(graph, samples)
    expected = keras_outputs(model, inputs)
    if file.endswith(".weights.h5"):
        model.save_weights(tmp_path / file)
    else:
        model.save(tmp_path / file)
    actual, count = torch_outputs(str(tmp_path / "m_torch.py"), str(tmp_path / file), inputs)
    comparison = compare("torch", expected, actual, samples)
    assert comparison.ok, comparison.sentence()
    assert count == code.torch_params and code.keras_params == model.count_params()
    keras.backend.clear_session()


@pytest.mark.keras
@pytest.mark.torch
@pytest.mark.parametrize("example", DEFAULT)
def test_pytorch_outputs_equal_keras_after_load_keras_weights(example: str, tmp_path) -> None:
    pytest.importorskip("torch")
    _check(load_project(EXAMPLES / example)[0], tmp_path, file="m.weights.h5" if example == "seq2seq_lstm.json" else "m.keras")


@pytest.mark.keras
@pytest.mark.torch
def test_blocks_of_one_structure_sharing_a_class_carry_each_block_s_weights(tmp_path) -> None:
    from engine.blocks import apply_blocks, prefix_blocks
    from engine.codegen import repeated_blocks

    pytest.importorskip("torch")
    graph, _ = load_project(EXAMPLES / "densenet_block.json")
    apply_blocks(graph, prefix_blocks(graph))  # what the editor does on import: four dense blocks of one structure
    assert [len(r.blocks) for r in repeated_blocks(graph)] == [4]
    assert "def __init__(self, channels):" in generate_torch_code(graph).source
    _check(graph, tmp_path)


@pytest.mark.keras
@pytest.mark.torch
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_gates_and_both_kinds_of_reset_equal_keras(reset_after: bool, tmp_path) -> None:
    """Keras's gates (z, r, h) are reordered to PyTorch's (r, z, n); reset_after=True's two biases are PyTorch's two;
    reset_after=False (the reset before the recurrent product) is written as a module of Keras's formula."""
    pytest.importorskip("torch")
    graph = _gru_design(reset_after)
    code = generate_torch_code(graph)
    assert ("class GRUResetBefore(nn.Module):" in code.source) is not reset_after
    assert code.torch_params == code.keras_params  # a GRU's biases are PyTorch's: no extra numbers either way
    _check(graph, tmp_path)


@pytest.mark.keras
@pytest.mark.torch
@pytest.mark.parametrize("name", CORPUS_DEFAULT)
def test_corpus_models_in_pytorch_equal_keras(name: str, tmp_path) -> None:
    pytest.importorskip("torch")
    _check(_corpus(name), tmp_path)


@pytest.mark.keras
@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_every_example_in_pytorch_equals_keras(example: str, tmp_path) -> None:
    pytest.importorskip("torch")
    _check(load_project(EXAMPLES / example)[0], tmp_path)


@pytest.mark.keras
@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS_SLOW)
def test_more_corpus_models_in_pytorch_equal_keras(name: str, tmp_path) -> None:
    pytest.importorskip("torch")
    _check(_corpus(name), tmp_path, samples=2)


def _parity_cases() -> list:
    from tests.test_keras_parity import CASES

    return [pytest.param(*case, id=f"{case[0]}-{i}") for i, case in enumerate(CASES)]


@pytest.mark.keras
@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("layer_type,params,shapes,dtype", _parity_cases())
def test_every_layer_case_maps_to_pytorch_or_is_refused_with_a_reason(layer_type, params, shapes, dtype, tmp_path) -> None:  # noqa: ANN001
    """The README's table: each layer case of the parity table either equals Keras in PyTorch or is refused by name."""
    pytest.importorskip("torch")
    from engine.analysis import analyse

    graph = NetworkGraph()
    target = graph.add_node(layer_type, params)
    for shape in shapes:
        graph.connect(graph.add_node("Input", {"shape": list(shape), "dtype": dtype}), target)
    if not analyse(graph).is_valid:
        pytest.skip("Keras refuses this case too")
    try:
        generate_torch_code(graph)
    except TorchExportError as exc:
        assert graph.node(target).name in str(exc)
        return
    try:
        _check(graph, tmp_path, samples=3)
    except Exception as exc:  # noqa: BLE001 - a case Keras builds but cannot run (sizes only known at run time)
        if "Keras" in type(exc).__module__ or "tensorflow" in type(exc).__module__:
            pytest.skip(f"Keras cannot run it: {exc}")
        raise
