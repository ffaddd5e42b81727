"""Criteria that see wrappers, and messages that name the layer, the numbers and the fix (issue 20, points 1 and 7)."""

from __future__ import annotations

import pytest

from engine.analysis import analyse
from engine.exercises import ExerciseError, check_design, exercise_from_dict
from engine.graph import NetworkGraph
from engine.project import ProjectError, graph_from_dict
from tests.conftest import chain


def exercise(*criteria: dict) -> object:
    return exercise_from_dict(
        {"format": "layerlab-exercise", "version": 1, "title": "t", "criteria": list(criteria)}, "ex.json"
    )


def verdict(ex, graph, answers=None) -> dict[str, tuple[str, str]]:  # noqa: ANN001
    return {r.id: (r.status, r.message) for r in check_design(ex, graph, answers or {})}


def bilstm(first_sequences: bool = True) -> tuple[NetworkGraph, list[str]]:
    """A Korean movie-review classifier: Embedding, two stacked BiLSTMs, Dense."""
    graph, ids = chain(
        (40,),
        ("Embedding", {"input_dim": 8000, "output_dim": 32}),
        ("Bidirectional", {"layer": {"type": "LSTM", "params": {"units": 16, "return_sequences": first_sequences}}}),
        ("Bidirectional", {"layer": {"type": "LSTM", "params": {"units": 16}}}),
        ("Dense", {"units": 1}),
    )
    graph.rename(ids[2], "bilstm1")
    graph.rename(ids[3], "bilstm2")
    return graph, ids


def test_a_wrapper_is_matched_on_the_settings_the_teacher_names_only() -> None:
    ex = exercise(
        {
            "id": "bi",
            "type": "requires_layer",
            "layer": "Bidirectional",
            "params": {"layer": {"type": "LSTM"}},
            "min": 2,
        },
        {"id": "short", "type": "requires_layer", "layer": "Bidirectional", "params": {"layer": "LSTM"}, "min": 2},
        {
            "id": "seq",
            "type": "requires_layer",
            "layer": "Bidirectional",
            "params": {"layer": {"type": "LSTM", "params": {"return_sequences": True}}},
        },
        {"id": "gru", "type": "requires_layer", "layer": "Bidirectional", "params": {"layer": "GRU"}},
    )
    graph, _ = bilstm()
    got = verdict(ex, graph)
    assert got["bi"] == (
        "passed",
        "The design has 2 Bidirectional(LSTM) layers.",
    )  # return_sequences and units may be anything
    assert got["short"][0] == "passed"
    assert got["seq"] == ("passed", "The design has 1 Bidirectional(LSTM(return_sequences=True)) layer.")
    assert got["gru"] == (
        "failed",
        "The design has 0 Bidirectional(GRU) layers. The exercise asks for at least 1. "
        "bilstm1 (Bidirectional) wraps LSTM, not GRU. 1 other Bidirectional layer differs too.",
    )
    assert [c.label for c in ex.criteria][2] == "At least 1 Bidirectional(LSTM(return_sequences=True)) layer"


def test_the_differing_setting_of_a_wrapped_layer_is_named() -> None:
    ex = exercise(
        {
            "id": "seq",
            "type": "requires_layer",
            "layer": "Bidirectional",
            "min": 2,
            "params": {"layer": {"type": "LSTM", "params": {"return_sequences": True}}},
        }
    )
    graph, _ = bilstm()
    status, message = verdict(ex, graph)["seq"]
    assert status == "failed" and "{" not in message  # never the raw settings dict
    assert message.endswith(
        "The LSTM inside bilstm2 has return_sequences=False, not True: set return_sequences=True on it."
    )


def test_layers_inside_wrappers_are_counted_and_forbidden() -> None:
    graph, _ = bilstm()
    ex = exercise(
        {"id": "lstm", "type": "requires_layer", "layer": "LSTM", "min": 2},
        {"id": "no", "type": "forbids_layer", "layer": "LSTM", "params": {"return_sequences": True}},
    )
    got = verdict(ex, graph)
    assert got["lstm"] == ("passed", "The design has 2 LSTM layers. 2 of them are inside wrappers (bilstm1, bilstm2).")
    assert got["no"][1].startswith("The design uses 1 LSTM(return_sequences=True) layer (the LSTM inside bilstm1)")
    video, ids = chain(
        (8, 32, 32, 3), ("TimeDistributed", {"layer": {"type": "Conv2D", "params": {"filters": 8, "kernel_size": 3}}})
    )
    ex = exercise(
        {
            "id": "td",
            "type": "requires_layer",
            "layer": "TimeDistributed",
            "params": {"layer": {"type": "Conv2D", "params": {"kernel_size": 3}}},
        },
        {"id": "conv", "type": "requires_layer", "layer": "Conv2D", "params": {"filters": 8}},
    )
    assert {k: v[0] for k, v in verdict(ex, video).items()} == {"valid": "passed", "td": "passed", "conv": "passed"}


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"layer": "Dense"}, "Bidirectional cannot wrap 'Dense'; it wraps SimpleRNN, LSTM, GRU"),
        (
            {"layer": {"type": "LSTM", "params": {"return_sequence": True}}},
            "LSTM has no setting 'return_sequence' (did you mean \"return_sequences\"?)",
        ),
        ({"layer": {"type": "LSTM", "params": {"units": 0}}}, "units must be at least 1"),
    ],
)
def test_a_wrong_inner_layer_in_an_exercise_is_one_line(params: dict, problem: str) -> None:
    with pytest.raises(ExerciseError) as info:
        exercise({"id": "bi", "type": "requires_layer", "layer": "Bidirectional", "params": params})
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_an_lstm_after_an_lstm_names_return_sequences_on_the_layer_before() -> None:
    graph, _ = bilstm(first_sequences=False)
    error = analyse(graph).errors[0]
    assert graph.node(error.node).name == "bilstm2"
    assert (
        error.hint
        == "Set return_sequences=True on bilstm1, so that it passes on every step (steps, units) instead of only "
        "the last one."
    )
    results = {r.id: r for r in check_design(exercise({"id": "d", "type": "max_depth", "value": 9}), graph)}
    assert results["valid"].hint == error.hint


