"""The summary panel (like Keras's ``model.summary()``) and the problems panel."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.analysis import Analysis
from engine.layers import fmt_int
from engine.report import outputs_text, source_text
from engine.teaching import layer_flops
from gui.canvas.items import ERROR, UNKNOWN, WARNING, shape_text
from gui.document import Document

__all__ = ["SummaryPanel", "ProblemsPanel", "totals_text"]

_NODE_ROLE = Qt.ItemDataRole.UserRole + 1


def totals_text(analysis: Analysis) -> str:
    text = (
        f"Total params: {fmt_int(analysis.total_params)}   Trainable: {fmt_int(analysis.trainable_params)}   "
        f"Non-trainable: {fmt_int(analysis.non_trainable_params)}"
    )
    return text if analysis.totals_complete else text + "   (incomplete: some layers are unknown)"


class _AnalysisPanel(QWidget):
    """A panel that shows the open document's analysis and follows it."""

    document: Document | None = None

    def set_document(self, document: Document) -> None:
        if self.document is not None:
            self.document.analysed.disconnect(self.refresh)
        self.document = document
        document.analysed.connect(self.refresh)
        self.refresh(document.analysis)

    def refresh(self, analysis: Analysis) -> None:
        raise NotImplementedError


class SummaryPanel(_AnalysisPanel):
    """One row per layer in topological order; selecting rows selects layers on the canvas."""

    #: Node ids the user selected in the table.
    selectionRequested = Signal(list)

    HEADERS = ("Layer (type)", "Output Shape", "Param #", "Multiply-adds", "Connected to")

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(self.HEADERS)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)  # compact rows: more layers in view
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 260)
        self.table.setColumnWidth(1, 170)
        self.table.setColumnWidth(2, 100)
        self.table.setColumnWidth(3, 120)
        self.totals = QLabel()
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)
        layout.addWidget(self.totals)
        self._rows: dict[str, int] = {}
        self._shown: dict[str, object] = {}
        self._order: list[str] = []
        self._names: list[str] = []
        self._syncing = False
        self.table.itemSelectionChanged.connect(self._on_table_selection)
        self.document: Document | None = None
        self.set_document(document)

    def refresh(self, analysis: Analysis) -> None:
        """Show ``analysis``; only rows whose result changed are rewritten (the analyzer reuses
        unchanged results, so identity tells), which keeps edits on 400-layer networks fast."""
        assert self.document is not None
        graph = self.document.graph
        nodes = graph.nx_graph.nodes
        order = analysis.order
        names = [nodes[n]["name"] for n in order]
        full = order != self._order or names != self._names
        self._syncing = True
        selected = set(self.selected_node_ids())
        self.table.setUpdatesEnabled(False)
        if full:
            self.table.setRowCount(len(order))
            self._rows = {node_id: i for i, node_id in enumerate(order)}
            self._shown = {}
            self._order, self._names = list(order), names
        for i, node_id in enumerate(order):
            result = analysis.results[node_id]
            if self._shown.get(node_id) is result:
                continue
            self._shown[node_id] = result
            self._write_row(i, node_id, result)
        self.table.setUpdatesEnabled(True)
        self.totals.setText(totals_text(analysis))
        self._syncing = False
        if full:
            self.select_nodes(list(selected))

    def _write_row(self, row: int, node_id: str, result) -> None:  # noqa: ANN001
        assert self.document is not None
        graph = self.document.graph
        node = graph.node(node_id)
        params = "?" if result.params is None else fmt_int(result.params.total)
        shape = "ERROR" if result.status == "error" else (outputs_text(result) or shape_text(result.shape))
        inputs = ", ".join(source_text(graph, e) for e in graph.inputs_of(node_id))
        flops = layer_flops(graph, node_id, self.document.analysis)
        model = graph.model_group(node.group)
        where = "/".join(graph.group_path(model)) + "/" if model else ""
        cells = (f"{where}{node.name} ({node.spec.keras_class})", shape, params, "?" if flops is None else fmt_int(flops[0]), inputs)
        colour = {"error": ERROR, "unknown": UNKNOWN}.get(result.status)
        for column, text in enumerate(cells):
            item = self.table.item(row, column)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, column, item)
            item.setText(text)
            item.setData(_NODE_ROLE, node_id)
            item.setForeground(QBrush(colour) if colour else QBrush(QColor("#1E1E1E")))
            if column in (2, 3):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if column == 2:
                item.setToolTip(result.params.formula if result.params else "unknown")
            if column == 3:
                item.setToolTip(flops[1] if flops else "unknown")

    def selected_node_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        return [self.table.item(r, 0).data(_NODE_ROLE) for r in rows if self.table.item(r, 0)]

    def select_nodes(self, node_ids: list[str]) -> None:
        """Mirror the canvas selection (without echoing it back)."""
        self._syncing = True
        # One selection change for the whole set (selectRow per layer costs seconds on 1,000 layers):
        # contiguous rows become one range.
        rows = sorted(self._rows[n] for n in node_ids if n in self._rows)
        selection = QItemSelection()
        model = self.table.model()
        last = self.table.columnCount() - 1
        start = previous = None
        for row in [*rows, None]:
            if start is not None and (row is None or row != previous + 1):
                selection.select(model.index(start, 0), model.index(previous, last))
                start = None
            if row is not None and start is None:
                start = row
            previous = row
        self.table.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if len(node_ids) == 1 and node_ids[0] in self._rows:
            self.table.scrollToItem(self.table.item(self._rows[node_ids[0]], 0))
        self._syncing = False

    def _on_table_selection(self) -> None:
        if not self._syncing:
            self.selectionRequested.emit(self.selected_node_ids())


class ProblemsPanel(_AnalysisPanel):
    """The engine's diagnostics; activating one selects and centres its layer."""

    #: A node id to select and centre on.
    nodeRequested = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        self.document: Document | None = None
        self.set_document(document)

    def refresh(self, analysis: Analysis) -> None:
        assert self.document is not None
        self.list.clear()
        graph = self.document.graph
        for d in analysis.diagnostics:
            where = graph.node(d.node).name if d.node and d.node in graph else "network"
            prefix = "" if d.message.startswith(where) else f"{where}: "
            text = f"{'✖' if d.severity == 'error' else '⚠'}  {prefix}{d.message}"
            if d.hint:
                text += f"\n     Hint: {d.hint}"
            item = QListWidgetItem(text)
            item.setForeground(QBrush(ERROR if d.severity == "error" else WARNING.darker(130)))
            item.setData(_NODE_ROLE, d.node)
            item.setToolTip(d.message + ("\n" + d.hint if d.hint else ""))
            self.list.addItem(item)
        if not analysis.diagnostics:
            item = QListWidgetItem("✔  No problems: every layer has a known shape.")
            item.setForeground(QBrush(QColor("#2CA02C")))
            self.list.addItem(item)

    def count(self) -> int:
        return sum(1 for i in range(self.list.count()) if self.list.item(i).data(_NODE_ROLE) is not None or "✔" not in self.list.item(i).text())

    def _clicked(self, item: QListWidgetItem) -> None:
        node_id = item.data(_NODE_ROLE)
        if node_id:
            self.nodeRequested.emit(node_id)
