"""Import a saved Keras model (``.keras`` or ``.h5``) as a LayerLab graph.

The model's architecture is read as data: the ``config.json`` inside a ``.keras`` archive, or the
``model_config`` attribute of an ``.h5`` file. Nothing is deserialised by Keras and no code from the
file runs, so no TensorFlow import is needed; a ``Lambda`` layer or a custom class is refused by
name. Layer names and connections are kept; shapes are never copied (the analysis recomputes them).
Both Keras 3 and Keras 2 (legacy h5) config layouts are understood.

What a functional model holds besides plain layers is kept too: operations Keras 3 saves as nodes
(``x + 3.0`` becomes an ``ops.add`` node with the number as its operand, never the ``Add`` merge
layer), layers called several times (one node per call, sharing the first call's weights), nested
Sequential and Functional models (their layers, in a group named after the model), layers with several
outputs (an edge knows which output it carries) and the tensors passed by keyword (``key=``,
``initial_state=``, ``mask=``). Everything LayerLab cannot model is listed, grouped by class, in one
`KerasImportError`; nothing is silently dropped.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

from engine.graph import MASK_SLOT, GraphError, NetworkGraph
from engine.layers import KERAS_CLASSES, LayerSpec, ParamError
from engine.layout import layered_positions

__all__ = ["KerasImportError", "import_keras_model", "graph_from_keras_config"]

#: The largest keras.applications config is about 1 MB (NASNetLarge, 1,041 layers).
_MAX_CONFIG_BYTES = 32 * 1024 * 1024
_NESTED_MODELS = {"Functional", "Sequential", "Model"}
#: Nested models deeper than this are refused (real models nest two or three deep).
MAX_DEPTH = 32
#: The same limit as project files.
MAX_LAYERS = 100_000
#: Call arguments that are not inputs and change nothing LayerLab models.
_IGNORED_CALL_KWARGS = {"training"}


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
    if not isinstance(raw, (bytes, str)):  # an .h5 attribute that is a number or an array
        raise fail("the model configuration is not text")
    # Every layer names its class at least once: refuse a config that holds far too many, before parsing it
    # (a small compressed file can unpack to a million layers).
    marker = b'"class_name"' if isinstance(raw, bytes) else '"class_name"'
    if raw.count(marker) > 5 * MAX_LAYERS:  # type: ignore[arg-type]
        raise fail(f"the model has more than LayerLab's limit of {MAX_LAYERS:,} layers")
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError, TypeError):
        raise fail("the model configuration is not valid JSON") from None
    if not isinstance(config, dict):
        raise fail("the model configuration is not an object")
    return config



def graph_from_keras_config(config: dict[str, Any]) -> NetworkGraph:
    """Build a graph from a model's serialised config (what ``model.get_config()`` wraps).

    Raises `KerasImportError` listing every layer or operation LayerLab cannot model, grouped by class.
    """
    if not isinstance(config, dict):
        raise KerasImportError("the model configuration is not an object")
    class_name = config.get("class_name")
    inner = config.get("config", {})
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise KerasImportError(f"unsupported model class {str(class_name)[:60]!r}: expected a Sequential or Functional model")
    count = _count_layers(inner, 0)
    if count > MAX_LAYERS:
        raise KerasImportError(f"the model has {count:,} layers, more than LayerLab's limit of {MAX_LAYERS:,}")
    importer = _Importer()
    try:
        importer.model(class_name, inner, group=None, inputs=None, share=None, depth=0)
    except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
        if isinstance(exc, KerasImportError):
            raise
        # The config is untrusted data: a shape LayerLab's reader did not foresee is still one line.
        where = f" (after {importer.last})" if importer.last else ""
        raise KerasImportError(f"the model configuration is malformed{where}: {type(exc).__name__}") from None
    importer.raise_problems()
    if inner.get("trainable") is False:  # the whole model frozen: no weight of it trains
        for node in importer.graph.node_ids():
            importer.graph.set_trainable(node, False)
    return importer.graph


def _count_layers(inner: dict[str, Any], depth: int) -> int:
    if depth > MAX_DEPTH:
        raise KerasImportError(f"models are nested more than {MAX_DEPTH} deep")
    total = 0
    for layer in inner.get("layers", []) if isinstance(inner.get("layers"), list) else []:
        total += 1
        if isinstance(layer, dict) and layer.get("class_name") in _NESTED_MODELS and isinstance(layer.get("config"), dict):
            calls = layer.get("inbound_nodes")
            total += _count_layers(layer["config"], depth + 1) * max(1, len(calls) if isinstance(calls, list) else 1)
        if total > MAX_LAYERS:
            break
    return total


def _layer_name(layer: Any) -> str:
    if not isinstance(layer, dict):
        return "?"
    config = layer.get("config")
    name = layer.get("name") or (config.get("name") if isinstance(config, dict) else None)
    return str(name)[:200] if isinstance(name, str) and name else "?"


def _input_params(config: dict[str, Any]) -> dict[str, Any]:
    batch_shape = config.get("batch_shape") or config.get("batch_input_shape")
    if not isinstance(batch_shape, list) or len(batch_shape) < 2:
        raise KerasImportError(f"input {str(config.get('name'))[:60]!r} has no usable shape ({str(batch_shape)[:60]})")
    params: dict[str, Any] = {"shape": batch_shape[1:]}
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name") if isinstance(dtype.get("config"), dict) else None
    if isinstance(dtype, str):
        params["dtype"] = dtype
    return params


def _activation(value: Any) -> Any:
    if isinstance(value, dict):  # {"module": "keras.activations", "class_name": "function", "config": "relu"}
        value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
    return value


def _spec_for(layer: dict[str, Any]) -> LayerSpec | None:
    cls = layer.get("class_name")
    module = layer.get("module")
    if not isinstance(cls, str):
        return None
    if isinstance(module, str) and module.startswith("keras.src.ops"):
        return KERAS_CLASSES.get(("ops", cls))
    spec = KERAS_CLASSES.get(("layers", cls))
    if spec is None or spec.family == "Operation":
        return None
    registered = layer.get("registered_name")
    if spec.keras_module != "keras.layers":  # keras.applications' own layers: known by registered name and module
        return spec if isinstance(module, str) and module == spec.keras_module else None
    custom = isinstance(registered, str) and registered not in (cls, None) and not registered.startswith("keras")
    return None if custom else spec


def _layer_params(spec: LayerSpec, config: dict[str, Any]) -> dict[str, Any]:
    """Map a Keras layer config onto the spec's parameters (unknown keys, such as initializers, are dropped)."""
    if config.get("data_format") not in (None, "channels_last"):
        raise KerasImportError(f"data_format={str(config['data_format'])[:20]!r}; LayerLab supports channels_last only")
    params: dict[str, Any] = {}
    for key, value in config.items():
        key = spec.import_aliases.get(key, key)
        if not spec.has_param(key) or key in spec.call_params:
            continue
        kind = spec.param(key).kind
        if kind == "choice" and "activation" in key:
            value = _activation(value)
        elif kind == "layer":
            inner_spec = _spec_for(value) if isinstance(value, dict) else None
            if inner_spec is None or not isinstance(value.get("config", {}), dict):
                shown = value.get("class_name") if isinstance(value, dict) else value
                raise KerasImportError(f"wraps a layer LayerLab does not know ({str(shown)[:40]})")
            value = {"type": inner_spec.type, "params": _layer_params(inner_spec, value.get("config", {}))}
        elif kind == "int" and isinstance(value, list) and len(value) == 1:
            value = value[0]  # BatchNormalization(axis=[-1]) in older files
        params[key] = value
    if isinstance(config.get("backward_layer"), dict) and isinstance(params.get("layer"), dict):  # Bidirectional
        backward = config["backward_layer"].get("config", {})
        forward = params["layer"]["params"]
        if not isinstance(backward, dict) or backward.get("units") != forward.get("units"):
            raise KerasImportError("has a backward layer that differs from the forward one")
    return params


