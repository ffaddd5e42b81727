"""Build the Keras model a design describes, with a fixed seed and, optionally, the design's weights.

Every way a design leaves LayerLab as a model (a ``.keras`` file, ONNX, LiteRT, a SavedModel, the reference
outputs a PyTorch export is compared with) starts here, so all of them carry the same numbers. The model is
built by running the Keras code `engine.codegen` writes for the design: what a user exports as code and what
LayerLab exports as a file are one model.

TensorFlow is imported only when a model is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from engine.i18n import _
from typing import Any

from engine.codegen import generate_code
from engine.graph import NetworkGraph

__all__ = ["DEFAULT_SEED", "WeightsError", "build_keras_model", "apply_weights", "model_layers", "model_name_from"]

#: Keras's initialisers draw from this seed when the design has no weights: two exports of one design are equal.
DEFAULT_SEED = 1234

#: Weights for some layers: layer name -> the arrays ``layer.get_weights()`` returns, in that order.
Weights = Mapping[str, Sequence[Any]]


class WeightsError(ValueError):
    """Weights that do not fit the design (an unknown layer, a wrong number of arrays or a wrong shape)."""


def model_name_from(title: str) -> str:
    """The model name for a design's title or file name (``My net (v2)`` -> ``my_net_v2``): ASCII letters, digits and ``_``,
    as every export names its model."""
    import re

    name = re.sub(r"[^A-Za-z0-9_]+", "_", title).strip("_").lower()
    return name[:60] or "model"


def model_layers(model: Any) -> dict[str, Any]:
    """Every layer of ``model`` by name, the layers of nested models included (under their own names, as Keras
    names them: one name per layer in a model)."""
    import keras

    found: dict[str, Any] = {}

    def walk(m: Any) -> None:
        for layer in m.layers:
            found.setdefault(layer.name, layer)
            if isinstance(layer, keras.Model):
                walk(layer)

    walk(model)
    return found


def apply_weights(model: Any, weights: Weights) -> None:
    """Set the weights of the named layers of ``model`` with ``layer.set_weights``.

    Every array is checked against the layer's own before anything is set, so a wrong file changes nothing.

    Raises
    ------
    WeightsError
        A name that is no layer of the model, a wrong number of arrays, or an array of the wrong shape.
    """
    import numpy as np

    layers = model_layers(model)
    checked: list[tuple[Any, list[Any]]] = []
    for name, arrays in weights.items():
        layer = layers.get(name)
        if layer is None:
            raise WeightsError(_("The weights name a layer {name!r} that the design does not have.").format(name=name))
        expected = [tuple(w.shape) for w in layer.weights]
        given = [np.asarray(a) for a in arrays]
        if len(given) != len(expected):
            raise WeightsError(_("Layer {name!r} has {expected} weight arrays, the weights give {given}.").format(
                name=name, expected=len(expected), given=len(given)))
        for index, (array, shape) in enumerate(zip(given, expected)):
            if tuple(array.shape) != shape:
                raise WeightsError(_("Layer {name!r}, weight {index}: shape {given} given where the layer has {shape}.").format(
                    name=name, index=index, given=tuple(array.shape), shape=shape))
        checked.append((layer, given))
    for layer, given in checked:
        layer.set_weights(given)
        # A layer that computes from its weights once (Normalization's mean and variance) recomputes, as Keras does
        # after loading a file.
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()


def build_keras_model(graph: NetworkGraph, weights: Weights | None = None, *, seed: int = DEFAULT_SEED,
                      model_name: str = "model") -> Any:
    """The ``keras.Model`` of ``graph``, its weights drawn from ``seed`` and then replaced by ``weights``.

    Parameters
    ----------
    graph : NetworkGraph
        A design without errors.
    weights : mapping, optional
        Layer name -> arrays in ``layer.get_weights()`` order, for any subset of the layers.
    seed : int
        Seeds Keras's initialisers (``keras.utils.set_random_seed``): the same design gives the same model.
    model_name : str
        The model's name.

    Raises
    ------
    CodegenError
        The design has errors.
    WeightsError
        The weights do not fit the design.
    """
    from engine.training import import_keras_quietly

    source = generate_code(graph, model_name=model_name, formatted=False)  # run, not read: no ruff process
    keras = import_keras_quietly()
    keras.utils.set_random_seed(seed)
    namespace: dict[str, Any] = {"__name__": "layerlab_export"}
    exec(compile(source, "<exported model>", "exec"), namespace)  # noqa: S102 - code generated from validated values
    model = namespace["build_model"]()
    if weights:
        apply_weights(model, weights)
    return model

