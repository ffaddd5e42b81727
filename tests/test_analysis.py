"""The analysis pass: diagnostics a student meets, unknown propagation, incremental re-analysis."""

from __future__ import annotations

import pytest

from engine.analysis import Analyzer, analyse
from engine.graph import GraphError, NetworkGraph
from engine.layers import ParamError


def chain(*layers: tuple[str, dict], shape=(28, 28, 1), dtype="float32") -> tuple[NetworkGraph, list[str]]:
    graph = NetworkGraph()
    ids = [graph.add_node("Input", {"shape": list(shape), "dtype": dtype})]
    for layer_type, params in layers:
        ids.append(graph.add_node(layer_type, params))
        graph.connect(ids[-2], ids[-1])
    return graph, ids


def codes(analysis, node=None) -> list[str]:
    return [d.code for d in analysis.diagnostics if node is None or d.node == node]


def test_valid_chain_has_shapes_counts_and_formulas() -> None:
    graph, ids = chain(("Conv2D", {"filters": 32, "kernel_size": 3}), ("MaxPooling2D", {}), ("Flatten", {}), ("Dense", {"units": 10}))
    analysis = analyse(graph)
    assert analysis.is_valid and analysis.diagnostics == []
    assert [analysis[n].shape for n in ids] == [(28, 28, 1), (26, 26, 32), (13, 13, 32), (5408,), (10,)]
    assert analysis[ids[1]].params.formula == "(3*3*1 + 1) * 32 = 320"
    assert analysis[ids[4]].params.formula == "(5,408 inputs + 1 bias) * 10 units = 54,090"
    assert analysis.total_params == 320 + 54_090 and analysis.totals_complete
    assert analysis.output_nodes == [ids[-1]] and analysis.input_nodes == [ids[0]]


def test_batchnorm_moving_statistics_are_non_trainable() -> None:
    graph, ids = chain(("BatchNormalization", {}), shape=(8, 8, 64))
    count = analyse(graph)[ids[1]].params
    assert (count.trainable, count.non_trainable) == (128, 128)
    assert count.formula == "4 * 64 = 256 (gamma + beta + moving mean + moving variance; 128 non-trainable)"


def test_lstm_formula_substitutes_numbers() -> None:
    graph, ids = chain(("LSTM", {"units": 64}), shape=(10, 32))
    assert analyse(graph)[ids[1]].params.formula == "4 * ((32 + 64) * 64 + 64) = 24,832"


def test_kernel_larger_than_input_is_an_error_and_downstream_is_unknown() -> None:
    graph, ids = chain(("Conv2D", {"filters": 8, "kernel_size": 5}), ("Flatten", {}), ("Dense", {"units": 10}), shape=(4, 4, 1))
    analysis = analyse(graph)
    assert codes(analysis) == ["shape"]
    error = analysis.diagnostics[0]
    assert error.node == ids[1] and "larger than the input" in error.message and "padding='same'" in error.hint
    assert [analysis[n].status for n in ids] == ["ok", "error", "unknown", "unknown"]
    assert analysis[ids[3]].shape is None and analysis[ids[3]].params is None
    assert not analysis.totals_complete


def test_wrong_rank_messages_name_the_shapes() -> None:
    graph, ids = chain(("Conv2D", {"filters": 8}), shape=(784,))
    message = analyse(graph).diagnostics[0].message
    assert "an image (height, width, channels)" in message and "(784,)" in message
    graph, ids = chain(("LSTM", {"units": 8}), shape=(28, 28, 1))
    analysis = analyse(graph)
    assert "a sequence (steps, features)" in analysis.diagnostics[0].message
    assert "Embedding" in analysis.diagnostics[0].hint


def test_embedding_fed_floats_warns_but_keeps_shapes() -> None:
    graph, ids = chain(("Embedding", {"input_dim": 100, "output_dim": 8}), shape=(20,))
    analysis = analyse(graph)
    assert codes(analysis) == ["dtype"] and analysis.diagnostics[0].severity == "warning"
    assert analysis.is_valid and analysis[ids[1]].shape == (20, 8)
    graph, ids = chain(("Embedding", {"input_dim": 100, "output_dim": 8}), shape=(20,), dtype="int32")
    assert analyse(graph).diagnostics == []
    # a Dense output is float even when the Input held integers
    graph, ids = chain(("Dense", {"units": 4}), ("Embedding", {"input_dim": 10, "output_dim": 2}), shape=(3,), dtype="int32")
    assert codes(analyse(graph)) == ["dtype"]


def test_missing_input_and_not_connected() -> None:
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [10]})
    dense = graph.add_node("Dense", {"units": 4})
    after = graph.add_node("Dense", {"units": 2})
    graph.connect(dense, after)
    analysis = analyse(graph)
    assert codes(analysis, dense) == ["no-input"]
    assert "not connected to any Input" in analysis.diagnostics_for(dense)[0].message
    assert analysis[after].status == "unknown" and codes(analysis, after) == []
    assert "disconnected" in codes(analysis)
    graph.connect(x, dense)
    assert analyse(graph).is_valid


def test_too_many_inputs_and_merge_with_one_input() -> None:
    graph = NetworkGraph()
    a = graph.add_node("Input", {"shape": [10]})
    b = graph.add_node("Input", {"shape": [10]})
    dense = graph.add_node("Dense", {"units": 2})
    graph.connect(a, dense)
    graph.connect(b, dense)
    add = graph.add_node("Add")
    graph.connect(a, add)
    sub = graph.add_node("Subtract")
    for _ in range(3):
        graph.connect(a, sub)
    analysis = analyse(graph)
    assert codes(analysis, dense) == ["too-many-inputs"]
    assert codes(analysis, add) == ["merge-too-few"]
    assert codes(analysis, sub) == ["too-many-inputs"] and "exactly 2 inputs" in analysis.diagnostics_for(sub)[0].message