Ref = tuple[str, int]  # (node id, output index)


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


class _Importer:
    """Walks a model config (recursing into nested models) and builds the graph, collecting every problem."""

    def __init__(self) -> None:
        self.graph = NetworkGraph()
        #: (parent group, nested model name) -> its layers' nodes on the first call, shared by later calls.
        self._inner_nodes: dict[tuple[str | None, str], dict[tuple[str, int], str]] = {}
        #: (kind, class) -> names: what LayerLab does not know, grouped for one message.
        self.unknown: dict[tuple[str, str], list[str]] = {}
        #: Layers already reported: what they feed is not reported again.
        self.failed: set[str] = set()
        #: The last layer read, to name where a malformed config broke off.
        self.last = ""
        self.problems: list[str] = []

    # -- problems -------------------------------------------------------------------------------

    def refuse(self, layer: dict[str, Any], why: str = "") -> None:
        cls = str(layer.get("class_name"))[:60]
        module = layer.get("module")
        kind = "operation" if isinstance(module, str) and module.startswith("keras.src.ops") else "layer"
        if cls == "Lambda":
            kind, cls = "layer", "Lambda (it holds Python code, which LayerLab never runs)"
        self.unknown.setdefault((kind, cls + why), []).append(_layer_name(layer))
        self.failed.add(_layer_name(layer))

    def problem(self, layer: Any, message: str) -> None:
        cls = layer.get("class_name") if isinstance(layer, dict) else None
        self.problems.append(f"{_layer_name(layer)} ({str(cls)[:40]}): {message}")
        self.failed.add(_layer_name(layer))

    def raise_problems(self) -> None:
        parts = []
        for (kind, cls), names in sorted(self.unknown.items(), key=lambda item: (-len(item[1]), item[0])):
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            parts.append(f"{len(names)} × {cls} {kind}{'s' if len(names) > 1 else ''}: {shown}")
        if parts:
            self.problems.insert(0, "LayerLab does not know " + "; ".join(parts))
        if self.problems:
            more = f" (and {len(self.problems) - 5} more problems)" if len(self.problems) > 5 else ""
            raise KerasImportError("; ".join(self.problems[:5]) + more)

    # -- models ---------------------------------------------------------------------------------

    def model(self, class_name: Any, inner: dict[str, Any], group: str | None, inputs: list[Ref] | None,
              share: dict[tuple[str, int], str] | None, depth: int) -> tuple[list[Ref], dict[tuple[str, int], str]]:
        """Import one (possibly nested) model; returns its output refs and the node of each (layer, call)."""
        if depth > MAX_DEPTH:
            raise KerasImportError(f"models are nested more than {MAX_DEPTH} deep")
        layers = inner["layers"]
        if class_name == "Sequential" or not any(isinstance(layer, dict) and "inbound_nodes" in layer for layer in layers):
            return self.sequential(inner, layers, group, inputs, share, depth)
        return self.functional(inner, layers, group, inputs, share, depth)

    def sequential(self, inner: dict[str, Any], layers: list[Any], group: str | None, inputs: list[Ref] | None,
                   share: dict[tuple[str, int], str] | None, depth: int) -> tuple[list[Ref], dict[tuple[str, int], str]]:
        nodes: dict[tuple[str, int], str] = {}
        previous: Ref | None = inputs[0] if inputs else None
        for index, layer in enumerate(layers):
            if not isinstance(layer, dict) or not isinstance(layer.get("config", {}), dict):
                self.problem(layer, "the layer's description is not an object")
                return [], nodes
            if layer.get("class_name") == "InputLayer":
                if inputs is None:
                    previous = self.input_node(layer, group)
                continue
            if index == 0 and previous is None:
                config = layer.get("config", {})
                build = layer.get("build_config")
                shape = config.get("batch_input_shape") or inner.get("build_input_shape") or (build.get("input_shape") if isinstance(build, dict) else None)
                if not isinstance(shape, list):
                    raise KerasImportError("the Sequential model has no input shape (it was never built)")
                previous = self.input_node({"config": {"batch_shape": shape, "name": "input_layer"}, "name": "input_layer"}, group)
            if previous is None:
                return [], nodes
            outputs = self.call(layer, 0, {"args": [previous], "kwargs": {}}, group, share, nodes, depth)
            if not outputs:
                return [], nodes
            previous = outputs[0]
        return ([previous] if previous is not None else []), nodes

    def input_node(self, layer: dict[str, Any], group: str | None) -> Ref | None:
        try:
            config = layer.get("config", {})
            return (self.graph.add_node("Input", _input_params(config), name=_layer_name(layer), group=group), 0)
        except (KerasImportError, ParamError, GraphError) as exc:
            self.problem(layer, str(exc))
            return None

    def functional(self, inner: dict[str, Any], layers: list[Any], group: str | None, inputs: list[Ref] | None,
                   share: dict[tuple[str, int], str] | None, depth: int) -> tuple[list[Ref], dict[tuple[str, int], str]]:
        tensors: dict[tuple[str, int, int], Ref] = {}
        nodes: dict[tuple[str, int], str] = {}
        input_layers = _refs(inner.get("input_layers"))
        names = [_layer_name(layer) for layer in layers]
        if len(set(names)) != len(names):
            duplicate = next(n for n in names if names.count(n) > 1)
            raise KerasImportError(f"two layers are called {duplicate}")
        for layer in layers:
            name = _layer_name(layer)
            if not isinstance(layer, dict) or not isinstance(layer.get("config", {}), dict):
                self.problem(layer, "the layer's description is not an object")
                continue
            if layer.get("class_name") == "InputLayer":
                if inputs is None:
                    ref = self.input_node(layer, group)
                else:
                    position = next((i for i, r in enumerate(input_layers) if r[0] == name), None)
                    ref = inputs[position] if position is not None and position < len(inputs) else None
                    if ref is None:
                        self.problem(layer, "this input of a nested model is not fed by the outer model")
                if ref is not None:
                    tensors[(name, 0, 0)] = ref
                continue
            calls = layer.get("inbound_nodes")
            if not isinstance(calls, list):
                self.problem(layer, "its inbound nodes are not a list")
                continue
            if not calls:
                self.problem(layer, "it is never called in the model (no inbound nodes)")
                continue
            for index, call in enumerate(calls):
                resolved = self.resolve(layer, call, tensors)
                if resolved is None:
                    continue
                outputs = self.call(layer, index, resolved, group, share, nodes, depth)
                for i, produced in enumerate(outputs):
                    tensors[(name, index, i)] = produced
        model_outputs: list[Ref] = []
        for key in _refs(inner.get("output_layers")):
            if key in tensors:
                model_outputs.append(tensors[key])
            elif key[0] not in self.failed:
                self.problems.append(f"the model's output {key[0]} (output {key[2]}) is not produced by any imported layer")
        return model_outputs, nodes

    def resolve(self, layer: dict[str, Any], call: Any, tensors: dict[tuple[str, int, int], Ref]) -> dict[str, Any] | None:
        """Replace the tensor references of one call by the refs of the nodes that produce them."""
        missing: list[str] = []

        def walk(value: Any, depth: int = 0) -> Any:
            if depth > 8:
                raise KerasImportError("its call arguments are nested too deeply")
            if _is_tensor(value):
                history = value.get("config", {}).get("keras_history") if isinstance(value.get("config"), dict) else None
                if not isinstance(history, list) or len(history) < 3 or not isinstance(history[0], str):
                    raise KerasImportError("a tensor it receives has no usable history")
                key = (history[0], history[1], history[2])
                if key not in tensors:
                    missing.append(str(history[0])[:60])
                    return None
                return tensors[key]
            if isinstance(value, list):
                if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int) and isinstance(value[2], int):
                    key = (value[0], value[1], value[2])  # Keras 2: [name, node index, tensor index, kwargs]
                    if key not in tensors:
                        missing.append(value[0][:60])
                        return None
                    return tensors[key]
                return [walk(v, depth + 1) for v in value]
            if isinstance(value, dict):
                return {k: walk(v, depth + 1) for k, v in value.items()}
            return value

        try:
            if isinstance(call, dict):
                args, kwargs = walk(call.get("args", [])), walk(call.get("kwargs", {}))
            elif isinstance(call, list):  # Keras 2: a list of [name, node, tensor, kwargs]
                refs = [walk(item) for item in call]
                args, kwargs = ([refs[0]] if len(refs) == 1 else [refs]), {}
                if call and isinstance(call[0], list) and len(call[0]) > 3 and isinstance(call[0][3], dict):
                    kwargs = walk(call[0][3])
            else:
                raise KerasImportError("an inbound node is neither an object nor a list")
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise KerasImportError("its call arguments are not a list and an object")
        except KerasImportError as exc:
            self.problem(layer, str(exc))
            return None
        if missing:
            if any(m in self.failed for m in missing):  # a consequence of a problem already reported
                if layer.get("class_name") not in _NESTED_MODELS and _spec_for(layer) is None:
                    self.refuse(layer)  # still list every layer LayerLab does not know
                self.failed.add(_layer_name(layer))
            else:
                self.problem(layer, f"it is fed by {missing[0]}, which is not in the model (or comes after it)")
            return None
        return {"args": args, "kwargs": kwargs}

    # -- one call of one layer ------------------------------------------------------------------

    def call(self, layer: dict[str, Any], index: int, resolved: dict[str, Any], group: str | None,
             share: dict[tuple[str, int], str] | None, nodes: dict[tuple[str, int], str], depth: int) -> list[Ref]:
        cls = layer.get("class_name")
        name = _layer_name(layer)
        self.last = f"{name} ({str(cls)[:40]})"
        if cls in _NESTED_MODELS:
            return self.nested(layer, index, resolved, group, share, nodes, depth)
        spec = _spec_for(layer)
        if spec is None:
            self.refuse(layer)
            return []
        try:
            if spec.call == "op":
                params, sources = self.operation(spec, layer, resolved)
            else:
                params = _layer_params(spec, layer.get("config", {}))
                sources = self.sources(spec, resolved, params)
            owner = share.get((name, index)) if share else nodes.get((name, 0)) if index > 0 else None
            if index > 0 and spec.call != "op" and owner is None:
                raise KerasImportError("a later call of a layer whose first call was not imported")
            if spec.call == "op":
                owner = None
            node_name = name if index == 0 or share is not None or owner is None else f"{name} (call {index + 1})"
            node = self.graph.add_node(spec.type, params, name=node_name, group=group, shares=owner,
                                       trainable=_trainable(layer) if owner is None else True)
            nodes[(name, index)] = node
            for slot, (source, output) in sources:
                self.graph.connect(source, node, slot, output)
        except (KerasImportError, ParamError, GraphError) as exc:
            self.problem(layer, str(exc))
            return []
        labels = spec.output_labels(self.graph.node(node).params)
        return [(node, i) for i in range(len(labels))]

    def sources(self, spec: LayerSpec, resolved: dict[str, Any], params: dict[str, Any]) -> list[tuple[int, Ref]]:
        """Input slots and the refs feeding them, from a call's positional and keyword arguments."""
        args, kwargs = resolved["args"], dict(resolved["kwargs"])
        out: list[tuple[int, Ref]] = []
        if spec.call == "list" or (spec.call == "named" and len(args) == 1 and isinstance(args[0], list)):
            items = args[0] if args and isinstance(args[0], list) else args
            out.extend(enumerate(items))
        else:
            out.extend(enumerate(args))
        names = [n.split("[")[0] for n in spec.input_names]
        for key in list(kwargs):
            value = kwargs[key]
            if key in names and value is not None:
                first = names.index(key)
                values = value if isinstance(value, list) else [value]
                out.extend((first + i, v) for i, v in enumerate(values))
            elif key == "mask" and value is not None:
                values = value if isinstance(value, list) else [value]
                out.extend((MASK_SLOT + i, v) for i, v in enumerate(values) if v is not None)
            elif key in spec.call_params:
                params[key] = value
            elif key in _IGNORED_CALL_KWARGS or value is None or key == "mask" or key.endswith("_mask") and value is None:
                continue
            else:
                raise KerasImportError(f"is called with {key}={str(value)[:40]}, which LayerLab does not model")
        for slot, ref in out:
            if not (isinstance(ref, tuple) and len(ref) == 2):
                raise KerasImportError(f"its input {slot + 1} is not a tensor ({str(ref)[:40]})")
        return out

    def operation(self, spec: LayerSpec, layer: dict[str, Any], resolved: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[int, Ref]]]:
        config = layer.get("config", {})
        params = {k: v for k, v in config.items() if spec.has_param(k) and k not in ("operand", "operand_first")}
        args = resolved["args"]
        kwargs = {k: v for k, v in resolved["kwargs"].items() if v is not None}
        for key, value in kwargs.items():
            if spec.has_param(key):
                params[key] = value
            else:
                raise KerasImportError(f"is called with {key}={str(value)[:40]}, which LayerLab does not model")
        sources: list[tuple[int, Ref]] = []
        # keras.ops functions take their tensors first, then their arguments in the spec's order: ops.mean(x, 1).
        positional = [q.name for q in spec.params if q.name not in ("operand", "operand_first")]
        for position, value in enumerate(args):
            if isinstance(value, tuple):
                sources.append((len(sources), value))
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and spec.has_param("operand"):
                params["operand"] = value
                params["operand_first"] = position == 0
            elif sources and positional:
                params[positional.pop(0)] = value
            else:
                raise KerasImportError(f"operand {position + 1} ({str(value)[:40]}) is neither a tensor nor a number LayerLab can keep")
        if not sources:
            raise KerasImportError("none of its operands is a tensor")
        return params, sources

    def nested(self, layer: dict[str, Any], index: int, resolved: dict[str, Any], group: str | None,
               share: dict[tuple[str, int], str] | None, nodes: dict[tuple[str, int], str], depth: int) -> list[Ref]:
        name = _layer_name(layer)
        inner = layer.get("config")
        if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
            self.problem(layer, "the nested model has no layers")
            return []
        args = resolved["args"]
        items = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        if isinstance(items, dict):
            items = list(items.values())
        if not all(isinstance(r, tuple) for r in items):
            self.problem(layer, "the nested model is called on something that is not a tensor")
            return []
        first_group = nodes.get((name, -1))
        try:
            new_group = self.graph.add_group(name, kind="model", parent=group, shares=first_group if index > 0 else None)
        except (ParamError, GraphError) as exc:
            self.problem(layer, str(exc))
            return []
        if index == 0:
            nodes[(name, -1)] = new_group
        if not _trainable(layer):  # model.trainable = False: every weight inside is non-trainable, as Keras counts
            self.graph.update_group(new_group, trainable=False)
        inner_share = self._inner_nodes.get((group, name)) if index > 0 else None
        outputs, inner_nodes = self.model(layer.get("class_name"), inner, new_group, list(items), inner_share, depth + 1)
        if index == 0:
            self._inner_nodes[(group, name)] = inner_nodes
        return outputs


def _trainable(layer: dict[str, Any]) -> bool:
    """A layer's or nested model's ``trainable`` flag as saved (true unless the config says false)."""
    config = layer.get("config")
    return not (isinstance(config, dict) and config.get("trainable") is False)


def _refs(value: Any) -> list[tuple[str, int, int]]:
    """``[[name, node, tensor], ...]`` (or one such triple) as tuples; anything else gives no refs."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list) and len(item) >= 3 and isinstance(item[0], str) and isinstance(item[1], int) and isinstance(item[2], int):
            out.append((item[0], item[1], item[2]))
    return out
