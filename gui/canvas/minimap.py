"""The minimap: the whole design in miniature in a corner of the canvas, with the part in view framed.
Click or drag on it to move the view there.

The miniature is rendered into a pixmap when the design changes (at most every 300 ms); panning and
zooming only redraw the frame over it, so the minimap costs nothing per frame however large the design."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsView, QWidget

__all__ = ["Minimap"]


class Minimap(QWidget):
    SIZE = (200, 150)

    def __init__(self, main: QGraphicsView) -> None:
        super().__init__(main)
        self.main = main
        self.setFixedSize(*self.SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Minimap: click or drag to move the view")
        self._pixmap = QPixmap()
        self._source = QRectF()  # the scene rectangle the pixmap shows
        self._target = QRectF()  # where it lies in this widget
        self._refit = QTimer(self)
        self._refit.setSingleShot(True)
        self._refit.setInterval(300)
        self._refit.timeout.connect(self.refit)
        main.horizontalScrollBar().valueChanged.connect(self.update)
        main.verticalScrollBar().valueChanged.connect(self.update)
        self._scene = None
        self.set_scene(main.scene())

    def set_scene(self, scene) -> None:  # noqa: ANN001
        if self._scene is not None:
            try:
                self._scene.changed.disconnect(self._changed)
            except (RuntimeError, TypeError):
                pass
        self._scene = scene
        scene.changed.connect(self._changed)
        self.refit()

    def _changed(self, _rects: object) -> None:
        if not self._refit.isActive():
            self._refit.start()

    def refit(self) -> None:
        """Render the design (what is drawn: collapsed blocks, not their hidden layers) into the pixmap."""
        self._refit.stop()
        scene = self._scene
        bounds = scene.visible_bounds() if hasattr(scene, "visible_bounds") else scene.itemsBoundingRect()
        self._pixmap = QPixmap(self.size())
        self._pixmap.fill(QColor(255, 255, 255, 235))
        if not bounds.isNull():
            self._source = bounds.adjusted(-60, -60, 60, 60)
            scale = min(self.width() / self._source.width(), self.height() / self._source.height())
            w, h = self._source.width() * scale, self._source.height() * scale
            self._target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
            painter = QPainter(self._pixmap)
            self._draw_boxes(painter, scene)
            painter.end()
        self.update()

    def _draw_boxes(self, painter: QPainter, scene: Any) -> None:
        """Each layer and collapsed block as a box in its family's colour: a few hundred rectangles, not the
        scene's full drawing (which took 35 ms for DenseNet121)."""
        from gui.canvas.items import FAMILY_COLOURS, UNKNOWN

        boxes = [(item, FAMILY_COLOURS.get(item.family, UNKNOWN)) for item in getattr(scene, "nodes", {}).values() if item.isVisible()]
        boxes += [(item, QColor("#7B8494")) for item in getattr(scene, "blocks", {}).values()]
        painter.setPen(Qt.PenStyle.NoPen)
        for item, colour in boxes:
            rect = item.sceneBoundingRect()
            top_left, bottom_right = self._to_widget(rect.topLeft()), self._to_widget(rect.bottomRight())
            painter.setBrush(colour)
            painter.drawRect(QRectF(top_left, bottom_right).adjusted(0, 0, 0.5, 0.5))

    def place(self) -> None:
        """Bottom-right corner of the canvas, clear of its scroll bars."""
        parent = self.main.viewport().geometry()
        self.move(parent.right() - self.width() - 8, parent.bottom() - self.height() - 8)

    def _to_widget(self, point: QPointF) -> QPointF:
        sx = self._target.width() / self._source.width()
        return QPointF(self._target.left() + (point.x() - self._source.left()) * sx, self._target.top() + (point.y() - self._source.top()) * sx)

    def scene_point_at(self, pos: QPointF) -> QPointF:
        if self._source.isNull():
            return QPointF()
        scale = self._source.width() / self._target.width()
        return QPointF(self._source.left() + (pos.x() - self._target.left()) * scale, self._source.top() + (pos.y() - self._target.top()) * scale)

    def mapFromScene(self, x: float, y: float) -> QPointF:  # noqa: N802 - the QGraphicsView name, for callers
        return self._to_widget(QPointF(x, y))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._pixmap)
        painter.setPen(QPen(QColor("#7F8C9D"), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if not self._source.isNull():
            visible = self.main.mapToScene(self.main.viewport().rect()).boundingRect()
            frame = QRectF(self._to_widget(visible.topLeft()), self._to_widget(visible.bottomRight()))
            painter.setPen(QPen(QColor("#1F6FEB"), 1.5))
            painter.setBrush(QColor(31, 111, 235, 40))
            painter.drawRect(frame.intersected(QRectF(self.rect())))

    def _pan(self, event: QMouseEvent) -> None:
        self.main.centerOn(self.scene_point_at(event.position()))
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._pan(event)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pan(event)
        event.accept()
