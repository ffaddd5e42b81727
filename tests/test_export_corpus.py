"""What you import is what you export: the code LayerLab writes for a real model builds the same model in Keras.

Every corpus model is imported (no TensorFlow), exported as Keras code, and the code is run: the model it
builds has the same parameter count, the same trainable count and the same layer names. Shared layers come
out as one layer object called several times, nested models as builder functions, operations as keras.ops
calls. The largest applications are behind the ``slow`` marker (``pytest -m slow``).
"""

from __future__ import annotations

import math

import pytest

from engine.codegen import generate_code
from engine.keras_import import graph_from_keras_config
from tests.corpus.compare import load, names

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

#: Slow to build in Keras on two cores (several seconds each): run with -m slow.
SLOW = {
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtXLarge", "DenseNet169", "DenseNet201", "EfficientNetB1",
    "EfficientNetB2", "EfficientNetB3", "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "EfficientNetV2B1",
    "EfficientNetV2B2", "EfficientNetV2B3", "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S", "InceptionResNetV2",
    "NASNetLarge", "NASNetMobile", "ResNet101", "ResNet101V2", "ResNet152", "ResNet152V2", "ResNet50V2", "VGG19", "Xception",
    "DenseNet121", "InceptionV3", "MobileNetV3Large",
}
CASES = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names()]


def _layer_names(model) -> list[str]:  # noqa: ANN001
    out = []
    for layer in model.layers:
        out.append(layer.name)
        if isinstance(layer, keras.Model):
            out.extend(f"{layer.name}/{n}" for n in _layer_names(layer))
    return out


@pytest.mark.parametrize("name", CASES)
def test_exported_code_builds_the_same_model(name: str) -> None:
    doc = load(name)
    graph = graph_from_keras_config(doc["config"])
    code = generate_code(graph)
    compile(code, name, "exec")
    namespace: dict = {}
    exec(compile(code, f"<export of {name}>", "exec"), namespace)  # code LayerLab wrote from validated values
    model = namespace["build_model"]()
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert (model.count_params(), trainable) == (doc["total"], doc["trainable"])
    expected_layers = {"/".join([*e["group"], e["name"]]) for e in doc["expected"] if "params" in e}
    missing = sorted(expected_layers - set(_layer_names(model)))
    assert missing == [], f"layers the export lost or renamed: {missing[:5]}"
    keras.backend.clear_session()


@pytest.mark.parametrize("name", ["ResNet50", "MobileNetV2", pytest.param("DenseNet121", marks=pytest.mark.slow)])
def test_blocks_of_one_structure_export_as_one_function_and_build_the_same_model(name: str) -> None:
    from engine.blocks import apply_blocks, prefix_blocks
    from engine.codegen import repeated_blocks

    doc = load(name)
    graph = graph_from_keras_config(doc["config"])
    apply_blocks(graph, prefix_blocks(graph), collapse_outer=True)  # what the editor does on import
    repeats = repeated_blocks(graph)
    assert repeats, "no blocks of one structure found"
    code = generate_code(graph)
    for repeat in repeats:
        assert f"def {repeat.function}(x, name):" in code
        assert code.count(f"= {repeat.function}(") == len(repeat.blocks)
    namespace: dict = {}
    exec(compile(code, f"<export of {name} with blocks>", "exec"), namespace)  # code LayerLab wrote from validated values
    model = namespace["build_model"]()
    assert model.count_params() == doc["total"]
    expected_layers = {e["name"] for e in doc["expected"] if "params" in e}
    assert sorted(expected_layers - {layer.name for layer in model.layers}) == []
    keras.backend.clear_session()
