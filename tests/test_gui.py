"""The editor, driven as a user drives it: palette, mouse wiring, inspector, undo, files, clipboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QCheckBox, QLineEdit, QMessageBox, QPlainTextEdit, QSpinBox, QWidget  # noqa: E402

from engine.project import load_project  # noqa: E402
from gui.canvas.items import NODE_HEIGHT, NODE_WIDTH  # noqa: E402
from gui.canvas.view import LAYER_MIME  # noqa: E402
from gui.document import Document  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from tests.conftest import EXAMPLES, ROOT  # noqa: E402


def open_example(win: MainWindow, name: str) -> None:
    assert win.open_path(str(EXAMPLES / name), as_template=True)
    QApplication.processEvents()


def node_by_name(win: MainWindow, name: str) -> str:
    node_id = win.document.graph.find(name)
    assert node_id is not None, name
    return node_id


def new_design_with_input(win: MainWindow, shape: str) -> str:
    """A new design holding one Input, its shape typed into the inspector as a user would; the Input stays selected."""
    win.set_document(Document())
    x = win.add_layer("Input", QPointF(0, 0))
    win.scene.select_nodes([x])
    field = win.inspector.findChild(QLineEdit, "param:shape")
    field.setText(shape)
    field.editingFinished.emit()
    return x


def view_point(win: MainWindow, scene_point: QPointF) -> QPoint:
    return win.view.mapFromScene(scene_point)


def send_mouse(win: MainWindow, kind, pos: QPoint, buttons=Qt.MouseButton.LeftButton, button=Qt.MouseButton.LeftButton) -> None:
    viewport = win.view.viewport()
    event = QMouseEvent(kind, QPointF(pos), QPointF(viewport.mapToGlobal(pos)), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def drag_wire(win: MainWindow, source: str, target: str) -> None:
    """Press on the source's output port, move over the target node, release: as a user wires."""
    start = view_point(win, win.scene.nodes[source].output_anchor())
    end = view_point(win, win.scene.nodes[target].mapToScene(QPointF(NODE_WIDTH / 2, NODE_HEIGHT / 2)))
    send_mouse(win, QMouseEvent.Type.MouseButtonPress, start)
    mid = QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2)
    send_mouse(win, QMouseEvent.Type.MouseMove, mid, button=Qt.MouseButton.NoButton)
    send_mouse(win, QMouseEvent.Type.MouseMove, end, button=Qt.MouseButton.NoButton)
    send_mouse(win, QMouseEvent.Type.MouseButtonRelease, end, buttons=Qt.MouseButton.NoButton)
    QApplication.processEvents()


