"""Graphics items: a layer (`NodeItem`) with its ports (`PortItem`), and a wire (`EdgeItem`).

Items hold only what they draw; the model is the `NetworkGraph`, and the scene tells items what changed.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsPathItem, QGraphicsSimpleTextItem, QStyleOptionGraphicsItem, QWidget

from engine.analysis import Diagnostic, LayerResult
from engine.graph import Edge, Node
from engine.layers import FAMILY_COLOURS as ENGINE_FAMILY_COLOURS
from engine.layers import fmt_int, get_spec
from engine.report import batch_shape

__all__ = ["NodeItem", "PortItem", "EdgeItem", "BlockItem", "BlockFrame", "FAMILY_COLOURS", "NODE_WIDTH", "NODE_HEIGHT", "NAME_HEIGHT", "shape_text"]

NODE_WIDTH = 210.0
NODE_HEIGHT = 78.0
#: The top of a layer's box where its name is drawn (double-click there to rename).
NAME_HEIGHT = 24.0
#: Below this zoom a box shows only its name, in a font large enough to read; below SOLID_BELOW, a coloured block.
DETAIL_BELOW = 0.62
SOLID_BELOW = 0.18
_OVERVIEW_FONT = QFont()
_OVERVIEW_FONT.setBold(True)
_OVERVIEW_FONT.setPixelSize(26)
PORT_RADIUS = 6.0

FAMILY_COLOURS = {family: QColor(colour) for family, colour in ENGINE_FAMILY_COLOURS.items()}
ERROR = QColor("#D62728")
WARNING = QColor("#E6A100")
UNKNOWN = QColor("#9A9A9A")
TEXT = QColor("#1E1E1E")
MUTED = QColor("#5F5F5F")
SELECTED = QColor("#1F6FEB")
#: A frozen layer (trainable=False): an icy background and a snowflake.
FROZEN = QColor("#E8F1FA")
FROZEN_MARK = QColor("#2F6DA3")


def shape_text(shape: tuple[int | None, ...] | None) -> str:
    if shape is None:
        return "?"
    dims = batch_shape(shape)
    assert dims is not None
    return "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"


def compact_shape(shape: tuple[int | None, ...] | None) -> str:
    """Edge labels: ``(28, 28, 128)`` -> ``28×28×128`` (the batch axis is implied)."""
    if shape is None:
        return "?"
    return "×".join("?" if d is None else str(d) for d in shape) or "scalar"


def _elide(text: str, metrics: QFontMetricsF, width: float) -> str:
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)


class PortItem(QGraphicsItem):
    """An input (top) or output (bottom) connector of a node."""

    def __init__(self, node: NodeItem, is_output: bool) -> None:
        super().__init__(node)
        self.node = node
        self.is_output = is_output
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        self._hover = False
        self.setToolTip("Drag from here to an input to connect" if is_output else "Input: drop a wire here")

    def boundingRect(self) -> QRectF:
        r = PORT_RADIUS + 3
        if not self.is_output and self.node.is_merge:
            return QRectF(-NODE_WIDTH * 0.35 - 3, -r, NODE_WIDTH * 0.7 + 6, 2 * r)
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("#333333"), 1.2))
        painter.setBrush(QBrush(SELECTED if self._hover else QColor("#FFFFFF")))
        if not self.is_output and self.node.is_merge:
            painter.drawRoundedRect(QRectF(-NODE_WIDTH * 0.35, -PORT_RADIUS * 0.7, NODE_WIDTH * 0.7, PORT_RADIUS * 1.4), 4, 4)
        else:
            painter.drawEllipse(QPointF(0, 0), PORT_RADIUS, PORT_RADIUS)

    def hoverEnterEvent(self, event) -> None:  # noqa: ANN001
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: ANN001
        self._hover = False
        self.update()


class NodeItem(QGraphicsObject):
    """A layer on the canvas: name, type, key parameters, output shape and parameter count."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node_id = node.id
        spec = get_spec(node.type)
        self.layer_type = node.type
        self.family = spec.family
        #: Several input slots: a wide input port, and wires spread along it.
        self.is_merge = spec.max_inputs != 1 and spec.max_inputs != 0
        self.order_matters = spec.order_matters
        self.spec = spec
        self.name = node.name
        self.label = spec.label(node.params)
        self.node_params = node.params
        self.result: LayerResult | None = None
        self.diagnostics: list[Diagnostic] = []
        #: Frozen (trainable=False, or inside a frozen nested model): its weights do not train.
        self.frozen = False
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsScenePositionChanges
        )
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self.input_port = PortItem(self, is_output=False) if spec.max_inputs != 0 else None
        self.output_port = PortItem(self, is_output=True)
        if self.input_port is not None:
            self.input_port.setPos(NODE_WIDTH / 2, 0)
        self.output_port.setPos(NODE_WIDTH / 2, NODE_HEIGHT)
        self.edges: list[EdgeItem] = []
        #: Input slot -> (its place among the wired inputs, how many), computed once per change of the wires in.
        self._input_places: dict[int, tuple[int, int]] | None = None
        #: The collapsed block drawn in this layer's place, if any.
        self.proxy: BlockItem | None = None
        self.setPos(QPointF(*node.position))
        self._title_font = QFont()
        self._title_font.setBold(True)
        self._title_font.setPointSizeF(9.5)
        self._body_font = QFont()
        self._body_font.setPointSizeF(8.5)

    # -- state from the model --------------------------------------------------------------------

    def set_node(self, node: Node) -> None:
        self.name = node.name
        self.label = get_spec(node.type).label(node.params)
        self.node_params = node.params
        self._refresh()

    def set_result(self, result: LayerResult | None, diagnostics: list[Diagnostic], refresh_edges: bool = True) -> None:
        """The analysis of this layer; ``refresh_edges=False`` when the caller refreshes the wires once for many layers."""
        self.result = result
        self.diagnostics = diagnostics
        self._refresh(refresh_edges)

    @property
    def status(self) -> str:
        if any(d.severity == "error" for d in self.diagnostics):
            return "error"
        if self.result is None or self.result.status == "unknown":
            return "unknown"
        return "warning" if self.diagnostics else "ok"

    def _refresh(self, refresh_edges: bool = True) -> None:
        tips = [f"<b>{escape(self.name)}</b> ({self.layer_type})"]
        if self.result is not None and self.result.params is not None:
            tips.append(f"Parameters: {escape(self.result.params.formula)}")
        for d in self.diagnostics:
            colour = "#D62728" if d.severity == "error" else "#B07800"
            tips.append(f"<span style='color:{colour}'><b>{d.severity}</b>: {escape(d.message)}</span>")
            if d.hint:
                tips.append(f"<i>Hint: {escape(d.hint)}</i>")
        if self.result is not None and self.result.status == "unknown":
            tips.append("Shape unknown: a layer before this one has a problem.")
        self.setToolTip("<br>".join(tips))
        if refresh_edges:
            for edge in self.edges:
                edge.refresh()
        self.update()

    # -- geometry ----------------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, NODE_WIDTH + 4, NODE_HEIGHT + 4)

    def input_anchor(self, slot: int, count: int) -> QPointF:
        """Scene point where wire ``slot`` (of ``count``) enters; merges spread their inputs."""
        if not self.is_merge or count <= 1:
            return self.mapToScene(QPointF(NODE_WIDTH / 2, 0))
        span = NODE_WIDTH * 0.6
        x = NODE_WIDTH / 2 - span / 2 + span * slot / (count - 1)
        return self.mapToScene(QPointF(x, 0))

    def output_anchor(self) -> QPointF:
        return self.mapToScene(QPointF(NODE_WIDTH / 2, NODE_HEIGHT))

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):  # noqa: ANN001, ANN201
        if change == QGraphicsItem.GraphicsItemChange.ItemScenePositionHasChanged:
            for edge in self.edges:
                edge.route = []  # routed again once the move is done (GraphScene.reroute)
                edge.update_path()
        return super().itemChange(change, value)

    # -- drawing -------------------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        status = self.status
        border = {"error": ERROR, "warning": WARNING}.get(status, QColor("#6B6B6B"))
        background = QColor("#FFF1F0") if status == "error" else FROZEN if self.frozen else QColor("#FFFFFF")
        pen = QPen(SELECTED if self.isSelected() else border, 3.0 if self.isSelected() or status == "error" else 1.3)
        painter.setPen(pen)
        painter.setBrush(background)
        painter.drawRoundedRect(rect, 7, 7)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(FAMILY_COLOURS.get(self.family, UNKNOWN))
        painter.drawRoundedRect(QRectF(1.5, 1.5, 7, NODE_HEIGHT - 3), 3, 3)

        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < SOLID_BELOW:  # far zoomed out: a solid block in the family colour is what can be seen
            painter.setBrush(ERROR if status == "error" else FAMILY_COLOURS.get(self.family, UNKNOWN))
            painter.drawRect(rect)
            return
        if lod < DETAIL_BELOW:  # zoomed out: the name alone, large enough to read (semantic zoom)
            painter.setPen(ERROR if status == "error" else TEXT)
            painter.setFont(_OVERVIEW_FONT)
            painter.drawText(rect.adjusted(14, 4, -6, -4), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
                             _elide(self.name, QFontMetricsF(_OVERVIEW_FONT), (NODE_WIDTH - 20) * 2))
            return
        left, width = 14.0, NODE_WIDTH - 20
        painter.setFont(self._title_font)
        metrics = QFontMetricsF(self._title_font)
        painter.setPen(TEXT)
        painter.drawText(QPointF(left, 17), _elide(self.name, metrics, width))
        painter.setFont(self._body_font)
        body = QFontMetricsF(self._body_font)
        painter.setPen(MUTED)
        type_text = self.layer_type + ("  " if self.label else "")
        painter.drawText(QPointF(left, 34), type_text)
        painter.setPen(TEXT)
        used = body.horizontalAdvance(type_text)
        painter.drawText(QPointF(left + used, 34), _elide(self.label, body, width - used))

        result = self.result
        if status == "error":
            painter.setPen(ERROR)
            message = self.diagnostics[0].message if self.diagnostics else "error"
            painter.drawText(QRectF(left, 40, width, 34), Qt.TextFlag.TextWordWrap, _elide(message, body, width * 1.9))
            return
        shape = shape_text(result.shape if result else None)
        if result is not None and result.extra_outputs:  # e.g. an LSTM's states: "+ state_h, state_c"
            shape += " + " + ", ".join(self.spec.output_labels(self.node_params)[1:])
        params = "? params" if result is None or result.params is None else f"{fmt_int(result.params.total)} params"
        if result is not None and result.own_params is not None and result.own_params.total:
            params = "shared weights (counted once)"
        painter.setPen(UNKNOWN if status == "unknown" else QColor("#0B5394"))
        painter.drawText(QPointF(left, 53), _elide("→ " + shape, body, width))
        painter.setPen(MUTED if status != "unknown" else UNKNOWN)
        if self.frozen and result is not None and result.params is not None and result.params.total:
            params += ", frozen"
        elif result is not None and result.params is not None and result.params.non_trainable:
            params += f" ({fmt_int(result.params.non_trainable)} non-trainable)"
        painter.drawText(QPointF(left, 70), _elide(params, body, width))
        if self.frozen:
            painter.setPen(FROZEN_MARK)
            painter.drawText(QPointF(left + width - 12, 17), "❄")
        if status == "warning":
            painter.setPen(WARNING)
            painter.drawText(QPointF(left + width - 10, 70), "⚠")


