"""The editor window: canvas in the middle, palette left, inspector right, summary/problems/history below."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QMimeData, QObject, QPointF, QProcess, QRectF, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QFontDatabase, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QGraphicsItem,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QTabWidget,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from engine.export.keras_model import model_name_from
from engine.graph import Edge, GraphError
from engine.keras_import import KerasImportError
from engine.layers import ParamError
from engine.layout import auto_layout
from engine.project import ProjectError, StructureError, graph_from_dict
from engine.resources import resource_dir
from gui.canvas.items import NAME_HEIGHT, NODE_HEIGHT, NODE_WIDTH, BlockItem, EdgeItem, NodeItem
from gui.canvas.minimap import Minimap
from gui.canvas.scene import GraphScene
from gui.canvas.view import GraphView
from gui.document import Document, EditRefused
from gui.exercise_panel import ExercisePanel
from gui.inspector import InspectorWidget
from gui.palette import PaletteWidget
from gui.panels import ProblemsPanel, SummaryPanel, totals_text
from gui.quick_add import QuickAddPopup
from gui.recovery import Autosaver, RecoveryStore
from gui.training_session import TrainingSession

__all__ = ["MainWindow", "EXAMPLES_DIR", "EXERCISES_DIR", "FRAGMENT_MIME", "DEFAULT_EXAMPLE", "examples", "exercises"]

EXAMPLES_DIR = resource_dir("examples")
EXERCISES_DIR = resource_dir("exercises")
DEFAULT_EXAMPLE = "resnet_basic_block.json"
FRAGMENT_MIME = "application/x-layerlab-fragment"
MAX_RECENT = 8
#: File > Export Model: format -> (menu entry, file suffix, file-dialog filter).
EXPORT_FORMATS = {
    "onnx": ("Export Model as &ONNX…", ".onnx", "ONNX model (*.onnx)"),
    "litert": ("Export Model as &LiteRT (.tflite)…", ".tflite", "LiteRT model (*.tflite)"),
    "saved_model": ("Export Model as TensorFlow &SavedModel…", "", "SavedModel folder (*)"),
    "torch": ("Export &PyTorch Code…", "_torch.py", "Python (*.py)"),
}
#: The summary dock's starting height: about a fifth of a 768-pixel screen, the canvas keeps the rest.
BOTTOM_DOCK_HEIGHT = 150
#: The training worker starts this long after the window is shown (the editor is idle by then).
WARM_AFTER_MS = 3000
#: Bumped when the docks change, so that a window layout saved by an older LayerLab is not restored.
WINDOW_STATE_VERSION = 2


def exercises() -> list[tuple[str, Path]]:
    """(title, path) of the bundled exercises."""
    return examples(EXERCISES_DIR, "title")


def examples(folder: Path = EXAMPLES_DIR, key: str = "name") -> list[tuple[str, Path]]:
    """(title, path) of the bundled examples, seed lessons first."""
    found = []
    for path in sorted(folder.glob("*.json"), key=lambda p: (not p.name.startswith("lesson"), p.name)):
        try:
            title = json.loads(path.read_text(encoding="utf-8")).get(key) or path.stem
        except (OSError, ValueError):
            continue
        found.append((title, path))
    return found


def _fragment_corner(doc: Any) -> tuple[float, float] | None:
    """The top-left corner of a clipboard fragment's layers (None when it has no readable positions)."""
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    points = [n.get("position") for n in nodes or [] if isinstance(n, dict)]
    points = [p for p in points if isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p)]
    if not points:
        return None
    return min(p[0] for p in points), min(p[1] for p in points)


class _EscapeCancels(QObject):
    def __init__(self, parent: QObject, cancel: Any) -> None:
        super().__init__(parent)
        self.cancel = cancel

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:  # type: ignore[attr-defined]
            self.cancel()
            return True
        return False


