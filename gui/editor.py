"""The editing controller: the one place that turns a user's edit into an undo command and pushes it.

Like orange-canvas-core's ``SchemeEditWidget``, it stands between the views (canvas, inspector, exercise
panel, menus) and the document. A command checks everything when it is built; a refused edit raises
`EditRefused` with a message for the user before anything reaches the undo stack, so the stack only ever
holds commands whose ``redo`` cannot fail. No other module pushes commands (checked by a test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.graph import Edge, GraphError
from engine.layers import ParamError
from gui.commands import (
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveNodesCommand,
    PasteCommand,
    RemoveNodesCommand,
    RenameCommand,
    SetParamCommand,
)
from gui.document import Document, EditRefused

__all__ = ["Editor", "EditRefused"]


class Editor:
    """Edits of a document, each one undoable step (or one macro of several). A plain object, not a QObject:
    it owns nothing Qt must delete."""

    def __init__(self, document: Document) -> None:
        self.document = document

    def set_document(self, document: Document) -> None:
        self.document = document

    # -- the one push ---------------------------------------------------------------------------

    def _push(self, build: Callable[[], QUndoCommand]) -> QUndoCommand:
        try:
            command = build()
        except (ParamError, GraphError) as exc:  # a check the command delegated to the model
            raise EditRefused(str(exc)) from None
        self.document.undo_stack.push(command)
        return command

    def _macro(self, text: str, builds: Sequence[Callable[[], QUndoCommand]]) -> list[QUndoCommand]:
        """Several commands as one undo step. If a later one is refused, the step is undone at once, so the
        design is as before the edit (the step is left only on the redo side, where the next edit drops it)."""
        stack = self.document.undo_stack
        stack.beginMacro(text)
        done: list[QUndoCommand] = []
        try:
            for build in builds:
                done.append(self._push(build))
        finally:
            stack.endMacro()
            if len(done) < len(builds) and done:
                stack.undo()
        return done

    # -- verbs ----------------------------------------------------------------------------------

    def add_layer(self, layer_type: str, position: tuple[float, float], after: str | None = None,
                  params: Mapping[str, Any] | None = None) -> str:
        """Add a layer; with ``after``, wire that layer's output into it, as one step. Returns the new id."""
        graph = self.document.graph
        if after is not None and after not in graph:
            raise EditRefused(f"there is no layer {after!r} to add after")
        add = AddNodeCommand(graph, layer_type, position, params)
        if after is None or add.layer_type == "Input":
            self._push(lambda: add)
        else:
            self._macro(f"Add {add.layer_type} after {graph.node(after).name}",
                        (lambda: add, lambda: ConnectCommand(graph, after, add.node_id)))
        return add.node_id

    def connect(self, source: str, target: str, slot: int | None = None, output: int = 0) -> None:
        self._push(lambda: ConnectCommand(self.document.graph, source, target, slot, output))

    def disconnect(self, edge: Edge) -> None:
        self._push(lambda: DisconnectCommand(self.document.graph, edge))

    def disconnect_all(self, node_id: str) -> None:
        """Remove every wire into and out of a layer, as one step."""
        graph = self.document.graph
        if node_id not in graph:
            raise EditRefused(f"there is no layer {node_id!r}")
        edges = graph.inputs_of(node_id) + graph.outputs_of(node_id)
        if not edges:
            raise EditRefused(f"{graph.node(node_id).name} has no wires")
        self._macro(f"Disconnect {graph.node(node_id).name}", [lambda e=e: DisconnectCommand(graph, e) for e in edges])

    def replace_wire(self, old: Edge, source: str) -> None:
        """Wire ``source`` into the slot ``old`` occupies (a wire dropped on a taken input), as one step."""
        graph = self.document.graph
        if source == old.source:
            raise EditRefused("that wire is already there")
        self._macro(f"Replace the wire into {graph.node(old.target).name}",
                    (lambda: DisconnectCommand(graph, old), lambda: ConnectCommand(graph, source, old.target, old.slot)))

    def insert_on_wire(self, edge: Edge, layer_type: str, position: tuple[float, float]) -> str:
        """Put a new layer on a wire (source -> new -> target, the target's slot kept), as one step."""
        graph = self.document.graph
        add = AddNodeCommand(graph, layer_type, position)
        self._macro(f"Insert {add.layer_type}", (
            lambda: DisconnectCommand(graph, edge),
            lambda: add,
            lambda: ConnectCommand(graph, edge.source, add.node_id, None, edge.output),
            lambda: ConnectCommand(graph, add.node_id, edge.target, edge.slot),
        ))
        return add.node_id

    def insert_after(self, node_id: str, layer_type: str, position: tuple[float, float]) -> str:
        """A new layer after ``node_id`` that takes over its outgoing wires (node -> new -> former targets)."""
        graph = self.document.graph
        if node_id not in graph:
            raise EditRefused(f"there is no layer {node_id!r}")
        outgoing = [e for e in graph.outputs_of(node_id) if e.output == 0]
        add = AddNodeCommand(graph, layer_type, position)
        builds: list[Callable[[], QUndoCommand]] = [lambda: add, lambda: ConnectCommand(graph, node_id, add.node_id)]
        for e in outgoing:
            builds.append(lambda e=e: DisconnectCommand(graph, e))
            builds.append(lambda e=e: ConnectCommand(graph, add.node_id, e.target, e.slot))
        self._macro(f"Insert {add.layer_type} after {graph.node(node_id).name}", builds)
        return add.node_id

    def remove(self, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> None:
        self._push(lambda: RemoveNodesCommand(self.document.graph, node_ids, edges))

    def move(self, new: Mapping[str, tuple[float, float]], text: str = "") -> None:
        """Move layers to ``new`` positions as one step (a whole drag, or an auto-layout)."""
        self._push(lambda: MoveNodesCommand(self.document.graph, new, text))

    def set_param(self, node_id: str, name: str, value: Any, merge: bool = False) -> None:
        """Set one parameter; ``merge`` for a spin box's consecutive steps (one undo step for all of them)."""
        self._push(lambda: SetParamCommand(self.document.graph, node_id, name, value, merge))

    def rename(self, node_id: str, name: str) -> None:
        self._push(lambda: RenameCommand(self.document.graph, node_id, name))

    def paste(self, fragment: Mapping[str, Any], offset: tuple[float, float], text: str = "Paste") -> list[str]:
        command = self._push(lambda: PasteCommand(self.document.graph, fragment, offset, text))
        assert isinstance(command, PasteCommand)
        return command.node_ids

    def set_answer(self, question: str, value: str) -> None:
        from gui.exercise_panel import SetAnswerCommand

        self._push(lambda: SetAnswerCommand(self.document, question, value))