class EdgeItem(QGraphicsPathItem):
    """A wire from a node's output to an input slot of another node, labelled with the tensor shape it carries."""

    def __init__(self, edge: Edge, source: NodeItem, target: NodeItem, refresh: bool = True) -> None:
        super().__init__()
        self.edge = edge
        self.source = source
        self.target = target
        self.setZValue(0)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.label = QGraphicsSimpleTextItem(self)
        font = QFont()
        font.setPointSizeF(7.5)
        self.label.setFont(font)
        self.slot_label = QGraphicsSimpleTextItem(self)
        self.slot_label.setFont(font)
        #: Scene points the wire passes through so that it never runs under another layer (none: direct).
        self.route: list[QPointF] = []
        source.edges.append(self)
        target.edges.append(self)
        target._input_places = None
        if refresh:
            self.refresh()

    def set_route(self, route: list[QPointF]) -> None:
        if route != self.route:
            self.route = route
            self.update_path()

    def detach(self) -> None:
        """Forget this wire everywhere it is drawn from: its layers and the collapsed blocks standing for them.
        A block that kept a deleted wire would move it (a freed C++ object) when dragged."""
        for item in (self.source, self.target, self.source.proxy, self.target.proxy):
            if item is not None and self in item.edges:
                item.edges.remove(self)
        self.target._input_places = None

    def _slot_index(self) -> tuple[int, int]:
        places = self.target._input_places
        if places is None:  # once per change of the target's wires, not once per wire (a Concatenate of 1,000)
            incoming = sorted(e.edge.slot for e in self.target.edges if e.target is self.target)
            places = self.target._input_places = {slot: (i, len(incoming)) for i, slot in enumerate(incoming)}
        return places.get(self.edge.slot, (0, 1))

    def update_path(self) -> None:
        source = self.source.proxy or self.source  # a layer inside a collapsed block: the wire meets the block
        target = self.target.proxy or self.target
        if source is target:  # inside one collapsed block: not drawn
            self.setVisible(False)
            return
        self.setVisible(True)
        start = source.output_anchor()
        index, count = self._slot_index()
        end = target.input_anchor(index, count) if target is self.target else target.input_anchor()
        path = QPainterPath(start)
        if self.route:
            # Down beside the layers in the way (engine.layout), with rounded turns.
            points = [start, *self.route, end]
            for a, b in zip(points, points[1:]):
                dy = max(12.0, abs(b.y() - a.y()) * 0.45)
                path.cubicTo(QPointF(a.x(), a.y() + dy), QPointF(b.x(), b.y() - dy), b)
        else:
            dy = max(40.0, abs(end.y() - start.y()) * 0.5)
            path.cubicTo(QPointF(start.x(), start.y() + dy), QPointF(end.x(), end.y() - dy), end)
        self.setPath(path)
        # Long wires (skip connections) get their label just below the source, where there is room.
        length = path.length()
        mid = path.pointAtPercent(0.5 if length < 220 else 55 / length)
        rect = self.label.boundingRect()
        self.label.setPos(mid.x() + 4, mid.y() - rect.height() / 2)
        if self.target.order_matters or self.edge.is_mask:
            spec = self.target.spec
            named = self.edge.is_mask or self.edge.slot < len(spec.input_names)
            self.slot_label.setText("mask" if self.edge.is_mask else spec.input_label(self.edge.slot) if named else str(index + 1))
            self.slot_label.setPos(end.x() + 4, end.y() - 16)
            self.slot_label.show()
        else:
            self.slot_label.hide()

    def refresh(self) -> None:
        result = self.source.result
        outputs = result.outputs if result is not None and result.status == "ok" else ()
        shape = outputs[self.edge.output].shape if self.edge.output < len(outputs) else None
        target_error = [d for d in self.target.diagnostics if d.severity == "error" and d.code != "no-input"]
        colour = ERROR if target_error else (UNKNOWN if shape is None else QColor("#555555"))
        pen = QPen(SELECTED if self.isSelected() else colour, 2.6 if self.isSelected() else 1.6)
        if shape is None:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.label.setText(compact_shape(shape))
        self.label.setBrush(colour)
        self.slot_label.setBrush(colour)
        which = ""
        if self.edge.output:
            labels = self.source.spec.output_labels(self.source.node_params)
            which = f" ({escape(labels[self.edge.output])})" if self.edge.output < len(labels) else f" (output {self.edge.output + 1})"
        tip = f"{escape(self.source.name)}{which} → {escape(self.target.name)}: {shape_text(shape)}"
        if target_error:
            tip += "<br><span style='color:#D62728'>" + escape(target_error[0].message) + "</span>"
            if target_error[0].hint:
                tip += f"<br><i>Hint: {escape(target_error[0].hint)}</i>"
        self.setToolTip(tip)
        self.update_path()

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):  # noqa: ANN001, ANN201
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.refresh()
        return super().itemChange(change, value)


