"""Undo that cannot fail: every command checks everything when it is built, so redo never raises.

Qt keeps a command whose ``redo`` raised on the undo stack, and PySide6 crashes on it later; a command
that LayerLab refuses must therefore be refused by its constructor (`EditRefused`), before the stack
sees it. One controller, `gui.editor.Editor`, is the only place that pushes commands.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.graph import Edge  # noqa: E402
from engine.layers import CATALOGUE  # noqa: E402
from engine.project import graph_to_dict  # noqa: E402
from gui.commands import (  # noqa: E402
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveNodesCommand,
    PasteCommand,
    RemoveNodesCommand,
    RenameCommand,
    SetParamCommand,
    SetTrainableCommand,
)
from gui.document import Document, EditRefused  # noqa: E402
from gui.exercise_panel import SetAnswerCommand  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def app():
    return QApplication.instance() or QApplication([])


def design(graph) -> dict:  # noqa: ANN001
    """The graph as its file would hold it, independent of the order layers were (re)inserted in."""
    doc = graph_to_dict(graph)
    return {**doc, "nodes": sorted(doc["nodes"], key=lambda n: n["id"]), "edges": sorted(doc["edges"], key=lambda e: (e["target"], e["slot"]))}


def state(doc: Document) -> dict:
    return {"graph": design(doc.graph), "answers": dict(doc.answers)}


def base() -> Document:
    doc = Document()
    editor = doc.editor
    x = editor.add_layer("Input", (0, 0), params={"shape": [8]})
    editor.add_layer("Dense", (0, 100), after=x, params={"units": 4})
    doc.undo_stack.clear()
    return doc


def _commands(doc: Document) -> dict:
    g = doc.graph
    x, d = g.find("input_layer"), g.find("dense")
    edge = g.inputs_of(d)[0]
    fragment = doc.fragment([x, d])
    return {
        "add": lambda: AddNodeCommand(g, "Conv2D", (10, 10), {"filters": 3}),
        "remove": lambda: RemoveNodesCommand(g, [d]),
        "connect": lambda: (DisconnectCommand(g, edge).redo(), ConnectCommand(g, x, d))[1],
        "disconnect": lambda: DisconnectCommand(g, edge),
        "move": lambda: MoveNodesCommand(g, {d: (50, 50)}),
        "set_param": lambda: SetParamCommand(g, d, "units", 9),
        "rename": lambda: RenameCommand(g, d, "classifier"),
        "paste": lambda: PasteCommand(g, fragment, (40, 40)),
        "answer": lambda: SetAnswerCommand(doc, "q1", "2320"),
        "freeze": lambda: SetTrainableCommand(g, [d], [], False),
    }


VERBS = ["add", "remove", "connect", "disconnect", "move", "set_param", "rename", "paste", "answer", "freeze"]


@pytest.mark.parametrize("verb", VERBS)
def test_redo_undo_redo_of_every_command_on_a_bare_document(verb: str) -> None:
    doc = base()
    command = _commands(doc)[verb]()
    before = state(doc)
    command.redo()
    after = state(doc)
    assert after != before, "the command changed nothing"
    command.undo()
    assert state(doc) == before
    command.redo()
    assert state(doc) == after


@pytest.mark.parametrize("build,message", [
    (lambda g: AddNodeCommand(g, "Conv9D", (0, 0)), "unknown layer type 'Conv9D'"),
    (lambda g: AddNodeCommand(g, "Dense", (0, 0), {"units": -1}), "Dense: units must be at least 1"),
    (lambda g: AddNodeCommand(g, "Dense", (float("nan"), 0)), "a position must be two finite numbers"),
    (lambda g: ConnectCommand(g, g.find("input_layer"), g.find("dense")), "dense (Dense) already has its input"),
    (lambda g: ConnectCommand(g, g.find("input_layer"), g.find("dense"), slot=0, output=3), "already has its input"),
    (lambda g: ConnectCommand(g, g.find("dense"), g.find("input_layer")), "Input"),
    (lambda g: ConnectCommand(g, g.find("input_layer"), "n999"), "there is no layer 'n999'"),
    (lambda g: DisconnectCommand(g, Edge(g.find("dense"), g.find("input_layer"), 0)), "there is no wire"),
    (lambda g: SetParamCommand(g, g.find("dense"), "units", "many"), "units must be a whole number"),
    (lambda g: SetParamCommand(g, g.find("dense"), "kernel_size", 3), "kernel_size is not a parameter of Dense"),
    (lambda g: RenameCommand(g, g.find("dense"), "a/b"), "a layer name must be 1 to 200 characters"),
    (lambda g: RemoveNodesCommand(g, ["n999"]), "there is no layer 'n999'"),
    (lambda g: PasteCommand(g, {"nodes": [{"id": "a", "type": "Nope"}]}, (0, 0)), "unknown layer type 'Nope'"),
    (lambda g: PasteCommand(g, {"nodes": [{"id": "a", "type": "Dense", "params": {"units": 0}}]}, (0, 0)), "units must be at least 1"),
    (lambda g: PasteCommand(g, {"nodes": [{"id": "a", "type": "Dense"}], "edges": [{"source": "a", "target": "zz"}]}, (0, 0)), '"target"'),
    (lambda g: PasteCommand(g, ["not", "a", "fragment"], (0, 0)), "the clipboard does not hold LayerLab layers"),
    (lambda g: PasteCommand(g, {"nodes": []}, (0, 0)), "the clipboard holds no layers"),
])
def test_a_refused_edit_is_refused_when_built_and_never_reaches_the_stack(build, message: str) -> None:  # noqa: ANN001
    doc = base()
    before = state(doc)
    with pytest.raises(EditRefused, match=re.escape(message)):
        doc.editor._push(lambda: build(doc.graph))
    assert state(doc) == before and doc.undo_stack.count() == 0 and not doc.modified


def test_an_answer_longer_than_a_file_allows_is_refused() -> None:
    doc = base()
    with pytest.raises(EditRefused, match="at most 100 characters"):
        doc.editor.set_answer("q1", "7" * 101)
    assert doc.answers == {} and doc.undo_stack.count() == 0


def test_paste_of_layers_without_name_params_or_slot_uses_their_defaults() -> None:
    """All three are optional in the file format; the old paste crashed on them inside redo."""
    doc = base()
    ids = doc.editor.paste({"nodes": [{"id": "a", "type": "Input"}, {"id": "b", "type": "Dense"}], "edges": [{"source": "a", "target": "b"}]}, (0, 0))
    g = doc.graph
    assert [g.node(n).name for n in ids] == ["input_layer_1", "dense_1"]
    assert g.node(ids[1]).params["units"] == 32 and [e.slot for e in g.inputs_of(ids[1])] == [0]
    doc.undo_stack.undo()
    doc.undo_stack.redo()
    assert [g.node(n).name for n in ids] == ["input_layer_1", "dense_1"]


@pytest.mark.parametrize("length", [198, 199, 200])
def test_duplicating_a_layer_with_a_200_character_name_gives_a_valid_name(length: int) -> None:
    doc = base()
    long_name = "x" * length
    doc.editor.rename(doc.graph.find("dense"), long_name)
    for _ in range(3):
        ids = doc.editor.paste(doc.fragment([doc.graph.find(long_name)]), (40, 40), "Duplicate")
        name = doc.graph.node(ids[0]).name
        assert len(name) <= 200 and name != long_name
    names = [n.name for n in doc.graph.nodes()]
    assert len(names) == len(set(names))


def test_node_params_are_read_only() -> None:
    doc = base()
    node = doc.graph.node(doc.graph.find("dense"))
    with pytest.raises(TypeError):
        node.params["units"] = 7  # type: ignore[index]
    assert doc.graph.node(node.id).params["units"] == 4


def test_only_the_editor_pushes_commands() -> None:
    pushers = {}
    for path in (ROOT / "gui").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        hits = re.findall(r"\.(?:push|beginMacro)\(", text)
        if hits:
            pushers[str(path.relative_to(ROOT))] = len(hits)
    assert set(pushers) == {"gui/editor.py"}


TYPES = sorted(CATALOGUE)
_KEEP: list[Document] = []
TEXT = st.one_of(st.text(max_size=8), st.sampled_from(["", "a/b", "x" * 201, "dense", "\ud800"]))
VALUE = st.one_of(st.integers(-3, 70), st.floats(allow_nan=True), st.booleans(), st.none(), TEXT, st.lists(st.integers(-2, 9), max_size=4))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["add", "connect", "remove", "rename", "param", "paste", "move", "undo", "redo"]), st.data()), max_size=25))
def test_random_edits_including_refused_ones_leave_a_sound_stack(steps) -> None:  # noqa: ANN001
    doc = Document()
    _KEEP.append(doc)  # PySide6 can crash collecting hundreds of unparented QObject cycles: keep them to the end
    editor, g = doc.editor, doc.graph
    for verb, data in steps:
        ids = g.node_ids()
        pick = (lambda data=data, ids=ids: data.draw(st.sampled_from(ids))) if ids else (lambda: "n999")
        try:
            if verb == "add":
                editor.add_layer(data.draw(st.sampled_from(TYPES + ["Bogus"])), (0, 0), after=data.draw(st.one_of(st.none(), st.just(pick()))))
            elif verb == "connect":
                editor.connect(pick(), pick(), data.draw(st.one_of(st.none(), st.integers(-1, 3))))
            elif verb == "remove":
                editor.remove([pick()])
            elif verb == "rename":
                editor.rename(pick(), data.draw(TEXT))
            elif verb == "param":
                node = pick()
                params = list(CATALOGUE[g.node(node).type].params) if node in g else []
                editor.set_param(node, data.draw(st.sampled_from([p.name for p in params] or ["units"])), data.draw(VALUE))
            elif verb == "paste":
                raw = data.draw(st.sampled_from([json.dumps(doc.fragment(ids)), '{"nodes": [{"id": 1}]}', '{"nodes": [{"id": "a", "type": "Dense", "name": "' + "y" * 200 + '"}]}', "[]"]))
                editor.paste(json.loads(raw), (10, 10))
            elif verb == "move":
                editor.move({pick(): (data.draw(st.floats(-1e3, 1e3)), 5.0)})
            elif verb == "undo":
                doc.undo_stack.undo()
            else:
                doc.undo_stack.redo()
        except EditRefused:
            pass
    final, index = design(g), doc.undo_stack.index()
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert design(g)["nodes"] == [] and design(g)["edges"] == []
    doc.undo_stack.setIndex(index)  # every step redone again lands on the same design
    assert design(g) == final
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()


def test_a_wire_onto_an_occupied_merge_input_is_refused_when_built() -> None:
    doc = base()
    g = doc.graph
    add = doc.editor.add_layer("Add", (0, 200), after=g.find("dense"))
    with pytest.raises(EditRefused, match=r"input 1 of add is already connected"):
        doc.editor.connect(g.find("input_layer"), add, slot=0)
    with pytest.raises(EditRefused, match=r"input_layer has no output 2"):
        doc.editor.connect(g.find("input_layer"), add, output=2)
    assert doc.undo_stack.count() == 1


def test_copying_a_later_call_of_a_shared_layer_alone_pastes_it_as_its_own_layer() -> None:
    from engine.keras_import import graph_from_keras_config
    from tests.corpus.compare import load

    doc = Document(graph_from_keras_config(load("shared_dense_tower")["config"]))
    _KEEP.append(doc)
    g = doc.graph
    second = g.find("shared_dense (call 2)")
    ids = doc.editor.paste(doc.fragment([second]), (40, 40), "Duplicate")
    pasted = g.node(ids[0])
    assert pasted.shares is None and pasted.type == "Dense" and pasted.params["units"] == 8
    together = doc.editor.paste(doc.fragment([g.find("shared_dense"), second]), (80, 80))
    assert g.node(together[1]).shares == together[0]  # copied with its layer, it still shares that layer's weights
