"""Test helper: build the Keras model a LayerLab graph describes, straight from the spec parameters.

Spec parameter names are Keras's constructor arguments, so this is a direct translation; the
production code generator (engine.codegen) is tested against the same oracle.
"""

from __future__ import annotations

from typing import Any

from engine.graph import NetworkGraph


def keras_layer(layer_type: str, params: dict[str, Any], name: str | None = None):
    import keras

    kwargs = dict(params)
    if layer_type == "Bidirectional":
        inner = kwargs["layer"]
        kwargs["layer"] = keras_layer(inner["type"], inner["params"])
    return getattr(keras.layers, layer_type)(**kwargs, name=name)


def keras_model(graph: NetworkGraph):
    """A keras.Model for ``graph`` (which must be valid)."""
    import keras
    import networkx as nx

    tensors: dict[str, Any] = {}
    for node_id in nx.topological_sort(graph.nx_graph):
        node = graph.node(node_id)
        if node.type == "Input":
            tensors[node_id] = keras.Input(shape=node.params["shape"], dtype=node.params["dtype"], name=node.name)
            continue
        inputs = [tensors[e.source] for e in graph.inputs_of(node_id)]
        layer = keras_layer(node.type, dict(node.params), node.name)
        tensors[node_id] = layer(inputs if node.spec.is_merge else inputs[0])
    ins = [tensors[n] for n in graph.node_ids() if graph.node(n).type == "Input"]
    outs = [tensors[n] for n in graph.node_ids() if graph.nx_graph.out_degree(n) == 0]
    return keras.Model(ins, outs)
