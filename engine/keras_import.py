"""Import a saved Keras model (``.keras`` or ``.h5``) as a LayerLab graph.

The model's architecture is read as data: the ``config.json`` inside a ``.keras`` archive, or the
``model_config`` attribute of an ``.h5`` file. Nothing is deserialised by Keras and no code from the
file runs, so no TensorFlow import is needed; a ``Lambda`` layer or a custom class is refused by
name. Layer names and connections are kept; shapes are never copied (the analysis recomputes them).
Both Keras 3 and Keras 2 (legacy h5) config layouts are understood.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from typing import Any

from engine.graph import NetworkGraph
from engine.layers import CATALOGUE, ParamError
from engine.layout import layered_positions

__all__ = ["KerasImportError", "import_keras_model", "graph_from_keras_config"]

#: Config keys renamed between Keras 2 and Keras 3.
_RENAMED = {("LeakyReLU", "alpha"): "negative_slope"}
_MAX_CONFIG_BYTES = 64 * 1024 * 1024
_NESTED_MODELS = {"Functional", "Sequential", "Model"}


class KerasImportError(ValueError):
    """A model file LayerLab cannot import; the message names the file and the layer(s) at fault."""


def import_keras_model(path: str | os.PathLike[str]) -> NetworkGraph:
    """Read the architecture of a ``.keras`` or ``.h5`` model file into a laid-out graph."""
    source = str(path)
    config = _read_config(source)
    try:
        graph = graph_from_keras_config(config)
    except KerasImportError as exc:
        raise KerasImportError(f"{source}: {exc}") from None
    for node_id, position in layered_positions(graph).items():
        graph.move(node_id, position)
    return graph


def _read_config(source: str) -> dict[str, Any]:
    def fail(message: str) -> KerasImportError:
        return KerasImportError(f"{source}: {message}")

    if not os.path.isfile(source):
        raise fail("no such file")
    raw: bytes | str
    if zipfile.is_zipfile(source):
        try:
            with zipfile.ZipFile(source) as archive:
                info = archive.getinfo("config.json")
                if info.file_size > _MAX_CONFIG_BYTES:
                    raise fail("config.json is too large")
                raw = archive.read(info)
        except KeyError:
            raise fail("not a Keras model archive (no config.json inside)") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise fail(f"damaged archive ({exc})") from None
    else:
        try:
            import h5py  # noqa: PLC0415  (only needed for .h5 files)
        except ImportError:  # pragma: no cover - h5py ships with TensorFlow
            raise fail("reading .h5 files needs the h5py package") from None
        try:
            with h5py.File(source, "r") as fh:
                if "model_config" not in fh.attrs:
                    raise fail("this .h5 file holds weights only, no model architecture")
                raw = fh.attrs["model_config"]
        except OSError:
            raise fail("neither a .keras archive nor an HDF5 (.h5) model file") from None
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError):
        raise fail("the model configuration is not valid JSON") from None
    if not isinstance(config, dict):
        raise fail("the model configuration is not an object")
    return config


def graph_from_keras_config(config: dict[str, Any]) -> NetworkGraph:
    """Build a graph from a model's serialised config (what ``model.get_config()`` wraps)."""
    class_name = config.get("class_name")
    inner = config.get("config", {})
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise KerasImportError(f"unsupported model class {class_name!r}: expected a Sequential or Functional model")
    layers = [layer for layer in inner["layers"] if isinstance(layer, dict)]
    _refuse_unknown(layers)
    if class_name == "Sequential" or not any("inbound_nodes" in layer for layer in layers):
        return _sequential(inner, layers)
    return _functional(layers)


def _refuse_unknown(layers: list[dict[str, Any]]) -> None:
    problems = []
    for layer in layers:
        cls = layer.get("class_name")
        name = _layer_name(layer)
        registered = layer.get("registered_name")
        custom = isinstance(registered, str) and registered not in (cls, None) and not registered.startswith("keras")
        if cls == "Lambda":
            problems.append(f"{name} (Lambda: it holds Python code, which LayerLab never runs)")
        elif cls in _NESTED_MODELS:
            problems.append(f"{name} (a nested {cls} model)")
        elif custom or (cls not in CATALOGUE and cls != "InputLayer"):
            problems.append(f"{name} ({cls})")
    if problems:
        raise KerasImportError("LayerLab does not know these layers: " + ", ".join(problems))


def _layer_name(layer: dict[str, Any]) -> str:
    name = layer.get("name") or layer.get("config", {}).get("name")
    return str(name) if name else "?"


def _input_params(config: dict[str, Any]) -> dict[str, Any]:
    batch_shape = config.get("batch_shape") or config.get("batch_input_shape")
    if not isinstance(batch_shape, list) or len(batch_shape) < 2:
        raise KerasImportError(f"input {config.get('name')!r} has no usable shape ({batch_shape!r})")
    params: dict[str, Any] = {"shape": batch_shape[1:]}
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    if isinstance(dtype, str):
        params["dtype"] = dtype
    return params