def test_starts_on_an_example_without_importing_tensorflow() -> None:
    code = (
        "import os, sys\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from gui.app import create_window\n"
        "w = create_window(); w.show(); app.processEvents()\n"
        "print(len(w.scene.nodes), w.document.analysis.is_valid, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True).stdout.split()
    assert out == ["10", "True", "False", "False"]


def test_drag_from_palette_and_double_click_add_layers(window, qtbot) -> None:
    window.set_document(Document())
    tree = window.palette.tree
    item = window.palette.items["Input"]
    mime = tree.mimeData([item])
    assert bytes(mime.data(LAYER_MIME)) == b"Input"
    viewport = window.view.viewport()
    drop_at = QPointF(200, 150)
    for kind in (QDragEnterEvent, QDragMoveEvent):  # what Qt sends while a drag crosses the canvas
        event = kind(drop_at.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)
        assert event.isAccepted()
    drop = QDropEvent(drop_at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, drop)
    QApplication.processEvents()
    assert [n.type for n in window.document.graph.nodes()] == ["Input"]
    node_item = next(iter(window.scene.nodes.values()))
    scene_drop = window.view.mapToScene(drop_at.toPoint())
    assert node_item.sceneBoundingRect().contains(scene_drop)  # centred where it was dropped

    # double-click "Flatten" with the Input selected: added below it and wired to it
    window.palette.search.setText("flat")
    assert window.palette.visible_types() == ["Flatten"]
    flatten = window.palette.items["Flatten"]
    rect = tree.visualItemRect(flatten)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # a double-click is click + dblclick
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QApplication.processEvents()
    graph = window.document.graph
    flat_id = graph.find("flatten")
    assert flat_id is not None and [graph.node(e.source).type for e in graph.inputs_of(flat_id)] == ["Input"]
    assert window.document.analysis[flat_id].shape == (784,)
    window.document.undo_stack.undo()
    assert graph.find("flatten") is None and len(graph) == 1  # the add-and-wire is one step


def test_wiring_with_the_mouse_and_refusing_cycles(window) -> None:
    open_example(window, "lenet5.json")
    graph = window.document.graph
    c5, f6 = node_by_name(window, "c5"), node_by_name(window, "f6")
    e = graph.inputs_of(f6)[0]
    window.scene.select_nodes([])
    # remove the wire c5 -> f6 by selecting it and pressing Delete
    window.scene.edges[(e.source, e.target, e.slot)].setSelected(True)
    window.view.setFocus()
    from PySide6.QtTest import QTest

    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    QApplication.processEvents()
    assert graph.inputs_of(f6) == []
    assert window.scene.nodes[f6].status == "error"  # no input
    assert window.document.analysis[node_by_name(window, "output")].status == "unknown"
    drag_wire(window, c5, f6)
    assert [x.source for x in graph.inputs_of(f6)] == [c5]
    assert window.document.analysis.is_valid
    # a wire that would close a loop is refused while dragging, with the reason in the status bar
    output = node_by_name(window, "output")
    before = len(graph.edges())
    drag_wire(window, output, node_by_name(window, "flatten"))
    assert len(graph.edges()) == before
    messages = []
    window.scene.message.connect(messages.append)
    drag_wire(window, output, node_by_name(window, "flatten"))
    assert any("already has its input" in m or "cycle" in m for m in messages)


def test_inspector_edit_updates_shapes_downstream_and_undo(window, qtbot) -> None:
    open_example(window, "lenet5.json")
    graph = window.document.graph
    c1 = node_by_name(window, "c1")
    window.scene.select_nodes([c1])
    spin = window.inspector.findChild(QSpinBox, "param:filters")
    assert spin is not None and spin.value() == 6
    spin.setValue(10)
    QApplication.processEvents()
    c3 = node_by_name(window, "c3")
    assert window.document.analysis[c1].shape == (28, 28, 10)
    assert window.document.analysis[c3].params.total == 5 * 5 * 10 * 16 + 16
    assert window.scene.nodes[c3].result.params.total == 4016  # the canvas shows the new count
    row = window.summary._rows[c1]
    assert window.summary.table.item(row, 1).text() == "(None, 28, 28, 10)"
    assert "4,016" in window.summary.table.item(window.summary._rows[c3], 2).text()
    spin.setValue(12)
    QApplication.processEvents()
    assert window.document.undo_stack.count() == 1  # consecutive edits of one field merge
    window.document.undo_stack.undo()
    QApplication.processEvents()
    assert graph.node(c1).params["filters"] == 6 and spin.value() == 6
    assert window.document.analysis[c3].params.total == 2416


def test_invalid_value_is_refused_and_last_valid_value_stays(window) -> None:
    open_example(window, "lenet5.json")
    flatten = node_by_name(window, "flatten")
    window.scene.select_nodes([node_by_name(window, "c5")])
    act = window.inspector.findChild(QLineEdit, "param:name")
    act.setText("bad/name")
    act.editingFinished.emit()
    assert window.document.graph.node(node_by_name(window, "c5")).name == "c5"
    assert not window.inspector.error.isHidden() and "Not applied" in window.inspector.error.text()
    assert act.text() == "c5"
    # ReLU max_value is a text field: letters are refused
    window.set_document(Document())
    relu = window.add_layer("ReLU")
    window.scene.select_nodes([relu])
    field = window.inspector.findChild(QLineEdit, "param:max_value")
    field.setText("six")
    field.editingFinished.emit()
    assert window.document.graph.node(relu).params["max_value"] is None and field.text() == ""
    field.setText("6")
    field.editingFinished.emit()
    assert window.document.graph.node(relu).params["max_value"] == 6.0
    assert flatten  # the earlier document's ids are not reused by accident


def test_invalid_wiring_shows_error_on_node_edge_and_problems_panel(window) -> None:
    window.set_document(Document())
    graph = window.document.graph
    x = window.add_layer("Input", QPointF(0, 0))
    window.scene.select_nodes([x])
    window.inspector.findChild(QLineEdit, "param:shape").setText("784")
    window.inspector.findChild(QLineEdit, "param:shape").editingFinished.emit()
    conv = window.add_layer("Conv2D")  # added below the selected Input and wired to it
    QApplication.processEvents()
    assert [e.source for e in graph.inputs_of(conv)] == [x]
    item = window.scene.nodes[conv]
    assert item.status == "error" and "an image (height, width, channels)" in item.toolTip()
    edge = next(iter(window.scene.edges.values()))
    assert edge.pen().color().name() == "#d62728" and "Reshape" in edge.toolTip()
    problems = window.problems.list
    assert problems.count() == 1 and "conv2d" in problems.item(0).text()
    window.scene.select_nodes([])
    window.problems._clicked(problems.item(0))
    assert window.scene.selected_node_ids() == [conv]
    assert "1 error" in window.totals.text()


def test_undo_redo_every_kind_of_edit(window) -> None:
    open_example(window, "inception_module.json")
    doc, graph = window.document, window.document.graph
    stack = doc.undo_stack

    def state():  # the graph, independent of the order nodes were (re)inserted in
        fragment = doc.fragment(graph.node_ids())
        fragment["nodes"].sort(key=lambda n: n["id"])
        fragment["edges"].sort(key=lambda e: (e["target"], e["slot"]))
        return json.dumps(fragment, sort_keys=True)

    start = state()
    steps = []
    cat = node_by_name(window, "inception_3a")
    window.add_layer("Flatten", QPointF(0, 900))
    steps.append("add")
    window.scene.select_nodes([node_by_name(window, "flatten")])
    drag_wire(window, cat, node_by_name(window, "flatten"))
    steps.append("connect")
    window.scene.select_nodes([node_by_name(window, "branch1x1")])
    window.inspector.findChild(QSpinBox, "param:filters").setValue(80)
    steps.append("param")
    name = window.inspector.findChild(QLineEdit, "param:name")
    name.setText("one_by_one")
    name.editingFinished.emit()
    steps.append("rename")
    window.scene.select_nodes([node_by_name(window, "branch_pool")])
    window.duplicate()
    steps.append("paste")
    window.auto_layout()
    steps.append("layout")
    window.scene.select_nodes([node_by_name(window, "branch5x5")])
    window.delete_selection()
    steps.append("remove")
    edge = graph.inputs_of(cat)[0]
    window.scene.clearSelection()
    window.scene.edges[(edge.source, edge.target, edge.slot)].setSelected(True)
    window.delete_selection()
    steps.append("disconnect")
    # a drag with the mouse is one move command
    item = window.scene.nodes[node_by_name(window, "features")]
    x_before = graph.node(node_by_name(window, "features")).position[0]
    press = view_point(window, item.mapToScene(QPointF(20, 10)))
    window.scene.select_nodes([])
    send_mouse(window, QMouseEvent.Type.MouseButtonPress, press)
    for dx in (10, 30, 60):
        send_mouse(window, QMouseEvent.Type.MouseMove, press + QPoint(dx, 0), button=Qt.MouseButton.NoButton)
    send_mouse(window, QMouseEvent.Type.MouseButtonRelease, press + QPoint(60, 0), buttons=Qt.MouseButton.NoButton)
    steps.append("move")
    assert stack.count() == len(steps), [stack.text(i) for i in range(stack.count())]
    assert stack.text(stack.count() - 1).startswith("Move features")
    assert graph.node(node_by_name(window, "features")).position[0] > x_before + 20
    end = state()
    for _ in steps:
        stack.undo()
    QApplication.processEvents()
    assert state() == start
    assert len(window.scene.nodes) == len(graph) and len(window.scene.edges) == len(graph.edges())
    for _ in steps:
        stack.redo()
    QApplication.processEvents()
    assert state() == end
    assert window.history.stack() is stack


def test_save_and_reopen_gives_the_same_graph(window, tmp_path, monkeypatch) -> None:
    open_example(window, "densenet_block.json")
    window.scene.select_nodes([node_by_name(window, "block_1_conv3x3")])
    window.inspector.findChild(QSpinBox, "param:filters").setValue(48)
    assert window.isWindowModified() and window.windowTitle().startswith("DenseNet block")
    path = tmp_path / "mine.json"
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "mine"), ""))
    assert window.save()
    assert not window.isWindowModified() and window.windowTitle() == "mine.json[*] — LayerLab"
    saved = json.dumps(window.document.fragment(window.document.graph.node_ids()), sort_keys=True)
    window.new_document()
    assert len(window.document.graph) == 0
    assert window.open_path(str(path))
    assert json.dumps(window.document.fragment(window.document.graph.node_ids()), sort_keys=True) == saved
    assert window.settings.value("recent")[0] == str(path)
    assert load_project(path)[0].node(node_by_name(window, "block_1_conv3x3")).params["filters"] == 48


