"""The structural invariant of a design: what must hold for a design to be saved, loaded and edited.

`networkx.is_directed_acyclic_graph` answers one question about a graph; a LayerLab design has more
structure of its own (groups, shared weights, wires that carry one output of a layer into one input
slot), and `check_structure` checks all of it in one pass:

- groups: every ``parent`` and ``shares`` names an existing group, parents form no loop, nested
  *models* are at most `MAX_MODEL_DEPTH` deep (as the Keras importer allows) and groups of any kind at most
  `MAX_GROUP_DEPTH` deep; a group that shares another's weights is a nested model sharing a nested model
  that owns its weights;
- layers: every ``group`` names an existing group; every ``shares`` names another existing layer of the
  same type and the same settings, which owns its weights (it shares no one's);
- wires: each carries an output index from 0 to 63 into a slot from 0 (at most one wire per slot, which
  the graph itself guarantees).

What a user may draw and fix later (a cycle, a wire from an output the layer no longer has, two layers of
one name) is *not* a structural problem: the analysis reports it on the layer and the design can still be
saved. A structural problem is a corrupted design: the loader refuses a file that has one (naming the group,
layer or wire), the editor never saves one, and the tests check after every command that none appears.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.graph import MASK_SLOT, NetworkGraph

__all__ = ["StructureProblem", "StructureError", "check_structure", "require_sound", "MAX_GROUP_DEPTH", "MAX_MODEL_DEPTH"]

#: Nested models deeper than this are refused (the Keras importer refuses the same).
MAX_MODEL_DEPTH = 32
#: Groups (blocks and models) nested deeper than this are refused.
MAX_GROUP_DEPTH = 1000


@dataclass(frozen=True)
class StructureProblem:
    """One broken rule: ``where`` names the group, layer or wire (``group 'b2'``, ``layer 'conv1' (n4)``)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class StructureError(ValueError):
    """A design that breaks its structural invariant. ``problems`` lists every broken rule; ``str`` is one line."""

    def __init__(self, problems: list[StructureProblem]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")
        self.problems = problems


def _layer(graph: NetworkGraph, node_id: str) -> str:
    return f"layer {graph.nx_graph._node[node_id]['name']!r} ({node_id})"


def check_structure(graph: NetworkGraph, limit: int = 20) -> list[StructureProblem]:
    """Every structural problem of ``graph`` (at most ``limit``); an empty list for a sound design.

    Linear in the layers, wires and groups (group depths are computed once per group)."""
    problems: list[StructureProblem] = []

    def problem(where: str, message: str) -> bool:
        problems.append(StructureProblem(where, message))
        return len(problems) >= limit

    groups = graph.groups
    depth: dict[str, int] = {}
    model_depth: dict[str, int] = {}
    owner_model: dict[str, str | None] = {}  # group -> the innermost model holding it (itself if a model)
    for gid in groups:
        if gid in depth:
            continue
        chain: list[str] = []
        seen: set[str] = set()
        cursor: str | None = gid
        while cursor is not None and cursor not in depth:
            if cursor in seen:
                return [StructureProblem(f"group {gid!r}", f"its parents form a loop ({' -> '.join(chain)})")]
            if cursor not in groups:
                where = chain[-1] if chain else gid
                return [StructureProblem(f"group {where!r}", f"its parent {cursor!r} is not a group of this design")]
            seen.add(cursor)
            chain.append(cursor)
            cursor = groups[cursor].parent
        base, base_models = (depth[cursor], model_depth[cursor]) if cursor is not None else (0, 0)
        around = owner_model.get(cursor) if cursor is not None else None
        for g in reversed(chain):
            base += 1
            if groups[g].kind == "model":
                base_models += 1
                around = g
            depth[g], model_depth[g], owner_model[g] = base, base_models, around
    for gid, group in groups.items():
        where = f"group {group.name!r} ({gid})"
        if group.kind not in ("model", "block"):
            if problem(where, f"kind must be model or block, not {group.kind!r}"):
                return problems
        if depth[gid] > MAX_GROUP_DEPTH:
            problem(where, f"groups are nested {depth[gid]:,} deep; LayerLab handles up to {MAX_GROUP_DEPTH:,}")
            return problems
        if model_depth[gid] > MAX_MODEL_DEPTH:
            problem(where, f"nested models are {model_depth[gid]} deep; Keras models are nested at most {MAX_MODEL_DEPTH} deep")
            return problems
        if group.shares is not None:
            other = groups.get(group.shares)
            if other is None:
                message = f"it shares the weights of group {group.shares!r}, which is not in this design"
            elif group.kind != "model" or other.kind != "model":
                message = "only a nested model can share the weights of another nested model"
            elif other.shares is not None or group.shares == gid:
                message = f"it shares the weights of {other.name!r}, which itself shares another's: share the first model"
            else:
                message = ""
            if message and problem(where, message):
                return problems

    nodes = graph.nx_graph._node
    for node_id, data in nodes.items():
        group = data.get("group")
        if group is not None and group not in groups:
            if problem(_layer(graph, node_id), f"its group {group!r} is not a group of this design"):
                return problems
        owner = data.get("shares")
        if owner is None:
            continue
        where = _layer(graph, node_id)
        other = nodes.get(owner)
        if other is None:
            message = f"it shares the weights of {owner!r}, which is not a layer of this design"
        elif owner == node_id:
            message = "it shares its own weights"
        elif other["type"] != data["type"]:
            message = f"it is a {data['type']} but shares the weights of {other['name']!r}, a {other['type']}"
        elif other.get("shares") is not None:
            message = f"it shares the weights of {other['name']!r}, which itself shares another's: share the first call"
        elif dict(other["params"]) != dict(data["params"]):
            message = f"it shares the weights of {other['name']!r} but has other settings"
        else:
            message = ""
        if message and problem(where, message):
            return problems

    for u, v, slot, d in graph.nx_graph.edges(keys=True, data=True):
        output = d.get("output", 0)
        if not isinstance(slot, int) or not 0 <= slot < MASK_SLOT + 64:
            message = f"it goes into input slot {slot!r}, which is not a slot number"
        elif not isinstance(output, int) or isinstance(output, bool) or not 0 <= output < 64:
            message = f"it carries output {output!r}; outputs are numbered 0 to 63"
        else:
            continue
        if problem(f"the wire {nodes[u]['name']!r} -> {nodes[v]['name']!r}", message):
            return problems

    return problems


def require_sound(graph: NetworkGraph) -> None:
    """Raise `StructureError` if ``graph`` breaks its structural invariant."""
    problems = check_structure(graph)
    if problems:
        raise StructureError(problems)
