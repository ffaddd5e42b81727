"""The minimap: the whole design in miniature in a corner of the canvas, with the part in view framed.
Click or drag on it to move the view there."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QFrame, QGraphicsView

__all__ = ["Minimap"]


class Minimap(QGraphicsView):
    SIZE = (200, 150)

    def __init__(self, main: QGraphicsView) -> None:
        super().__init__(main.scene(), main)
        self.main = main
        self.setFixedSize(*self.SIZE)
        self.setInteractive(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.Box)
        self.setBackgroundBrush(QColor(255, 255, 255, 235))
        self.setRenderHints(QPainter.RenderHint(0))  # a miniature: speed over smoothness
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Minimap: click or drag to move the view")
        self._refit = QTimer(self)
        self._refit.setSingleShot(True)
        self._refit.setInterval(150)
        self._refit.timeout.connect(self.refit)
        main.horizontalScrollBar().valueChanged.connect(self.viewport().update)
        main.verticalScrollBar().valueChanged.connect(self.viewport().update)
        self.set_scene(main.scene())

    def set_scene(self, scene) -> None:  # noqa: ANN001
        self.setScene(scene)
        scene.changed.connect(lambda _rects: self._refit.start())
        self.refit()

    def refit(self) -> None:
        rect = self.scene().visible_bounds()
        if not rect.isNull():
            self.fitInView(rect.adjusted(-60, -60, 60, 60), Qt.AspectRatioMode.KeepAspectRatio)
        self.viewport().update()

    def place(self) -> None:
        """Bottom-right corner of the canvas, clear of its scroll bars."""
        parent = self.main.viewport().geometry()
        self.move(parent.right() - self.width() - 8, parent.bottom() - self.height() - 8)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        visible = self.main.mapToScene(self.main.viewport().rect()).boundingRect()
        painter.setPen(QPen(QColor("#1F6FEB"), 0))
        painter.setBrush(QColor(31, 111, 235, 40))
        painter.drawRect(visible)

    def _pan(self, event: QMouseEvent) -> None:
        self.main.centerOn(self.mapToScene(event.position().toPoint()))
        self.viewport().update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._pan(event)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pan(event)
        event.accept()

    def scene_point_at(self, pos: QPointF) -> QPointF:
        return self.mapToScene(pos.toPoint())
