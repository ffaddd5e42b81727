"""The layer palette: every catalogue layer grouped by family, with a search box. Drag onto the canvas or
double-click to add."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from engine.layers import CATALOGUE, FAMILIES
from gui.canvas.items import FAMILY_COLOURS
from gui.canvas.view import LAYER_MIME

__all__ = ["PaletteWidget", "ranked_types"]

_TYPE_ROLE = Qt.ItemDataRole.UserRole + 1


class _LayerTree(QTreeWidget):
    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        layer_type = items[0].data(0, _TYPE_ROLE) if items else None
        if layer_type:
            data.setData(LAYER_MIME, layer_type.encode("utf-8"))
            data.setText(layer_type)
        return data

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]


class PaletteWidget(QWidget):
    #: A layer type chosen by double-click or Enter.
    layerActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search layers…")
        self.search.setClearButtonEnabled(True)
        self.tree = _LayerTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.items: dict[str, QTreeWidgetItem] = {}
        for family in FAMILIES:
            group = QTreeWidgetItem(self.tree, [family])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            group.setForeground(0, QBrush(FAMILY_COLOURS[family].darker(130)))
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            for spec in CATALOGUE.values():
                if spec.family != family:
                    continue
                item = QTreeWidgetItem(group, [spec.type])
                item.setData(0, _TYPE_ROLE, spec.type)
                item.setToolTip(0, f"<b>{spec.type}</b><br>{spec.doc}")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
                self.items[spec.type] = item
        self.tree.expandAll()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._activate_first)
        self.search.installEventFilter(self)
        self.matches: list[str] = []
        self.tree.itemActivated.connect(self._activated)

    def filter(self, text: str) -> None:
        """Show layers whose name contains ``text`` (if none does, those whose description does), and make
        the best match current: the exact name, then names that start with it, then the rest."""
        needle = text.strip().lower()
        by_name = any(needle in t.lower() for t in self.items)
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                item = group.child(j)
                layer_type = item.data(0, _TYPE_ROLE)
                haystack = layer_type.lower() if by_name else CATALOGUE[layer_type].doc.lower()
                match = not needle or needle in haystack
                item.setHidden(not match)
                shown += match
            group.setHidden(shown == 0)
        self.matches = sorted(self.visible_types(), key=lambda t: _rank(t, needle)) if needle else []
        self.tree.setCurrentItem(self.items[self.matches[0]] if self.matches else None)

    def visible_types(self) -> list[str]:
        return [t for t, item in self.items.items() if not item.isHidden() and not item.parent().isHidden()]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up and Down in the search box choose among the matches, best first; Enter adds the chosen one."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress and self.matches:
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                current = self.tree.currentItem()
                chosen = current.data(0, _TYPE_ROLE) if current is not None else None
                index = self.matches.index(chosen) if chosen in self.matches else -1
                index = (index + (1 if key == Qt.Key.Key_Down else -1)) % len(self.matches)
                self.tree.setCurrentItem(self.items[self.matches[index]])
                return True
        return super().eventFilter(watched, event)

    def _activate_first(self) -> None:
        current = self.tree.currentItem()
        chosen = current.data(0, _TYPE_ROLE) if current is not None and not current.isHidden() else None
        if chosen in self.visible_types():
            self.layerActivated.emit(chosen)
        elif self.visible_types():
            self.layerActivated.emit(self.visible_types()[0])

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        layer_type = item.data(0, _TYPE_ROLE)
        if layer_type:
            self.layerActivated.emit(layer_type)


def ranked_types(text: str) -> list[str]:
    """Layer types matching ``text`` (by name, else by description), best first; all of them for no text."""
    needle = text.strip().lower()
    if not needle:
        return list(CATALOGUE)
    by_name = [t for t in CATALOGUE if needle in t.lower()]
    found = by_name or [t for t, spec in CATALOGUE.items() if needle in spec.doc.lower()]
    return sorted(found, key=lambda t: _rank(t, needle))


def _rank(layer_type: str, needle: str) -> tuple[int, int, str]:
    """Exact name first, then names starting with the text, then names containing it earlier."""
    name = layer_type.lower()
    if name == needle:
        return (0, 0, name)
    if name.startswith(needle):
        return (1, len(name), name)
    position = name.find(needle)
    return (2, position if position >= 0 else 99, name)
