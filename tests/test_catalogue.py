"""The layer catalogue is complete: every spec carries every per-type fact, and nothing else lists layer types.

A new layer type is one `LayerSpec` plus its parity cases: forgetting its multiply-adds, its receptive
field, its palette family or its call convention fails here, without Keras, instead of silently
reporting 0 multiply-adds or an unchanged receptive field.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.analysis import analyse
from engine.graph import NetworkGraph
from engine.layers import CALL_CONVENTIONS, CATALOGUE, FAMILIES, FAMILY_COLOURS, KERAS_CLASSES, RECEPTIVE_KINDS
from engine.teaching import explain

ROOT = Path(__file__).resolve().parent.parent
SPECS = [s for s in CATALOGUE.values() if s.type != "Input"]


@pytest.mark.parametrize("spec", SPECS, ids=[s.type for s in SPECS])
def test_every_spec_declares_every_fact(spec) -> None:  # noqa: ANN001
    assert spec.doc and spec.family in FAMILIES
    assert spec.macs_rule is not None, "multiply-adds"
    assert spec.receptive in RECEPTIVE_KINDS, "receptive field"
    assert spec.receptive != "undefined" or spec.receptive_reason, "why the receptive field is undefined"
    assert spec.receptive not in ("window", "transpose", "upsample") or spec.window_rule is not None, "window geometry"
    assert spec.call in CALL_CONVENTIONS
    if spec.has_param("activation"):
        assert spec.activation({**spec.defaults(), "activation": "relu"}) == "relu", "output activation"
    if spec.call == "named":
        assert len(spec.input_names) == spec.max_inputs, "a name for every input slot"
    assert spec.output_labels(spec.defaults())[0] == "output"
    assert KERAS_CLASSES[("ops" if spec.family == "Operation" else "layers", spec.keras_class)] is spec, "the importer finds it"
    spec.defaults()  # a fresh layer from the palette gets valid starting values


@pytest.mark.parametrize("spec", SPECS, ids=[s.type for s in SPECS])
def test_every_spec_says_how_it_leaves_for_pytorch(spec) -> None:  # noqa: ANN001
    """A PyTorch translator, or the reason PyTorch export refuses the layer."""
    from engine.export.torch_layers import TRANSLATORS

    limits = spec.export_limits(spec.defaults()) if spec.export_limits else {}
    assert spec.torch in TRANSLATORS or "torch" in limits
    assert all(fmt in ("onnx", "litert", "saved_model", "torch") and reason.rstrip().endswith(".") for fmt, reason in limits.items())


def test_every_family_has_a_palette_group_a_colour_and_layers() -> None:
    assert set(FAMILY_COLOURS) == set(FAMILIES)
    assert {s.family for s in SPECS} == set(FAMILIES) - set()
    assert all(colour.startswith("#") and len(colour) == 7 for colour in FAMILY_COLOURS.values())


def _type_literals(path: Path) -> set[str]:
    types = set(CATALOGUE) - {"Input"}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in types}


def test_no_module_outside_the_catalogue_lists_layer_types() -> None:
    """Teaching, training, export, import, exercises and the canvas read per-type facts from the spec."""
    modules = [p for p in [*ROOT.glob("engine/**/*.py"), *ROOT.glob("gui/**/*.py")] if "layers" not in p.relative_to(ROOT).parts]
    found = {str(p.relative_to(ROOT)): _type_literals(p) for p in modules}
    assert {k: v for k, v in found.items() if v} == {}


def _chain(*layers: tuple[str, dict], shape: list[int]) -> tuple[NetworkGraph, list[str]]:
    graph = NetworkGraph()
    ids = [graph.add_node("Input", {"shape": shape})]
    for layer_type, params in layers:
        node = graph.add_node(layer_type, params)
        graph.connect(ids[-1], node)
        ids.append(node)
    return graph, ids


def test_a_3d_convolution_gets_its_multiply_adds_arithmetic_and_receptive_field_from_its_spec() -> None:
    graph, ids = _chain(("Conv3D", {"filters": 8, "kernel_size": 3}), ("MaxPooling3D", {}), ("Conv3D", {"filters": 4, "kernel_size": 3}),
                        shape=[16, 32, 32, 1])
    notes = explain(graph).notes
    # 14*30*30 positions * (3*3*3*1) * 8 filters
    assert notes[ids[1]].flops == 14 * 30 * 30 * 27 * 8
    assert notes[ids[1]].arithmetic[0] == "depth: (16 - 3 + 2*0) / 1 + 1 = 14"
    assert notes[ids[1]].receptive_field == (3, 3, 3)
    assert notes[ids[2]].receptive_field == (4, 4, 4) and notes[ids[2]].jump == (2.0, 2.0, 2.0)
    assert notes[ids[3]].receptive_field == (8, 8, 8)


def test_attention_and_recurrent_layers_count_their_multiply_adds() -> None:
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [10, 32]})
    mha = graph.add_node("MultiHeadAttention", {"num_heads": 2, "key_dim": 16})
    graph.connect(x, mha, 0)
    graph.connect(x, mha, 1)
    notes = explain(graph).notes
    projections = 3 * 10 * 32 * 2 * 16
    assert notes[mha].flops == projections + 2 * 10 * 10 * (16 + 16) + 10 * 2 * 16 * 32
    assert "undefined through attention" in notes[mha].rf_reason


def test_training_reads_the_output_activation_from_the_spec() -> None:
    from engine.training import _output_info

    for layer_type, params, expected in [
        ("Dense", {"units": 10, "activation": "softmax"}, "softmax"),
        ("SeparableConv1D", {"filters": 3, "kernel_size": 3, "activation": "sigmoid"}, "sigmoid"),
        ("Softmax", {}, "softmax"),
        ("TimeDistributed", {"layer": {"type": "Dense", "params": {"units": 4, "activation": "softmax"}}}, "softmax"),
        ("Dense", {"units": 10}, None),
    ]:
        graph, _ = _chain((layer_type, params), shape=[8, 6] if layer_type != "Dense" else [6])
        assert _output_info(graph, analyse(graph))[1] == expected, layer_type
