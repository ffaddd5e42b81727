"""Blocks found from Keras's layer names: ``conv2_block1_1_conv`` lies in block ``conv2_block1`` of stage
``conv2``, ``block_3_expand`` in ``block_3``, ``block2a_se_squeeze`` in ``block2a`` of stage ``block2``.

`prefix_blocks` proposes the blocks (a name prefix ending in a number, shared by at least `MIN_MEMBERS`
layers of one nested model); `apply_blocks` makes them groups of kind ``block``. Blocks change nothing
Keras sees: export and analysis ignore them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import networkx as nx

from engine.graph import NetworkGraph, default_name
from engine.layers import CATALOGUE

__all__ = ["BlockPlan", "MIN_MEMBERS", "apply_blocks", "prefix_blocks"]

MIN_MEMBERS = 4
_STAGE = re.compile(r"^([A-Za-z]+\d+)[a-z]$")  # block2a -> stage block2 (EfficientNet)
_AUTOMATIC = re.compile("^(" + "|".join(sorted({re.escape(default_name(t)) for t in CATALOGUE}, key=len, reverse=True)) + r")(_\d+)?$")


@dataclass(frozen=True)
class BlockPlan:
    name: str
    #: The enclosing block's name, or None for a top-level block (a stage).
    parent: str | None
    members: tuple[str, ...]


def _prefixes(name: str) -> list[str]:
    """Candidate block names for a layer name, outermost first."""
    tokens = name.split("_")
    out: list[str] = []
    stage = _STAGE.match(tokens[0])
    if stage and len(tokens) > 1:
        out.append(stage.group(1))
    for k in range(1, len(tokens)):
        if any(c.isdigit() for c in tokens[k - 1]):
            out.append("_".join(tokens[:k]))
    return out


def prefix_blocks(graph: NetworkGraph, min_members: int = MIN_MEMBERS) -> list[BlockPlan]:
    """Blocks by name prefix within each nested model; outer blocks before the blocks inside them."""
    plans: list[BlockPlan] = []
    scopes: dict[str | None, list[str]] = {}
    for node in graph.nodes():
        scopes.setdefault(graph.model_group(node.group), []).append(node.id)
    for nodes in scopes.values():
        holders: dict[str, list[str]] = {}
        chains = {}
        for n in nodes:
            name = graph.node(n).name
            # Keras's automatic names (conv2d_12, batch_normalization_3) say nothing about blocks.
            chains[n] = [] if _AUTOMATIC.match(name) else _prefixes(name)
            for p in chains[n]:
                holders.setdefault(p, []).append(n)
        # A block is a connected piece of the network (NASNet's separable_conv_1_* layers, spread over
        # several cells, are not one).
        kept = {p for p, held in holders.items() if min_members <= len(held) < len(nodes)
                and nx.is_weakly_connected(graph.nx_graph.subgraph(held))}
        members: dict[str, list[str]] = {}
        parents: dict[str, str | None] = {}
        for n in nodes:
            chain = [p for p in chains[n] if p in kept]
            if not chain:
                continue
            members.setdefault(chain[-1], []).append(n)
            for outer, inner in zip([None, *chain], chain):
                parents.setdefault(inner, outer)
        scope_plans = [BlockPlan(p, parents[p], tuple(members.get(p, ()))) for p in sorted(parents, key=lambda p: _depth(p, parents))]
        assigned = {n for plan in scope_plans for n in plan.members}
        scope_plans += _checkpoint_blocks(graph, [n for n in nodes if n not in assigned], min_members)
        # The stem and head of this model only: the blocks of the other nested models are not its stages.
        scope_plans += _stem_and_head(graph, nodes, scope_plans)
        plans += scope_plans
    return plans


_CHECKPOINT = re.compile(r"^[A-Za-z]+\d+$")  # InceptionV3's mixed5: a named merge closing a module


def _checkpoint_blocks(graph: NetworkGraph, free: list[str], min_members: int) -> list[BlockPlan]:
    """Modules closed by a named merge (``mixed5``): the layers after the previous such merge up to it."""
    g = graph.nx_graph
    free_set = set(free)
    order = {n: i for i, n in enumerate(nx.topological_sort(g))} if nx.is_directed_acyclic_graph(g) else {}
    checkpoints = sorted((n for n in free if n in order and graph.node(n).spec.is_merge and _CHECKPOINT.match(graph.node(n).name)
                          and not _AUTOMATIC.match(graph.node(n).name)), key=order.__getitem__)
    plans: list[BlockPlan] = []
    previous: str | None = None
    for m in checkpoints:
        before: set[str] = nx.ancestors(g, previous) | {previous} if previous is not None else set()
        members = [n for n in nx.ancestors(g, m) | {m} if n in free_set and n not in before and graph.node(n).type != "Input"]
        if previous is not None and min_members <= len(members):
            plans.append(BlockPlan(graph.node(m).name, None, tuple(sorted(members, key=order.__getitem__))))
        previous = m
    return plans


def _stem_and_head(graph: NetworkGraph, nodes: list[str], plans: list[BlockPlan]) -> list[BlockPlan]:
    """The layers before the first stage (``stem``) and after the last (``head``), when a model has stages:
    so that its outline is a handful of boxes."""
    g = graph.nx_graph
    top = [p for p in plans if p.parent is None]
    if len(top) < 2 or not nx.is_directed_acyclic_graph(g):
        return []
    inside = {n for p in plans for n in p.members}
    first = {n for n in nodes if n not in inside and graph.node(n).type != "Input"}
    order = [n for n in nx.topological_sort(g) if n in set(nodes)]
    position = {n: i for i, n in enumerate(order)}
    placed = [position[n] for n in inside if n in position]
    if not placed:
        return []
    start, end = min(placed), max(placed)
    taken = {p.name for p in plans}
    out = []
    for name, members in (("stem", [n for n in order if n in first and position[n] < start]),
                          ("head", [n for n in order if n in first and position[n] > end])):
        if len(members) >= 3 and name not in taken:
            out.append(BlockPlan(name, None, tuple(members)))
    return out


def _depth(name: str, parents: dict[str, str | None]) -> int:
    depth = 0
    while parents.get(name) is not None:
        name = parents[name]  # type: ignore[assignment]
        depth += 1
    return depth


def apply_blocks(graph: NetworkGraph, plans: list[BlockPlan], collapse_outer: bool = False,
                 group_ids: list[str] | None = None) -> dict[str, str]:
    """Make the planned blocks (with ``group_ids`` if given); returns block name -> group id. With
    ``collapse_outer`` every block is collapsed: a large model opens as its stages, and expanding a stage
    shows its blocks as boxes, one level at a time."""
    ids: dict[str, str] = {}
    for index, plan in enumerate(plans):
        model = graph.model_group(graph.node(plan.members[0]).group) if plan.members else None
        parent = ids.get(plan.parent) if plan.parent else model
        gid = graph.add_group(plan.name, kind="block", parent=parent, group_id=group_ids[index] if group_ids else None)
        ids[plan.name] = gid
        for n in plan.members:
            graph.set_group(n, gid)
        if collapse_outer:
            graph.update_group(gid, collapsed=True)
    return ids