def test_unsaved_changes_prompt_can_cancel_close(window, monkeypatch) -> None:
    open_example(window, "lenet5.json")
    window.add_layer("Dense")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Cancel)
    assert not window.close()
    assert asked and window.isVisible()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert window.close()


def test_broken_file_is_reported_and_work_is_kept(window, tmp_path, monkeypatch) -> None:
    open_example(window, "lenet5.json")
    window.add_layer("Dense")
    before = len(window.document.graph)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "layerlab-project", "version": 1, "nodes": [{"id": "x", "type": "Lambda"}]}')
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    assert not window.open_path(str(bad))
    assert warnings == [f"{bad}: node 'x': unknown layer type 'Lambda'"]
    assert len(window.document.graph) == before and window.document.modified


def test_copy_paste_between_windows(window, qtbot, settings) -> None:
    open_example(window, "resnet_basic_block.json")
    other = MainWindow(Document(), settings=settings)
    qtbot.addWidget(other)
    ids = [node_by_name(window, n) for n in ("conv_a", "bn_a", "relu_a")]
    window.scene.select_nodes(ids)
    window.copy()
    assert QApplication.clipboard().mimeData().hasFormat("application/x-layerlab-fragment")
    other.paste()
    graph = other.document.graph
    assert sorted(n.name for n in graph.nodes()) == ["bn_a", "conv_a", "relu_a"]
    assert len(graph.edges()) == 2  # the wires among the copied layers come along
    other.paste()  # a second paste gets fresh names
    assert sorted(n.name for n in graph.nodes())[:2] == ["bn_a", "bn_a_1"]
    QApplication.clipboard().setText("rm -rf / ; not a design")
    other.paste()
    assert len(graph) == 6


