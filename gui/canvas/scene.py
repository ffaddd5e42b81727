"""The canvas scene: mirrors a `Document`'s graph and turns mouse gestures into undo commands."""

from __future__ import annotations

import networkx as nx
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent, QGraphicsSimpleTextItem

from engine.analysis import Analysis
from engine.graph import Edge, GraphError, GraphEvent
from engine.layout import Layout, route_wires
from gui.canvas.items import (
    ERROR,
    NAME_HEIGHT,
    NODE_HEIGHT,
    NODE_WIDTH,
    SELECTED,
    WARNING,
    BlockFrame,
    BlockItem,
    EdgeItem,
    NodeItem,
    PortItem,
    compact_shape,
)
from gui.document import Document, EditRefused

__all__ = ["GraphScene"]


def _short_count(n: int) -> str:
    """1,234,567 -> 1.23M: a block's box has room for three lines."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


class GraphScene(QGraphicsScene):
    #: A short text for the status bar (why a wire is refused, what was done).
    message = Signal(str)
    #: Double-click on a layer's name: rename it in place.
    renameRequested = Signal(str)
    #: Double-click on a collapsed block (False: expand it) or on an expanded block's name (True: collapse).
    collapseRequested = Signal(str, bool)

    def __init__(self, document: Document, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        # A fixed, generous canvas: a scene rect that grows with the items makes the view jump
        # (a dropped layer would not land under the cursor).
        self.setSceneRect(QRectF(-100_000, -100_000, 200_000, 200_000))
        self.document = document
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, str, int], EdgeItem] = {}
        #: Collapsed blocks (one box each) and the frames of expanded ones, by group id.
        self.blocks: dict[str, BlockItem] = {}
        self.frames: dict[str, BlockFrame] = {}
        self._press_blocks: dict[str, QPointF] = {}
        #: Layers or groups changed since the boxes were last mirrored: `sync_blocks` runs before they are used.
        self._blocks_dirty = False
        self._block_members: dict[str, list[str]] = {}
        self._block_results: dict[str, tuple] = {}
        self._dirty_inputs: set[str] = set()
        self._new_edges: list[EdgeItem] = []
        self._drag_source: NodeItem | None = None
        self._drag_line: QGraphicsPathItem | None = None
        self._drag_target: NodeItem | None = None
        self._drag_replaces: Edge | None = None
        self._press_positions: dict[str, QPointF] = {}
        #: Routes of the last auto-layout, kept for wires whose ends have not moved since.
        self._layout: tuple[dict[tuple[str, str], list[tuple[float, float]]], dict[str, tuple[float, float]]] = ({}, {})
        self._reroute_timer = QTimer(self)
        self._reroute_timer.setSingleShot(True)
        self._reroute_timer.setInterval(0)
        self._reroute_timer.timeout.connect(self.reroute)
        for node in document.graph.nodes():
            self._add_node(node.id)
        for edge in document.graph.edges():
            self._add_edge(edge, loading=True)
        self._unsubscribe = document.graph.subscribe(self._on_graph_event)
        document.analysed.connect(self._on_analysed)
        self._on_analysed(document.analysis)
        if document.initial_layout is not None:
            self.set_layout(document.initial_layout)
        else:
            self.reroute()

    # -- wire routes -------------------------------------------------------------------------------

    def set_layout(self, layout: Layout) -> None:
        """Draw wires along the routes of an auto-layout (already applied to the positions)."""
        self._layout = (dict(layout.routes), dict(layout.positions))
        self.reroute()

    def reroute(self) -> None:
        """Route every wire so that none passes under a layer: the auto-layout's routes where the layers
        have not moved since, else `engine.layout.route_wires` for the positions as they are."""
        self._reroute_timer.stop()
        self.sync_blocks()
        self._flush_inputs()
        graph = self.document.graph
        positions = {n: (item.pos().x(), item.pos().y()) for n, item in self.nodes.items() if item.proxy is None}
        positions.update({gid: (item.pos().x(), item.pos().y()) for gid, item in self.blocks.items()})
        unit = {n: (item.proxy.group_id if item.proxy is not None else n) for n, item in self.nodes.items()}
        wires = {(e.source, e.target) for e in graph.edges()}
        drawn = {(unit[s], unit[t]) for s, t in wires if unit[s] != unit[t]}
        unit_routes = route_wires(positions, drawn, (NODE_WIDTH, NODE_HEIGHT))
        routes = {(s, t): unit_routes[(unit[s], unit[t])] for s, t in wires if (unit[s], unit[t]) in unit_routes}
        laid, at = self._layout
        everywhere = {n: (item.pos().x(), item.pos().y()) for n, item in self.nodes.items()}
        for wire, points in laid.items():
            if wire in wires and all(everywhere.get(n) == at.get(n) for n in wire):
                routes[wire] = points
        for (source, target, _slot), item in self.edges.items():
            item.set_route([QPointF(x, y) for x, y in routes.get((source, target), ())])

    def detach(self) -> None:
        self._unsubscribe()
        self.document.analysed.disconnect(self._on_analysed)

    # -- mirroring the model ---------------------------------------------------------------------

    def _add_node(self, node_id: str) -> None:
        item = NodeItem(self.document.graph.node(node_id))
        self.nodes[node_id] = item
        self.addItem(item)

    def _add_edge(self, edge: Edge, loading: bool = False) -> None:
        """A wire's item; while ``loading`` a design, its path is drawn once the analysis is in (not per wire added)."""
        item = EdgeItem(edge, self.nodes[edge.source], self.nodes[edge.target], refresh=False)
        self.edges[(edge.source, edge.target, edge.slot)] = item
        self.addItem(item)
        if not loading:
            self._new_edges.append(item)
            self._relayout_inputs(edge.target)

    def _relayout_inputs(self, node_id: str) -> None:
        """The wires into a layer spread over its input side again, once control returns to the event loop:
        disconnecting 1,000 inputs of a Concatenate lays its wires out once, not 1,000 times."""
        self._dirty_inputs.add(node_id)
        self._reroute_timer.start()

    def _flush_inputs(self) -> None:
        new, self._new_edges = self._new_edges, []
        for item in new:
            if item.scene() is self:  # not removed again since
                item.refresh()
        dirty, self._dirty_inputs = self._dirty_inputs, set()
        for node_id in dirty:
            node = self.nodes.get(node_id)
            if node is not None:
                for item in node.edges:
                    if item.target is node:
                        item.update_path()

    def _on_graph_event(self, event: GraphEvent) -> None:
        kind = event.kind
        if kind == "node_added":
            self._add_node(event.node)
        elif kind == "node_removed":
            item = self.nodes.pop(event.node)
            if item.proxy is not None:
                item.proxy = None
            self.removeItem(item)
        elif kind == "edge_added":
            self._add_edge(event.edge)
        elif kind == "edge_removed":
            e = event.edge
            item = self.edges.pop((e.source, e.target, e.slot))
            item.detach()
            self.removeItem(item)
            if e.target in self.nodes:
                self._relayout_inputs(e.target)
        if kind in ("node_added", "node_removed", "groups_changed", "reset"):
            self._blocks_dirty = True
        if kind in ("node_added", "node_removed", "edge_added", "edge_removed", "moved", "groups_changed"):
            self._reroute_timer.start()
        if kind in ("params_changed", "renamed"):
            self.nodes[event.node].set_node(self.document.graph.node(event.node))
        elif kind == "moved":
            item = self.nodes[event.node]
            pos = QPointF(*self.document.graph.node(event.node).position)
            if item.pos() != pos:
                item.setPos(pos)
        elif kind == "reset":
            self.clear()
            self.nodes.clear()
            self.edges.clear()
            self.blocks.clear()
            self.frames.clear()

    # -- blocks ---------------------------------------------------------------------------------

    def sync_blocks(self) -> None:
        """Mirror the graph's blocks: a box for each outermost collapsed block (its layers hidden, their wires
        meeting the box), a named frame behind each expanded one."""
        graph = self.document.graph
        self._blocks_dirty = False
        if not graph.groups and not self.blocks and not self.frames and not self._block_members:
            return  # nothing to mirror (most designs): no pass over every wire
        unit_of = {n: graph.collapsed_unit(n) for n in self.nodes}
        members: dict[str, list[str]] = {}
        for n, unit in unit_of.items():
            if unit is not None:
                members.setdefault(unit, []).append(n)
        for gid in [g for g in self.blocks if g not in members]:
            self.removeItem(self.blocks.pop(gid))
        for gid, inside in members.items():
            item = self.blocks.get(gid)
            if item is None:
                item = self.blocks[gid] = BlockItem(gid)
                self.addItem(item)
            corner = QPointF(min(self.nodes[n].pos().x() for n in inside), min(self.nodes[n].pos().y() for n in inside))
            if item.pos() != corner:
                item.setPos(corner)
        for n, item in self.nodes.items():
            unit = unit_of[n]
            item.proxy = self.blocks.get(unit) if unit is not None else None
            item.setVisible(unit is None)
        for block in self.blocks.values():
            block.edges = []
        for edge in self.edges.values():
            for end in (edge.source.proxy, edge.target.proxy):
                if end is not None:
                    end.edges.append(edge)
            edge.update_path()
        self._sync_frames(unit_of)
        self._block_members = members
        self._summarise_blocks(members)

    def _sync_frames(self, unit_of: dict[str, str | None]) -> None:
        graph = self.document.graph
        shown: dict[str, list[str]] = {}
        for n, unit in unit_of.items():
            if unit is None:
                for gid in graph.group_ancestors(graph.node(n).group):
                    shown.setdefault(gid, []).append(n)
        for gid in [g for g in self.frames if g not in shown]:
            self.removeItem(self.frames.pop(gid))
        for gid, inside in shown.items():
            frame = self.frames.get(gid)
            if frame is None:
                frame = self.frames[gid] = BlockFrame(gid)
                self.addItem(frame)
            frame.set_frame(graph.groups[gid].name, [self.nodes[n].sceneBoundingRect() for n in inside], len(graph.group_ancestors(gid)))

    def _summarise_blocks(self, members: dict[str, list[str]]) -> None:
        from engine.teaching import layer_flops

        graph, analysis = self.document.graph, self.document.analysis
        for gid in [g for g in self._block_results if g not in members]:
            del self._block_results[gid]
        for gid, inside in members.items():
            inner = set(inside)
            entering = [e for n in inside for e in graph.inputs_of(n) if e.source not in inner and not e.is_mask]
            leaving = list(dict.fromkeys(n for n in inside for e in graph.outputs_of(n) if e.target not in inner))
            if not leaving:
                leaving = [n for n in inside if not graph.outputs_of(n)]
            # The analysis reuses the result of every layer it did not recompute: a block whose layers, wires and
            # name did not change keeps its summary (one edit on DenseNet121 touches one block, not nine).
            results = tuple(analysis.results.get(n) for n in inside)
            key = (graph.groups[gid].name, tuple(inside), tuple(entering), tuple(leaving), results)
            known = self._block_results.get(gid)
            if known is not None and known[:4] == key[:4] and all(a is b for a, b in zip(known[4], results)):
                continue
            self._block_results[gid] = key

            def shape_of(node_id: str, output: int = 0) -> str:
                result = analysis.results.get(node_id)
                outputs = result.outputs if result is not None else ()
                return compact_shape(outputs[output].shape) if output < len(outputs) else "?"

            ins = ", ".join(dict.fromkeys(shape_of(e.source, e.output) for e in entering)) or "–"
            outs = ", ".join(dict.fromkeys(shape_of(n) for n in leaving)) or "–"
            counts = [analysis.results[n].params for n in inside if n in analysis.results]
            errors = any(analysis.diagnostics_for(n) and any(d.severity == "error" for d in analysis.diagnostics_for(n)) for n in inside)
            params = "? params" if any(c is None for c in counts) else f"{sum(c.total for c in counts):,} params"  # type: ignore[union-attr]
            flops = [layer_flops(graph, n, analysis) for n in inside]
            macs = "" if any(f is None for f in flops) else f" · {_short_count(sum(f[0] for f in flops))} MACs"  # type: ignore[index]
            lines = [f"block · {len(inside)} layers", f"{ins} → {outs}", "an error inside: expand to see it" if errors else params + macs]
            self.blocks[gid].set_summary(graph.groups[gid].name, lines, errors)

    def visible_bounds(self) -> QRectF:
        """What is drawn: layers, collapsed blocks and frames (the layers hidden in a block do not count)."""
        rect = QRectF()
        for item in (*self.nodes.values(), *self.blocks.values(), *self.frames.values()):
            if item.isVisible():
                rect = rect.united(item.sceneBoundingRect())
        return rect

    def selected_block_ids(self) -> list[str]:
        return [item.group_id for item in self.selectedItems() if isinstance(item, BlockItem)]

    def _on_analysed(self, analysis: Analysis) -> None:
        changed: set[EdgeItem] = set()
        if self._blocks_dirty:
            self.sync_blocks()  # layers or blocks were added, deleted or regrouped: the boxes follow first
        elif self.blocks:
            self._summarise_blocks(self._block_members)
        graph = self.document.graph
        for node_id, item in self.nodes.items():
            result = analysis.results.get(node_id)
            diags = analysis.diagnostics_for(node_id)
            if result is not item.result or diags != item.diagnostics:
                item.frozen = graph.is_frozen(node_id)  # freezing changes the result: the count moves to non-trainable
                item.set_result(result, diags, refresh_edges=False)
                changed.update(item.edges)
        for edge in changed:  # each wire once, however many of its ends changed
            edge.refresh()

    # -- selection helpers -----------------------------------------------------------------------

    def selected_node_ids(self) -> list[str]:
        """Selected layers, with the layers of selected collapsed blocks."""
        ids = [item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)]
        for gid in self.selected_block_ids():
            ids += [n for n in self.document.graph.group_members(gid) if n not in ids]
        return ids

    def selected_edges(self) -> list[Edge]:
        return [item.edge for item in self.selectedItems() if isinstance(item, EdgeItem)]

    def select_nodes(self, node_ids: list[str]) -> None:
        """Select exactly these layers, announced as one selection change (not one per item)."""
        self.blockSignals(True)
        try:
            self.clearSelection()
            for node_id in node_ids:
                item = self.nodes.get(node_id)
                if item is not None:  # a layer inside a collapsed block is selected through its box
                    (item.proxy or item).setSelected(True)
        finally:
            self.blockSignals(False)
        self.selectionChanged.emit()

    # -- gestures: wiring ------------------------------------------------------------------------

    def _node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item.node
            if isinstance(item, NodeItem):
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            port = next((i for i in self.items(event.scenePos()) if isinstance(i, PortItem)), None)
            if port is not None and port.is_output:
                self._drag_source = port.node
                self._drag_line = QGraphicsPathItem()
                self._drag_line.setZValue(5)
                self._drag_line.setPen(QPen(SELECTED, 2, Qt.PenStyle.DashLine))
                self.addItem(self._drag_line)
                self._update_drag(event.scenePos())
                event.accept()
                return
        super().mousePressEvent(event)
        self._press_positions = {item.node_id: item.pos() for item in self.selectedItems() if isinstance(item, NodeItem)}
        self._press_blocks = {item.group_id: item.pos() for item in self.selectedItems() if isinstance(item, BlockItem)}

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        for item in self.items(event.scenePos()):
            if isinstance(item, BlockItem):
                self.collapseRequested.emit(item.group_id, False)
                event.accept()
                return
            if isinstance(item, BlockFrame) and item.title_rect().contains(event.scenePos()):
                self.collapseRequested.emit(item.group_id, True)
                event.accept()
                return
        node = self._node_at(event.scenePos())
        if node is not None and node.mapFromScene(event.scenePos()).y() < NAME_HEIGHT:
            self.renameRequested.emit(node.node_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def item_at(self, pos: QPointF) -> NodeItem | EdgeItem | BlockItem | None:
        """The layer (or its port) or wire under a scene point, for the context menu."""
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item.node
            if isinstance(item, (NodeItem, EdgeItem, BlockItem)):
                return item
            if isinstance(item, QGraphicsSimpleTextItem) and isinstance(item.parentItem(), EdgeItem):
                return item.parentItem()  # type: ignore[return-value]
        return None

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag_source is not None:
            self._update_drag(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def _update_drag(self, pos: QPointF) -> None:
        assert self._drag_source is not None and self._drag_line is not None
        start = self._drag_source.output_anchor()
        path = QPainterPath(start)
        dy = max(30.0, abs(pos.y() - start.y()) * 0.5)
        path.cubicTo(QPointF(start.x(), start.y() + dy), QPointF(pos.x(), pos.y() - dy), pos)
        self._drag_line.setPath(path)
        target = self._node_at(pos)
        self._drag_target = None
        self._drag_replaces = None
        colour = SELECTED
        if target is not None and target is not self._drag_source:
            reason = self.document.graph.check_connection(self._drag_source.node_id, target.node_id)
            taken = self._taken_input(target, pos) if reason is not None else None
            if reason is None:
                self._drag_target = target
                colour = QColor("#2CA02C")
                self.message.emit(f"Release to connect {self._drag_source.name} → {target.name}")
            elif taken is not None:
                self._drag_target, self._drag_replaces = target, taken
                colour = WARNING
                old = self.nodes[taken.source].name
                self.message.emit(f"Release to replace the wire {old} → {target.name} with {self._drag_source.name} → {target.name}")
            else:
                colour = ERROR
                self.message.emit(f"Cannot connect: {reason}")
        elif target is self._drag_source:
            colour = ERROR
            self.message.emit("Cannot connect: a layer cannot feed itself")
        self._drag_line.setPen(QPen(colour, 2, Qt.PenStyle.DashLine))

    def _taken_input(self, target: NodeItem, pos: QPointF) -> Edge | None:
        """The wire a drop on a full input would replace: the only one, or for a merge the one whose slot is
        nearest the drop point. None when the drop cannot replace (an Input, or the wire would make a cycle)."""
        graph = self.document.graph
        source = self._drag_source
        assert source is not None
        spec = graph.node(target.node_id).spec
        inputs = [e for e in graph.inputs_of(target.node_id) if not e.is_mask]
        if spec.max_inputs in (None, 0) or len(inputs) < spec.max_inputs:
            return None
        if nx.has_path(graph.nx_graph, target.node_id, source.node_id):
            return None  # the new wire would make a cycle: refused, not replaced
        anchors = [target.input_anchor(i, len(inputs)) for i in range(len(inputs))]
        nearest = min(range(len(inputs)), key=lambda i: abs(anchors[i].x() - pos.x()))
        return inputs[nearest] if inputs[nearest].source != source.node_id else None

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag_source is not None:
            source, target = self._drag_source, self._drag_target
            self.removeItem(self._drag_line)
            self._drag_source = self._drag_line = self._drag_target = None
            replaces, self._drag_replaces = self._drag_replaces, None
            if target is not None:
                try:
                    if replaces is not None:
                        self.document.editor.replace_wire(replaces, source.node_id)
                        self.message.emit(f"Replaced the wire into {target.name}: now from {source.name}")
                    else:
                        self.document.editor.connect(source.node_id, target.node_id)
                        self.message.emit(f"Connected {source.name} → {target.name}")
                except (EditRefused, GraphError) as exc:
                    self.message.emit(f"Cannot connect: {exc}")
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self._commit_move()

    def _commit_move(self) -> None:
        old = {n: p for n, p in self._press_positions.items() if n in self.nodes}
        self._press_positions = {}
        moved = {n: self.nodes[n].pos() for n in old if self.nodes[n].pos() != old[n]}
        blocks, self._press_blocks = self._press_blocks, {}
        for gid, before in blocks.items():  # a dragged box moves the layers inside it
            item = self.blocks.get(gid)
            if item is not None and item.pos() != before:
                delta = item.pos() - before
                for n in self.document.graph.group_members(gid):
                    moved[n] = self.nodes[n].pos() + delta
        if moved:
            self.document.editor.move({n: (p.x(), p.y()) for n, p in moved.items()})
