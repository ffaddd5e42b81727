"""The network model: layers and wires over a `networkx.MultiDiGraph`.

Nodes have stable string ids (``"n1"``, ``"n2"`` ...) that never change while the node exists and are
kept in project files. An edge ``(source, target, slot)`` feeds output ``output`` of the source (0
unless the layer has several, like an LSTM with ``return_state``) into input ``slot`` of the target;
the slot orders the inputs of Concatenate and Subtract and names those of MultiHeadAttention. Slots
from `MASK_SLOT` up carry a Keras mask (``layer(x, mask=m)``). A target slot holds at most one wire;
one source may feed many targets, or several slots of one target (``Multiply()([x, x])``).

A node may *share* the weights of another node of the same type (``shares``): one Keras layer
called twice, as in a siamese network. A node may belong to a *group* (a nested model, later a
block): groups have ids, names and a parent group, and a group may share the weights of another
group (one nested model called twice).

The model knows nothing of views. Views subscribe with `NetworkGraph.subscribe` and mirror the
events they receive. Every mutation bumps a revision counter that the incremental analysis uses.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import networkx as nx

from engine.layers import LayerSpec, ParamError, get_spec

__all__ = ["NetworkGraph", "GraphError", "Node", "Edge", "Group", "GraphEvent", "MASK_SLOT", "default_name", "validate_name", "is_valid_text"]

#: Input slots from this one up carry a Keras mask rather than data.
MASK_SLOT = 1000


def _move_last_to(table: dict[Any, Any], index: int) -> None:
    """Move a dict's last entry to position ``index``, in place (the dict object stays the same)."""
    items = list(table.items())
    last = items.pop()
    items.insert(max(index, 0), last)
    table.clear()
    table.update(items)


class GraphError(ValueError):
    """An edit that the model refuses (unknown node, occupied slot, duplicate id)."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    slot: int
    #: Which output of the source the wire carries.
    output: int = 0

    @property
    def is_mask(self) -> bool:
        return self.slot >= MASK_SLOT


@dataclass(frozen=True)
class Group:
    """A named set of layers: a nested Keras model (``kind="model"``) or a block."""

    id: str
    name: str
    kind: str = "model"
    parent: str | None = None
    #: The group whose weights this one reuses (the same nested model called again).
    shares: str | None = None
    #: A block drawn as one box (its layers hidden) on the canvas; saved with the design.
    collapsed: bool = False
    #: False for a frozen nested model (Keras's ``model.trainable = False``): every weight inside is non-trainable.
    trainable: bool = True


@dataclass(frozen=True)
class Node:
    """A read-only view of one layer in the graph (``params`` is a read-only mapping)."""

    id: str
    type: str
    name: str
    params: Mapping[str, Any]
    position: tuple[float, float]
    #: The node whose weights this one uses (one layer called several times), or None.
    shares: str | None = None
    #: The group (nested model or block) this node belongs to, or None.
    group: str | None = None
    #: When the node got its name (larger: later); of two layers with one name, the later one is at fault.
    name_order: int = 0
    #: False for a frozen layer (Keras's ``trainable=False``); a layer inside a frozen nested model is frozen too (`NetworkGraph.is_frozen`).
    trainable: bool = True

    @property
    def spec(self) -> LayerSpec:
        return get_spec(self.type)


@dataclass(frozen=True)
class GraphEvent:
    """What changed. ``kind`` is one of node_added, node_removed, edge_added, edge_removed,
    params_changed, renamed, moved, groups_changed (blocks made, removed, collapsed or renamed), reset."""

    kind: str
    node: str | None = None
    edge: Edge | None = None


def default_name(layer_type: str) -> str:
    """Keras's automatic name for a layer type: ``Conv2D`` -> ``conv2d``, ``BatchNormalization`` ->
    ``batch_normalization``."""
    if layer_type == "Input":
        return "input_layer"
    if layer_type.startswith("ops."):
        return layer_type[4:]
    # keras.src.utils.naming.to_snake_case
    name = re.sub(r"\W+", "", layer_type)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def is_valid_text(text: str) -> bool:
    """False for text holding lone surrogates (half an emoji): it cannot be saved as UTF-8 or exported."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: Control characters (code points below 32), which no layer name may hold.