def test_export_png_and_svg(window, tmp_path) -> None:
    open_example(window, "inception_module.json")
    window.export_image(str(tmp_path / "canvas.png"))
    window.export_image(str(tmp_path / "canvas.svg"))
    from PySide6.QtGui import QImage

    image = QImage(str(tmp_path / "canvas.png"))
    assert image.width() > 800 and image.height() > 300
    svg = (tmp_path / "canvas.svg").read_text()
    assert "<svg" in svg and "branch3x3" in svg


def test_large_imported_network_opens_fits_and_zooms(window) -> None:
    open_example(window, "densenet121.json")
    assert len(window.scene.blocks) == 9 and len(window.scene.nodes) == 429 and len(window.scene.edges) == len(window.document.graph.edges())
    window.view.fit()
    assert window.view.zoom >= window.view.LABELS_ZOOM - 1e-9  # collapsed into its stages: readable at fit
    window.view.zoom_by(1.2)
    zoomed = window.view.zoom
    window.view.set_zoom(100)
    assert window.view.zoom == window.view.MAX_ZOOM and zoomed < window.view.MAX_ZOOM
    summary_rows = window.summary.table.rowCount()
    assert summary_rows == 429 and "8,062,504" in window.summary.totals.text()


def test_clicking_a_summary_row_selects_the_layer(window) -> None:
    open_example(window, "vgg_block.json")
    target = node_by_name(window, "block2_conv1")
    window.summary.table.selectRow(window.summary._rows[target])
    assert window.scene.selected_node_ids() == [target]
    assert window.inspector.node_id == target
    window.scene.select_nodes([node_by_name(window, "block1_pool")])
    assert window.summary.selected_node_ids() == [node_by_name(window, "block1_pool")]


def test_mime_of_palette_is_the_layer_type(window) -> None:
    data = QMimeData()
    data.setData(LAYER_MIME, b"Conv2D")
    assert window.palette.tree.mimeTypes() == [LAYER_MIME]


def _wait_training(window, qtbot, timeout: int = 120_000) -> None:
    qtbot.waitUntil(lambda: not window.training.running, timeout=timeout)