class BlockItem(QGraphicsObject):
    """A collapsed block: one box in place of its layers, with what goes in and out, its parameters and
    multiply-adds. Double-click expands it."""

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id
        self.name = ""
        self.lines: list[str] = []
        self.error = False
        self.edges: list[EdgeItem] = []
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsScenePositionChanges)
        self.setZValue(1)
        self._title_font = QFont()
        self._title_font.setBold(True)
        self._title_font.setPointSizeF(9.5)
        self._body_font = QFont()
        self._body_font.setPointSizeF(8.5)

    def set_summary(self, name: str, lines: list[str], error: bool) -> None:
        self.name, self.lines, self.error = name, lines, error
        self.setToolTip(f"<b>{escape(name)}</b> (block, collapsed)<br>" + "<br>".join(escape(line) for line in lines)
                        + "<br><i>Double-click to expand</i>")
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, NODE_WIDTH + 4, NODE_HEIGHT + 4)

    def input_anchor(self, slot: int = 0, count: int = 1) -> QPointF:
        return self.mapToScene(QPointF(NODE_WIDTH / 2, 0))

    def output_anchor(self) -> QPointF:
        return self.mapToScene(QPointF(NODE_WIDTH / 2, NODE_HEIGHT))

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):  # noqa: ANN001, ANN201
        if change == QGraphicsItem.GraphicsItemChange.ItemScenePositionHasChanged:
            for edge in self.edges:
                edge.route = []
                edge.update_path()
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        # A stack of cards: a block holds several layers.
        painter.setPen(QPen(QColor("#9A9A9A"), 1))
        painter.setBrush(QColor("#ECEFF4"))
        painter.drawRoundedRect(rect.translated(5, 5), 7, 7)
        border = ERROR if self.error else QColor("#3B4252")
        painter.setPen(QPen(SELECTED if self.isSelected() else border, 3.0 if self.isSelected() or self.error else 1.6))
        painter.setBrush(QColor("#FFF1F0") if self.error else QColor("#F7F9FC"))
        painter.drawRoundedRect(rect, 7, 7)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < SOLID_BELOW:
            return
        if lod < DETAIL_BELOW:
            painter.setPen(ERROR if self.error else TEXT)
            painter.setFont(_OVERVIEW_FONT)
            painter.drawText(rect.adjusted(12, 4, -6, -4), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
                             "▸ " + self.name)
            return
        left, width = 12.0, NODE_WIDTH - 18
        painter.setFont(self._title_font)
        painter.setPen(TEXT)
        painter.drawText(QPointF(left, 17), _elide("▸ " + self.name, QFontMetricsF(self._title_font), width))
        painter.setFont(self._body_font)
        metrics = QFontMetricsF(self._body_font)
        for i, line in enumerate(self.lines[:3]):
            painter.setPen(ERROR if self.error and i == 2 else (QColor("#0B5394") if i == 1 else MUTED))
            painter.drawText(QPointF(left, 34 + 17 * i), _elide(line, metrics, width))


