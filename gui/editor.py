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
    BlocksCommand,
    ConnectCommand,
    DisconnectCommand,
    GroupCommand,
    MoveNodesCommand,
    PasteCommand,
    RemoveNodesCommand,
    RenameCommand,
    SetParamCommand,
    SetTrainableCommand,
    UngroupCommand,
    UpdateGroupCommand,
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
        add = AddNodeCommand(graph, layer_type, position, params, group=self._group_after(after))
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
        add = AddNodeCommand(graph, layer_type, position, group=self._group_after(edge.source, edge.target))
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
        add = AddNodeCommand(graph, layer_type, position, group=self._group_after(node_id))
        builds: list[Callable[[], QUndoCommand]] = [lambda: add, lambda: ConnectCommand(graph, node_id, add.node_id)]
        for e in outgoing:
            builds.append(lambda e=e: DisconnectCommand(graph, e))
            builds.append(lambda e=e: ConnectCommand(graph, add.node_id, e.target, e.slot))
        self._macro(f"Insert {add.layer_type} after {graph.node(node_id).name}", builds)
        return add.node_id

    def _group_after(self, source: str | None, target: str | None = None) -> str | None:
        """The block or nested model a layer placed after ``source`` (and before ``target``) belongs to: the
        innermost group holding both, so that a nested model stays one piece that Keras can call."""
        graph = self.document.graph
        if source is None or source not in graph:
            return None
        around = graph.group_ancestors(graph.node(source).group)
        if target is not None and target in graph:
            inside_target = set(graph.group_ancestors(graph.node(target).group))
            around = [g for g in around if g in inside_target]
        for i, g in enumerate(around):
            # A collapsed block would hide the new layer: it goes to the first group around that is drawn open.
            if graph.groups[g].kind == "model" or not any(graph.groups[h].collapsed for h in around[i:]):
                return g
        return None

    def remove(self, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> None:
        self._push(lambda: RemoveNodesCommand(self.document.graph, node_ids, edges))

    def move(self, new: Mapping[str, tuple[float, float]], text: str = "") -> None:
        """Move layers to ``new`` positions as one step (a whole drag, or an auto-layout)."""
        self._push(lambda: MoveNodesCommand(self.document.graph, new, text))

    def set_param(self, node_id: str, name: str, value: Any, merge: bool = False) -> None:
        """Set one parameter; ``merge`` for a spin box's consecutive steps (one undo step for all of them)."""
        self._push(lambda: SetParamCommand(self.document.graph, node_id, name, value, merge))

    def set_trainable(self, node_ids: Iterable[str] = (), trainable: bool = False, groups: Iterable[str] = ()) -> None:
        """Freeze (``trainable=False``) or unfreeze layers, blocks (all their layers) and nested models, as one step."""
        self._push(lambda: SetTrainableCommand(self.document.graph, list(node_ids), list(groups), trainable))

    def rename(self, node_id: str, name: str) -> None:
        self._push(lambda: RenameCommand(self.document.graph, node_id, name))

    def paste(self, fragment: Mapping[str, Any], offset: tuple[float, float], text: str = "Paste") -> list[str]:
        command = self._push(lambda: PasteCommand(self.document.graph, fragment, offset, text))
        assert isinstance(command, PasteCommand)
        return command.node_ids

    # -- blocks -----------------------------------------------------------------------------------

    def group(self, node_ids: Iterable[str], name: str = "", groups: Iterable[str] = ()) -> str:
        """Make a block of the layers and blocks (Ctrl+G); returns its group id."""
        graph = self.document.graph
        taken = {g.name for g in graph.groups.values()}
        name = name or next(f"block{i}" for i in range(1, len(taken) + 2) if f"block{i}" not in taken)
        command = self._push(lambda: GroupCommand(graph, node_ids, name, groups))
        assert isinstance(command, GroupCommand)
        return command.group_id

    def ungroup(self, group_id: str) -> None:
        self._push(lambda: UngroupCommand(self.document.graph, group_id))

    def rename_group(self, group_id: str, name: str) -> None:
        self._push(lambda: UpdateGroupCommand(self.document.graph, group_id, name=name))

    def set_collapsed(self, group_id: str, collapsed: bool) -> dict[str, Any]:
        """Collapse a block to one box, or expand it, and lay the design out again around it: one step.
        Returns the layout (its routes are for the canvas)."""
        from engine.layout import auto_layout

        graph = self.document.graph
        layout: dict[str, Any] = {}

        def relayout() -> QUndoCommand:
            result = auto_layout(graph)
            layout["layout"] = result
            return MoveNodesCommand(graph, result.positions, "Lay out")

        self._macro(("Collapse " if collapsed else "Expand ") + graph.groups[group_id].name if group_id in graph.groups else "Collapse",
                    (lambda: UpdateGroupCommand(graph, group_id, collapsed=collapsed), relayout))
        return layout

    def group_by_prefixes(self, collapse_outer: bool = True) -> int:
        """Blocks from Keras's name prefixes (conv2_block1_*, block_3_*, mixed5), as one step; returns how many."""
        command = self._push(lambda: BlocksCommand(self.document.graph, collapse_outer))
        assert isinstance(command, BlocksCommand)
        return len(command.plans)

    def repeat_block(self, group_id: str, copies: int) -> list[str]:
        """Chain ``copies`` copies of a block after it (a ResNet stage from one residual block), as one step:
        each copy takes the previous one's output, and what used the block's output now uses the last copy's.
        Returns the new blocks' group ids."""
        graph = self.document.graph
        group = graph.groups.get(group_id)
        if group is None:
            raise EditRefused(f"there is no block {group_id!r}")
        if not 1 <= copies <= 100:
            raise EditRefused("repeat a block 1 to 100 times")
        members = graph.group_members(group_id)
        inner = set(members)
        entering = list(dict.fromkeys((e.source, e.output) for n in members for e in graph.inputs_of(n) if e.source not in inner))
        exits = list(dict.fromkeys(n for n in members for e in graph.outputs_of(n) if e.target not in inner)) or \
            [n for n in members if not graph.outputs_of(n)]
        if len(entering) != 1 or len(exits) != 1:
            raise EditRefused(f"{group.name} must take one tensor in and give one out to be repeated "
                              f"(it takes {len(entering)} and gives {len(exits)})")
        entry_edges = [e for n in members for e in graph.inputs_of(n) if e.source not in inner]
        consumers = [e for e in graph.outputs_of(exits[0]) if e.target not in inner]
        fragment = self.document.fragment(members)
        ys = [graph.node(n).position[1] for n in members]
        step = max(ys) - min(ys) + 78 + 120
        builds: list[Callable[[], QUndoCommand]] = [lambda e=e: DisconnectCommand(graph, e) for e in consumers]
        pastes: list[PasteCommand] = []
        new_groups: list[str] = []
        for k in range(1, copies + 1):
            def paste(k: int = k) -> QUndoCommand:
                command = PasteCommand(graph, fragment, (0.0, step * k), f"Copy {k} of {group.name}")
                pastes.append(command)
                return command

            def wire_in(k: int = k) -> QUndoCommand:
                previous = exits[0] if k == 1 else pastes[k - 2].mapping[exits[0]]
                first = entry_edges[0]
                return ConnectCommand(graph, previous, pastes[k - 1].mapping[first.target], first.slot)

            def regroup(k: int = k) -> QUndoCommand:
                command = GroupCommand(graph, list(pastes[k - 1].mapping.values()), graph.unique_block_name(f"{group.name}_{k + 1}"))
                new_groups.append(command.group_id)
                return command

            builds += [paste, wire_in, regroup]
            # The other wires into the block from the same tensor (a skip connection's shortcut) follow too.
            for extra in entry_edges[1:]:
                builds.append(lambda k=k, extra=extra: ConnectCommand(
                    graph, exits[0] if k == 1 else pastes[k - 2].mapping[exits[0]], pastes[k - 1].mapping[extra.target], extra.slot))
        for e in consumers:
            builds.append(lambda e=e: ConnectCommand(graph, pastes[-1].mapping[exits[0]], e.target, e.slot))
        self._macro(f"Repeat {group.name} {copies} time(s)", builds)
        return new_groups

    def set_answer(self, question: str, value: str) -> None:
        from gui.exercise_panel import SetAnswerCommand

        self._push(lambda: SetAnswerCommand(self.document, question, value))
