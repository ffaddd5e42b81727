"""Test helper: build the Keras model a LayerLab graph describes, straight from the spec parameters.

Spec parameter names are Keras's constructor arguments, so this is a direct translation; the
production code generator (engine.codegen) is tested against the same oracle.
"""

from __future__ import annotations

from typing import Any

from engine.graph import NetworkGraph


def keras_layer(layer_type: str, params: dict[str, Any], name: str | None = None):
    import importlib

    import keras

    from engine.codegen import _compact  # the same argument forms the exported code uses
    from engine.layers import get_spec

    spec = get_spec(layer_type)
    kwargs = {k: _compact(spec.param(k), spec.param(k).coerce(v)) for k, v in params.items() if k not in spec.call_params}
    for p in spec.params:
        if p.kind == "layer" and p.name in kwargs:
            inner = kwargs[p.name]
            kwargs[p.name] = keras_layer(inner["type"], inner["params"])
    module = keras.layers if spec.keras_module == "keras.layers" else importlib.import_module(spec.keras_module)
    return getattr(module, layer_type)(**kwargs, name=name)


def keras_call(layer_type: str, params: dict[str, Any], inputs: list, name: str | None = None):
    """Apply the layer (or keras.ops function) the spec describes to ``inputs`` as Keras code would: returns
    ``(outputs, layer)`` (layer is None for an operation)."""
    import keras

    from engine.layers import get_spec

    spec = get_spec(layer_type)
    if spec.call == "op":
        args = list(inputs)
        if params.get("operand") is not None:
            args = [params["operand"], *args] if params.get("operand_first") else [*args, params["operand"]]
        kwargs = {k: v for k, v in params.items() if k not in ("operand", "operand_first")}
        return getattr(keras.ops, layer_type[4:])(*args, **kwargs), None
    layer = keras_layer(layer_type, params, name)
    call_kwargs = {k: params[k] for k in spec.call_params if k in params}
    if spec.call == "named":
        kwargs: dict[str, Any] = {}
        for slot, tensor in enumerate(inputs[1:], start=1):
            label = spec.input_names[slot]
            if "[" in label:
                kwargs.setdefault(label.split("[")[0], []).append(tensor)
            else:
                kwargs[label] = tensor
        return layer(inputs[0], **kwargs, **call_kwargs), layer
    if spec.call == "list" or len(inputs) > 1:
        return layer(inputs, **call_kwargs), layer
    return layer(inputs[0], **call_kwargs), layer


def expected_dtype(layer_type: str, params: dict[str, Any], shapes: list, dtype: str) -> str:
    import keras

    out, _ = keras_call(layer_type, params, [keras.Input(shape=s, dtype=dtype) for s in shapes])
    return str(out.dtype)


def keras_model(graph: NetworkGraph):
    """A keras.Model for ``graph`` (which must be valid)."""
    import keras
    import networkx as nx

    tensors: dict[str, Any] = {}
    for node_id in nx.topological_sort(graph.nx_graph):
        node = graph.node(node_id)
        if node.type == "Input":
            tensors[node_id] = [keras.Input(shape=node.params["shape"], dtype=node.params["dtype"], name=node.name)]
            continue
        inputs = [tensors[e.source][e.output] for e in graph.inputs_of(node_id)]
        out, _ = keras_call(node.type, dict(node.params), inputs, node.name)
        tensors[node_id] = list(out) if isinstance(out, (list, tuple)) else [out]
    ins = [tensors[n][0] for n in graph.node_ids() if graph.node(n).type == "Input"]
    outs = [tensors[n][0] for n in graph.node_ids() if graph.nx_graph.out_degree(n) == 0]
    return keras.Model(ins, outs)


def layer_numbers(layer) -> tuple:  # noqa: ANN001
    """What Keras gives for a built layer: its name, every output shape (batch-less), total and non-trainable counts."""
    import math

    outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
    non_trainable = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
    return layer.name, tuple(tuple(o.shape[1:]) for o in outputs), layer.count_params(), non_trainable


def engine_numbers(graph: NetworkGraph, analysis, name: str) -> tuple:  # noqa: ANN001
    """The same numbers from LayerLab's analysis, for the layer called ``name``."""
    result = analysis[graph.find(name)]
    return name, tuple(t.shape for t in result.outputs), result.params.total, result.params.non_trainable