@pytest.mark.keras
def test_training_in_a_worker_with_live_curves_and_results(window, qtbot, tmp_path) -> None:
    open_example(window, "digits_cnn.json")
    panel = window.training
    assert panel.dataset.currentData() == "digits"  # chosen from the Input shape
    panel.epochs.setValue(4)
    ticks = []
    timer_start = [0.0]
    import time

    def tick() -> None:
        now = time.perf_counter()
        if timer_start[0]:
            ticks.append(now - timer_start[0])
        timer_start[0] = now

    from PySide6.QtCore import QTimer

    heartbeat = QTimer()
    heartbeat.timeout.connect(tick)
    heartbeat.start(10)
    assert panel.start()
    assert panel.running and not panel.start()  # one run at a time
    edits_during = window.add_layer("Dense", QPointF(900, 900))  # the editor stays usable while training
    _wait_training(window, qtbot)
    heartbeat.stop()
    run = panel.runs[-1]
    assert run.error is None, run.error
    assert [e["epoch"] for e in run.epochs] == [1, 2, 3, 4]
    assert len(run.batch_x) > len(run.epochs)  # curves moved during epochs, not only at their end
    assert run.result["val_accuracy"] > 0.8
    assert panel.matrix.rowCount() == 10 and "validation accuracy" in panel.results.text()
    # Pictures: what the network got wrong, its filters, what each convolution sees.
    choices = [panel.picture_choice.itemText(i) for i in range(panel.picture_choice.count())]
    assert choices[0].startswith("Misclassified test images") and any(c.startswith("Filters of") for c in choices)
    assert any(c.startswith("Feature maps of") for c in choices)
    panel.picture_choice.setCurrentIndex(len(choices) - 1)
    shown = panel.show_picture()
    assert shown is not None and shown.ndim == 3 and "test image" in panel.picture_caption.text()
    assert "tensorflow" not in sys.modules or edits_during  # TensorFlow lives in the worker
    assert max(ticks) < 0.5, f"event loop stalled {max(ticks):.3f} s"
    panel.save_history(str(tmp_path / "h.csv"))
    panel.save_model(str(tmp_path / "m.keras"))
    assert (tmp_path / "h.csv").read_text().startswith("epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,")
    assert (tmp_path / "m.keras").stat().st_size > 10_000
    assert panel.start() is False and "not connected to any Input" in panel.status.text()  # the Dense added above
    window.document.undo_stack.undo()
    # a second run, overlaid with the first
    panel.runs_list.item(0).setCheckState(Qt.CheckState.Checked)
    panel.epochs.setValue(1)
    assert panel.start()
    _wait_training(window, qtbot)
    assert len(panel.runs) == 2 and {k[0] for k in panel._items} == {1, 2}


@pytest.mark.keras
def test_stop_and_killed_worker_keep_the_design(window, qtbot) -> None:
    open_example(window, "digits_cnn.json")
    panel = window.training
    before = json.dumps(window.document.fragment(window.document.graph.node_ids()), sort_keys=True)
    panel.epochs.setValue(500)
    assert panel.start()
    qtbot.waitUntil(lambda: bool(panel.current and panel.current.batch_x), timeout=120_000)
    panel.stop()
    _wait_training(window, qtbot, 30_000)
    assert panel.runs[-1].error is None and panel.runs[-1].result["stopped"] and len(panel.runs[-1].epochs) < 500
    assert panel.start()
    qtbot.waitUntil(lambda: bool(panel.current and panel.current.batch_x), timeout=120_000)
    panel.kill_worker()
    _wait_training(window, qtbot, 30_000)
    assert "stopped unexpectedly" in panel.runs[-1].error
    assert json.dumps(window.document.fragment(window.document.graph.node_ids()), sort_keys=True) == before
    assert len(panel.runs) == 2 and panel.runs[0].epochs  # the finished run's curves are kept


def test_training_refuses_an_invalid_design_before_starting(window) -> None:
    open_example(window, "lenet5.json")
    graph = window.document.graph
    graph.set_param(graph.find("c3"), "kernel_size", 20)
    assert window.training.start() is False and not window.training.running
    assert "Cannot train: the network has errors" in window.training.status.text()


