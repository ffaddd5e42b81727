"""Property-based tests: whatever a user draws or a file holds, the engine answers, never crashes."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis import Analyzer, analyse
from engine.codegen import CodegenError, generate_code
from engine.graph import GraphError, NetworkGraph
from engine.layers import CATALOGUE, ParamError, ParamSpec
from engine.project import ProjectError, graph_from_dict, load_project
from engine.report import summary_json, summary_text
from tests.conftest import EXAMPLES

TYPES = sorted(CATALOGUE)
SIZES = st.one_of(st.integers(1, 8), st.integers(0, 70), st.integers(-3, 3), st.sampled_from([0, 1, 10**6, 10**9, 2**31 - 1, 2**31, 10**30]))


def value_for(spec: ParamSpec) -> st.SearchStrategy:
    kind = spec.kind
    if kind == "int":
        return SIZES
    if kind == "float":
        return st.one_of(st.floats(-2, 2), st.sampled_from([0.0, 0.5, 1.0, float("nan"), float("inf"), 1e300]))
    if kind == "bool":
        return st.one_of(st.booleans(), st.sampled_from([0, "yes", None]))
    if kind == "choice":
        return st.sampled_from([*spec.choices, "bogus", None, 3])
    if kind == "ints":
        return st.one_of(SIZES, st.lists(SIZES, min_size=0, max_size=4).map(tuple))
    if kind == "shape":
        return st.lists(st.one_of(SIZES, st.none(), st.just(-1)), min_size=0, max_size=5)
    if kind in ("padding2d", "pads"):
        n = spec.length or 2
        return st.one_of(SIZES, st.lists(SIZES, min_size=n, max_size=n), st.lists(st.lists(SIZES, min_size=2, max_size=2), min_size=n, max_size=n))
    if kind == "layer":
        return st.fixed_dictionaries({"type": st.sampled_from(["LSTM", "GRU", "SimpleRNN", "Dense", "Conv2D", "Flatten", "Input"]),
                                      "params": st.fixed_dictionaries({"units": SIZES})})
    if kind == "floats":
        return st.one_of(st.floats(-2, 2), st.lists(st.floats(-2, 2), min_size=0, max_size=4), st.just("x"))
    if kind == "factor":
        return st.one_of(st.floats(-2, 2), st.lists(st.floats(-2, 2), min_size=1, max_size=3))
    if kind == "axes":
        return st.one_of(st.integers(-5, 5), st.lists(st.integers(-5, 5), min_size=0, max_size=3), st.none())
    raise AssertionError(kind)


@st.composite
def layer(draw: st.DrawFn) -> tuple[str, dict]:
    layer_type = draw(st.sampled_from(TYPES))
    params = {}
    for spec in CATALOGUE[layer_type].params:
        if draw(st.booleans()):
            params[spec.name] = draw(value_for(spec))
    return layer_type, params


@st.composite
def graphs(draw: st.DrawFn) -> NetworkGraph:
    graph = NetworkGraph()
    for layer_type, params in draw(st.lists(layer(), min_size=0, max_size=10)):
        try:
            graph.add_node(layer_type, params)
        except ParamError:
            graph.add_node(layer_type)  # a refused value leaves the layer at its defaults
    ids = graph.node_ids()
    if ids:
        for a, b, slot in draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids), st.one_of(st.none(), st.integers(0, 3))), max_size=16)):
            try:
                graph.connect(a, b, slot)
            except GraphError:
                pass
    return graph


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_analysis_never_raises(graph: NetworkGraph) -> None:
    analysis = analyse(graph)
    assert set(analysis.results) == set(graph.node_ids()) and sorted(analysis.order) == sorted(graph.node_ids())
    for node_id, result in analysis.results.items():
        if result.status == "error":
            assert any(d.severity == "error" for d in analysis.diagnostics_for(node_id))
        if result.status == "ok":
            assert result.shape is not None and all(d is None or d > 0 for d in result.shape)
            assert result.params is not None and result.params.trainable >= 0 and result.params.non_trainable >= 0
    summary_text(graph, analysis)
    json.dumps(summary_json(graph, analysis))
    try:
        compile(generate_code(graph), "<fuzz>", "exec")
    except CodegenError:
        assert not analysis.is_valid  # export refuses only graphs with errors


@settings(max_examples=150, deadline=None)
@given(graphs(), st.data())
def test_incremental_analysis_equals_a_fresh_one(graph: NetworkGraph, data: st.DataObject) -> None:
    analyzer = Analyzer()
    analyzer.analyse(graph)
    for _ in range(3):
        if not len(graph):
            break
        node_id = data.draw(st.sampled_from(graph.node_ids()))
        spec = CATALOGUE[graph.node(node_id).type]
        if spec.params:
            p = data.draw(st.sampled_from(spec.params))
            try:
                graph.set_param(node_id, p.name, data.draw(value_for(p)))
            except ParamError:
                pass
        assert analyzer.analyse(graph).results == analyse(graph).results


def _mutations(doc):  # every path to a value in a JSON document
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield (k,)
            for rest in _mutations(v):
                yield (k, *rest)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield (i,)
            for rest in _mutations(v):
                yield (i, *rest)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**40), 10**40), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
SOURCES = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json")) if p.name != "densenet121.json"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SOURCES), st.data())
def test_loader_survives_random_mutations(source: dict, data: st.DataObject) -> None:
    doc = json.loads(json.dumps(source))
    paths = list(_mutations(doc))
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = data.draw(st.sampled_from(["delete", "replace", "nest", "unicode"]))
            if action == "delete":
                del parent[path[-1]]
            elif action == "replace":
                parent[path[-1]] = data.draw(JSON_VALUES)
            elif action == "nest":
                parent[path[-1]] = json.loads("[" * 50 + "1" + "]" * 50)
            else:
                parent[path[-1]] = data.draw(st.text(min_size=1, max_size=30))
        except (KeyError, IndexError, TypeError):
            continue
    try:
        graph, _ = graph_from_dict(doc, "fuzz.json")
    except ProjectError as exc:
        assert str(exc).startswith("fuzz.json: ") and "\n" not in str(exc)
        return
    analyse(graph)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(EXAMPLES.glob("*.json"))), st.floats(0, 1), st.binary(max_size=20))
def test_loader_survives_truncation_and_garbage(path: Path, fraction: float, garbage: bytes) -> None:
    raw = path.read_bytes()
    cut = raw[: math.floor(len(raw) * fraction)] + garbage
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        fh.write(cut)
    try:
        load_project(fh.name)
    except ProjectError as exc:
        assert "\n" not in str(exc)
    finally:
        Path(fh.name).unlink()


def test_ten_thousand_layer_chain() -> None:
    graph = NetworkGraph()
    previous = graph.add_node("Input", {"shape": [16]})
    for _ in range(10_000):
        node = graph.add_node("Dense", {"units": 16})
        graph.connect(previous, node)
        previous = node
    analysis = analyse(graph)
    assert analysis.is_valid and analysis.total_params == 10_000 * (16 * 16 + 16)


SANE = {
    "units": st.integers(1, 12), "filters": st.integers(1, 12), "kernel_size": st.integers(1, 5), "strides": st.integers(1, 3),
    "pool_size": st.integers(1, 4), "dilation_rate": st.integers(1, 2), "depth_multiplier": st.integers(1, 3), "rate": st.sampled_from([0.0, 0.3]),
    "input_dim": st.integers(2, 50), "output_dim": st.integers(1, 8), "size": st.integers(1, 3), "padding": None, "axis": st.integers(-3, 3),
    "groups": st.integers(1, 3), "cropping": st.integers(0, 3), "num_heads": st.integers(1, 3), "key_dim": st.integers(1, 4),
    "n": st.integers(1, 3), "height": st.integers(1, 8), "width": st.integers(1, 8), "operand": st.sampled_from([0.5, 2.0, None]),
    "projection_dim": st.integers(1, 8), "scale": st.sampled_from([0.5, 2.0]), "stddev": st.sampled_from([0.1]),
}


@st.composite
def dags(draw: st.DrawFn) -> NetworkGraph:
    """Plausible networks: each layer reads from earlier ones, with small, mostly valid values."""
    graph = NetworkGraph()
    rank = draw(st.integers(1, 3))
    nodes = [graph.add_node("Input", {"shape": draw(st.lists(st.integers(1, 12), min_size=rank, max_size=rank)),
                                       "dtype": draw(st.sampled_from(["float32", "float32", "int32"]))})]
    for _ in range(draw(st.integers(1, 6))):
        layer_type = draw(st.sampled_from([t for t in TYPES if t != "Input"]))
        spec = CATALOGUE[layer_type]
        params = {}
        for p in spec.params:
            if p.name == "padding" and p.kind == "choice":
                params[p.name] = draw(st.sampled_from(p.choices))
            elif p.name in SANE and SANE[p.name] is not None and p.kind in ("int", "ints", "float", "padding2d", "pads", "axes", "floats"):
                params[p.name] = draw(SANE[p.name])
            elif p.name == "target_shape":
                params[p.name] = draw(st.lists(st.sampled_from([-1, 1, 2, 3, 4]), min_size=1, max_size=3).filter(lambda s: s.count(-1) <= 1))
            elif p.name == "dims":
                params[p.name] = draw(st.permutations([1, 2, 3][: draw(st.integers(1, 3))]))
        try:
            node = graph.add_node(layer_type, params)
        except ParamError:
            node = graph.add_node(layer_type)
        arity = draw(st.integers(spec.min_inputs, min(spec.max_inputs or 3, 3))) if spec.max_inputs != 1 else 1
        for _ in range(arity):
            graph.connect(draw(st.sampled_from(nodes)), node)
        nodes.append(node)
    return graph


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_random_networks_match_keras(graph: NetworkGraph) -> None:
    import pytest

    keras = pytest.importorskip("keras")
    import networkx as nx

    from tests.keras_build import keras_call

    analysis = analyse(graph)
    tensors = {}
    skipped: set[str] = set()
    for node_id in nx.topological_sort(graph.nx_graph):
        node = graph.node(node_id)
        result = analysis[node_id]
        if node.type == "Input":
            tensors[node_id] = keras.Input(shape=node.params["shape"], dtype=node.params["dtype"])
            continue
        sources = [e.source for e in graph.inputs_of(node_id)]
        if any(s in skipped for s in sources):
            skipped.add(node_id)
            continue
        if any(s not in tensors for s in sources):
            assert result.status in ("unknown", "error")
            continue
        inputs = [tensors[s] for s in sources]
        if not node.spec.accepts_bool and any(str(t.dtype) == "bool" for t in inputs):
            # True/false tensors into a layer: whether Keras builds it depends on the TensorFlow kernel inside
            # (LayerLab warns, it does not model it); nothing after it is compared.
            assert result.status != "ok" or any(d.code == "dtype" for d in analysis.diagnostics_for(node_id))
            skipped.add(node_id)
            continue
        try:
            out, layer = keras_call(node.type, dict(node.params), inputs)  # Keras checks some values here already
        except Exception as exc:  # noqa: BLE001 - Keras refusing is the expected outcome to compare against
            assert result.status == "error", f"{node.type} {dict(node.params)} on {[tuple(t.shape) for t in inputs]}: Keras refuses ({str(exc)[:200]}) but LayerLab gives {result.shape}"
            continue
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        if not outs[0].shape or outs[0].shape[0] is not None:
            # Keras took the batch axis for an image axis (image preprocessing on a rank-2 sample) or reduced over it (ops with axis 0): no model of
            # batches comes out, and LayerLab refuses the input with the reason.
            assert result.status == "error", f"{node.type}: Keras consumed the batch axis, LayerLab gives {result.shape}"
            continue
        assert result.status == "ok", f"{node.type} {dict(node.params)} on {[tuple(t.shape) for t in inputs]}: Keras gives {tuple(out.shape)}, LayerLab says {[str(d) for d in analysis.diagnostics_for(node_id)]}"
        non_trainable = sum(math.prod(w.shape) for w in layer.non_trainable_weights) if layer is not None else 0
        count = layer.count_params() if layer is not None else 0
        got = (tuple(t.shape for t in result.outputs), result.params.total, result.params.non_trainable)
        assert got == (tuple(tuple(o.shape[1:]) for o in outs), count, non_trainable), node.type
        tensors[node_id] = outs[0]
