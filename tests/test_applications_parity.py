"""keras.applications models, saved by Keras and imported by LayerLab: every layer identical."""

from __future__ import annotations

import math

import pytest

from engine.analysis import analyse
from engine.keras_import import import_keras_model

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

APPLICATIONS = ["VGG16", "ResNet50", "DenseNet121", "MobileNet", "MobileNetV2", "InceptionV3", "Xception"]


@pytest.mark.parametrize("name", APPLICATIONS)
def test_application_matches_keras_layer_by_layer(name: str, tmp_path) -> None:
    model = getattr(keras.applications, name)(weights=None)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    graph = import_keras_model(path)
    analysis = analyse(graph)
    assert analysis.is_valid, [str(d) for d in analysis.diagnostics]
    assert len(graph) == len(model.layers)
    for layer in model.layers:
        node = graph.find(layer.name)
        assert node is not None, f"{layer.name} was not imported"
        result = analysis[node]
        non_trainable = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
        assert (layer.name, result.shape, result.params.total, result.params.non_trainable) == (
            layer.name, tuple(layer.output.shape[1:]), layer.count_params(), non_trainable,
        )
    assert analysis.total_params == model.count_params()