@pytest.mark.keras
def test_data_mismatch_is_reported_by_the_worker(window, qtbot) -> None:
    open_example(window, "lenet5.json")
    window.training.dataset.setCurrentIndex(window.training.dataset.findData("digits"))
    assert window.training.start()
    _wait_training(window, qtbot)
    assert window.training.runs[-1].error == "digits images are 8x8x1, your Input is 32x32x1: set the Input shape to [8, 8, 1]"


def test_export_keras_code_from_the_editor(window, tmp_path) -> None:
    open_example(window, "resnet_basic_block.json")
    assert window.export_code(str(tmp_path / "block.py"))
    source = (tmp_path / "block.py").read_text()
    assert "def build_model():" in source and 'name="projection"' in source
    assert window.export_code(str(tmp_path / "train.py"), with_training=False)


def test_exercise_panel_live_checklist_answers_and_compare(window, qtbot) -> None:
    from gui.main_window import EXERCISES_DIR

    assert window.open_exercise(str(EXERCISES_DIR / "ex02_conv_output_size.json"))
    panel = window.exercise
    assert [n.type for n in window.document.graph.nodes()] == ["Input"]  # the starting graph
    assert "(W - K + 2P) / S + 1" in panel.instructions.toPlainText()
    first = {r.id: r.status for r in panel.results}
    assert first["out"] == "failed" and first["q_width"] == "failed"
    window.scene.select_nodes(window.document.graph.node_ids())
    conv = window.add_layer("Conv2D")
    window.scene.select_nodes([conv])
    window.inspector.findChild(QSpinBox, "param:filters").setValue(8)
    for spin in window.inspector.findChild(QWidget, "param:kernel_size").findChildren(QSpinBox):
        spin.setValue(5)
    name = window.inspector.findChild(QLineEdit, "param:name")
    name.setText("conv")
    name.editingFinished.emit()
    QApplication.processEvents()
    status = {r.id: r.status for r in panel.results}
    assert status["out"] == "passed" and status["one_conv"] == "passed"
    field = panel.findChild(QLineEdit, "answer:q_width")
    field.setText("24")
    field.editingFinished.emit()
    QApplication.processEvents()
    assert {r.id: r.status for r in panel.results}["q_width"] == "passed"
    assert window.document.answers == {"q_width": "24"} and window.document.modified
    window.document.undo_stack.undo()  # answering is an edit like any other
    QApplication.processEvents()
    assert window.document.answers == {} and field.text() == ""
    window.document.undo_stack.redo()
    assert "✔" in panel.checklist.item(0).text() and "passed" in panel.score.text()
    dialog = window.compare_with(str(EXERCISES_DIR / "solutions" / "ex02_conv_output_size.json"))
    text = dialog.findChild(QPlainTextEdit).toPlainText()
    assert "Parameters: 208 -> 208 (0)" in text
    dialog.close()


def test_exercise_checklist_shows_points_hints_and_not_checked_and_hides_hidden_criteria(window) -> None:
    from gui.main_window import EXERCISES_DIR

    assert window.open_exercise(str(EXERCISES_DIR / "ex13_inception_module.json"))
    window.open_path(str(EXERCISES_DIR / "wrong" / "ex13_inception_module" / "pool_default_strides.json"))
    panel = window.exercise
    items = [panel.checklist.item(i).text() for i in range(panel.checklist.count())]
    assert len(items) == 9 and not any("receptive" in text.lower() for text in items)  # the hidden criterion stays hidden
    valid = items[0]
    assert valid.startswith("✖") and "Hint: branch_pool_proj gives 10x10, the others 28x28: MaxPooling2D strides default" in valid
    four = next(text for text in items if "Concatenate joining exactly 4 branches" in text)
    assert four.startswith("○") and "(0/3)" in four and "Not checked: fix the error in inception_3a first." in four
    assert "Your teacher also grades 1 hidden criterion." in panel.score.text() and "4 of 12 points" in panel.score.text()


def test_inspector_shows_how_the_numbers_come_about(window) -> None:
    open_example(window, "lenet5.json")
    window.scene.select_nodes([node_by_name(window, "c3")])
    text = window.inspector.result.text()
    assert "(5*5*6 + 1) * 16 = 2,416" in text and "height: (14 - 5 + 2*0) / 1 + 1 = 10" in text
    assert "Multiply-adds: <b>240,000</b>" in text and "Receptive field: <b>14x14</b>" in text
    row = window.summary._rows[node_by_name(window, "c3")]
    assert window.summary.table.item(row, 3).text() == "240,000"