class MainWindow(QMainWindow):
    def __init__(self, document: Document | None = None, settings: QSettings | None = None, recovery: RecoveryStore | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("LayerLab", "LayerLab")
        # At most the screen's free area: on a 1366x768 laptop a larger first window hides the summary below its edge.
        screen = QApplication.primaryScreen()
        free = screen.availableGeometry() if screen is not None else None
        self.resize(min(1500, free.width()) if free else 1500, min(920, free.height()) if free else 920)
        self.document = document if document is not None else Document()
        self.scene = GraphScene(self.document, self)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self.view.minimap = Minimap(self.view)
        # The side columns run the full height; the summary sits under the canvas only.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.palette = PaletteWidget()
        self.inspector = InspectorWidget(self.document)
        self.summary = SummaryPanel(self.document)
        self.problems = ProblemsPanel(self.document)
        self.history = QUndoView(self.document.undo_stack)
        self.history.setEmptyLabel("<opened>")
        self.palette_dock = self._dock("Layers", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea, 230)
        inspector_dock = self._dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea, 360)
        self.exercise = ExercisePanel(self.document)
        self.exercise_dock = self._dock("Exercise", self.exercise, Qt.DockWidgetArea.RightDockWidgetArea, 0)
        # Below the inspector, not a tab of it: a student solving an exercise sees the layer and the checklist at once.
        self.splitDockWidget(inspector_dock, self.exercise_dock, Qt.Orientation.Vertical)
        self.exercise_dock.hide()  # until an exercise is opened
        self.inspector_dock = inspector_dock
        self.bottom = QTabWidget()
        self.bottom.addTab(self.summary, "Summary")
        self.bottom.addTab(self.problems, "Problems")
        self.bottom.addTab(self.history, "History")
        self.bottom_dock = self._dock("Model", self.bottom, Qt.DockWidgetArea.BottomDockWidgetArea, 0)
        # The training panel (pyqtgraph, numpy: 0.4 s to import) is built when first shown or used, not before
        # the first frame.
        self._training: Any = None
        self._authoring: Any = None
        #: The training worker: started in the background once the editor is idle, so F5 starts at once.
        self.session = TrainingSession(self)
        self.training_dock = self._dock("Training", QLabel("Training: open this tab to start."), Qt.DockWidgetArea.BottomDockWidgetArea, 0)
        self.training_dock.visibilityChanged.connect(lambda visible: visible and self.training)
        self.tabifyDockWidget(self.bottom_dock, self.training_dock)
        self.bottom_dock.raise_()
        self.resizeDocks([self.bottom_dock], [BOTTOM_DOCK_HEIGHT], Qt.Orientation.Vertical)

        self._shown_once = False
        self._pastes, self._last_paste = 0, b""
        self._state_restored = False
        self._restored = False
        self.autosaver = Autosaver(recovery if recovery is not None else RecoveryStore(), self)
        self.totals = QLabel()
        self.statusBar().addPermanentWidget(self.totals)
        self._build_actions()
        self._connect_views()
        self._bind_document()
        self._restore_window_state()

    # -- layout ------------------------------------------------------------------------------------

    def _restore_window_state(self) -> None:
        """The size, position and docks the window had when it was last closed."""
        geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        self._state_restored = isinstance(state, QByteArray) and not state.isEmpty() and self.restoreState(state, WINDOW_STATE_VERSION)

    def _default_dock_sizes(self) -> None:
        """A small bottom dock and, on the right, the inspector above the exercise (when one is open)."""
        self.resizeDocks([self.bottom_dock], [BOTTOM_DOCK_HEIGHT], Qt.Orientation.Vertical)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [200, 380], Qt.Orientation.Horizontal)
        if self.exercise_dock.isVisible():
            column = max(400, self.height() - 120)
            self.resizeDocks([self.inspector_dock, self.exercise_dock], [column * 2 // 5, column * 3 // 5], Qt.Orientation.Vertical)

    def _save_window_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(WINDOW_STATE_VERSION))

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, width: int) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock:{title}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        if width:
            self.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        return dock

    def _action(self, menu: QMenu, text: str, slot, shortcut: Any = None, canvas_only: bool = False) -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        if canvas_only:  # keys such as Delete, F and +/- must keep working in text fields
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.view.addAction(action)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&New", self.new_document, QKeySequence.StandardKey.New)
        self._action(file, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.examples_menu = file.addMenu("&Examples")
        for title, path in examples():
            self._action(self.examples_menu, title, lambda p=path: self.open_example(p))
        self._action(file, "Open E&xercise…", self.open_exercise_dialog)
        self._action(file, self.tr("New Exercise from this Design…"), self.new_exercise_from_design)
        self.exercises_menu = file.addMenu("Exercises")
        for title, path in exercises():
            self._action(self.exercises_menu, title, lambda p=path: self.open_exercise(str(p)))
        self._action(file, "Co&mpare With…", self.compare_dialog)
        file.addSeparator()
        self._action(file, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(file, "Save &As…", self.save_as, QKeySequence("Ctrl+Shift+S"))
        file.addSeparator()
        self._action(file, "&Import Keras Model…", self.import_dialog, QKeySequence("Ctrl+I"))
        self._action(file, "Export &Keras Code…", lambda: self.export_code_dialog(False), QKeySequence("Ctrl+E"))
        self._action(file, "Export Keras Code with &Training…", lambda: self.export_code_dialog(True))
        self._action(file, "Save &Untrained Model (.keras)…", self.save_untrained_dialog)
        models = file.addMenu("Export &Model")
        for fmt, label in EXPORT_FORMATS.items():
            self._action(models, label[0], lambda f=fmt: self.export_model_dialog(f))
        self._action(file, "Export Canvas as &PNG…", lambda: self.export_dialog("png"))
        self._action(file, "Export Canvas as S&VG…", lambda: self.export_dialog("svg"))
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        self.undo_action = self._action(edit, "&Undo", lambda: self.document.undo_stack.undo(), QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(edit, "&Redo", lambda: self.document.undo_stack.redo(), [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addSeparator()
        self._action(edit, "&Copy", self.copy, QKeySequence.StandardKey.Copy, canvas_only=True)
        self._action(edit, "&Paste", self.paste, QKeySequence.StandardKey.Paste, canvas_only=True)
        self._action(edit, "&Duplicate", self.duplicate, QKeySequence("Ctrl+D"), canvas_only=True)
        self._action(edit, "&Delete", self.delete_selection, [QKeySequence.StandardKey.Delete, QKeySequence(Qt.Key.Key_Backspace)], canvas_only=True)
        self._action(edit, "Select &All", self.select_all, QKeySequence.StandardKey.SelectAll, canvas_only=True)
        self._action(edit, "Re&name Layer", lambda: self._rename_selected(), QKeySequence(Qt.Key.Key_F2), canvas_only=True)
        edit.addSeparator()
        self._action(edit, "&Group as Block", self.group_selection, QKeySequence("Ctrl+G"), canvas_only=True)
        self._action(edit, "U&ngroup Block", self.ungroup_selection, QKeySequence("Ctrl+Shift+G"), canvas_only=True)
        self._action(edit, "Collapse or &Expand Block", self.toggle_selected_block, QKeySequence("Ctrl+Shift+C"), canvas_only=True)
        self._action(edit, "&Repeat Block…", self.repeat_selected_block)
        self._action(edit, "Group Layers by &Name Prefix", self.group_by_prefixes)
        edit.addSeparator()
        self._action(edit, "Show &History", lambda: self._show_tab(self.history))

        train = bar.addMenu("&Train")
        self._action(train, "Show &Training Panel", self.show_training, QKeySequence("Ctrl+T"))
        self._action(train, "&Start Training", lambda: self.show_training() or self.training.start(), QKeySequence(Qt.Key.Key_F5))
        self._action(train, "St&op Training", lambda: self.training.stop(), QKeySequence("Shift+F5"))

        view = bar.addMenu("&View")
        self._action(view, "&Fit to View", self.view.fit, QKeySequence(Qt.Key.Key_F), canvas_only=True)
        self._action(view, "Zoom &In", lambda: self.view.zoom_by(1.2), [QKeySequence(Qt.Key.Key_Plus), QKeySequence(Qt.Key.Key_Equal), QKeySequence.StandardKey.ZoomIn], canvas_only=True)
        self._action(view, "Zoom &Out", lambda: self.view.zoom_by(1 / 1.2), [QKeySequence(Qt.Key.Key_Minus), QKeySequence.StandardKey.ZoomOut], canvas_only=True)
        self._action(view, "Zoom to &Selection", self.zoom_to_selection, QKeySequence("Shift+F"), canvas_only=True)
        self._action(view, "&Find Layer…", self.start_find, QKeySequence.StandardKey.Find)
        minimap = self._action(view, "&Minimap", lambda: self.view.minimap.setVisible(not self.view.minimap.isVisible()))
        minimap.setCheckable(True)
        minimap.setChecked(True)
        self._action(view, "&Auto-Layout", self.auto_layout, QKeySequence("Ctrl+L"))
        view.addSeparator()
        for dock in self.findChildren(QDockWidget):
            view.addAction(dock.toggleViewAction())

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar:main")
        for menu_action in file.actions()[:2] + [a for a in file.actions() if a.text() == "&Save"]:
            toolbar.addAction(menu_action)
        toolbar.addSeparator()
        toolbar.addAction(self.undo_action)
        toolbar.addAction(self.redo_action)
        toolbar.addSeparator()
        shown = ("&Fit to View", "Zoom &In", "Zoom &Out", "Zoom to &Selection", "&Auto-Layout")
        for action in view.actions():
            if action.text() in shown:
                toolbar.addAction(action)
        toolbar.addSeparator()
        self.find_field = QLineEdit(placeholderText="Find layer (Ctrl+F)")
        self.find_field.setObjectName("find")
        self.find_field.setClearButtonEnabled(True)
        self.find_field.setMaximumWidth(220)
        self.find_field.textChanged.connect(lambda text: self.find(text))
        self.find_field.returnPressed.connect(self.find_next)
        toolbar.addWidget(self.find_field)
        self._found: list[str] = []
        self._found_at = 0
        self._refresh_recent()

    def _connect_views(self) -> None:
        self.palette.layerActivated.connect(self.add_layer)
        self.view.layerDropped.connect(lambda t, pos: self.add_layer(t, pos))
        self.view.contextMenuRequested.connect(lambda pos, screen: self.canvas_menu(pos).popup(screen))
        self.view.tooBig.connect(lambda m: self.statusBar().showMessage(m, 10000))
        self.view.quickAddRequested.connect(lambda pos: self.quick_add(pos))
        self.summary.selectionRequested.connect(self._select_from_panel)
        self.problems.nodeRequested.connect(self.focus_node)
        self.inspector.message.connect(lambda m: self.statusBar().showMessage(m, 6000))

    def _bind_document(self) -> None:
        doc = self.document
        self.scene.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        self.scene.renameRequested.connect(self.rename_in_place)
        self.scene.collapseRequested.connect(self.set_collapsed)
        self.scene.selectionChanged.connect(self._on_canvas_selection)
        doc.analysed.connect(self._on_analysed)
        doc.titleChanged.connect(self._update_title)
        self.history.setStack(doc.undo_stack)
        self.autosaver.watch(doc)
        self._on_analysed(doc.analysis)
        self._update_title()

    def set_document(self, document: Document) -> None:
        """Show another design (the previous one is closed)."""
        old = self.document
        self.scene.detach()
        old.analysed.disconnect(self._on_analysed)
        old.close()
        self.document = document
        self.scene = GraphScene(document, self)
        self.view.setScene(self.scene)
        self.view.minimap.set_scene(self.scene)
        for panel in (self.inspector, self.summary, self.problems, self.exercise):
            panel.set_document(document)
        if self._authoring is not None:
            self._authoring.set_document(document)
        if self._training is not None:
            self._training.set_document(document)
        self._bind_document()
        self.view.fit(readable=True)
        old.deleteLater()

    # -- state shown around the canvas -------------------------------------------------------------

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.display_name}[*] — LayerLab")
        self.setWindowModified(self.document.modified)

    def _on_analysed(self, analysis) -> None:  # noqa: ANN001
        errors, warnings = len(analysis.errors), len(analysis.warnings)
        state = "no problems" if not analysis.diagnostics else f"{errors} error(s), {warnings} warning(s)"
        self.totals.setText(f"{totals_text(analysis)}   |   {state}")
        self.bottom.setTabText(1, f"Problems ({errors + warnings})" if analysis.diagnostics else "Problems")

    def _on_canvas_selection(self) -> None:
        ids = self.scene.selected_node_ids()
        self.inspector.show_nodes(ids)
        self.summary.select_nodes(ids)

    def _select_from_panel(self, node_ids: list[str]) -> None:
        self.scene.select_nodes(node_ids)
        if len(node_ids) == 1:
            self.view.ensureVisible(self.scene.nodes[node_ids[0]], 60, 60)

    def focus_node(self, node_id: str) -> None:
        if node_id in self.scene.nodes:
            self.scene.select_nodes([node_id])
            self.view.centerOn(self.scene.nodes[node_id])

    def _show_tab(self, widget: QWidget) -> None:
        self.bottom_dock.show()
        self.bottom.setCurrentWidget(widget)

    # -- editing -----------------------------------------------------------------------------------

    def _try(self, what: str, fn) -> bool:  # noqa: ANN001
        try:
            fn()
            return True
        except (EditRefused, ParamError, GraphError) as exc:
            self.statusBar().showMessage(f"{what}: {exc}", 6000)
            return False

    def add_layer(self, layer_type: str, pos: QPointF | None = None) -> str | None:
        """Add a layer (at ``pos``, or below the selected layer and wired to it)."""
        selected = self.scene.selected_node_ids()
        source = selected[0] if len(selected) == 1 and pos is None else None
        if pos is None:
            if source is not None:
                item = self.scene.nodes[source]
                pos = item.pos() + QPointF(0, NODE_HEIGHT + 60)
            else:
                centre = self.view.visible_scene_rect().center()
                pos = centre - QPointF(NODE_WIDTH / 2, NODE_HEIGHT / 2)
        else:
            pos = pos - QPointF(NODE_WIDTH / 2, NODE_HEIGHT / 2)
        added: list[str] = []
        if not self._try("Cannot add", lambda: added.append(self.document.editor.add_layer(layer_type, (pos.x(), pos.y()), after=source))):
            return None
        self.scene.select_nodes(added)
        self.view.ensureVisible(self.scene.nodes[added[0]], 40, 40)
        return added[0]

    def delete_selection(self) -> None:
        nodes, edges = self.scene.selected_node_ids(), self.scene.selected_edges()
        if nodes or edges:
            # Deselect first, as one change: removing 1,000 selected items would otherwise announce
            # 1,000 selection changes, each refreshing the inspector and the summary.
            self.scene.select_nodes([])
            self._try("Cannot delete", lambda: self.document.editor.remove(nodes, edges))

    def select_all(self) -> None:
        self.scene.select_nodes(list(self.scene.nodes))

    def copy(self) -> None:
        ids = self.scene.selected_node_ids()
        if not ids:
            return
        fragment = self.document.fragment(ids)
        data = QMimeData()
        payload = json.dumps(fragment).encode("utf-8")
        data.setData(FRAGMENT_MIME, QByteArray(payload))
        data.setText(payload.decode("utf-8"))
        QApplication.clipboard().setMimeData(data)
        self.statusBar().showMessage(f"Copied {len(ids)} layer(s)", 3000)

    def paste(self, at: QPointF | None = None) -> None:
        """Paste at ``at``, else at the mouse when it is over the canvas, else beside the last paste."""
        data = QApplication.clipboard().mimeData()
        raw = bytes(data.data(FRAGMENT_MIME)) if data is not None and data.hasFormat(FRAGMENT_MIME) else None
        if raw is None and data is not None and data.hasText():
            raw = data.text().encode("utf-8")
        if not raw:
            return
        self._pastes = self._pastes + 1 if raw == self._last_paste else 1
        self._last_paste = raw
        at = at if at is not None else self.view.cursor_scene_pos()
        self._paste_fragment(raw, "Paste", at=at, step=self._pastes)

    def duplicate(self) -> None:
        """Copies of the selection beside it, to the right, never on top of the originals."""
        ids = self.scene.selected_node_ids()
        if ids:
            xs = [self.scene.nodes[n].pos().x() for n in ids]
            width = max(xs) - min(xs) + NODE_WIDTH + 60
            self._paste_fragment(json.dumps(self.document.fragment(ids)).encode("utf-8"), "Duplicate", offset=(width, 0.0))

    def _paste_fragment(self, raw: bytes, text: str, *, at: QPointF | None = None, step: int = 1,
                        offset: tuple[float, float] | None = None) -> None:
        # Clipboard content may come from anywhere: the paste command checks it like a project file.
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            self.statusBar().showMessage(f"Nothing to paste: {str(exc)[:120]}", 5000)
            return
        if offset is None:
            offset = (60.0 * step, 60.0 * step)
            corner = _fragment_corner(doc)
            if at is not None and corner is not None:  # the fragment's top-left corner lands at the mouse
                offset = (at.x() - corner[0], at.y() - corner[1])
        pasted: list[str] = []
        if self._try("Nothing to paste", lambda: pasted.extend(self.document.editor.paste(doc, offset, text))):
            self.scene.select_nodes(pasted)

    # -- editing on the canvas: menus, quick add, rename in place -----------------------------------

    def _freeze_actions(self, menu: QMenu, node_ids: list[str], groups: list[str]) -> None:
        """Freeze or Unfreeze (Keras's trainable) the layers, or the blocks and nested models, as one undo step."""
        graph = self.document.graph
        if groups:
            group = graph.groups[groups[0]]
            members = graph.group_members(groups[0])
            frozen = not group.trainable if group.kind == "model" else bool(members) and all(graph.is_frozen(n) for n in members)
            what = f"{'Nested Model' if group.kind == 'model' else 'Block'} {group.name}"
        else:
            frozen = bool(node_ids) and all(graph.is_frozen(n) for n in node_ids)
            what = "Layer" if len(node_ids) == 1 else f"{len(node_ids)} Layers"
        verb = "Unfreeze" if frozen else "Freeze"
        menu.addAction(f"{verb} {what}", lambda: self._try(f"Cannot {verb.lower()}", lambda: self.document.editor.set_trainable(
            node_ids, frozen, groups)))

    def canvas_menu(self, pos: QPointF) -> QMenu:
        """The right-click menu for what is under ``pos``: a layer, a wire, or the empty canvas."""
        menu = QMenu(self)
        item = self.scene.item_at(pos)
        editor = self.document.editor
        if isinstance(item, BlockItem):
            gid, group = item.group_id, self.document.graph.groups.get(item.group_id)
            if not item.isSelected():
                self.scene.clearSelection()
                item.setSelected(True)
            menu.addAction("Expand Block", lambda: self.set_collapsed(gid, False))
            menu.addAction("Rename Block…", lambda: self.rename_block_dialog(gid))
            menu.addAction("Repeat Block…", lambda: self.repeat_block_dialog(gid))
            if group is not None and group.kind == "block":
                menu.addAction("Ungroup", lambda: self._try("Cannot ungroup", lambda: editor.ungroup(gid)))
            if group is not None:
                self._freeze_actions(menu, [], [gid])
            menu.addSeparator()
            menu.addAction("Delete", self.delete_selection)
            return menu
        if isinstance(item, NodeItem):
            node_id = item.node_id
            if node_id not in self.scene.selected_node_ids():
                self.scene.select_nodes([node_id])
            menu.addAction("Group as Block", self.group_selection)
            block = self.document.graph.node(node_id).group
            if block is not None:
                name = self.document.graph.groups[block].name
                menu.addAction(f"Collapse {name}", lambda: self.set_collapsed(block, True))
                if self.document.graph.groups[block].kind == "block":
                    menu.addAction(f"Ungroup {name}", lambda: self._try("Cannot ungroup", lambda: editor.ungroup(block)))
            self._freeze_actions(menu, self.scene.selected_node_ids(), [])
            model = self.document.graph.model_group(block)
            if model is not None:
                self._freeze_actions(menu, [], [model])
            menu.addSeparator()
            menu.addAction("Rename…", lambda: self.rename_in_place(node_id))
            menu.addAction("Insert Layer After…", lambda: self.quick_add(pos, after=node_id))
            menu.addAction("Disconnect All Wires", lambda: self._try("Cannot disconnect", lambda: editor.disconnect_all(node_id)))
            menu.addSeparator()
            menu.addAction("Duplicate", self.duplicate)
            menu.addAction("Copy", self.copy)
            menu.addAction("Delete", self.delete_selection)
            menu.addSeparator()
            menu.addAction("Zoom to Selection", self.zoom_to_selection)
        elif isinstance(item, EdgeItem):
            edge = item.edge
            menu.addAction("Insert Layer on Wire…", lambda: self.quick_add(pos, on_wire=edge))
            menu.addAction("Delete Wire", lambda: self._try("Cannot delete", lambda: editor.disconnect(edge)))
        else:
            menu.addAction("Add Layer Here…", lambda: self.quick_add(pos))
            paste = menu.addAction("Paste Here", lambda: self.paste(at=pos))
            clipboard = QApplication.clipboard().mimeData()
            paste.setEnabled(clipboard is not None and (clipboard.hasFormat(FRAGMENT_MIME) or clipboard.hasText()))
            menu.addSeparator()
            menu.addAction("Select All", self.select_all)
            menu.addAction("Group Layers by Name Prefix", self.group_by_prefixes)
            menu.addAction("Auto-Layout", self.auto_layout)
            menu.addAction("Fit to View", self.view.fit)
        return menu

    def quick_add(self, pos: QPointF, *, after: str | None = None, on_wire: Edge | None = None) -> QuickAddPopup:
        """The searchable add-layer popup at ``pos``; the chosen layer lands there (after a layer, or on a wire)."""
        title = "Insert a layer after " + self.document.graph.node(after).name if after else ("Insert a layer on the wire" if on_wire else "Add a layer")
        popup = QuickAddPopup(title, self)
        corner = (pos.x() - NODE_WIDTH / 2, pos.y() - NODE_HEIGHT / 2)

        def chosen(layer_type: str) -> None:
            editor, added = self.document.editor, []
            if after is not None:
                below = self.scene.nodes[after].pos() + QPointF(0, NODE_HEIGHT + 60)
                ok = self._try("Cannot insert", lambda: added.append(editor.insert_after(after, layer_type, (below.x(), below.y()))))
            elif on_wire is not None:
                ok = self._try("Cannot insert", lambda: added.append(editor.insert_on_wire(on_wire, layer_type, corner)))
            else:
                ok = self._try("Cannot add", lambda: added.append(editor.add_layer(layer_type, corner)))
            if ok:
                self.scene.select_nodes(added)

        popup.chosen.connect(chosen)
        popup.popup_at(self.view.viewport().mapToGlobal(self.view.mapFromScene(pos)))
        self._quick_add = popup
        return popup

    def rename_in_place(self, node_id: str) -> QLineEdit | None:
        """An editor over the layer's name on the canvas: Enter renames (one undo step), Escape cancels."""
        item = self.scene.nodes.get(node_id)
        if item is None:
            return None
        rect = self.view.mapFromScene(item.mapToScene(QRectF(10, 2, NODE_WIDTH - 16, NAME_HEIGHT - 2))).boundingRect()
        line = QLineEdit(item.name, self.view.viewport())
        line.setObjectName("rename-in-place")
        line.setGeometry(rect.adjusted(0, 0, 0, 4))
        line.selectAll()
        done = {"finished": False}

        def finish(commit: bool) -> None:
            if done["finished"]:
                return
            done["finished"] = True
            text = line.text()
            line.hide()
            line.deleteLater()
            self.view.setFocus()
            if commit and node_id in self.document.graph and text != self.document.graph.node(node_id).name:
                self._try("Cannot rename", lambda: self.document.editor.rename(node_id, text))

        line.editingFinished.connect(lambda: finish(True))
        line.installEventFilter(_EscapeCancels(line, lambda: finish(False)))
        line.show()
        line.setFocus()
        self._rename_editor = line
        return line

    # -- find ------------------------------------------------------------------------------------

    def start_find(self) -> None:
        self.find_field.setFocus()
        self.find_field.selectAll()

    def find(self, text: str) -> list[str]:
        """Layers whose name (first) or type contains ``text``, in the order data flows; the first is
        selected and shown."""
        needle = text.strip().lower()
        graph = self.document.graph
        order = self.document.analysis.order
        by_name = [n for n in order if n in graph and needle in graph.node(n).name.lower()]
        by_type = [n for n in order if n in graph and needle in graph.node(n).type.lower() and n not in by_name]
        self._found = (by_name + by_type) if needle else []
        self._found_at = 0
        if self._found:
            self._show_found()
        elif needle:
            self.statusBar().showMessage(f"No layer matches {text.strip()!r}", 4000)
        return self._found

    def find_next(self) -> None:
        """Enter in the find field: the next match (wrapping around)."""
        if not self._found:
            self.find(self.find_field.text())
            return
        self._found_at = (self._found_at + 1) % len(self._found)
        self._show_found()

    def _show_found(self) -> None:
        node_id = self._found[self._found_at]
        self.reveal(node_id)
        self.scene.select_nodes([node_id])
        item = self.scene.nodes[node_id]
        if self.view.zoom < self.view.LABELS_ZOOM:
            self.view.set_zoom(self.view.READABLE_ZOOM)
        self.view.centerOn(item)
        self.statusBar().showMessage(f"{self._found_at + 1} of {len(self._found)}: {item.name} ({item.layer_type})", 5000)

    def reveal(self, node_id: str) -> None:
        """Make a layer visible on the canvas: the collapsed blocks that hide it are expanded (an undoable step)."""
        graph = self.document.graph
        while node_id in graph and graph.collapsed_unit(node_id) is not None:
            self.set_collapsed(graph.collapsed_unit(node_id), False)  # type: ignore[arg-type]

    # -- blocks ------------------------------------------------------------------------------------

    def group_selection(self) -> str | None:
        """Ctrl+G: the selected layers (and collapsed blocks) become one block, collapsed at once if asked later."""
        nodes = [item.node_id for item in self.scene.selectedItems() if isinstance(item, NodeItem)]
        blocks = self.scene.selected_block_ids()
        made: list[str] = []
        if self._try("Cannot group", lambda: made.append(self.document.editor.group(nodes, groups=blocks))):
            self.statusBar().showMessage(f"Grouped {len(nodes) + len(blocks)} item(s) as {self.document.graph.groups[made[0]].name}"
                                         " (double-click its name to collapse it)", 6000)
            return made[0]
        return None

    def _selected_block(self) -> str | None:
        blocks = self.scene.selected_block_ids()
        if blocks:
            return blocks[0]
        ids = self.scene.selected_node_ids()
        return self.document.graph.node(ids[0]).group if ids else None

    def ungroup_selection(self) -> None:
        block = self._selected_block()
        if block is not None:
            self._try("Cannot ungroup", lambda: self.document.editor.ungroup(block))

    def toggle_selected_block(self) -> None:
        block = self._selected_block()
        if block is not None:
            self.set_collapsed(block, not self.document.graph.groups[block].collapsed)

    def set_collapsed(self, group_id: str, collapsed: bool) -> None:
        """Collapse a block to one box or expand it, laying the design out again (one undo step)."""
        result: dict[str, Any] = {}
        if self._try("Cannot change the block", lambda: result.update(self.document.editor.set_collapsed(group_id, collapsed))):
            self.scene.set_layout(result["layout"])
            target = self.scene.blocks.get(group_id) if collapsed else None
            if target is not None:
                self.scene.clearSelection()
                target.setSelected(True)
                self.view.centerOn(target)

    def group_by_prefixes(self) -> None:
        count: list[int] = []
        if self._try("Cannot group", lambda: count.append(self.document.editor.group_by_prefixes())):
            self.auto_layout()
            self.statusBar().showMessage(f"Made {count[0]} blocks from the layer names; the outer ones are collapsed", 6000)

    def rename_block_dialog(self, group_id: str) -> None:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(self, "Rename Block", "Name:", text=self.document.graph.groups[group_id].name)
        if ok:
            self._try("Cannot rename", lambda: self.document.editor.rename_group(group_id, name))

    def repeat_selected_block(self) -> None:
        block = self._selected_block()
        if block is None:
            self.statusBar().showMessage("Select a block to repeat (Ctrl+G makes one)", 5000)
            return
        self.repeat_block_dialog(block)

    def repeat_block_dialog(self, group_id: str) -> None:
        from PySide6.QtWidgets import QInputDialog

        copies, ok = QInputDialog.getInt(self, "Repeat Block", f"Copies of {self.document.graph.groups[group_id].name} to chain after it:", 2, 1, 100)
        if ok:
            self.repeat_block(group_id, copies)

    def repeat_block(self, group_id: str, copies: int) -> list[str]:
        made: list[str] = []
        if self._try("Cannot repeat", lambda: made.extend(self.document.editor.repeat_block(group_id, copies))):
            self.statusBar().showMessage(f"Chained {copies} copies of {self.document.graph.groups[group_id].name}", 6000)
        return made

    def _rename_selected(self) -> None:
        ids = self.scene.selected_node_ids()
        if len(ids) == 1:
            self.rename_in_place(ids[0])

    def zoom_to_selection(self) -> None:
        """Fit the selected layers in the view (at most 1.2x), or the whole design when none is selected."""
        items = [self.scene.nodes[n] for n in self.scene.selected_node_ids()]
        if not items:
            self.view.fit()
            return
        rect = items[0].sceneBoundingRect()
        for item in items[1:]:
            rect = rect.united(item.sceneBoundingRect())
        self.view.fit_rect(rect)

    def auto_layout(self) -> None:
        layout = auto_layout(self.document.graph)
        if self._try("Cannot lay out", lambda: self.document.editor.move(layout.positions, "Auto-layout")):
            self.scene.set_layout(layout)
        self.view.fit(readable=True)

    # -- files -------------------------------------------------------------------------------------

    def maybe_save(self) -> bool:
        """Ask what to do with unsaved changes; False means the user cancelled."""
        if not self.document.modified:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to {self.document.display_name}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_document(self) -> None:
        if self.maybe_save():
            self.set_document(Document())

    def open_path(self, path: str, *, as_template: bool = False) -> bool:
        """Open a project or import a Keras model. On failure, say why and keep the current design."""
        try:
            document = Document.open(path)
        except (ProjectError, KerasImportError, OSError) as exc:
            QMessageBox.warning(self, "Cannot open", str(exc))
            return False
        if as_template:
            document.path = None
        self.set_document(document)
        if not as_template and document.path:
            self._remember(document.path)
        self.statusBar().showMessage(f"Opened {path}: {len(document.graph)} layers", 5000)
        return True

    def open_example(self, path: Path) -> None:
        if self.maybe_save():
            self.open_path(str(path), as_template=True)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open", self.dialog_folder(), "LayerLab projects (*.json);;Keras models (*.keras *.h5);;All files (*)")
        self._used(path)
        if path:
            self.open_path(path)

    def import_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import Keras Model", self.dialog_folder(), "Keras models (*.keras *.h5 *.hdf5)")
        self._used(path)
        if path:
            self.open_path(path)

    def save(self) -> bool:
        if not self.document.path:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        suggested = self.document.path or self._in_folder(f"{self.document.display_name}.json")
        path = self._used(QFileDialog.getSaveFileName(self, "Save As", suggested, "LayerLab projects (*.json)")[0])
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self._save_to(path)

    def _save_to(self, path: str) -> bool:
        try:
            self.document.save(path)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save", f"{path}: {exc.strerror or exc}\nYour design is still open; try another location.")
            return False
        except StructureError as exc:
            QMessageBox.warning(self, "Cannot save", f"LayerLab did not save, because the design is damaged ({exc}). {path} is unchanged "
                                "and your design is still open: undo the last edit and save again, and please report this.")
            return False
        self._remember(path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def dialog_folder(self) -> str:
        """Where file dialogs open: the design's folder, else the folder last used, else the home folder
        (never the program's working folder)."""
        if self.document.path:
            return str(Path(self.document.path).resolve().parent)
        last = self.settings.value("last_folder", "")
        if isinstance(last, str) and last and Path(last).is_dir():
            return last
        return str(Path.home())

    def _in_folder(self, name: str) -> str:
        return str(Path(self.dialog_folder()) / Path(name).name)

    def _used(self, path: str) -> str:
        """Remember the folder of a path a dialog returned; returns the path."""
        if path:
            self.settings.setValue("last_folder", str(Path(path).resolve().parent))
        return path

    def _remember(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        self.settings.setValue("recent", [path, *recent][:MAX_RECENT])
        self._refresh_recent()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.maybe_save() and self.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    def export_dialog(self, kind: str) -> None:
        suggested = self._in_folder(f"{Path(self.document.display_name).stem}.{kind}")
        path = self._used(QFileDialog.getSaveFileName(self, f"Export {kind.upper()}", suggested, f"{kind.upper()} (*.{kind})")[0])
        if path:
            self.export_image(path)

    def export_image(self, path: str) -> None:
        """Render the whole canvas to PNG (2x resolution) or SVG, for handouts."""
        self.scene.clearSelection()
        # Cached items would be pasted in as bitmaps: draw them directly so text stays text (SVG) and sharp (PNG).
        for item in self.scene.nodes.values():
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        try:
            self._render_to(path)
        finally:
            for item in self.scene.nodes.values():
                item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def _render_to(self, path: str) -> None:
        rect = self.scene.visible_bounds().adjusted(-30, -30, 30, 30)
        if path.lower().endswith(".svg"):
            from PySide6.QtSvg import QSvgGenerator

            generator = QSvgGenerator()
            generator.setFileName(path)
            generator.setSize(QSize(int(rect.width()), int(rect.height())))
            generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            generator.setTitle(self.document.display_name)
            painter = QPainter(generator)
            self.scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
            painter.end()
        else:
            scale = 2.0 if rect.width() * rect.height() < 4e7 else 1.0
            image = QImage(int(rect.width() * scale), int(rect.height() * scale), QImage.Format.Format_ARGB32)
            image.fill(Qt.GlobalColor.white)
            painter = QPainter(image)
            painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
            self.scene.render(painter, QRectF(0, 0, image.width(), image.height()), rect)
            painter.end()
            if not image.save(path):
                QMessageBox.warning(self, "Cannot export", f"{path}: could not write the image")
                return
        self.statusBar().showMessage(f"Exported {path}", 4000)

    def showEvent(self, event) -> None:  # noqa: ANN001
        super().showEvent(event)
        if not self._shown_once:  # fit once the window has its real size
            self._shown_once = True
            if not self._state_restored:
                QTimer.singleShot(0, self._default_dock_sizes)  # once the docks are laid out
            QTimer.singleShot(0, lambda: self.view.fit(readable=True))
            if self.session.keep_warm:
                QTimer.singleShot(WARM_AFTER_MS, self.session.prewarm)  # after the first frames: start time is unchanged

    def offer_recovery(self) -> list[MainWindow]:
        """After a crash: offer to restore each autosaved design. Returns extra windows opened."""
        store = self.autosaver.store
        extra: list[MainWindow] = []
        for token, recovered in store.pending():
            answer = QMessageBox.question(
                self,
                "Restore unsaved work?",
                f"LayerLab stopped before {recovered.describe()} was saved.\nRestore it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                store.discard(token)
                continue
            try:
                document = store.restore(token, recovered)
            except ProjectError as exc:
                QMessageBox.warning(self, "Cannot restore", str(exc))
                store.discard(token)
                continue
            target = self if not extra and not self.document.modified and self._restored is False else MainWindow(settings=self.settings, recovery=store)
            if target is self:
                self._restored = True
            else:
                target.show()
                extra.append(target)
            target.set_document(document)
            target.autosaver.adopt(token)  # the recovery file stays until the restored design is saved
            target.statusBar().showMessage(f"Restored {recovered.describe()}", 10000)
        return extra

    @property
    def authoring(self):  # noqa: ANN201 - gui.authoring_panel imports the engine's classroom: built when first used
        """The exercise-authoring view (built when first asked for)."""
        if self._authoring is None:
            from gui.authoring_panel import ExerciseAuthoringPanel

            self._authoring = ExerciseAuthoringPanel(self.document)
            right = Qt.DockWidgetArea.RightDockWidgetArea
            self.authoring_dock = self._dock("Exercise Authoring", self._authoring, right, 0)
            self.tabifyDockWidget(self.inspector_dock, self.authoring_dock)
        return self._authoring

    def new_exercise_from_design(self) -> None:
        """File > New Exercise from this Design: the open design becomes the reference solution of a new exercise."""
        self.authoring.start_from(self.document)
        self.authoring_dock.show()
        self.authoring_dock.raise_()
        message = self.tr("New exercise: this design is the reference solution. Add criteria, then Save Exercise.")
        self.statusBar().showMessage(message, 8000)

    def open_exercise_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Exercise", str(EXERCISES_DIR), "LayerLab exercises (*.json)")
        if path:
            self.open_exercise(path)

    def open_exercise(self, path: str) -> bool:
        """Show an exercise; its starting graph (if any) becomes a new design."""
        from engine.exercises import ExerciseError, load_exercise

        try:
            exercise = load_exercise(path)
        except ExerciseError as exc:
            QMessageBox.warning(self, "Cannot open exercise", str(exc))
            return False
        if exercise.start is not None:
            if not self.maybe_save():
                return False
            graph, meta = graph_from_dict(exercise.start, path)
            self.set_document(Document(graph, None, exercise.title))
        self.exercise.set_exercise(exercise)
        if not self.exercise_dock.isVisible():
            self.exercise_dock.show()
            QTimer.singleShot(0, self._default_dock_sizes)
        self.statusBar().showMessage(f"Exercise: {exercise.title}", 5000)
        return True

    def compare_dialog(self) -> None:
        path = self._used(QFileDialog.getOpenFileName(self, "Compare With", self.dialog_folder(), "LayerLab projects (*.json);;Keras models (*.keras *.h5)")[0])
        if path:
            self.compare_with(path)

    def compare_with(self, path: str) -> QDialog | None:
        """A window listing what differs between this design and ``path`` (e.g. the reference solution)."""
        from engine.diff import diff_graphs, diff_text

        try:
            other = Document.open(path)
        except (ProjectError, KerasImportError, OSError) as exc:
            QMessageBox.warning(self, "Cannot compare", str(exc))
            return None
        d = diff_graphs(self.document.graph, other.graph)
        other.close()
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Compare {self.document.display_name} with {Path(path).name}")
        text = QPlainTextEdit(diff_text(d, self.document.display_name, Path(path).name))
        text.setReadOnly(True)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        text.setFont(font)
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        dialog.resize(900, 500)
        dialog.show()
        self._compare_dialog = dialog
        return dialog

    @property
    def training(self) -> Any:
        """The training panel, built on first use (its imports are kept out of the editor's start)."""
        if self._training is None:
            from gui.training_panel import TrainingPanel

            panel = TrainingPanel(self.document, session=self.session)
            if self.session.keep_warm:
                self.session.prewarm()
            self._training = panel
            panel.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
            panel.finished.connect(self.exercise.training_finished)
            self.training_dock.setWidget(panel)
        return self._training

    def show_training(self) -> None:
        self.training_dock.show()
        self.training_dock.raise_()

    def export_code_dialog(self, with_training: bool) -> None:
        stem = Path(self.document.display_name).stem
        path = self._used(QFileDialog.getSaveFileName(self, "Export Keras Code", self._in_folder(f"{stem}.py"), "Python (*.py)")[0])
        if path:
            self.export_code(path, with_training)

    def export_code(self, path: str, with_training: bool = False) -> bool:
        """Write the design as a Keras script (with the training panel's settings when asked)."""
        from engine.codegen import CodegenError, generate_code
        from engine.datasets import DatasetError
        from engine.project import atomic_write_text
        from engine.training import TrainingError, plan_training

        try:
            training = plan_training(self.document.graph, self.training.config()) if with_training else None
            name = model_name_from(Path(self.document.display_name).stem)
            source = generate_code(self.document.graph, title=self.document.title, model_name=name, training=training)
            atomic_write_text(path, source)
        except (CodegenError, TrainingError, DatasetError) as exc:
            QMessageBox.warning(self, "Cannot export", str(exc))
            return False
        except OSError as exc:
            QMessageBox.warning(self, "Cannot export", f"{path}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(f"Exported Keras code to {path}", 5000)
        return True

    def save_untrained_dialog(self) -> None:
        stem = Path(self.document.display_name).stem
        path = self._used(QFileDialog.getSaveFileName(self, "Save Untrained Model", self._in_folder(f"{stem}.keras"), "Keras model (*.keras)")[0])
        if path:
            self.save_untrained(path if path.endswith(".keras") else path + ".keras")

    def save_untrained(self, path: str) -> QProcess | None:
        """Build the exported model in a separate process (the editor never imports TensorFlow) and save it."""
        return self._export_in_process(["--keras", path], self.tr("Cannot save the model"),
                                       self.tr("Saved the untrained model to {path}").format(path=path))

    def export_model_dialog(self, fmt: str) -> None:
        label, suffix, file_filter = EXPORT_FORMATS[fmt]
        stem = Path(self.document.display_name).stem
        title = label.replace("&", "").rstrip("…")
        path = self._used(QFileDialog.getSaveFileName(self, title, self._in_folder(f"{stem}{suffix}"), file_filter)[0])
        if path and not path.endswith(suffix):  # a SavedModel is a folder: no suffix
            path += suffix
        if path:
            self.export_model(fmt, path)

    def export_model(self, fmt: str, path: str) -> QProcess | bool | None:
        """Export the design as ONNX, LiteRT or a SavedModel (Keras's Model.export in a separate process, the file then
        checked against Keras there), or as PyTorch code (written here: it needs neither TensorFlow nor PyTorch)."""
        if fmt != "torch":
            flag = {"onnx": "--onnx", "litert": "--litert", "saved_model": "--saved-model"}[fmt]
            return self._export_in_process([flag, path], self.tr("Cannot export the model"), "")
        from engine.export.torch_code import TorchExportError, generate_torch_code
        from engine.project import atomic_write_text

        try:
            code = generate_torch_code(self.document.graph, title=self.document.title,
                                       model_name=model_name_from(Path(self.document.display_name).stem))
            atomic_write_text(path, code.source)
        except TorchExportError as exc:
            QMessageBox.warning(self, self.tr("Cannot export the model"), str(exc))
            return False
        except OSError as exc:
            QMessageBox.warning(self, self.tr("Cannot export the model"), f"{path}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(code.summary(path), 8000)
        return True

    def _export_in_process(self, arguments: list[str], failure_title: str, done: str) -> QProcess | None:
        """Run ``main.py export DESIGN ARGUMENTS`` in a separate process (the editor never imports TensorFlow); on
        success show ``done`` (or the command's last line), on failure the command's one-line error."""
        import sys
        import tempfile

        from engine.project import save_project

        analysis = self.document.analysis
        if not analysis.is_valid:
            QMessageBox.warning(self, failure_title, self.tr("The network has errors; fix them first (see Problems)."))
            return None
        folder = tempfile.mkdtemp(prefix="layerlab-export-")
        project = os.path.join(folder, "design.json")
        save_project(self.document.graph, project)
        process = QProcess(self)
        process.setWorkingDirectory(str(Path(__file__).resolve().parent.parent))
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)

        def finished(code: int, _status: QProcess.ExitStatus) -> None:
            output = bytes(process.readAll()).decode("utf-8", "replace").strip().splitlines()
            shutil.rmtree(folder, ignore_errors=True)
            if code == 0:
                self.statusBar().showMessage(done or (output[-1] if output else ""), 10000)
            else:
                message = output[-1] if output else self.tr("exit code {code}").format(code=code)
                QMessageBox.warning(self, failure_title, message.removeprefix("error: "))
            process.deleteLater()

        process.finished.connect(finished)
        process.start(sys.executable, ["main.py", "export", project, *arguments])
        self.statusBar().showMessage(self.tr("Building the model with Keras…"), 10000)
        return process

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.maybe_save():
            self._save_window_state()
            if self._training is not None:
                self._training.shutdown()
            self.session.shutdown()
            self.autosaver.stop()
            event.accept()
        else:
            event.ignore()