def test_cycle_is_reported_and_rest_is_analysed() -> None:
    graph, ids = chain(("Dense", {"units": 4}), ("Dense", {"units": 4}), ("Dense", {"units": 4}), shape=(4,))
    add = graph.add_node("Add")
    graph.connect(ids[1], add)
    graph.connect(ids[3], add)
    graph.connect(add, ids[2], 1)  # add feeds dense 2 -> dense 3 -> add: a loop
    analysis = analyse(graph)
    cycle_nodes = {d.node for d in analysis.diagnostics if d.code == "cycle"}
    assert cycle_nodes == {ids[2], ids[3], add}
    assert analysis[ids[1]].status == "ok" and analysis[ids[1]].shape == (4,)
    graph, ids = chain(("Dense", {"units": 4}), shape=(4,))
    merge = graph.add_node("Add")
    graph.connect(ids[0], merge)
    graph.connect(merge, graph.add_node("Dense", {"units": 1}))
    last = graph.node_ids()[-1]
    assert graph.check_connection(ids[1], merge) is None
    assert graph.check_connection(last, merge).startswith("this wire would make a cycle")
    assert graph.check_connection(ids[1], ids[1]) == "a layer cannot feed itself"
    assert "already has its input" in graph.check_connection(ids[0], ids[1])
    assert "takes no inputs" in graph.check_connection(ids[1], ids[0])


def test_merge_shape_mismatch_hints_at_projection() -> None:
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [28, 28, 64]})
    conv = graph.add_node("Conv2D", {"filters": 128, "kernel_size": 3, "padding": "same"})
    graph.connect(x, conv)
    add = graph.add_node("Add")
    graph.connect(conv, add)
    graph.connect(x, add)
    analysis = analyse(graph)
    diag = analysis.diagnostics_for(add)[0]
    assert "(28, 28, 64)" in diag.message and "(28, 28, 128)" in diag.message and "1x1 Conv2D" in diag.hint


def test_concatenate_order_is_the_slot_order() -> None:
    graph = NetworkGraph()
    a = graph.add_node("Input", {"shape": [4, 4, 3]}, name="a")
    b = graph.add_node("Input", {"shape": [4, 4, 5]}, name="b")
    cat = graph.add_node("Concatenate")
    graph.connect(b, cat, 1)
    graph.connect(a, cat, 0)
    assert [e.source for e in graph.inputs_of(cat)] == [a, b]
    result = analyse(graph)[cat]
    assert result.shape == (4, 4, 8) and [t.shape for t in result.inputs] == [(4, 4, 3), (4, 4, 5)]
    with pytest.raises(GraphError):
        graph.connect(a, cat, 1)


def test_network_level_problems() -> None:
    assert codes(analyse(NetworkGraph())) == ["empty"]
    graph = NetworkGraph()
    graph.add_node("Dense", {"units": 3})
    assert "no-input-layer" in codes(analyse(graph))
    graph, ids = chain(("Dense", {"units": 3}), shape=(3,))
    graph.rename(ids[1], "input_layer")
    assert codes(analyse(graph)) == ["duplicate-name"]


def test_invalid_parameter_values_are_refused_with_the_name() -> None:
    graph, ids = chain(("Dense", {"units": 3}), shape=(3,))
    for value, words in ((0, "at least 1"), (-5, "at least 1"), ("64", "whole number"), (2.5, "whole number"), (2**40, "at most")):
        with pytest.raises(ParamError, match="units must be") as info:
            graph.set_param(ids[1], "units", value)
        assert words in str(info.value)
    assert graph.node(ids[1]).params["units"] == 3  # the last valid value stays
    with pytest.raises(ParamError, match="rate must be less than 1"):
        graph.add_node("Dropout", {"rate": 1.0})
    with pytest.raises(ParamError, match="padding must be one of valid, same"):
        graph.add_node("Conv2D", {"padding": "full"})


def test_huge_dense_has_exact_count() -> None:
    graph, ids = chain(("Dense", {"units": 10**9}), shape=(1000,))
    assert analyse(graph)[ids[1]].params.total == 1001 * 10**9


def test_reanalysis_recomputes_only_what_depends_on_the_change() -> None:
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [32, 32, 3]})
    left = [graph.add_node("Conv2D", {"filters": 8, "padding": "same"}) for _ in range(5)]
    right = [graph.add_node("Conv2D", {"filters": 8, "padding": "same"}) for _ in range(5)]
    for branch in (left, right):
        graph.connect(x, branch[0])
        for a, b in zip(branch, branch[1:]):
            graph.connect(a, b)
    add = graph.add_node("Add")
    graph.connect(left[-1], add)
    graph.connect(right[-1], add)
    analyzer = Analyzer()
    first = analyzer.analyse(graph)
    assert analyzer.recomputed == len(graph)
    graph.set_param(left[2], "filters", 16)  # shape changes in left[2] only: left[3] reads it
    second = analyzer.analyse(graph)
    assert analyzer.recomputed == 2  # left[2] and left[3]; left[3]'s output is unchanged, so nothing after
    assert second[left[3]].params.total != first[left[3]].params.total
    assert second.total_params == analyse(graph).total_params
    graph.set_param(left[2], "filters", 8)
    analyzer.analyse(graph)
    graph.set_param(x, "shape", [16, 16, 3])  # everything downstream of the input changes
    analyzer.analyse(graph)
    assert analyzer.recomputed == len(graph)
    assert analyzer.analyse(graph).results == analyse(graph).results