class BlockFrame(QGraphicsItem):
    """An expanded block: a named outline around exactly its layers (the union of their boxes, so a layer of
    another branch beside them stays outside). Double-click the name to collapse it."""

    TITLE = 18.0

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id
        self.name = ""
        self.outline = QPainterPath()
        self._title = QRectF()
        self.setZValue(-2)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setToolTip("Block: double-click its name to collapse it")

    def set_frame(self, name: str, boxes: list[QRectF], depth: int) -> None:
        self.prepareGeometryChange()
        self.name = name
        pad = 10.0 + 6.0 * max(0, 3 - depth)
        outline = QPainterPath()
        outline.setFillRule(Qt.FillRule.WindingFill)
        for box in boxes:  # tall enough to join the boxes of one column into one shape
            outline.addRoundedRect(box.adjusted(-pad, -pad - 22, pad, pad + 22), 10, 10)
        self.outline = outline.simplified()
        top = min(boxes, key=lambda b: (b.top(), b.left()))
        self._title = QRectF(top.left() - pad, top.top() - pad - 22 - self.TITLE, max(top.width() + 2 * pad, 120), self.TITLE)
        self.update()

    def title_rect(self) -> QRectF:
        return self._title

    def boundingRect(self) -> QRectF:
        return self.outline.boundingRect().united(self._title).adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setPen(QPen(QColor("#8FA3BF"), 1.2))
        painter.setBrush(QColor(143, 163, 191, 30))
        painter.drawPath(self.outline)
        painter.setPen(QColor("#4C566A"))
        font = QFont()
        font.setBold(True)
        font.setPointSizeF(8.5)
        painter.setFont(font)
        painter.drawText(self._title.adjusted(6, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "▾ " + self.name)
