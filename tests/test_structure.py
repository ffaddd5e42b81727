"""Blocks, shared layers and nested models, edited for real: the structural invariant, files that always reopen,
undo that restores exactly (sharing and input order included), export that never fails on a design the
analysis accepts, and layout without a recursion limit (issue 17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.analysis import analyse  # noqa: E402
from engine.codegen import CodegenError, generate_code  # noqa: E402
from engine.graph import NetworkGraph  # noqa: E402
from engine.keras_import import graph_from_keras_config  # noqa: E402
from engine.layout import auto_layout  # noqa: E402
from engine.project import ProjectError, StructureError, graph_from_dict, graph_to_dict, load_project, save_project  # noqa: E402
from engine.structure import MAX_GROUP_DEPTH, check_structure  # noqa: E402
from gui.document import Document  # noqa: E402
from tests.conftest import chain  # noqa: E402
from tests.corpus.compare import load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_KEEP: list = []  # documents live to the end of the module: PySide6 can crash collecting QUndoStack cycles


@pytest.fixture(scope="module", autouse=True)
def app():
    return QApplication.instance() or QApplication([])


def corpus_document(name: str) -> Document:
    doc = Document(graph_from_keras_config(load(name)["config"]))
    _KEEP.append(doc)
    return doc


def text(graph: NetworkGraph) -> str:
    return json.dumps(graph_to_dict(graph), indent=1)


def reopened(graph: NetworkGraph, tmp_path: Path) -> NetworkGraph:
    save_project(graph, tmp_path / "design.json")
    again, _ = load_project(tmp_path / "design.json")
    return again


def sound(graph: NetworkGraph) -> None:
    assert check_structure(graph) == []


# -- files that always reopen ------------------------------------------------------------------------------


def test_a_block_grouped_together_with_another_block_saves_a_file_that_reopens(tmp_path: Path) -> None:
    graph, ids = chain((8,), ("Dense", {"units": 4}), ("Dense", {"units": 4}), ("Dense", {"units": 2}))
    doc = Document(graph)
    _KEEP.append(doc)
    inner = doc.editor.group(ids[1:3], "inner")
    outer = doc.editor.group([ids[3]], "outer", groups=[inner])  # the new block is added after the block inside it
    assert graph.groups[inner].parent == outer
    again = reopened(graph, tmp_path)
    assert again.groups[inner].parent == outer and text(again) == text(graph)


def test_ungroup_then_undo_saves_a_file_that_reopens(tmp_path: Path) -> None:
    graph, ids = chain((8,), ("Dense", {"units": 4}), ("Dense", {"units": 4}), ("Dense", {"units": 2}))
    doc = Document(graph)
    _KEEP.append(doc)
    inner = doc.editor.group(ids[1:3], "inner")
    outer = doc.editor.group([ids[3]], "outer", groups=[inner])
    before = text(graph)
    doc.editor.ungroup(outer)
    doc.undo_stack.undo()
    assert text(graph) == before  # the block is back where it was among the groups
    assert text(reopened(graph, tmp_path)) == before


def test_a_file_listing_a_block_before_its_parent_still_opens() -> None:
    """Files saved by LayerLab 2.0 after the defect above: the work in them is not lost."""
    doc = {"format": "layerlab-project", "version": 2,
           "groups": [{"id": "b1", "name": "inner", "kind": "block", "parent": "b2"}, {"id": "b2", "name": "outer", "kind": "block", "parent": None}],
           "nodes": [{"id": "n1", "type": "Input", "name": "x", "params": {"shape": [4]}},
                     {"id": "n2", "type": "Dense", "name": "d", "params": {"units": 2}, "group": "b1"}],
           "edges": [{"source": "n1", "target": "n2", "slot": 0}]}
    graph, _ = graph_from_dict(doc)
    assert graph.groups["b1"].parent == "b2"
    assert [g["id"] for g in graph_to_dict(graph)["groups"]] == ["b2", "b1"]  # written parents first from now on


def test_deleting_the_layer_a_later_call_shares_hands_its_weights_over(tmp_path: Path) -> None:
    doc = corpus_document("shared_dense_tower")
    graph = doc.graph
    owners = [n for n in graph.node_ids() if any(m.shares == n for m in graph.nodes())]
    owner = owners[0]
    calls = [m.id for m in graph.nodes() if m.shares == owner]
    weights = analyse(graph)[owner].params.total
    doc.editor.remove([owner])
    sound(graph)
    assert graph.node(calls[0]).shares is None and all(graph.node(c).shares == calls[0] for c in calls[1:])
    assert analyse(graph)[calls[0]].params.total == weights  # the same weights, now counted on the next call
    again = reopened(graph, tmp_path)  # the file reopens: no layer shares a deleted one
    assert text(again) == text(graph)


def test_delete_the_owner_then_its_later_call_and_undo_twice_restores_the_sharing() -> None:
    doc = corpus_document("siamese_network")
    graph = doc.graph
    before, count = text(graph), analyse(graph).total_params
    assert count == 13_589
    owner = graph.find("conv2d")
    sharer = next(n.id for n in graph.nodes() if n.shares == owner)
    doc.editor.remove([owner])
    doc.editor.remove([sharer])
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert graph.node(sharer).shares == owner
    assert analyse(graph).total_params == count
    assert text(graph) == before and doc.undo_stack.isClean()


def test_deleting_an_input_and_undoing_keeps_the_models_input_order() -> None:
    doc = corpus_document("lstm_seq2seq")
    graph = doc.graph
    before = analyse(graph)
    names = [graph.node(n).name for n in before.input_nodes]
    source = generate_code(graph, formatted=False)
    doc.editor.remove([before.input_nodes[0]])
    doc.undo_stack.undo()
    assert [graph.node(n).name for n in analyse(graph).input_nodes] == names
    assert generate_code(graph, formatted=False) == source


def test_a_duplicate_name_error_stays_on_the_renamed_layer_after_save_and_reopen(tmp_path: Path) -> None:
    graph, ids = chain((8,), ("Dense", {"units": 4}), ("Dense", {"units": 2}))
    doc = Document(graph)
    _KEEP.append(doc)
    first = graph.node(ids[1]).name
    doc.editor.rename(ids[1], "tmp")
    doc.editor.rename(ids[2], first)  # the later layer takes the name ...
    doc.editor.rename(ids[1], first)  # ... and then the earlier one takes it back: the earlier one is at fault
    blamed = [d.node for d in analyse(graph).errors if d.code == "duplicate-name"]
    assert blamed == [ids[1]]
    again = reopened(graph, tmp_path)
    assert [d.node for d in analyse(again).errors if d.code == "duplicate-name"] == blamed


@pytest.mark.parametrize("name", ["siamese_network", "shared_dense_tower", "lstm_seq2seq", "ConvNeXtTiny"])
def test_save_load_save_is_byte_identical(name: str, tmp_path: Path) -> None:
    graph = graph_from_keras_config(load(name)["config"])
    save_project(graph, tmp_path / "a.json")
    again, _ = load_project(tmp_path / "a.json")
    save_project(again, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


# -- the invariant: a damaged design is never written, a damaged file is named -----------------------------


@pytest.mark.parametrize("damage,where", [
    (lambda d: d["nodes"][2].update(shares="n99"), "n99"),
    (lambda d: d["nodes"][2].update(shares="n1"), "Input"),
    (lambda d: d["nodes"][2].update(shares="n2") or d["nodes"][2]["params"].update(units=3), "other settings"),
    (lambda d: d.update(groups=[{"id": "g1", "name": "a", "parent": "g2"}, {"id": "g2", "name": "b", "parent": "g1"}]), "loop"),
    (lambda d: d.update(groups=[{"id": "g1", "name": "a", "kind": "block", "shares": "g9"}]), "g9"),
    (lambda d: d["edges"][0].update(output=70), "output"),
])
def test_a_file_that_breaks_the_invariant_is_refused_in_one_line_naming_what(damage, where: str) -> None:  # noqa: ANN001
    graph, _ = chain((8,), ("Dense", {"units": 4}), ("Dense", {"units": 4}))
    doc = graph_to_dict(graph)
    doc["version"] = 2
    damage(doc)
    with pytest.raises(ProjectError) as info:
        graph_from_dict(doc, "hostile.json")
    assert "\n" not in str(info.value) and where in str(info.value) and str(info.value).startswith("hostile.json: ")


def _nested(depth: int, kind: str) -> dict:
    groups = [{"id": f"g{i}", "name": f"m{i}", "kind": kind, "parent": f"g{i - 1}" if i > 1 else None, "collapsed": kind == "block"}
              for i in range(1, depth + 1)]
    nodes = [{"id": "n0", "type": "Input", "name": "x", "params": {"shape": [4]}}]
    nodes += [{"id": f"n{i}", "type": "Dense", "name": f"d{i}", "params": {"units": 4}, "group": f"g{i}"} for i in range(1, depth + 1)]
    edges = [{"source": f"n{i - 1}", "target": f"n{i}", "slot": 0} for i in range(1, depth + 1)]
    return {"format": "layerlab-project", "version": 2, "groups": groups, "nodes": nodes, "edges": edges}


def test_nested_models_deeper_than_keras_allows_are_refused_by_name() -> None:
    with pytest.raises(ProjectError, match="nested models are 33 deep"):
        graph_from_dict(_nested(500, "model"))


def test_blocks_nested_too_deep_are_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(_nested(2 * MAX_GROUP_DEPTH, "block")))
    start = time.perf_counter()
    with pytest.raises(ProjectError, match="nested 1,001 deep"):
        load_project(path)
    assert time.perf_counter() - start < 10  # refused, not worked through (the benchmark holds the 2 s target)


def test_an_invalid_design_is_never_written_and_the_last_good_file_stays(tmp_path: Path) -> None:
    graph, ids = chain((8,), ("Dense", {"units": 4}))
    path = tmp_path / "design.json"
    save_project(graph, path)
    good = path.read_bytes()
    graph.nx_graph.nodes[ids[1]]["shares"] = "n404"  # damage no command can do
    with pytest.raises(StructureError, match="n404"):
        save_project(graph, path)
    assert path.read_bytes() == good


# -- export and the analysis agree -------------------------------------------------------------------------


def test_a_layer_inserted_after_a_layer_of_a_nested_model_joins_the_model_and_exports() -> None:
    doc = corpus_document("siamese_network")
    graph = doc.graph
    inside = graph.find("average_pooling2d")
    model = graph.node(inside).group
    added = doc.editor.insert_after(inside, "Dropout", (0.0, 0.0))
    assert graph.model_group(graph.node(added).group) == model
    analysis = analyse(graph)
    # The second call of the model now lacks the new layer: said on the layer, and export refuses in one line.
    assert [d.code for d in analysis.errors] == ["second-call-differs"]
    with pytest.raises(CodegenError, match="second call"):
        generate_code(graph, formatted=False)


def test_a_layer_outside_a_nested_model_between_two_of_its_layers_is_an_error_not_a_crash() -> None:
    doc = corpus_document("image_classification_from_scratch")
    graph = doc.graph
    model = next(g for g, group in graph.groups.items() if group.kind == "model")
    first, second = graph.group_members(model)[:2]  # random_flip -> random_rotation, inside the augmentation model
    outside = doc.editor.add_layer("Activation", (0.0, 0.0))
    doc.editor.disconnect(graph.inputs_of(second)[0])
    doc.editor.connect(first, outside)
    doc.editor.connect(outside, second)
    assert graph.node(outside).group is None
    errors = analyse(graph).errors
    assert any(d.code == "nested-model-loop" and d.node == outside for d in errors)
    with pytest.raises(CodegenError):
        generate_code(graph, formatted=False)


def test_an_input_inside_a_nested_model_is_an_error_on_that_input() -> None:
    doc = corpus_document("image_classification_from_scratch")
    graph = doc.graph
    model = next(g for g, group in graph.groups.items() if group.kind == "model")
    graph.add_node("Input", {"shape": [4]}, name="stray", group=model)
    errors = analyse(graph).errors
    assert [d.code for d in errors if d.node == graph.find("stray")] == ["input-in-model"]
    with pytest.raises(CodegenError):
        generate_code(graph, formatted=False)


def test_a_nested_model_named_like_a_layer_around_it_is_a_duplicate_name_not_a_keras_error() -> None:
    doc = corpus_document("siamese_network")
    graph = doc.graph
    model = next(g for g, group in graph.groups.items() if group.kind == "model" and group.shares is None)
    doc.editor.rename_group(model, "left")  # the name of an Input of the outer model
    assert [(d.code, d.node) for d in analyse(graph).errors] == [("duplicate-name", graph.find("left"))]
    with pytest.raises(CodegenError, match="same name"):
        generate_code(graph, formatted=False)


def test_convnext_opens_in_the_editor_with_its_blocks(tmp_path: Path) -> None:
    path = tmp_path / "ConvNeXtTiny.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(load("ConvNeXtTiny")["config"]))
    doc = Document.open(str(path))
    _KEEP.append(doc)
    assert any(g.kind == "block" for g in doc.graph.groups.values())
    sound(doc.graph)
    result = subprocess.run([sys.executable, "main.py", "summary", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr


# -- layout without a recursion limit ----------------------------------------------------------------------


def _at_depth(depth: int, run):  # noqa: ANN001, ANN202
    return run() if depth == 0 else _at_depth(depth - 1, run)


def test_a_chain_of_1000_layers_lays_out_under_a_deep_call_stack() -> None:
    graph, ids = chain((8,), *[("Dense", {"units": 8})] * 1000)
    layout = _at_depth(sys.getrecursionlimit() - 200, lambda: auto_layout(graph))  # the editor's own frames above it
    ys = [layout.positions[n][1] for n in ids]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)  # one column, top to bottom


def test_a_branching_design_of_1000_layers_lays_out_under_a_deep_call_stack() -> None:
    graph, ids = chain((8,), *[("Dense", {"units": 8})] * 600)
    for a, b in zip(ids[1:-1:2], ids[3::2]):  # skip connections: not a plain chain, so grandalf lays it out
        merge = graph.add_node("Add")
        graph.connect(a, merge)
        graph.connect(b, merge)
    layout = _at_depth(sys.getrecursionlimit() - 200, lambda: auto_layout(graph))
    assert set(layout.positions) == set(graph.node_ids())


# -- export never fails on a design the analysis accepts ---------------------------------------------------


@pytest.mark.keras
@pytest.mark.parametrize("design", ["corpus:siamese_network", "corpus:lstm_seq2seq", "example:densenet_block.json"])
def test_random_valid_designs_export_and_build_in_keras_with_equal_counts(design: str) -> None:
    import math

    from tests.soak import valid_designs

    built = 0
    for graph in valid_designs(design, seed=3, steps=120, every=6):
        analysis = analyse(graph)
        namespace: dict = {}
        exec(compile(generate_code(graph, formatted=False), "exported.py", "exec"), namespace)  # noqa: S102 - our own export
        model = namespace["build_model"]()
        trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
        assert (model.count_params(), trainable) == (analysis.total_params, analysis.trainable_params)
        built += 1
    assert built >= 3
