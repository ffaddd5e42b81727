"""The canvas view: zoom (Ctrl+wheel, +/-), pan (middle button, or Space+drag), fit (F), rubber-band select,
and drops from the palette."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QTransform, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

__all__ = ["GraphView", "LAYER_MIME"]

#: Mime type of a palette drag; the payload is the layer type name.
LAYER_MIME = "application/x-layerlab-layer"


class GraphView(QGraphicsView):
    #: (layer type, scene position) when a layer is dropped from the palette.
    layerDropped = Signal(str, QPointF)
    #: Right-click: (scene position, global position) for the window to build the menu.
    contextMenuRequested = Signal(QPointF, QPoint)
    #: Tab: open the quick add popup at this scene position.
    quickAddRequested = Signal(QPointF)
    #: Said when a design does not fit at a readable size.
    tooBig = Signal(str)

    MIN_ZOOM, MAX_ZOOM = 0.05, 4.0

    def __init__(self, scene, parent=None) -> None:  # noqa: ANN001
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setAcceptDrops(True)
        self.setBackgroundBrush(QColor("#F4F5F7"))
        self._panning: QPointF | None = None
        self._space = False

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = max(self.MIN_ZOOM, min(self.MAX_ZOOM, factor))
        self.setTransform(QTransform.fromScale(factor, factor))  # exact: repeated relative scaling drifts

    def zoom_by(self, step: float) -> None:
        """Zoom in or out; the selected layers stay in view (the toolbar and the keys zoom around them)."""
        selected = [item for item in self.scene().selectedItems() if item.flags() & item.GraphicsItemFlag.ItemIsMovable]
        self.set_zoom(self.zoom * step)
        if selected:
            rect = selected[0].sceneBoundingRect()
            for item in selected[1:]:
                rect = rect.united(item.sceneBoundingRect())
            self.centerOn(rect.center())

    def fit_rect(self, rect: QRectF, max_zoom: float = 1.2) -> None:
        """Show ``rect`` whole, at most at ``max_zoom``."""
        self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > max_zoom:
            self.set_zoom(max_zoom)
        self.centerOn(rect.center())

    #: Below this zoom node text is hard to read; opening a design never starts smaller.
    READABLE_ZOOM = 0.8

    #: Below this zoom the layers' names cannot be read: Fit to View stops here.
    LABELS_ZOOM = 0.35
    def fit(self, readable: bool = False) -> None:
        """Show every layer (F), but never smaller than readable labels (`LABELS_ZOOM`; with ``readable``, the
        comfortable `READABLE_ZOOM` a design opens at): a design too big for that is shown from its top (the
        inputs), and `tooBig` says how to see the rest. Zoom Out still goes further."""
        rect = self.scene().visible_bounds()
        if rect.isNull():
            return
        self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.2:
            self.set_zoom(1.2)
        floor = self.READABLE_ZOOM if readable else self.LABELS_ZOOM
        if self.zoom < floor:
            self.set_zoom(floor)
            half_height = self.viewport().height() / 2 / self.zoom
            self.centerOn(rect.center().x(), rect.top() - 40 + half_height)
            self.tooBig.emit("The whole design does not fit at a readable size: showing its top. Use the minimap, "
                             "Find (Ctrl+F), collapse blocks (Ctrl+G), or Zoom Out to see more.")
            return
        self.centerOn(rect.center())

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.15 if event.angleDelta().y() > 0 else 1 / 1.15)
            event.accept()
            return
        super().wheelEvent(event)

    def cursor_scene_pos(self) -> QPointF | None:
        """Where the mouse is on the canvas, or None when it is elsewhere."""
        from PySide6.QtGui import QCursor

        local = self.viewport().mapFromGlobal(QCursor.pos())
        return self.mapToScene(local) if self.viewport().rect().contains(local) else None

    def contextMenuEvent(self, event) -> None:  # noqa: ANN001
        self.contextMenuRequested.emit(self.mapToScene(event.pos()), event.globalPos())
        event.accept()

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002
        return False  # Tab belongs to the canvas (quick add), not to focus traversal

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.quickAddRequested.emit(self.cursor_scene_pos() or self.visible_scene_rect().center())
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._panning = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._panning is not None:
            delta = event.position() - self._panning
            self._panning = event.position()
            self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - delta.x()))
            self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton and self._panning is not None:
            self._panning = None
            self.unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # -- drops from the palette ------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: ANN001
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: ANN001
        if event.mimeData().hasFormat(LAYER_MIME):
            layer_type = bytes(event.mimeData().data(LAYER_MIME)).decode("utf-8")
            self.layerDropped.emit(layer_type, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def resizeEvent(self, event) -> None:  # noqa: ANN001
        super().resizeEvent(event)
        minimap = getattr(self, "minimap", None)
        if minimap is not None:
            minimap.place()