def test_skip_and_merge_messages_name_the_layer_and_the_setting() -> None:
    graph, ids = chain((16, 16, 8), ("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}))
    got = verdict(exercise({"id": "skip", "type": "skip_connection"}), graph)["skip"]
    assert got == (
        "failed",
        "The design has no Add layer, so it has no skip connection. Send a block's input both through the block "
        "and around it, and join the two with Add.",
    )
    # Four branches joined on axis 1: the one error is the merge's own; the criterion is not checked, not failed again.
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [28, 28, 192]})
    cat = graph.add_node("Concatenate", {"axis": 1}, name="concat")
    for i, filters in enumerate((64, 128, 32, 32)):
        conv = graph.add_node("Conv2D", {"filters": filters, "kernel_size": 1}, name=f"b{i}")
        graph.connect(x, conv)
        graph.connect(conv, cat)
    ex = exercise({"id": "four", "type": "merge", "layer": "Concatenate", "min_inputs": 4, "max_inputs": 4, "axis": -1})
    results = {r.id: r for r in check_design(ex, graph)}
    assert results["valid"].status == "failed"
    assert (results["four"].status, results["four"].message) == (
        "not checked",
        "Not checked: fix the error in concat first. concat (Concatenate) joins along axis 1; the exercise asks for "
        "axis -1: set axis=-1 on concat.",
    )


def test_wrong_parameter_counts_say_what_was_left_out() -> None:
    graph, ids = chain((32, 32, 64), ("Conv2D", {"filters": 128, "kernel_size": 3}), ("BatchNormalization", {}))
    graph.rename(ids[1], "conv2")
    graph.rename(ids[2], "bn")
    bi, _ = bilstm()
    ex = exercise(
        {"id": "q", "type": "question", "prompt": "conv2?", "answer": {"params_of": "conv2"}},
        {"id": "b", "type": "question", "prompt": "bn?", "answer": {"params_of": "bn"}},
        {"id": "v", "type": "question", "prompt": "?", "answer": {"value": 589824}},
    )
    assert verdict(ex, graph, {"q": "73728"})["q"][1] == (
        "73,728 is conv2's count without its 128 biases: a Conv2D layer has one bias per filter or unit. "
        "Add them, and try again."
    )
    assert verdict(ex, graph, {"q": "1280"})["q"][1].startswith(
        "1,280 is what conv2 would have with one input channel, but it receives 64"
    )
    assert verdict(ex, graph, {"b": "256"})["b"][1].startswith(
        "256 counts only the trainable weights of bn; the parameter count also includes its 256 non-trainable ones."
    )
    assert verdict(ex, graph, {"v": "589825"})["v"][1] == "589,825 is not right. Check your working, and try again."
    assert (
        verdict(ex, graph, {"q": "5"})["q"][1]
        == "5 is not right. Work out conv2's weights from how a Conv2D layer counts them, and try again."
    )
    one_way = exercise({"id": "q", "type": "question", "prompt": "?", "answer": {"params_of": "bilstm2"}})
    total = analyse(bi)[bi.find("bilstm2")].params.total
    assert verdict(one_way, bi, {"q": str(total // 2)})["q"][1].startswith(
        f"{total // 2:,} counts one direction of bilstm2"
    )


def test_output_messages_point_to_the_layer_and_the_fix() -> None:
    graph, ids = chain(
        (28, 28, 1),
        ("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}),
        ("MaxPooling2D", {"pool_size": 4}),
        ("Dense", {"units": 10}),
    )
    graph.rename(ids[3], "out")
    ex = exercise({"id": "out", "type": "output_shape", "shape": [10]})
    assert verdict(ex, graph)["out"] == (
        "failed",
        "out outputs (7, 7, 10), but the output should be (10,): the network still has "
        "spatial axes. Put Flatten or GlobalAveragePooling2D before the last Dense layer, "
        "so that it receives one vector per sample.",
    )
    flat, ids = chain((28, 28, 1), ("Flatten", {}), ("Dense", {"units": 12}))
    assert verdict(ex, flat)["out"][1] == "dense outputs (12,), but the output should be (10,): set units=10 on dense."
    extra = flat.add_node("Dense", {"units": 10}, name="head")
    flat.connect(ids[1], extra)
    flat.set_param(ids[2], "units", 4)
    assert verdict(ex, flat)["out"][1] == (
        "The design has 2 outputs (dense, head); the exercise wants one, of shape (10,). "
        "Nothing uses the result of dense: wire it into the rest of the network, or delete it."
    )


def test_an_unknown_layer_type_in_a_project_file_suggests_the_catalogue_name() -> None:
    doc = {
        "format": "layerlab-project",
        "version": 1,
        "nodes": [{"id": "a", "type": "DepthwiseConvolution2D"}],
        "edges": [],
    }
    with pytest.raises(ProjectError) as info:
        graph_from_dict(doc, "d.json")
    assert (
        str(info.value)
        == "d.json: node 'a': unknown layer type 'DepthwiseConvolution2D' (did you mean DepthwiseConv2D?)"
    )
