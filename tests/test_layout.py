"""The layered layout and wire routes: no wire passes under a layer, on the examples and imported models."""

from __future__ import annotations

import pytest

from engine.layout import NODE_SIZE, auto_layout, layered_positions, route_wires, wires_under_layers
from engine.project import load_project
from tests.conftest import EXAMPLES


def _wires(graph):  # noqa: ANN001, ANN202
    return [(e.source, e.target) for e in graph.edges()]


def _expanded(path):  # noqa: ANN001, ANN202
    """A bundled design with every block expanded (the DenseNet121 example opens collapsed)."""
    graph, _ = load_project(path)
    for gid, group in list(graph.groups.items()):
        if group.collapsed:
            graph.update_group(gid, collapsed=False)
    return graph


def _overlaps(positions) -> list[tuple[str, str]]:  # noqa: ANN001
    w, h = NODE_SIZE
    items = sorted(positions.items(), key=lambda kv: kv[1][1])
    hits = []
    for i, (a, (ax, ay)) in enumerate(items):
        for b, (bx, by) in items[i + 1:]:
            if by >= ay + h:
                break
            if abs(ax - bx) < w and abs(ay - by) < h:
                hits.append((a, b))
    return hits


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_auto_layout_leaves_no_wire_under_a_layer_and_no_overlap(path) -> None:  # noqa: ANN001
    graph = _expanded(path)
    layout = auto_layout(graph)
    assert set(layout.positions) == set(graph.node_ids())
    assert wires_under_layers(layout.positions, _wires(graph), layout.routes) == []
    assert _overlaps(layout.positions) == []


def test_the_rows_layout_it_replaces_put_skip_connections_under_layers() -> None:
    graph = _expanded(EXAMPLES / "densenet121.json")
    assert len(wires_under_layers(layered_positions(graph), _wires(graph))) == 58
    layout = auto_layout(graph)
    assert wires_under_layers(layout.positions, _wires(graph), layout.routes) == []
    ys = sorted({y for _, y in layout.positions.values()})
    inputs = [n.id for n in graph.nodes() if n.type == "Input"]
    assert layout.positions[inputs[0]][1] == ys[0]  # top to bottom, the input first


def test_imported_applications_lay_out_cleanly() -> None:
    from engine.keras_import import graph_from_keras_config
    from tests.corpus.compare import load

    for name in ("InceptionV3", "ResNet50"):
        graph = graph_from_keras_config(load(name)["config"])
        layout = auto_layout(graph)
        assert wires_under_layers(layout.positions, _wires(graph), layout.routes) == [], name


def test_a_hand_placed_skip_wire_detours_beside_the_layers_in_its_way() -> None:
    w, h = NODE_SIZE
    positions = {"in": (0.0, 0.0), "a": (0.0, 150.0), "b": (0.0, 300.0), "add": (0.0, 450.0)}
    wires = [("in", "a"), ("a", "b"), ("b", "add"), ("in", "add")]
    assert wires_under_layers(positions, wires) == [("in", "add")]
    routes = route_wires(positions, wires)
    assert list(routes) == [("in", "add")]
    (x1, y1), (x2, y2) = routes[("in", "add")]
    assert x1 == x2 and (x1 < 0 or x1 > w) and y1 < 150 and y2 > 300 + h
    assert wires_under_layers(positions, wires, routes) == []


def test_merge_inputs_go_left_to_right_in_slot_order() -> None:
    graph, _ = load_project(EXAMPLES / "inception_module.json")
    layout = auto_layout(graph)
    cat = graph.find("inception_3a")
    sources = [e.source for e in graph.inputs_of(cat)]
    assert [layout.positions[s][0] for s in sources] == sorted(layout.positions[s][0] for s in sources)


def test_collapsed_blocks_are_laid_out_as_one_box_each() -> None:
    graph, _ = load_project(EXAMPLES / "densenet121.json")
    layout = auto_layout(graph)
    outermost = {g for g, group in graph.groups.items() if group.collapsed and group.parent is None}
    assert set(layout.blocks) == outermost and len(outermost) == 9  # the stages; the blocks inside wait collapsed
    unit = {n: graph.collapsed_unit(n) or n for n in graph.node_ids()}
    boxes = {**{n: p for n, p in layout.positions.items() if unit[n] == n}, **layout.blocks}
    assert len(boxes) == 10 and _overlaps(boxes) == []  # the input, the stem, 7 stages and transitions, the head
    wires = list({(unit[s], unit[t]) for s, t in _wires(graph) if unit[s] != unit[t]})
    routes = {(unit[s], unit[t]): r for (s, t), r in layout.routes.items() if unit[s] != unit[t]}
    assert wires_under_layers(boxes, wires, routes) == []
    for gid, (x, y) in layout.blocks.items():  # a block's layers wait under its box, for when it is expanded
        inside = [layout.positions[n] for n in graph.group_members(gid)]
        assert (min(p[0] for p in inside), min(p[1] for p in inside)) == (x, y)


def test_a_block_cannot_be_put_inside_itself_or_its_own_blocks() -> None:
    from engine.graph import GraphError, NetworkGraph

    graph = NetworkGraph()
    outer = graph.add_group("stage", kind="block")
    inner = graph.add_group("block", kind="block", parent=outer)
    graph.update_group(inner, collapsed=True)  # a nested block keeps its parent
    assert graph.groups[inner].parent == outer and graph.groups[inner].collapsed
    for parent in (outer, inner):
        try:
            graph.update_group(outer, parent=parent)
        except GraphError as exc:
            assert "cannot be inside" in str(exc)
        else:
            raise AssertionError(f"{outer} was put inside {parent}")
