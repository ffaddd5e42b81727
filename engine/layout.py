"""Layered auto-layout (top to bottom) and wire routing, without Qt.

`auto_layout` is a Sugiyama layout from grandalf (layering, crossing reduction, long edges split into
dummy vertices that take their own place in each layer they cross), so that no wire passes under a
layer and parallel branches sit side by side. It returns node positions and, for each wire that
spans several layers, the route through its dummy points. grandalf was chosen over igraph's
``layout_sugiyama`` on measurements (``benchmarks/bench_layout.py``): both give 0 crossings on the
bundled examples and the imported applications, but igraph's Python API returns no edge routes, which
left 5 wires under layers in InceptionV3, 1 in the Inception example; grandalf left none.

`route_wires` routes wires for positions a user chose (or a file holds): a wire whose straight run
would pass under another layer detours beside the layers in its way.

Positions are top-left corners of layer boxes of `NODE_SIZE`, the canvas's box size.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from engine.graph import NetworkGraph

__all__ = ["Layout", "auto_layout", "layered_positions", "route_wires", "wires_under_layers", "NODE_SIZE", "GAP_X", "GAP_Y"]

#: Width and height of a layer's box on the canvas.
NODE_SIZE = (210.0, 78.0)
GAP_X, GAP_Y = 50.0, 56.0
#: Above this many layers the Sugiyama layout (pure Python) takes seconds: layers go in rows instead.
SUGIYAMA_LIMIT = 2500
#: grandalf's work grows with the square of a layer's wires (a Concatenate of 1,000 branches takes seconds): above
#: this many wires on one layer, rows instead (no keras.applications model has a layer with more than 20).
SUGIYAMA_MAX_DEGREE = 150

Point = tuple[float, float]


@dataclass
class Layout:
    #: Top-left corner of each layer's box.
    positions: dict[str, Point]
    #: For a wire ``(source, target)``, the points it passes between the source's output and the
    #: target's input (empty or missing: a direct wire).
    routes: dict[tuple[str, str], list[Point]] = field(default_factory=dict)
    #: Top-left corner of each collapsed block's box.
    blocks: dict[str, Point] = field(default_factory=dict)


def auto_layout(graph: NetworkGraph, node_size: Point = NODE_SIZE) -> Layout:
    """A layered layout of every layer; connected parts side by side, the largest first.

    A collapsed block is laid out as one box (``blocks`` gives where); its layers are laid out among
    themselves and placed under the box, ready for when it is expanded."""
    order = {n: i for i, n in enumerate(graph.node_ids())}
    unit = {n: graph.collapsed_unit(n) or n for n in graph.node_ids()}
    edges = graph.edges()
    wires = {(unit[e.source], unit[e.target]) for e in edges if unit[e.source] != unit[e.target]}
    units = list(dict.fromkeys(unit[n] for n in graph.node_ids()))
    degree: dict[str, int] = {}
    for a, b in wires:
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    if len(units) > SUGIYAMA_LIMIT or max(degree.values(), default=0) > SUGIYAMA_MAX_DEGREE:
        return Layout(layered_positions(graph))
    members: dict[str, list[str]] = {}  # one pass: each unit's layers, in the graph's order
    for n in graph.node_ids():
        members.setdefault(unit[n], []).append(n)
    unit_order = {u: order[inside[0]] for u, inside in members.items()}
    positions, unit_routes = _sugiyama(units, wires, unit_order, node_size)
    layout = Layout({})
    for u, pos in positions.items():
        if u in graph.groups:
            layout.blocks[u] = pos
        else:
            layout.positions[u] = pos
    inner: dict[str, set[tuple[str, str]]] = {}  # the wires inside each collapsed block, in one pass
    for e in edges:
        if unit[e.source] == unit[e.target] != e.source and e.source != e.target:
            inner.setdefault(unit[e.source], set()).add((e.source, e.target))
    for gid, (bx, by) in layout.blocks.items():  # the layers inside, laid out among themselves under the box
        local, local_routes = _sugiyama(members[gid], inner.get(gid, set()), order, node_size)
        x0 = min(x for x, _ in local.values())
        y0 = min(y for _, y in local.values())
        for n, (x, y) in local.items():
            layout.positions[n] = (x - x0 + bx, y - y0 + by)
        for wire, points in local_routes.items():
            layout.routes[wire] = [(x - x0 + bx, y - y0 + by) for x, y in points]
    for e in edges:
        key = (unit[e.source], unit[e.target])
        if key[0] != key[1] and key in unit_routes:
            layout.routes[(e.source, e.target)] = unit_routes[key]
    if not layout.blocks:
        _slot_order(graph, layout.positions)
        # grandalf can leave a dummy point on the far side of its row (the Inception example's 1x1 branch):
        # such a wire is routed again beside the layers in its way.
        straight = list(wires)
        for wire in wires_under_layers(layout.positions, straight, layout.routes, node_size):
            detour = route_wires(layout.positions, [wire], node_size).get(wire, [])
            if not wires_under_layers(layout.positions, [wire], {wire: detour}, node_size):
                layout.routes[wire] = detour
    return layout


def _sugiyama(nodes: list[str], wires: Iterable[tuple[str, str]], order: Mapping[str, int],
              node_size: Point) -> tuple[dict[str, Point], dict[tuple[str, str], list[Point]]]:
    """A layered layout of boxes ``nodes`` joined by ``wires``: top-left corners and routes of long wires.
    Connected parts side by side, the largest first; a part that is one chain is a column, any other part is
    laid out by grandalf."""
    w, h = node_size
    wires_list = list(wires)
    # Connected parts found by networkx: grandalf's own Graph() merges them pairwise, quadratic in the layers
    # (1.7 s of NASNetLarge's 2.4 s layout).
    parts = nx.Graph()
    parts.add_nodes_from(nodes)
    parts.add_edges_from(wires_list)
    by_part: dict[str, int] = {}
    for index, part in enumerate(nx.connected_components(parts)):
        for n in part:
            by_part[n] = index
    part_wires: dict[int, list[tuple[str, str]]] = {}
    for a, b in wires_list:
        part_wires.setdefault(by_part[a], []).append((a, b))
    part_nodes: dict[int, list[str]] = {}
    for n in nodes:
        part_nodes.setdefault(by_part[n], []).append(n)
    positions: dict[str, Point] = {}
    routes: dict[tuple[str, str], list[Point]] = {}
    left = 0.0
    for i in sorted(part_nodes, key=lambda i: (-len(part_nodes[i]), min(order[n] for n in part_nodes[i]))):
        members, inner = part_nodes[i], part_wires.get(i, [])
        chain = _as_chain(members, inner)
        if chain is not None:  # a plain chain is a column: what grandalf would give, without its cost (quadratic in its length)
            for k, n in enumerate(chain):
                positions[n] = (left, k * (h + GAP_Y))
            left += w + 2 * GAP_X
            continue
        size = len(members) + len(inner)
        run = lambda members=members, inner=inner: _grandalf(members, inner, order, node_size)  # noqa: E731
        local, local_routes = run() if size < 200 else _with_deep_stack(run, depth=size)
        xs = [x for x, _ in local.values()]
        ys = [y for _, y in local.values()]
        dx, dy = left - min(xs), -min(ys)
        for n, (x, y) in local.items():
            positions[n] = (x + dx, y + dy)
        for wire, points in local_routes.items():
            routes[wire] = [(x + dx, y + dy) for x, y in points]
        left += max(xs) - min(xs) + w + 2 * GAP_X
    return positions, routes


#: Stack for the thread grandalf runs in: its Tarjan search and block placement recurse once per layer in a chain.
_DEEP_STACK_BYTES = 512 * 1024 * 1024


def _with_deep_stack(run: Callable[[], Any], depth: int) -> Any:
    """``run()`` in a fresh thread with a large stack and a recursion limit above ``depth``, whatever the caller's
    own stack holds (the Qt event loop, an undo stack's redo): grandalf recurses once per layer of a chain and
    raises the limit only to the layer count, which a 1,000-layer chain exceeds under the editor's own frames."""
    import sys
    import threading

    result: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(run())
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            failure.append(exc)

    limit = sys.getrecursionlimit()
    previous = threading.stack_size()
    try:
        threading.stack_size(_DEEP_STACK_BYTES)
        sys.setrecursionlimit(max(limit, 2 * depth + 1000))
        worker = threading.Thread(target=target, name="layout", daemon=True)
        worker.start()
    finally:
        threading.stack_size(previous)
    worker.join()
    sys.setrecursionlimit(limit)
    if failure:
        raise failure[0]
    return result[0]


def _grandalf(nodes: list[str], wires: list[tuple[str, str]], order: Mapping[str, int],
              node_size: Point) -> tuple[dict[str, Point], dict[tuple[str, str], list[Point]]]:
    """grandalf's Sugiyama layout of one connected part: top-left corners and routes of long wires."""
    from grandalf.graphs import Edge as GEdge
    from grandalf.graphs import Vertex, graph_core
    from grandalf.layouts import SugiyamaLayout

    w, h = node_size

    class _Box:  # what grandalf reads and writes for a vertex
        def __init__(self) -> None:
            self.w, self.h, self.xy = w, h, (0.0, 0.0)

    class _Wire:  # grandalf hands each edge its route
        def __init__(self) -> None:
            self.points: list[Point] = []

        def setpath(self, points: list[Point]) -> None:
            self.points = [(float(x), float(y)) for x, y in points]

    vertices = {n: Vertex(n) for n in nodes}
    for v in vertices.values():
        v.view = _Box()
    edges = []
    for a, b in wires:
        edge = GEdge(vertices[a], vertices[b])
        edge.view = _Wire()
        edges.append(edge)
    component = graph_core(list(vertices.values()), edges)
    sugiyama = SugiyamaLayout(component)
    sugiyama.xspace, sugiyama.yspace = GAP_X, GAP_Y
    roots = sorted((v for v in component.sV if not v.e_in()), key=lambda v: order[v.data])
    sugiyama.init_all(roots=roots or None, optimize=True)
    sugiyama.draw(2)
    positions = {v.data: (v.view.xy[0] - w / 2, v.view.xy[1]) for v in component.sV}
    routes: dict[tuple[str, str], list[Point]] = {}
    for e in component.sE:
        inner = e.view.points[1:-1]
        if inner:
            routes[(e.v[0].data, e.v[1].data)] = [(x, y + h / 2) for x, y in inner]
    return positions, routes


def _as_chain(nodes: list[str], wires: list[tuple[str, str]]) -> list[str] | None:
    """``nodes`` from first to last if the wires join them into one chain (each layer feeds the next), else None."""
    if len(wires) != len(nodes) - 1:
        return None
    after = dict(wires)
    if len(after) != len(wires) or len(set(after.values())) != len(wires):
        return None  # a layer with two wires out, or two wires in
    start = [n for n in nodes if n not in set(after.values())]
    if len(start) != 1:
        return None
    out = [start[0]]
    while out[-1] in after and len(out) <= len(nodes):
        out.append(after[out[-1]])
    return out if len(out) == len(nodes) else None


def _slot_order(graph: NetworkGraph, positions: dict[str, Point]) -> None:
    """Where order matters (Subtract, Concatenate, attention), a merge's direct sources in one row go left
    to right in slot order, so its wires do not cross on the way in."""
    for node in graph.nodes():
        if not node.spec.order_matters:
            continue
        sources = list(dict.fromkeys(e.source for e in graph.inputs_of(node.id) if not e.is_mask))
        rows = {positions[s][1] for s in sources}
        if len(sources) < 2 or len(rows) != 1 or any(len(graph.outputs_of(s)) != 1 for s in sources):
            continue
        xs = sorted(positions[s][0] for s in sources)
        for s, x in zip(sources, xs):
            positions[s] = (x, positions[s][1])


def layered_positions(graph: NetworkGraph) -> dict[str, Point]:
    """Rows by depth, each row ordered by the mean column of its inputs (one sweep): for very large
    designs, where the Sugiyama layout takes too long. Nodes on cycles go in a final row."""
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
    positions: dict[str, Point] = {}
    step_x, step_y = NODE_SIZE[0] + GAP_X, NODE_SIZE[1] + GAP_Y
    for level in sorted(rows):
        row = rows[level]

        def barycentre(n: str) -> float:
            cols = [column[p] for p in simple.predecessors(n) if p in column]
            return sum(cols) / len(cols) if cols else float(index[n])

        row.sort(key=lambda n: (barycentre(n), index[n]))
        offset = (len(row) - 1) / 2
        for i, n in enumerate(row):
            column[n] = i - offset
            positions[n] = ((i - offset) * step_x, level * step_y)
    return positions


def route_wires(
    positions: Mapping[str, Point], wires: Iterable[tuple[str, str]], node_size: Point = NODE_SIZE, margin: float = 18.0,
) -> dict[tuple[str, str], list[Point]]:
    """Routes for the wires whose straight run from the source's bottom to the target's top would pass
    under another layer: down beside the layers in the way, on the side nearer the wire."""
    w, h = node_size
    # Layers by the height of their top edge, each such row sorted by x: a wire finds the layers in its way by
    # bisection, row by row (a fan of 1,000 branches is not 1,000 x 1,000 checks).
    rows: dict[float, list[tuple[float, str]]] = {}
    for n, (x, y) in positions.items():
        rows.setdefault(y, []).append((x, n))
    tops = sorted(rows)
    row_xs = {y: [x for x, _ in sorted(rows[y])] for y in tops}
    row_names = {y: [n for _, n in sorted(rows[y])] for y in tops}
    routes: dict[tuple[str, str], list[Point]] = {}
    for source, target in wires:
        if source not in positions or target not in positions:
            continue
        (sx, sy), (tx, ty) = positions[source], positions[target]
        x0, y0, x1, y1 = sx + w / 2, sy + h, tx + w / 2, ty
        if y1 <= y0:
            continue
        blockers = []
        # Rows whose layers overlap the wire's height: top edge strictly between y0 - h and y1.
        for top in tops[bisect.bisect_right(tops, y0 - h):bisect.bisect_left(tops, y1)]:
            at = x0 + (x1 - x0) * (((top + h / 2) - y0) / (y1 - y0))  # where the straight wire is at this row's middle
            xs = row_xs[top]
            for i in range(bisect.bisect_right(xs, at - w - 4), bisect.bisect_left(xs, at + 4)):
                n = row_names[top][i]
                if n not in (source, target):
                    blockers.append(n)
        if not blockers:
            continue
        lefts = min(positions[n][0] for n in blockers) - margin
        rights = max(positions[n][0] for n in blockers) + w + margin
        side = lefts if abs((x0 + x1) / 2 - lefts) <= abs(rights - (x0 + x1) / 2) else rights
        top = min(positions[n][1] for n in blockers) - margin
        bottom = max(positions[n][1] for n in blockers) + h + margin
        routes[(source, target)] = [(side, max(top, y0 + margin / 2)), (side, min(bottom, y1 - margin / 2))]
    return routes


def wires_under_layers(
    positions: Mapping[str, Point], wires: Iterable[tuple[str, str]], routes: Mapping[tuple[str, str], list[Point]] | None = None,
    node_size: Point = NODE_SIZE,
) -> list[tuple[str, str]]:
    """The wires that pass under a layer other than their ends, drawn as straight runs from the source's
    output (bottom centre) through their route to the target's input (top centre): what a layout must avoid."""
    w, h = node_size
    routes = routes or {}
    boxes = [(n, x, y) for n, (x, y) in positions.items()]
    boxes.sort(key=lambda b: b[2])
    tops = [b[2] for b in boxes]
    import bisect

    under = []
    for source, target in dict.fromkeys(wires):
        if source not in positions or target not in positions:
            continue
        (sx, sy), (tx, ty) = positions[source], positions[target]
        points = [(sx + w / 2, sy + h), *routes.get((source, target), []), (tx + w / 2, ty)]
        hit = False
        for (ax, ay), (bx, by) in zip(points, points[1:]):
            lo, hi = min(ay, by), max(ay, by)
            for n, x, y in boxes[bisect.bisect_left(tops, lo - h): bisect.bisect_right(tops, hi)]:
                if n in (source, target):
                    continue
                for k in range(1, 16):  # sample the run: cheap and exact enough at canvas scale
                    t = k / 16
                    px, py = ax + (bx - ax) * t, ay + (by - ay) * t
                    if x + 2 < px < x + w - 2 and y + 2 < py < y + h - 2:
                        hit = True
                        break
                if hit:
                    break
            if hit:
                break
        if hit:
            under.append((source, target))
    return under
