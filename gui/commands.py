"""One QUndoCommand per verb. Commands touch only the model (`NetworkGraph`); views follow its events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.graph import Edge, GraphError, NetworkGraph, validate_name

__all__ = [
    "AddNodeCommand",
    "RemoveNodesCommand",
    "ConnectCommand",
    "DisconnectCommand",
    "MoveNodesCommand",
    "SetParamCommand",
    "RenameCommand",
    "PasteCommand",
]

_MERGE_PARAM = 1001


class AddNodeCommand(QUndoCommand):
    def __init__(self, graph: NetworkGraph, layer_type: str, position: tuple[float, float], params: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"Add {layer_type}")
        self.graph, self.layer_type, self.position, self.params = graph, layer_type, position, dict(params or {})
        self.node_id: str | None = None
        self.name: str | None = None

    def redo(self) -> None:
        self.node_id = self.graph.add_node(self.layer_type, self.params, name=self.name, position=self.position, node_id=self.node_id)
        self.name = self.graph.node(self.node_id).name

    def undo(self) -> None:
        assert self.node_id is not None
        self.graph.remove_node(self.node_id)


class _Snapshot:
    """Nodes and the wires touching them, enough to put them back exactly (same ids, names, slots)."""

    def __init__(self, graph: NetworkGraph, node_ids: Iterable[str]) -> None:
        ids = [n for n in graph.node_ids() if n in set(node_ids)]  # keep insertion order
        self.nodes = [graph.node(n) for n in ids]
        edges: dict[tuple[str, str, int], Edge] = {}
        for n in ids:
            for e in graph.inputs_of(n) + graph.outputs_of(n):
                edges[(e.source, e.target, e.slot)] = e
        self.edges = list(edges.values())

    def restore(self, graph: NetworkGraph) -> None:
        for node in self.nodes:
            graph.add_node(node.type, node.params, name=node.name, position=node.position, node_id=node.id)
        for e in self.edges:
            graph.connect(e.source, e.target, e.slot)


class RemoveNodesCommand(QUndoCommand):
    def __init__(self, graph: NetworkGraph, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> None:
        self.graph = graph
        self.snapshot = _Snapshot(graph, node_ids)
        node_set = {n.id for n in self.snapshot.nodes}
        self.loose_edges = [e for e in edges if e.source not in node_set and e.target not in node_set]
        count = len(self.snapshot.nodes) + len(self.loose_edges)
        what = self.snapshot.nodes[0].name if len(self.snapshot.nodes) == 1 and not self.loose_edges else f"{count} items"
        super().__init__(f"Delete {what}")

    def redo(self) -> None:
        for e in self.loose_edges:
            self.graph.disconnect(e.source, e.target, e.slot)
        for node in self.snapshot.nodes:
            self.graph.remove_node(node.id)

    def undo(self) -> None:
        self.snapshot.restore(self.graph)
        for e in self.loose_edges:
            self.graph.connect(e.source, e.target, e.slot)


class ConnectCommand(QUndoCommand):
    def __init__(self, graph: NetworkGraph, source: str, target: str, slot: int | None = None) -> None:
        reason = graph.check_connection(source, target)
        if reason is not None:
            raise GraphError(reason)
        super().__init__(f"Connect {graph.node(source).name} to {graph.node(target).name}")
        self.graph, self.source, self.target, self.slot = graph, source, target, slot

    def redo(self) -> None:
        self.slot = self.graph.connect(self.source, self.target, self.slot)

    def undo(self) -> None:
        assert self.slot is not None
        self.graph.disconnect(self.source, self.target, self.slot)


class DisconnectCommand(QUndoCommand):
    def __init__(self, graph: NetworkGraph, edge: Edge) -> None:
        super().__init__(f"Disconnect {graph.node(edge.source).name} from {graph.node(edge.target).name}")
        self.graph, self.edge = graph, edge

    def redo(self) -> None:
        self.graph.disconnect(self.edge.source, self.edge.target, self.edge.slot)

    def undo(self) -> None:
        self.graph.connect(self.edge.source, self.edge.target, self.edge.slot)


class MoveNodesCommand(QUndoCommand):
    """A whole drag (or an auto-layout) as one step."""

    def __init__(self, graph: NetworkGraph, old: Mapping[str, tuple[float, float]], new: Mapping[str, tuple[float, float]], text: str = "") -> None:
        super().__init__(text or (f"Move {graph.node(next(iter(new))).name}" if len(new) == 1 else f"Move {len(new)} layers"))
        self.graph, self.old, self.new = graph, dict(old), dict(new)

    def redo(self) -> None:
        for node_id, pos in self.new.items():
            self.graph.move(node_id, pos)

    def undo(self) -> None:
        for node_id, pos in self.old.items():
            self.graph.move(node_id, pos)


class SetParamCommand(QUndoCommand):
    """Change one parameter. Consecutive edits of the same field of the same layer merge into one step."""

    def __init__(self, graph: NetworkGraph, node_id: str, name: str, value: Any) -> None:
        node = graph.node(node_id)
        super().__init__(f"Set {node.name}.{name}")
        self.graph, self.node_id, self.name = graph, node_id, name
        self.old = node.params[name]
        self.new = value
        # Validate now so an invalid value never reaches the undo stack (raises ParamError).
        self.new = node.spec.coerce_params({**node.params, name: value})[name]

    def id(self) -> int:
        return _MERGE_PARAM

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or (other.node_id, other.name) != (self.node_id, self.name):
            return False
        self.new = other.new
        return True

    def redo(self) -> None:
        self.graph.set_params(self.node_id, {self.name: self.new})

    def undo(self) -> None:
        self.graph.set_params(self.node_id, {self.name: self.old})


class RenameCommand(QUndoCommand):
    def __init__(self, graph: NetworkGraph, node_id: str, name: str) -> None:
        old = graph.node(node_id).name
        validate_name(name)  # refuse before the command reaches the undo stack
        super().__init__(f"Rename {old} to {name}")
        self.graph, self.node_id, self.old, self.new = graph, node_id, old, name

    def redo(self) -> None:
        self.graph.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.rename(self.node_id, self.old)


class PasteCommand(QUndoCommand):
    """Add a fragment (nodes with fresh ids and unique names, and the wires among them)."""

    def __init__(self, graph: NetworkGraph, fragment: Mapping[str, Any], offset: tuple[float, float], text: str = "Paste") -> None:
        super().__init__(text)
        self.graph, self.fragment, self.offset = graph, fragment, offset
        self.created: list[tuple[str, str]] = []  # (new id, name) so redo recreates the same ids

    def redo(self) -> None:
        mapping: dict[str, str] = {}
        reuse = dict(zip((n["id"] for n in self.fragment["nodes"]), self.created)) if self.created else {}
        self.created = []
        for node in self.fragment["nodes"]:
            x, y = node.get("position", (0, 0))
            previous = reuse.get(node["id"])
            name = previous[1] if previous else self.graph.unique_name(node["name"])
            new_id = self.graph.add_node(
                node["type"], node["params"], name=name, position=(x + self.offset[0], y + self.offset[1]),
                node_id=previous[0] if previous else None,
            )
            mapping[node["id"]] = new_id
            self.created.append((new_id, name))
        for edge in self.fragment["edges"]:
            self.graph.connect(mapping[edge["source"]], mapping[edge["target"]], edge["slot"])

    def undo(self) -> None:
        for new_id, _ in reversed(self.created):
            self.graph.remove_node(new_id)

    @property
    def node_ids(self) -> list[str]:
        return [n for n, _ in self.created]
