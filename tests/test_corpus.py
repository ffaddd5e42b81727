"""Real Keras models, imported without TensorFlow: every layer's shapes and counts equal what Keras built.

The corpus (tests/corpus/models) holds every ``keras.applications`` constructor and architectures written
the way Keras's code examples write them, each with the numbers Keras gave when it built the model
(``python -m tests.corpus.make_corpus`` regenerates it). This test needs no Keras, so it runs everywhere.
"""

from __future__ import annotations

import pytest

from engine.analysis import analyse
from engine.keras_import import graph_from_keras_config
from tests.corpus.compare import load, mismatches, names

CORPUS = names()
APPLICATIONS = [n for n in CORPUS if n[0].isupper()]


def test_the_corpus_holds_every_application_and_the_example_architectures() -> None:
    assert len(APPLICATIONS) == 40
    assert len(CORPUS) - len(APPLICATIONS) >= 13


@pytest.mark.parametrize("name", CORPUS)
def test_model_imports_exactly(name: str) -> None:
    graph, problems = mismatches(name)
    assert problems == [], "\n".join(problems[:10])
    assert graph is not None and analyse(graph).is_valid


def test_mobilenet_v3_hard_sigmoid_is_an_operation_with_its_number_not_a_merge_layer() -> None:
    graph = graph_from_keras_config(load("MobileNetV3Small")["config"])
    add = graph.node(graph.find("add"))
    assert add.type == "ops.add" and add.params["operand"] == 3.0  # x + 3.0: the scalar is kept
    multiply = graph.node(graph.find("multiply"))
    assert multiply.type == "ops.multiply" and multiply.params["operand"] == pytest.approx(1 / 6)
    assert analyse(graph).total_params == 2_554_968


def test_seq2seq_states_travel_on_edges_that_know_their_output() -> None:
    graph = graph_from_keras_config(load("lstm_seq2seq")["config"])
    encoder, decoder = graph.find("lstm"), graph.find("lstm_1")
    into_decoder = {(e.source, e.output, e.slot) for e in graph.inputs_of(decoder)}
    assert {(encoder, 1, 1), (encoder, 2, 2)} <= into_decoder  # state_h -> initial_state[0], state_c -> initial_state[1]
    assert graph.node(encoder).spec.output_labels(graph.node(encoder).params) == ("output", "state_h", "state_c")


def test_a_nested_model_called_twice_is_one_set_of_weights() -> None:
    graph = graph_from_keras_config(load("siamese_network")["config"])
    groups = list(graph.groups.values())
    assert [g.name for g in groups] == ["embedding", "embedding"]
    assert groups[1].shares == groups[0].id
    second_call = [n for n in graph.nodes() if n.group == groups[1].id and n.type == "Conv2D"]
    assert second_call and all(n.shares is not None for n in second_call)
    assert analyse(graph).total_params == load("siamese_network")["total"]  # 13,589: the tower counted once


def test_masking_keeps_the_mask_operations_and_wires_the_mask() -> None:
    graph = graph_from_keras_config(load("masked_lstm")["config"])
    lstm = graph.find("lstm")
    masks = [e for e in graph.inputs_of(lstm) if e.is_mask]
    assert [graph.node(e.source).type for e in masks] == ["ops.any"]
    assert analyse(graph)[masks[0].source].output.dtype == "bool"