@pytest.mark.keras
def test_save_untrained_model_without_tensorflow_in_the_editor(window, qtbot, tmp_path) -> None:
    open_example(window, "lenet5.json")
    process = window.save_untrained(str(tmp_path / "lenet.keras"))
    with qtbot.waitSignal(process.finished, timeout=120_000):
        pass
    from engine.analysis import analyse as analyse_graph
    from engine.keras_import import import_keras_model

    assert analyse_graph(import_keras_model(tmp_path / "lenet.keras")).total_params == 61_706


def test_export_pytorch_code_from_the_editor(window, tmp_path) -> None:
    open_example(window, "lenet5.json")
    titles = [a.text() for a in window.menuBar().actions()[0].menu().actions() if a.menu()]
    assert "Export &Model" in titles
    assert window.export_model("torch", str(tmp_path / "lenet_torch.py")) is True
    source = (tmp_path / "lenet_torch.py").read_text()
    assert "def load_keras_weights(model, path):" in source and "nn.Conv2d(1, 6, kernel_size=(5, 5))" in source
    assert window.statusBar().currentMessage().endswith("PyTorch code with 61,706 parameters, as many as the Keras model.")


@pytest.mark.keras
def test_export_onnx_from_the_editor_in_a_separate_process_checked_against_keras(window, qtbot, tmp_path, monkeypatch) -> None:
    messages: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: messages.append(a[2]))
    open_example(window, "lenet5.json")
    process = window.export_model("onnx", str(tmp_path / "lenet.onnx"))
    with qtbot.waitSignal(process.finished, timeout=180_000):
        pass
    assert messages == [] and (tmp_path / "lenet.onnx").exists()
    assert "ONNX output equals Keras: max |diff|" in window.statusBar().currentMessage()
    window.document.graph.set_param(node_by_name(window, "f6"), "activation", "gelu")  # tf2onnx cannot convert exact GELU
    process = window.export_model("onnx", str(tmp_path / "gelu.onnx"))
    with qtbot.waitSignal(process.finished, timeout=180_000):
        pass
    assert len(messages) == 1 and "ONNX cannot take layer f6: tf2onnx cannot convert the Erfc operation" in messages[0]
    assert not (tmp_path / "gelu.onnx").exists()


@pytest.mark.keras
def test_training_in_the_editor_counts_for_a_training_criterion(window, qtbot) -> None:
    from gui.main_window import EXERCISES_DIR

    window.open_exercise(str(EXERCISES_DIR / "ex12_train_digits.json"))
    window.open_path(str(EXERCISES_DIR / "solutions" / "ex12_train_digits.json"))
    assert {r.id: r.status for r in window.exercise.results}["train"] == "not run"
    window.training.epochs.setValue(10)
    assert window.training.start()
    _wait_training(window, qtbot)
    QApplication.processEvents()
    train = {r.id: r for r in window.exercise.results}["train"]
    assert train.status == "passed" and "in your last training run (10 epochs)" in train.message
    window.scene.select_nodes([node_by_name(window, "conv1")])
    window.inspector.findChild(QSpinBox, "param:filters").setValue(8)  # the design changed: train again
    QApplication.processEvents()
    assert {r.id: r.status for r in window.exercise.results}["train"] == "not run"


def test_training_panel_explains_the_memory_it_will_need(window) -> None:
    open_example(window, "alexnet.json")
    window.training.batch_size.setValue(256)
    text = window.training.memory.text()
    assert "Training memory ≈ <b>2.7 GB</b>" in text and "optimizer state 475.9 MB" in text
    window.training.optimizer.setCurrentText("sgd")
    assert "optimizer state 238.0 MB" in window.training.memory.text()