def _activation(value: Any) -> Any:
    if isinstance(value, dict):  # {"module": "keras.activations", "class_name": "function", "config": "relu"}
        value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
    return value


def _layer_params(cls: str, config: dict[str, Any]) -> dict[str, Any]:
    """Map a Keras layer config onto the spec's parameters (unknown keys, such as initializers, are dropped)."""
    if cls == "InputLayer":
        return _input_params(config)
    spec = CATALOGUE[cls]
    name = config.get("name", "?")
    if config.get("data_format") not in (None, "channels_last"):
        raise KerasImportError(f"{name} ({cls}) uses data_format={config['data_format']!r}; LayerLab supports channels_last only")
    if config.get("return_state"):
        raise KerasImportError(f"{name} ({cls}) returns its states (return_state=True), which LayerLab does not model")
    params: dict[str, Any] = {}
    for key, value in config.items():
        key = _RENAMED.get((cls, key), key)
        if not spec.has_param(key):
            continue
        kind = spec.param(key).kind
        if kind == "choice" and "activation" in key:
            value = _activation(value)
        elif kind == "layer":
            if not isinstance(value, dict) or value.get("class_name") not in spec.param(key).choices:
                raise KerasImportError(f"{name} ({cls}) wraps an unsupported layer {value.get('class_name') if isinstance(value, dict) else value!r}")
            inner_cls = value["class_name"]
            value = {"type": inner_cls, "params": _layer_params(inner_cls, value.get("config", {}))}
        elif kind == "int" and isinstance(value, list) and len(value) == 1:
            value = value[0]  # LayerNormalization(axis=[-1])
        params[key] = value
    if cls == "Bidirectional" and isinstance(config.get("backward_layer"), dict):
        backward = config["backward_layer"].get("config", {})
        forward = params["layer"]["params"]
        if backward.get("units") != forward.get("units"):
            raise KerasImportError(f"{name} (Bidirectional) has a backward layer that differs from the forward one")
    return params


def _add(graph: NetworkGraph, layer: dict[str, Any]) -> str:
    cls = layer["class_name"]
    config = layer.get("config", {})
    name = _layer_name(layer)
    params = _layer_params(cls, config)
    try:
        return graph.add_node("Input" if cls == "InputLayer" else cls, params, name=name)
    except ParamError as exc:
        raise KerasImportError(f"{name} ({cls}): {exc}") from None


def _sequential(inner: dict[str, Any], layers: list[dict[str, Any]]) -> NetworkGraph:
    graph = NetworkGraph()
    previous: str | None = None
    for index, layer in enumerate(layers):
        if index == 0 and layer.get("class_name") != "InputLayer":
            config = layer.get("config", {})
            shape = config.get("batch_input_shape") or inner.get("build_input_shape") or layer.get("build_config", {}).get("input_shape")
            if not isinstance(shape, list):
                raise KerasImportError("the Sequential model has no input shape (it was never built)")
            previous = graph.add_node("Input", _input_params({"batch_shape": shape, "name": "input_layer"}), name="input_layer")
        node = _add(graph, layer)
        if previous is not None:
            graph.connect(previous, node)
        previous = node
    return graph


def _history(tensor: Any) -> Iterator[str]:
    """Layer names feeding a call, from Keras 3 ``__keras_tensor__`` dicts or Keras 2 lists."""
    if isinstance(tensor, dict):
        if tensor.get("class_name") == "__keras_tensor__":
            history = tensor.get("config", {}).get("keras_history")
            if isinstance(history, list) and history:
                if len(history) > 2 and history[2] not in (0, None):
                    raise KerasImportError(f"{history[0]} is used through its output {history[2]}; LayerLab models single-output layers")
                yield str(history[0])
        return
    if isinstance(tensor, list):
        if len(tensor) >= 3 and isinstance(tensor[0], str) and isinstance(tensor[1], int):  # Keras 2 [name, node, tensor, kwargs]
            yield tensor[0]
            return
        for item in tensor:
            yield from _history(item)


def _functional(layers: list[dict[str, Any]]) -> NetworkGraph:
    graph = NetworkGraph()
    ids: dict[str, str] = {}
    for layer in layers:
        name = _layer_name(layer)
        if name in ids:
            raise KerasImportError(f"two layers are called {name}")
        ids[name] = _add(graph, layer)
    for layer in layers:
        name = _layer_name(layer)
        inbound = layer.get("inbound_nodes") or []
        if len(inbound) > 1:
            raise KerasImportError(f"{name} is called {len(inbound)} times (shared weights); LayerLab draws each layer once")
        if not inbound:
            continue
        call = inbound[0]
        args = call.get("args", []) if isinstance(call, dict) else call
        for source in _history(args):
            if source not in ids:
                raise KerasImportError(f"{name} is fed by {source}, which is not in the model")
            graph.connect(ids[source], ids[name])
    return graph
