"""One QUndoCommand per verb. Commands touch only the model (`NetworkGraph`); views follow its events.

Every command checks everything when it is built and raises `EditRefused` (with a message for the user)
for an edit the model would refuse, so that ``redo`` cannot fail: Qt keeps a command whose ``redo`` raised
on the undo stack (and PySide6 later crashes on it). Only `gui.editor.Editor` builds and pushes them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.graph import MASK_SLOT, Edge, NetworkGraph, Node, default_name, validate_name
from engine.layers import ParamError, UnknownLayerError, get_spec
from engine.project import ProjectError, graph_from_dict
from gui.document import EditRefused

__all__ = [
    "AddNodeCommand",
    "RemoveNodesCommand",
    "ConnectCommand",
    "DisconnectCommand",
    "MoveNodesCommand",
    "SetParamCommand",
    "RenameCommand",
    "PasteCommand",
    "GroupCommand",
    "BlocksCommand",
    "UngroupCommand",
    "UpdateGroupCommand",
    "SetTrainableCommand",
]

_MERGE_PARAM = 1001


def _require_node(graph: NetworkGraph, node_id: object) -> Node:
    if not isinstance(node_id, str) or node_id not in graph:
        raise EditRefused(f"there is no layer {node_id!r}")
    return graph.node(node_id)


def _position(value: Any) -> tuple[float, float]:
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError):
        raise EditRefused(f"a position must be two numbers, got {str(value)[:40]}") from None
    if not (math.isfinite(x) and math.isfinite(y)) or abs(x) > 1e9 or abs(y) > 1e9:
        raise EditRefused("a position must be two finite numbers")
    return x, y


class AddNodeCommand(QUndoCommand):
    """Add one layer; ``group`` puts it in a block or nested model (a layer inserted among a model's layers joins it)."""

    def __init__(
        self, graph: NetworkGraph, layer_type: str, position: tuple[float, float], params: Mapping[str, Any] | None = None, name: str | None = None,
        group: str | None = None,
    ) -> None:
        try:
            spec = get_spec(layer_type)
            canonical = spec.coerce_params(params or {})
            name = graph.unique_name(default_name(layer_type)) if name is None else validate_name(name)
        except (UnknownLayerError, ParamError) as exc:
            raise EditRefused(f"{layer_type}: {exc}" if not isinstance(exc, UnknownLayerError) else str(exc)) from None
        if group is not None and group not in graph.groups:
            raise EditRefused(f"there is no block or model {group!r}")
        if group is not None and spec.type == "Input" and graph.model_group(group) is not None:
            group = None  # a nested model takes its inputs from wires, never from an Input of its own
        super().__init__(f"Add {spec.type}")
        self.graph, self.layer_type, self.params, self.name, self.group = graph, spec.type, canonical, name, group
        self.position = _position(position)
        self.node_id = graph.fresh_id()
        #: When the layer got its name, fixed on the first redo so that every redo restores the same design.
        self.name_order: int | None = None

    def redo(self) -> None:
        self.graph.add_node(self.layer_type, self.params, name=self.name, position=self.position, node_id=self.node_id, group=self.group,
                            name_order=self.name_order)
        self.name_order = self.graph.node(self.node_id).name_order

    def undo(self) -> None:
        self.graph.remove_node(self.node_id)


class _Snapshot:
    """Nodes and the wires touching them, enough to put them back exactly: ids, names and when they were given,
    places in the node order (which orders the model's inputs and outputs), slots, outputs, groups, sharing.

    Deleting the layer whose weights later calls use hands the weights to the first remaining call (the
    others then share that one), as deleting the first tower of a siamese network leaves the second working;
    undo gives them back."""

    def __init__(self, graph: NetworkGraph, node_ids: Iterable[str]) -> None:
        wanted = set(node_ids)
        self.nodes = [(i, graph.node(n)) for i, n in enumerate(graph.node_ids()) if n in wanted]
        edges: dict[tuple[str, str, int], Edge] = {}
        for _, node in self.nodes:
            for e in graph.inputs_of(node.id) + graph.outputs_of(node.id):
                edges[(e.source, e.target, e.slot)] = e
        self.edges = list(edges.values())
        calls: dict[str, list[str]] = {}
        for node in graph.nodes():
            if node.shares in wanted and node.id not in wanted:
                calls.setdefault(node.shares, []).append(node.id)
        #: (deleted owner, the call that takes over its weights, the other calls that now share that one's)
        self.handovers = [(owner, kept[0], kept[1:]) for owner, kept in calls.items()]

    @property
    def node_ids(self) -> list[str]:
        return [node.id for _, node in self.nodes]

    def remove(self, graph: NetworkGraph, loose_edges: Iterable[Edge] = ()) -> None:
        for _, heir, others in self.handovers:
            graph.set_shares(heir, None)
            for n in others:
                graph.set_shares(n, heir)
        for e in loose_edges:
            graph.disconnect(e.source, e.target, e.slot)
        for _, node in reversed(self.nodes):
            graph.remove_node(node.id)

    def restore(self, graph: NetworkGraph) -> None:
        for index, node in self.nodes:
            graph.add_node(node.type, node.params, name=node.name, position=node.position, node_id=node.id,
                           group=node.group if node.group in graph.groups else None, index=index, name_order=node.name_order,
                           trainable=node.trainable)
        for _, node in self.nodes:
            if node.shares is not None and node.shares in graph:
                graph.set_shares(node.id, node.shares)
        for owner, heir, others in self.handovers:
            for n in (heir, *others):
                graph.set_shares(n, owner)
        for e in self.edges:
            graph.connect(e.source, e.target, e.slot, e.output)


def _require_edges(graph: NetworkGraph, edges: Iterable[Edge]) -> list[Edge]:
    out = []
    for e in edges:
        if not graph.nx_graph.has_edge(e.source, e.target, e.slot):
            raise EditRefused(f"there is no wire into input {e.slot + 1} of {e.target!r}")
        out.append(Edge(e.source, e.target, e.slot, graph.nx_graph.edges[e.source, e.target, e.slot].get("output", 0)))
    return out


class RemoveNodesCommand(QUndoCommand):
    def __init__(self, graph: NetworkGraph, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> None:
        node_ids = list(dict.fromkeys(node_ids))
        for n in node_ids:
            _require_node(graph, n)
        self.graph = graph
        self.snapshot = _Snapshot(graph, node_ids)
        node_set = set(self.snapshot.node_ids)
        self.loose_edges = [e for e in _require_edges(graph, edges) if e.source not in node_set and e.target not in node_set]
        if not self.snapshot.nodes and not self.loose_edges:
            raise EditRefused("nothing is selected")
        count = len(self.snapshot.nodes) + len(self.loose_edges)
        what = self.snapshot.nodes[0][1].name if len(self.snapshot.nodes) == 1 and not self.loose_edges else f"{count} items"
        super().__init__(f"Delete {what}")

    def redo(self) -> None:
        self.snapshot.remove(self.graph, self.loose_edges)

    def undo(self) -> None:
        self.snapshot.restore(self.graph)
        for e in self.loose_edges:
            self.graph.connect(e.source, e.target, e.slot, e.output)


class ConnectCommand(QUndoCommand):
    def __init__(self, graph: NetworkGraph, source: str, target: str, slot: int | None = None, output: int = 0) -> None:
        _require_node(graph, source)
        _require_node(graph, target)
        reason = graph.check_connection(source, target)
        if reason is not None:
            raise EditRefused(reason)
        used = {k for _, _, k in graph.nx_graph.in_edges(target, keys=True)}
        if slot is None:
            slot = graph.free_slot(target)
        elif not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot < MASK_SLOT + 64:
            raise EditRefused(f"input slot must be a whole number from 0, got {slot!r}")
        elif slot in used:
            raise EditRefused(f"input {slot + 1} of {graph.node(target).name} is already connected")
        labels = graph.node(source).spec.output_labels(graph.params_of(source))
        if not isinstance(output, int) or isinstance(output, bool) or not 0 <= output < len(labels):
            raise EditRefused(f"{graph.node(source).name} has no output {output!r}")
        super().__init__(f"Connect {graph.node(source).name} to {graph.node(target).name}")
        self.graph, self.source, self.target, self.slot, self.output = graph, source, target, slot, output

    def redo(self) -> None:
        self.graph.connect(self.source, self.target, self.slot, self.output)

    def undo(self) -> None:
        self.graph.disconnect(self.source, self.target, self.slot)


class DisconnectCommand(QUndoCommand):
    def __init__(self, graph: NetworkGraph, edge: Edge) -> None:
        (self.edge,) = _require_edges(graph, [edge])
        super().__init__(f"Disconnect {graph.node(edge.source).name} from {graph.node(edge.target).name}")
        self.graph = graph

    def redo(self) -> None:
        self.graph.disconnect(self.edge.source, self.edge.target, self.edge.slot)

    def undo(self) -> None:
        self.graph.connect(self.edge.source, self.edge.target, self.edge.slot, self.edge.output)


class MoveNodesCommand(QUndoCommand):
    """A whole drag (or an auto-layout) as one step."""

    def __init__(self, graph: NetworkGraph, new: Mapping[str, tuple[float, float]], text: str = "") -> None:
        if not new:
            raise EditRefused("nothing to move")
        # Where the layers are in the model now (the canvas moves its items before the drag is committed).
        self.old = {n: _require_node(graph, n).position for n in new}
        self.new = {n: _position(p) for n, p in new.items()}
        super().__init__(text or (f"Move {graph.node(next(iter(new))).name}" if len(new) == 1 else f"Move {len(new)} layers"))
        self.graph = graph

    def redo(self) -> None:
        for node_id, pos in self.new.items():
            self.graph.move(node_id, pos)

    def undo(self) -> None:
        for node_id, pos in self.old.items():
            self.graph.move(node_id, pos)


class SetParamCommand(QUndoCommand):
    """Change one parameter. With ``merge``, consecutive steps of one spin box (3 -> 4 -> 5) are one undo
    step; a choice (padding same -> valid -> same) is always its own step, so every state can be restored."""

    def __init__(self, graph: NetworkGraph, node_id: str, name: str, value: Any, merge: bool = False) -> None:
        node = _require_node(graph, node_id)
        if not node.spec.has_param(name):
            raise EditRefused(f"{name} is not a parameter of {node.type}")
        try:  # validate now so an invalid value never reaches the undo stack
            new = node.spec.coerce_params({**node.params, name: value})[name]
        except ParamError as exc:
            raise EditRefused(str(exc)) from None
        super().__init__(f"Set {node.name}.{name}")
        self.graph, self.node_id, self.name = graph, node_id, name
        self.old, self.new = node.params[name], new
        self.merge = merge

    def id(self) -> int:
        return _MERGE_PARAM if self.merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or not (self.merge and other.merge) or (other.node_id, other.name) != (self.node_id, self.name):
            return False
        self.new = other.new
        return True

    def redo(self) -> None:
        self.graph.set_params(self.node_id, {self.name: self.new})

    def undo(self) -> None:
        self.graph.set_params(self.node_id, {self.name: self.old})


class RenameCommand(QUndoCommand):
    def __init__(self, graph: NetworkGraph, node_id: str, name: str) -> None:
        node = _require_node(graph, node_id)
        old, self.old_order = node.name, node.name_order
        try:
            validate_name(name)  # refuse before the command reaches the undo stack
        except ParamError as exc:
            raise EditRefused(str(exc)) from None
        super().__init__(f"Rename {old} to {name}")
        self.graph, self.node_id, self.old, self.new = graph, node_id, old, name
        self.new_order: int | None = None

    def redo(self) -> None:
        self.graph.rename(self.node_id, self.new, name_order=self.new_order)
        self.new_order = self.graph.node(self.node_id).name_order  # every redo names it at the same moment

    def undo(self) -> None:
        self.graph.rename(self.node_id, self.old, name_order=self.old_order)


class PasteCommand(QUndoCommand):
    """Add a fragment (nodes with fresh ids and unique names, and the wires among them).

    The fragment is untrusted (clipboard text): it is read with the project loader's checks, where a
    layer's ``name`` and ``params`` and a wire's ``slot`` are optional, and every new id and name is fixed
    here, so that redo only replays a checked plan.
    """

    def __init__(self, graph: NetworkGraph, fragment: Mapping[str, Any], offset: tuple[float, float], text: str = "Paste") -> None:
        if not isinstance(fragment, Mapping):
            raise EditRefused("the clipboard does not hold LayerLab layers")
        doc = {"format": "layerlab-project", "version": 2, **{k: v for k, v in fragment.items() if k in ("nodes", "edges", "groups")}}
        nodes = doc.get("nodes")
        if isinstance(nodes, list):  # a copied later call of a shared layer, without the layer: paste it as its own layer
            ids = {n.get("id") for n in nodes if isinstance(n, dict)}
            doc["nodes"] = [{k: v for k, v in n.items() if k != "shares"} if isinstance(n, dict) and n.get("shares") not in ids else n for n in nodes]
        try:
            source, _ = graph_from_dict(doc, "the clipboard", fill_required=True)
        except ProjectError as exc:
            raise EditRefused(exc.detail) from None
        if not len(source):
            raise EditRefused("the clipboard holds no layers")
        dx, dy = _position(offset)
        taken = {n.name for n in graph.nodes()}
        ids = graph.fresh_ids(len(source))
        mapping = dict(zip(source.node_ids(), ids))
        self.nodes: list[tuple[str, str, dict[str, Any], str, tuple[float, float], str | None, bool]] = []
        for node in sorted(source.nodes(), key=lambda n: n.shares is not None):
            name = node.name if node.shares is None else default_name(node.type)
            unique = graph.unique_name(name, also_taken=taken)
            taken.add(unique)
            shares = mapping.get(node.shares) if node.shares is not None else None
            position = _position((node.position[0] + dx, node.position[1] + dy))
            self.nodes.append((mapping[node.id], node.type, dict(source.params_of(node.id)), unique, position, shares, node.trainable))
        self.edges = [(mapping[e.source], mapping[e.target], e.slot, e.output) for e in source.edges()]
        #: Fragment id -> new id (Repeat Block wires the copies through it).
        self.mapping = mapping
        self.name_orders: dict[str, int] = {}
        super().__init__(text)
        self.graph = graph

    def redo(self) -> None:
        for node_id, layer_type, params, name, position, shares, trainable in self.nodes:
            self.graph.add_node(layer_type, params, name=name, position=position, node_id=node_id, shares=shares,
                                name_order=self.name_orders.get(node_id), trainable=trainable)
            self.name_orders[node_id] = self.graph.node(node_id).name_order
        for source, target, slot, output in self.edges:
            self.graph.connect(source, target, slot, output)

    def undo(self) -> None:
        for node_id, *_ in reversed(self.nodes):
            self.graph.remove_node(node_id)

    @property
    def node_ids(self) -> list[str]:
        return [n[0] for n in self.nodes]


class GroupCommand(QUndoCommand):
    """Make a block of layers and blocks that sit in one group (or in none): the block goes inside that group."""

    def __init__(self, graph: NetworkGraph, node_ids: Iterable[str], name: str, groups: Iterable[str] = ()) -> None:
        ids = list(dict.fromkeys(node_ids))
        blocks = list(dict.fromkeys(groups))
        if not ids and not blocks:
            raise EditRefused("select the layers to group first")
        nodes = [_require_node(graph, n) for n in ids]
        for g in blocks:
            if g not in graph.groups:
                raise EditRefused(f"there is no block {g!r}")
        parents = {n.group for n in nodes} | {graph.groups[g].parent for g in blocks}
        if len(parents) != 1:
            raise EditRefused("the selected layers lie in different blocks or models: select layers of one block")
        try:
            validate_name(name)
        except ParamError as exc:
            raise EditRefused(str(exc)) from None
        super().__init__(f"Group {len(ids) + len(blocks)} item(s) as {name}")
        self.graph, self.node_ids, self.blocks, self.name = graph, ids, blocks, name
        self.parent = parents.pop()
        self.group_id = next(f"b{i}" for i in range(1, len(graph.groups) + 2) if f"b{i}" not in graph.groups)

    def redo(self) -> None:
        self.graph.add_group(self.name, kind="block", parent=self.parent, group_id=self.group_id)
        for n in self.node_ids:
            self.graph.set_group(n, self.group_id)
        for g in self.blocks:
            self.graph.update_group(g, parent=self.group_id)

    def undo(self) -> None:
        for g in self.blocks:
            self.graph.update_group(g, parent=self.parent)
        for n in self.node_ids:
            self.graph.set_group(n, self.parent)
        self.graph.remove_group(self.group_id)


class BlocksCommand(QUndoCommand):
    """Blocks from Keras's layer-name prefixes (`engine.blocks`), the outer ones collapsed if asked."""

    def __init__(self, graph: NetworkGraph, collapse_outer: bool = True) -> None:
        from engine.blocks import prefix_blocks

        self.plans = prefix_blocks(graph)
        if not self.plans:
            raise EditRefused("no layer names share a block prefix such as conv2_block1_, block_3_ or mixed5")
        super().__init__(f"Group {len(self.plans)} blocks by name")
        self.graph, self.collapse_outer = graph, collapse_outer
        self.before = {n: graph.node(n).group for plan in self.plans for n in plan.members}
        free = (f"b{i}" for i in itertools.count(1) if f"b{i}" not in graph.groups)
        self.group_ids = [next(free) for _ in self.plans]

    def redo(self) -> None:
        from engine.blocks import apply_blocks

        apply_blocks(self.graph, self.plans, self.collapse_outer, self.group_ids)

    def undo(self) -> None:
        for n, group in self.before.items():
            self.graph.set_group(n, group)
        for gid in reversed(self.group_ids):
            self.graph.remove_group(gid)


class UngroupCommand(QUndoCommand):
    """Dissolve a block: its layers and blocks go to the group around it."""

    def __init__(self, graph: NetworkGraph, group_id: str) -> None:
        group = graph.groups.get(group_id)
        if group is None:
            raise EditRefused(f"there is no block {group_id!r}")
        if group.kind != "block":
            raise EditRefused(f"{group.name} is a nested Keras model, not a block: it stays (its layers are one model in the export)")
        super().__init__(f"Ungroup {group.name}")
        self.graph, self.group, self.index = graph, group, graph.group_index(group_id)
        self.members = [n for n in graph.node_ids() if graph.node(n).group == group_id]
        self.children = [g for g in graph.groups.values() if g.parent == group_id]

    def redo(self) -> None:
        for n in self.members:
            self.graph.set_group(n, self.group.parent)
        for child in self.children:
            self.graph.update_group(child.id, parent=self.group.parent)
        self.graph.remove_group(self.group.id)

    def undo(self) -> None:
        g = self.group
        self.graph.add_group(g.name, kind=g.kind, parent=g.parent, shares=g.shares, group_id=g.id, index=self.index)
        if g.collapsed:
            self.graph.update_group(g.id, collapsed=True)
        for child in self.children:
            self.graph.update_group(child.id, parent=g.id)
        for n in self.members:
            self.graph.set_group(n, g.id)


class UpdateGroupCommand(QUndoCommand):
    """Rename a block, or collapse or expand it."""

    def __init__(self, graph: NetworkGraph, group_id: str, **changes: Any) -> None:
        group = graph.groups.get(group_id)
        if group is None:
            raise EditRefused(f"there is no block {group_id!r}")
        if set(changes) - {"name", "collapsed"}:
            raise EditRefused(f"a block's {', '.join(sorted(set(changes) - {'name', 'collapsed'}))} cannot be set")
        if "name" in changes:
            try:
                validate_name(changes["name"])
            except ParamError as exc:
                raise EditRefused(str(exc)) from None
        if "collapsed" in changes and not isinstance(changes["collapsed"], bool):
            raise EditRefused("collapsed must be true or false")
        verb = "Rename" if "name" in changes else ("Collapse" if changes.get("collapsed") else "Expand")
        super().__init__(f"{verb} {group.name}")
        self.graph, self.group_id = graph, group_id
        self.new = changes
        self.old = {k: getattr(group, k) for k in changes}

    def redo(self) -> None:
        self.graph.update_group(self.group_id, **self.new)

    def undo(self) -> None:
        self.graph.update_group(self.group_id, **self.old)


class SetTrainableCommand(QUndoCommand):
    """Freeze or unfreeze, as one step: layers (a block's: all its layers) and nested models (with the other calls of
    the same model). A frozen layer's weights are all non-trainable, as with Keras's ``trainable=False``."""

    def __init__(self, graph: NetworkGraph, node_ids: Iterable[str], group_ids: Iterable[str], trainable: bool) -> None:
        if not isinstance(trainable, bool):
            raise EditRefused("trainable must be true or false")
        nodes: dict[str, bool] = {}
        models: dict[str, bool] = {}
        for n in node_ids:
            node = _require_node(graph, n)
            key = node.shares if node.shares in graph else n  # one layer called twice is one layer
            nodes[key] = graph.node(key).trainable
        for gid in group_ids:
            group = graph.groups.get(gid)
            if group is None:
                raise EditRefused(f"there is no block or model {gid!r}")
            if group.kind == "block":
                for n in graph.group_members(gid):
                    key = graph.node(n).shares if graph.node(n).shares in graph else n
                    nodes[key] = graph.node(key).trainable
                continue
            first = group.shares if group.shares in graph.groups else gid
            for other, g in graph.groups.items():  # every call of the nested model
                if other == first or g.shares == first:
                    models[other] = g.trainable
        self.nodes = {n: old for n, old in nodes.items() if old != trainable and graph.node(n).type != "Input"}
        self.models = {g: old for g, old in models.items() if old != trainable}
        if not self.nodes and not self.models:
            raise EditRefused(f"nothing to {'unfreeze' if trainable else 'freeze'}: it is already {'trainable' if trainable else 'frozen'}")
        names = [graph.node(n).name for n in self.nodes] + [graph.groups[g].name for g in self.models]
        verb = "Unfreeze" if trainable else "Freeze"
        super().__init__(f"{verb} {names[0]}" if len(names) == 1 else f"{verb} {len(names)} items")
        self.graph, self.trainable = graph, trainable

    def redo(self) -> None:
        for n in self.nodes:
            self.graph.set_trainable(n, self.trainable)
        for g in self.models:
            self.graph.update_group(g, trainable=self.trainable)

    def undo(self) -> None:
        for n, old in self.nodes.items():
            self.graph.set_trainable(n, old)
        for g, old in self.models.items():
            self.graph.update_group(g, trainable=old)