_CONTROL = re.compile("[\x00-\x1f]")


def validate_name(name: object) -> str:
    """Return ``name`` if Keras accepts it as a layer name, else raise `ParamError`."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or "/" in name or _CONTROL.search(name):
        raise ParamError("a layer name must be 1 to 200 characters, without '/' or control characters")
    if not is_valid_text(name):
        raise ParamError("a layer name must be valid Unicode text (it holds half of a character, a lone surrogate)")
    return name


class NetworkGraph:
    """A neural network as a DAG of layers (the graph may hold cycles while a user edits; the
    analysis reports them).

    Examples
    --------
    >>> g = NetworkGraph()
    >>> x = g.add_node("Input", {"shape": [28, 28, 1]})
    >>> y = g.add_node("Flatten")
    >>> g.connect(x, y)
    0
    """

    def __init__(self) -> None:
        self._g = nx.MultiDiGraph()
        self._ids = itertools.count(1)
        #: When each name was given: of two layers with one name, the one named later is the one at fault.
        self._naming = itertools.count()
        self._listeners: list[Callable[[GraphEvent], None]] = []
        #: Groups by id (nested models, blocks).
        self.groups: dict[str, Group] = {}
        #: How many layers carry each name, so that a fresh unique name costs O(1), not a scan of every layer.
        self._names: dict[str, int] = {}
        #: The next suffix to try for a base name (``dense`` -> ``dense_7``).
        self._next_suffix: dict[str, int] = {}
        #: Bumped when groups are added, changed or removed (the derived group facts below are recomputed then).
        self._groups_version = 0
        self._group_facts: tuple[Any, ...] | None = None
        #: Bumped when nodes or edges are added or removed.
        self.structure_rev = 0
        #: Bumped on every change.
        self.rev = 0

    # -- reading --------------------------------------------------------------------------------

    @property
    def nx_graph(self) -> nx.MultiDiGraph:
        """The underlying graph. Read it; mutate only through `NetworkGraph` methods."""
        return self._g

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._g

    def node_ids(self) -> list[str]:
        return list(self._g.nodes)

    def node(self, node_id: str) -> Node:
        data = self._data(node_id)
        # Read-only: parameters change through set_params, never through a Node.
        return Node(node_id, data["type"], data["name"], MappingProxyType(data["params"]), data["position"], data.get("shares"),
                    data.get("group"), data["named"], data["trainable"])

    def nodes(self) -> Iterator[Node]:
        for node_id in self._g.nodes:
            yield self.node(node_id)

    def node_index(self, node_id: str) -> int:
        """Where a node stands in the node order (inputs and outputs of the model follow it)."""
        self._data(node_id)
        for i, n in enumerate(self._g._node):
            if n == node_id:
                return i
        raise AssertionError("unreachable")

    def node_rev(self, node_id: str) -> int:
        return self._g.nodes[node_id]["rev"]

    def edges(self) -> list[Edge]:
        return [Edge(u, v, k, d.get("output", 0)) for u, v, k, d in self._g.edges(keys=True, data=True)]

    def inputs_of(self, node_id: str) -> list[Edge]:
        """Incoming wires ordered by slot."""
        return sorted((Edge(u, v, k, d.get("output", 0)) for u, v, k, d in self._g.in_edges(node_id, keys=True, data=True)), key=lambda e: e.slot)

    def outputs_of(self, node_id: str) -> list[Edge]:
        return [Edge(u, v, k, d.get("output", 0)) for u, v, k, d in self._g.out_edges(node_id, keys=True, data=True)]

    def params_of(self, node_id: str) -> Mapping[str, Any]:
        """The parameters a node computes with: its own, or those of the node whose weights it shares."""
        data = self._data(node_id)
        owner = data.get("shares")
        if owner is not None and owner in self._g:
            return self._g.nodes[owner]["params"]
        return data["params"]

    def add_group(self, name: str, *, kind: str = "model", parent: str | None = None, shares: str | None = None, group_id: str | None = None,
                  index: int | None = None) -> str:
        """Add a group and return its id; ``index`` puts it at that place in `groups` (undo restores a group where it was)."""
        validate_name(name)
        for ref in (parent, shares):
            if ref is not None and ref not in self.groups:
                raise GraphError(f"there is no group with id {ref!r}")
        if group_id is None:
            group_id = next(f"g{i}" for i in itertools.count(len(self.groups) + 1) if f"g{i}" not in self.groups)
        elif group_id in self.groups:
            raise GraphError(f"group id {group_id!r} is already used")
        self.groups[group_id] = Group(group_id, name, kind, parent, shares)
        self._groups_version += 1
        if index is not None and index < len(self.groups) - 1:
            _move_last_to(self.groups, index)
        self._emit(GraphEvent("groups_changed"), structural=False)
        return group_id

    def group_index(self, group_id: str) -> int:
        """Where a group stands in `groups` (its place in the saved file)."""
        return list(self.groups).index(group_id)

    def set_group(self, node_id: str, group_id: str | None) -> None:
        """Put a layer in a group (or in none)."""
        data = self._data(node_id)
        if group_id is not None and group_id not in self.groups:
            raise GraphError(f"there is no group with id {group_id!r}")
        if data.get("group") != group_id:
            data["group"] = group_id
            self._emit(GraphEvent("groups_changed", node_id), structural=False)

    def update_group(self, group_id: str, **changes: Any) -> None:
        """Change a group's ``name``, ``parent``, ``collapsed`` or ``trainable`` (a nested model's)."""
        group = self.groups.get(group_id)
        if group is None:
            raise GraphError(f"there is no group with id {group_id!r}")
        if "name" in changes:
            validate_name(changes["name"])
        parent = changes.get("parent", group.parent)
        if "parent" in changes and parent is not None and (parent not in self.groups or group_id in self.group_ancestors(parent)):
            raise GraphError(f"group {group_id!r} cannot be inside {parent!r} (itself, or a group inside it)")
        self.groups[group_id] = replace(group, **changes)
        self._groups_version += 1
        self._emit(GraphEvent("groups_changed"), structural=False)

    def remove_group(self, group_id: str) -> None:
        """Remove an empty group (no layers, no groups inside)."""
        if group_id not in self.groups:
            raise GraphError(f"there is no group with id {group_id!r}")
        if any(g.parent == group_id for g in self.groups.values()) or any(d.get("group") == group_id for _, d in self._g.nodes(data=True)):
            raise GraphError(f"group {group_id!r} is not empty")
        del self.groups[group_id]
        self._groups_version += 1
        self._emit(GraphEvent("groups_changed"), structural=False)

    def unique_block_name(self, name: str) -> str:
        """``name``, or ``name_2``, ``name_3``... if a group already has it."""
        taken = {g.name for g in self.groups.values()}
        if name not in taken:
            return name
        return next(f"{name}_{i}" for i in itertools.count(2) if f"{name}_{i}" not in taken)

    def _facts(self) -> tuple[dict[str, str | None], dict[str, str | None], dict[str | None, list[str]], dict[str, str | None]]:
        """For every group: its innermost nested model, its outermost collapsed group, each group's children, and the
        outermost frozen nested model around it.
        One pass over the groups, parents first, redone only after groups change: asking for the model or the
        collapsed box of every layer costs O(1) each, however deeply blocks nest."""
        key = (id(self.groups), self._groups_version, len(self.groups))
        if self._group_facts is None or self._group_facts[0] != key:
            model: dict[str, str | None] = {}
            collapsed: dict[str, str | None] = {}
            frozen: dict[str, str | None] = {}
            children: dict[str | None, list[str]] = {}
            for gid, group in self.groups.items():
                children.setdefault(group.parent if group.parent in self.groups else None, []).append(gid)
            stack: list[str] = list(reversed(children.get(None, [])))
            while stack:
                gid = stack.pop()
                group = self.groups[gid]
                parent = group.parent if group.parent in self.groups else None
                model[gid] = gid if group.kind == "model" else (model[parent] if parent is not None else None)
                outer = collapsed[parent] if parent is not None else None
                collapsed[gid] = outer if outer is not None else (gid if group.collapsed else None)
                outer = frozen[parent] if parent is not None else None
                frozen[gid] = outer if outer is not None else (gid if group.kind == "model" and not group.trainable else None)
                stack.extend(reversed(children.get(gid, [])))
            for gid in self.groups:  # groups on a loop of parents (a damaged design): the slow, safe way
                if gid not in model:
                    around = self.group_ancestors(gid)
                    model[gid] = next((g for g in around if self.groups[g].kind == "model"), None)
                    collapsed[gid] = next((g for g in reversed(around) if self.groups[g].collapsed), None)
                    frozen[gid] = next((g for g in reversed(around) if self.groups[g].kind == "model" and not self.groups[g].trainable), None)
            self._group_facts = (key, model, collapsed, children, frozen)
        return self._group_facts[1], self._group_facts[2], self._group_facts[3], self._group_facts[4]

    def group_ancestors(self, group_id: str | None) -> list[str]:
        """``group_id`` and the groups around it, innermost first."""
        out: list[str] = []
        seen: set[str] = set()
        while group_id is not None and group_id in self.groups and group_id not in seen:
            out.append(group_id)
            seen.add(group_id)
            group_id = self.groups[group_id].parent
        return out

    def model_group(self, group_id: str | None) -> str | None:
        """The innermost nested *model* among ``group_id`` and its parents: blocks are only drawn, Keras never sees them."""
        if group_id is None:
            return None
        return self._facts()[0].get(group_id)

    def group_members(self, group_id: str) -> list[str]:
        """Every layer inside ``group_id``, at any depth, in the node order."""
        children = self._facts()[2]
        inside = {group_id}
        stack = [group_id]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in inside:
                    inside.add(child)
                    stack.append(child)
        return [n for n, d in self._g.nodes(data=True) if d.get("group") in inside]

    def frozen_by(self, node_id: str) -> str | None:
        """The outermost frozen nested model holding a layer, or None."""
        group = self._data(node_id).get("group")
        return None if group is None else self._facts()[3].get(group)

    def is_frozen(self, node_id: str) -> bool:
        """Whether a layer's weights are all non-trainable: it is frozen, or a nested model around it is (as Keras
        counts: a frozen model has no trainable weights, whatever its layers say)."""
        owner = self._data(node_id).get("shares")
        if owner is not None and owner in self._g:
            node_id = owner  # a later call is the same layer: frozen when the first call is
        return not self._g.nodes[node_id]["trainable"] or self.frozen_by(node_id) is not None

    def collapsed_unit(self, node_id: str) -> str | None:
        """The outermost collapsed group holding a layer (what the canvas draws in its place), or None."""
        group = self._data(node_id).get("group")
        return None if group is None else self._facts()[1].get(group)

    def without_blocks(self) -> NetworkGraph:
        """A copy where blocks are gone and their layers sit in their nearest nested model: what Keras sees."""
        other = NetworkGraph()
        models = {gid: g for gid, g in self.groups.items() if g.kind == "model"}
        other.groups = {gid: replace(g, parent=self.model_group(g.parent)) for gid, g in models.items()}
        self._copy_into(other, lambda node: self.model_group(node.group))
        return other

    def _copy_into(self, other: NetworkGraph, group_of: Callable[[Node], str | None]) -> None:
        """Every node and wire into ``other``, in this graph's order (sharers take their owners' parameters)."""
        for node in self.nodes():
            other.add_node(node.type, node.params, name=node.name, position=node.position, node_id=node.id, group=group_of(node),
                           name_order=node.name_order, trainable=node.trainable)
        for node in self.nodes():
            if node.shares is not None and node.shares in other:
                other.set_shares(node.id, node.shares)
        for edge in self.edges():
            other.connect(edge.source, edge.target, edge.slot, edge.output)

    def group_path(self, group_id: str | None) -> list[str]:
        """Names of the groups from the outermost down to ``group_id``."""
        path: list[str] = []
        seen: set[str] = set()
        while group_id is not None and group_id in self.groups and group_id not in seen:
            seen.add(group_id)
            path.append(self.groups[group_id].name)
            group_id = self.groups[group_id].parent
        return path[::-1]

    def find(self, name: str) -> str | None:
        """The id of the node called ``name``, if any."""
        if name not in self._names:
            return None
        for node_id, data in self._g.nodes(data=True):
            if data["name"] == name:
                return node_id
        return None

    def _slot_taken(self, target: str, slot: int) -> bool:
        return any(slot in keys for keys in self._g._pred[target].values())

    def free_slot(self, node_id: str) -> int:
        used = {k for _, _, k in self._g.in_edges(node_id, keys=True)}
        return next(i for i in itertools.count() if i not in used)

    def unique_name(self, base: str, also_taken: set[str] | None = None) -> str:
        """``base`` if no node has it, else Keras-style ``base_1``, ``base_2`` ..., shortened so that the
        result stays a valid name (at most 200 characters)."""
        extra = also_taken or set()

        def taken(name: str) -> bool:
            return self._names.get(name, 0) > 0 or name in extra

        if not taken(base):
            return base
        start = self._next_suffix.get(base, 1)
        for i in itertools.count(start):
            suffix = f"_{i}"
            candidate = base[: 200 - len(suffix)] + suffix
            if not taken(candidate):
                self._next_suffix[base] = i + 1
                return candidate
        raise AssertionError("unreachable")

    def _count_name(self, name: str, delta: int) -> None:
        count = self._names.get(name, 0) + delta
        if count > 0:
            self._names[name] = count
        else:
            self._names.pop(name, None)
            for base in [b for b in self._next_suffix if name.startswith(b + "_")]:
                self._next_suffix[base] = 1  # a suffix came free: search from the start again

    def fresh_id(self) -> str:
        """An id no node has (the next ``add_node`` without an id would pick it)."""
        return self._next_id()

    def fresh_ids(self, count: int) -> list[str]:
        """``count`` distinct ids no node has."""
        return [self._next_id() for _ in range(count)]

    # -- events ---------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[GraphEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _emit(self, event: GraphEvent, structural: bool) -> None:
        self.rev += 1
        if structural:
            self.structure_rev += 1
        if event.node is not None and event.node in self._g:
            self._g.nodes[event.node]["rev"] = self.rev
        for callback in list(self._listeners):
            callback(event)

    # -- editing --------------------------------------------------------------------------------

    def add_node(
        self,
        layer_type: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        position: tuple[float, float] = (0.0, 0.0),
        node_id: str | None = None,
        shares: str | None = None,
        group: str | None = None,
        index: int | None = None,
        name_order: int | None = None,
        trainable: bool = True,
    ) -> str:
        """Add a layer and return its id. Parameters are validated (`ParamError`); missing
        required ones get a starting value; ``name`` defaults to Keras's naming scheme.

        ``shares`` names a node of the same type whose weights this one uses (its parameters are
        then the owner's); ``group`` a group from `add_group`. ``index`` puts the node at that place in
        the node order (which orders the model's inputs and outputs): undo puts a layer back where it was.
        ``name_order`` restores when the layer got its name (see `Node.name_order`)."""
        spec = get_spec(layer_type)
        canonical = spec.coerce_params(params or {})
        if shares is not None:
            if shares not in self._g or self._g.nodes[shares]["type"] != layer_type or self._g.nodes[shares].get("shares"):
                raise GraphError(f"{layer_type} can only share the weights of another {layer_type} that owns its weights (not {shares!r})")
            canonical = dict(self._g.nodes[shares]["params"])
        if group is not None and group not in self.groups:
            raise GraphError(f"there is no group with id {group!r}")
        if node_id is None:
            node_id = self._next_id()
        elif node_id in self._g:
            raise GraphError(f"node id {node_id!r} is already used")
        else:
            self._note_id(node_id)
        name = self.unique_name(default_name(layer_type)) if name is None else validate_name(name)
        if name_order is None:
            name_order = next(self._naming)
        else:
            self._naming = itertools.count(max(next(self._naming), name_order + 1))
        self._g.add_node(
            node_id, type=layer_type, name=name, params=canonical, position=(float(position[0]), float(position[1])), rev=0,
            shares=shares, group=group, named=name_order, trainable=bool(trainable),
        )
        if index is not None and index < len(self._g) - 1:
            g = self._g
            for table in (g._node, g._succ, g._pred):  # networkx's own dicts, reordered in place (its views hold them)
                _move_last_to(table, index)
        self._count_name(name, +1)
        self._emit(GraphEvent("node_added", node_id), structural=True)
        return node_id

    def remove_node(self, node_id: str) -> None:
        """Remove a layer and its wires (edge_removed events come first)."""
        self._data(node_id)
        for edge in self.inputs_of(node_id) + self.outputs_of(node_id):
            self.disconnect(edge.source, edge.target, edge.slot)
        self._count_name(self._g.nodes[node_id]["name"], -1)
        self._g.remove_node(node_id)
        self._emit(GraphEvent("node_removed", node_id), structural=True)

    def connect(self, source: str, target: str, slot: int | None = None, output: int = 0) -> int:
        """Wire output ``output`` of ``source`` to input ``slot`` of ``target`` (the first free slot by default).

        Raises `GraphError` for unknown nodes or an occupied slot. Wirings that Keras would refuse
        (a cycle, too many inputs) are allowed here and reported by the analysis, so that a user can
        edit through an invalid state; use `check_connection` to refuse them up front.
        """
        self._data(source)
        self._data(target)
        if slot is None:
            slot = self.free_slot(target)
        elif slot < 0 or self._slot_taken(target, slot):
            raise GraphError(f"input {slot} of {self._g.nodes[target]['name']} is already connected")
        if not isinstance(output, int) or isinstance(output, bool) or not 0 <= output < 64:
            raise GraphError(f"output index must be a whole number from 0 to 63, got {output!r}")
        self._g.add_edge(source, target, key=slot, output=output)
        self._emit(GraphEvent("edge_added", target, Edge(source, target, slot, output)), structural=True)
        return slot

    def disconnect(self, source: str, target: str, slot: int) -> None:
        if not self._g.has_edge(source, target, slot):
            raise GraphError(f"there is no wire from {source} to input {slot} of {target}")
        output = self._g.edges[source, target, slot].get("output", 0)
        self._g.remove_edge(source, target, slot)
        self._emit(GraphEvent("edge_removed", target, Edge(source, target, slot, output)), structural=True)

    def check_connection(self, source: str, target: str) -> str | None:
        """Why wiring ``source`` -> ``target`` is impossible, or ``None`` if it is fine."""
        if source not in self._g or target not in self._g:
            return "unknown layer"
        if source == target:
            return "a layer cannot feed itself"
        spec = get_spec(self._g.nodes[target]["type"])
        name = self._g.nodes[target]["name"]
        if spec.max_inputs == 0:
            return f"{name} is an Input: it takes no inputs"
        data_inputs = sum(1 for _, _, k in self._g.in_edges(target, keys=True) if k < MASK_SLOT)
        if spec.max_inputs is not None and data_inputs >= spec.max_inputs:
            return f"{name} ({spec.type}) already has its {'input' if spec.max_inputs == 1 else f'{spec.max_inputs} inputs'}"
        if nx.has_path(self._g, target, source):
            return f"this wire would make a cycle: {name} already feeds {self._g.nodes[source]['name']}"
        return None

    def set_params(self, node_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change some parameters; returns the previous values of those changed. Raises
        `ParamError` (and changes nothing) if a value is invalid."""
        data = self._data(node_id)
        if data.get("shares") in self._g:  # one layer called twice has one set of parameters: edit the owner's
            return self.set_params(data["shares"], changes)
        spec = get_spec(data["type"])
        merged = {**data["params"], **changes}
        canonical = spec.coerce_params(merged)
        old = {k: data["params"][k] for k in changes if data["params"].get(k) != canonical[k]}
        if old:
            data["params"] = canonical
            self._emit(GraphEvent("params_changed", node_id), structural=False)
            for other, other_data in self._g.nodes(data=True):
                if other_data.get("shares") == node_id:
                    other_data["params"] = canonical
                    self._emit(GraphEvent("params_changed", other), structural=False)
        return old

    def set_shares(self, node_id: str, owner: str | None) -> None:
        """Make a layer a later call of ``owner`` (same type; it takes the owner's parameters), or its own
        layer again (``None``, keeping the parameters it had). Used when the layer a sharer called is deleted:
        the next call takes over the weights."""
        data = self._data(node_id)
        if owner is not None:
            owner_data = self._data(owner)
            if owner == node_id or owner_data["type"] != data["type"] or owner_data.get("shares") is not None:
                raise GraphError(f"{data['name']} can only share the weights of another {data['type']} that owns its weights")
        if data.get("shares") != owner:
            data["shares"] = owner
            if owner is not None:
                data["params"] = self._g.nodes[owner]["params"]
                data["trainable"] = self._g.nodes[owner]["trainable"]
            self._emit(GraphEvent("params_changed", node_id), structural=False)

    def set_trainable(self, node_id: str, trainable: bool) -> None:
        """Freeze a layer (``False``) or unfreeze it. A layer called several times is one layer: all its calls follow."""
        data = self._data(node_id)
        owner = data.get("shares")
        if owner is not None and owner in self._g:
            return self.set_trainable(owner, trainable)
        if data["trainable"] != bool(trainable):
            data["trainable"] = bool(trainable)
            self._emit(GraphEvent("params_changed", node_id), structural=False)
            for other, other_data in self._g.nodes(data=True):
                if other_data.get("shares") == node_id:
                    other_data["trainable"] = bool(trainable)
                    self._emit(GraphEvent("params_changed", other), structural=False)
        return None

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        self.set_params(node_id, {name: value})

    def rename(self, node_id: str, name: str, name_order: int | None = None) -> None:
        """Rename a layer; ``name_order`` restores when it got its old name (undo)."""
        data = self._data(node_id)
        validate_name(name)
        if data["name"] != name:
            self._count_name(data["name"], -1)
            self._count_name(name, +1)
            data["name"] = name
            data["named"] = next(self._naming) if name_order is None else name_order
            self._emit(GraphEvent("renamed", node_id), structural=False)

    def move(self, node_id: str, position: tuple[float, float]) -> None:
        data = self._data(node_id)
        data["position"] = (float(position[0]), float(position[1]))
        # Moving changes nothing the analysis depends on: no revision bump beyond the global one.
        self.rev += 1
        for callback in list(self._listeners):
            callback(GraphEvent("moved", node_id))

    def clear(self) -> None:
        self._g.clear()
        self.groups.clear()
        self._groups_version += 1
        self._names.clear()
        self._next_suffix.clear()
        self._emit(GraphEvent("reset"), structural=True)

    # -- helpers --------------------------------------------------------------------------------

    def _data(self, node_id: str) -> dict[str, Any]:
        try:
            return self._g.nodes[node_id]
        except (KeyError, TypeError):
            raise GraphError(f"there is no layer with id {node_id!r}") from None

    def _next_id(self) -> str:
        while True:
            candidate = f"n{next(self._ids)}"
            if candidate not in self._g:
                return candidate

    def _note_id(self, node_id: str) -> None:
        match = re.fullmatch(r"n(\d+)", node_id)
        if match and int(match.group(1)) >= 1:
            current = next(self._ids)
            self._ids = itertools.count(max(current, int(match.group(1)) + 1))

    def copy(self) -> NetworkGraph:
        other = NetworkGraph()
        other.groups = dict(self.groups)
        self._copy_into(other, lambda node: node.group)
        return other