def test_bidirectional_form_follows_the_wrapped_layer(window) -> None:
    new_design_with_input(window, "20, 8")
    bi = window.add_layer("Bidirectional")
    window.scene.select_nodes([bi])
    assert window.inspector.findChild(QCheckBox, "param:layer.reset_after") is None  # an LSTM has no reset_after
    from PySide6.QtWidgets import QComboBox

    combo = window.inspector.findChild(QWidget, "param:layer").findChild(QComboBox)
    combo.setCurrentText("GRU")
    QApplication.processEvents()
    reset_after = window.inspector.findChild(QCheckBox, "param:layer.reset_after")
    assert reset_after is not None and reset_after.isChecked()
    before = window.document.analysis[bi].params.total
    reset_after.setChecked(False)
    assert window.document.graph.node(bi).params["layer"] == {"type": "GRU", "params": {**window.document.graph.node(bi).params["layer"]["params"], "reset_after": False}}
    assert window.document.analysis[bi].params.total == before - 2 * 3 * 32  # one bias vector per gate fewer, both directions
    window.document.undo_stack.undo()  # a choice is its own undo step: each state can be restored
    assert window.document.graph.node(bi).params["layer"]["params"]["reset_after"] is True
    window.document.undo_stack.undo()
    assert window.document.graph.node(bi).params["layer"]["type"] == "LSTM"


def test_attention_wires_are_named_and_list_axes_are_typed_in_the_inspector(window) -> None:
    x = new_design_with_input(window, "10, 32")
    mha = window.add_layer("MultiHeadAttention")  # added after the selected Input: wired as its query
    graph = window.document.graph
    window.document.editor.connect(x, mha)  # the second wire becomes the value
    assert [(graph.node(e.source).name, graph.node(mha).spec.input_label(e.slot)) for e in graph.inputs_of(mha)] == [
        ("input_layer", "query"), ("input_layer", "value")]
    assert window.document.analysis[mha].status == "ok"
    window.scene.select_nodes([x])
    norm = window.add_layer("LayerNormalization")
    window.scene.select_nodes([norm])
    axes = window.inspector.findChild(QLineEdit, "param:axis")
    axes.setText("1, 2")
    axes.editingFinished.emit()
    assert graph.node(norm).params["axis"] == (1, 2)
    assert window.document.analysis[norm].params.total == 2 * 10 * 32  # gamma and beta over both axes
    window.document.undo_stack.undo()
    assert graph.node(norm).params["axis"] == -1


def test_an_lstm_with_states_shows_every_output(window) -> None:
    open_example(window, "seq2seq_lstm.json")
    encoder = node_by_name(window, "lstm")
    window.scene.select_nodes([encoder])
    QApplication.processEvents()
    text = window.inspector.result.text()
    assert "Output state_h: <b>(None, 256)</b>" in text and "Output state_c: <b>(None, 256)</b>" in text
    row = next(r for r in range(window.summary.table.rowCount()) if window.summary.table.item(r, 0).text().startswith("lstm_1 "))
    assert window.summary.table.item(row, 4).text() == "input_layer_1, lstm.state_h, lstm.state_c"


def test_select_all_and_delete_refresh_the_panels_once_not_once_per_layer(window, monkeypatch) -> None:
    """51 s for Select All on DenseNet121 came from one inspector and summary refresh per selected item: the scene
    now announces a whole selection (and the deselection before a delete) as one change."""
    open_example(window, "densenet121.json")
    calls = []
    original = window.inspector.show_nodes
    monkeypatch.setattr(window.inspector, "show_nodes", lambda ids: (calls.append(len(ids)), original(ids)))
    window.select_all()
    QApplication.processEvents()
    assert calls == [429]
    selected_rows = {i.row() for i in window.summary.table.selectedIndexes()}
    assert len(selected_rows) == 429
    calls.clear()
    window.delete_selection()
    QApplication.processEvents()
    assert len(window.document.graph) == 0 and calls == [0]
    window.document.undo_stack.undo()
    assert len(window.document.graph) == 429


def test_a_design_too_large_to_draw_is_refused_with_what_to_do_and_the_open_design_stays(window, tmp_path, monkeypatch) -> None:
    from gui.document import MAX_CANVAS_LAYERS

    n = MAX_CANVAS_LAYERS + 1
    doc = {"format": "layerlab-project", "version": 1,
           "nodes": [{"id": "n0", "type": "Input", "params": {"shape": [4]}}] + [{"id": f"n{i}", "type": "Dense", "params": {"units": 4}} for i in range(1, n)],
           "edges": [{"source": f"n{i - 1}", "target": f"n{i}"} for i in range(1, n)]}
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(doc))
    open_example(window, "lenet5.json")
    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: messages.append(a[2]))
    assert not window.open_path(str(path))
    assert "5,001 layers is more than the editor draws (5,000)" in messages[0] and "layerlab summary huge.json" in messages[0]
    assert window.document.graph.find("c1") is not None  # the design that was open is still there
