"""The quick add popup: type a few letters, Enter adds the best match where the user asked (right-click on the
canvas, Tab, "Insert layer after", "Insert layer on wire"), like Blender's Shift+A or Orange's quick menu."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from engine.layers import CATALOGUE
from gui.palette import ranked_types

__all__ = ["QuickAddPopup"]


class QuickAddPopup(QFrame):
    #: The layer type chosen (Enter, click); the popup then closes.
    chosen = Signal(str)

    def __init__(self, title: str = "Add a layer", parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = QLineEdit(placeholderText="type to search, Enter to add")
        self.list = QListWidget()
        self.list.setMinimumHeight(220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(QLabel(f"<b>{title}</b>"))
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.search.textChanged.connect(self._fill)
        self.search.returnPressed.connect(self._choose)
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(lambda _item: self._choose())
        self.list.itemClicked.connect(lambda _item: self._choose())
        self._fill("")

    def _fill(self, text: str) -> None:
        self.list.clear()
        for layer_type in ranked_types(text):
            item = QListWidgetItem(f"{layer_type}  ({CATALOGUE[layer_type].family})")
            item.setData(Qt.ItemDataRole.UserRole, layer_type)
            item.setToolTip(CATALOGUE[layer_type].doc)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress and self.list.count():
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if key == Qt.Key.Key_Down else -1
                self.list.setCurrentRow((self.list.currentRow() + step) % self.list.count())
                return True
        return super().eventFilter(watched, event)

    def current_type(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _choose(self) -> None:
        layer_type = self.current_type()
        if layer_type:
            self.close()
            self.chosen.emit(layer_type)

    def popup_at(self, global_pos: QPoint) -> None:
        self.move(global_pos)
        self.show()
        self.search.setFocus()
