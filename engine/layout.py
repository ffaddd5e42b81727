"""Layered auto-layout (top to bottom) for imported or messy graphs, computed with networkx."""

from __future__ import annotations

import networkx as nx

from engine.graph import NetworkGraph

__all__ = ["layered_positions", "NODE_SPACING_X", "NODE_SPACING_Y"]

NODE_SPACING_X = 260.0
NODE_SPACING_Y = 150.0


def layered_positions(graph: NetworkGraph) -> dict[str, tuple[float, float]]:
    """Positions putting each layer one row below its deepest input, rows centred on x = 0.

    Within a row, nodes are ordered by the mean column of their inputs (one barycentre sweep),
    which keeps parallel branches (Inception, ResNet shortcuts) side by side with few crossings.
    Nodes on cycles are placed in a final row.
    """
    g = graph.nx_graph
    simple = nx.DiGraph(g)
    cyclic = {n for c in nx.strongly_connected_components(simple) if len(c) > 1 for n in c} | {n for n in simple if simple.has_edge(n, n)}
    dag = simple.subgraph(n for n in simple if n not in cyclic)
    depth: dict[str, int] = {}
    for n in nx.topological_sort(dag):
        preds = list(dag.predecessors(n))
        depth[n] = 0 if not preds else 1 + max(depth[p] for p in preds)
    last = 1 + max(depth.values(), default=-1)
    for n in cyclic:
        depth[n] = last
    rows: dict[int, list[str]] = {}
    index = {n: i for i, n in enumerate(g.nodes)}
    for n in sorted(depth, key=index.__getitem__):
        rows.setdefault(depth[n], []).append(n)
    column: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    for level in sorted(rows):
        row = rows[level]

        def barycentre(n: str) -> float:
            cols = [column[p] for p in simple.predecessors(n) if p in column]
            return sum(cols) / len(cols) if cols else float(index[n])

        row.sort(key=lambda n: (barycentre(n), index[n]))
        offset = (len(row) - 1) / 2
        for i, n in enumerate(row):
            column[n] = i - offset
            positions[n] = ((i - offset) * NODE_SPACING_X, level * NODE_SPACING_Y)
    return positions
