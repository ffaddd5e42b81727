"""The canvas for real architectures (issue 11): routes, the bugs a new user found, blocks, find, menus."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QComboBox, QFileDialog  # noqa: E402

from engine.layout import wires_under_layers  # noqa: E402
from gui.canvas.items import NODE_HEIGHT, NODE_WIDTH  # noqa: E402
from tests.conftest import EXAMPLES  # noqa: E402
from tests.test_gui import node_by_name, open_example  # noqa: E402


def _drawn_wires_under_layers(win) -> list:  # noqa: ANN001
    positions = {n: (item.pos().x(), item.pos().y()) for n, item in win.scene.nodes.items()}
    routes = {(s, t): [(p.x(), p.y()) for p in item.route] for (s, t, _), item in win.scene.edges.items() if item.route}
    return wires_under_layers(positions, [(s, t) for s, t, _ in win.scene.edges], routes, (NODE_WIDTH, NODE_HEIGHT))


def test_wires_never_pass_under_layers_as_opened_and_after_auto_layout(window) -> None:  # noqa: ANN001
    open_example(window, "densenet_block.json")  # saved with the old rows layout: 4 skip wires ran under layers
    window.scene.reroute()
    assert _drawn_wires_under_layers(window) == []
    assert sum(1 for item in window.scene.edges.values() if item.route) == 4
    window.auto_layout()
    QApplication.processEvents()
    assert _drawn_wires_under_layers(window) == []
    window.document.undo_stack.undo()  # the layout is one undoable step
    QApplication.processEvents()
    window.scene.reroute()
    assert _drawn_wires_under_layers(window) == []


# ------------------------------------------------------------------------------------------------
# Bugs found by a new user


def test_palette_search_ranks_exact_and_prefix_matches_first_and_arrows_choose(window) -> None:  # noqa: ANN001
    window.scene.select_nodes([])
    palette = window.palette
    palette.search.setText("Add")
    assert palette.matches[:2] == ["Add", "AdditiveAttention"]
    before = set(window.document.graph.node_ids())
    palette.search.returnPressed.emit()
    (added,) = set(window.document.graph.node_ids()) - before
    assert window.document.graph.node(added).type == "Add"
    palette.search.setText("add")
    QApplication.sendEvent(palette.search, _key(Qt.Key.Key_Down))
    assert palette.tree.currentItem().text(0) == "AdditiveAttention"
    QApplication.sendEvent(palette.search, _key(Qt.Key.Key_Up))
    assert palette.tree.currentItem().text(0) == "Add"


def _key(key):  # noqa: ANN001, ANN202
    from PySide6.QtGui import QKeyEvent

    return QKeyEvent(QKeyEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier)


def test_renaming_to_a_taken_name_marks_the_renamed_layer_not_the_other(window) -> None:  # noqa: ANN001
    open_example(window, "lenet5.json")
    graph = window.document.graph
    first, second = node_by_name(window, "c1"), node_by_name(window, "c3")
    window.document.editor.rename(second, "c1")
    analysis = window.document.refresh() or window.document.analysis
    assert [d.node for d in analysis.errors if d.code == "duplicate-name"] == [second]
    assert window.scene.nodes[second].status == "error" and window.scene.nodes[first].status != "error"
    assert graph.node(first).name == "c1"


def test_padding_same_valid_same_is_three_undo_steps(window) -> None:  # noqa: ANN001
    open_example(window, "lenet5.json")
    conv = node_by_name(window, "c1")
    window.scene.select_nodes([conv])
    combo = window.inspector.findChild(QComboBox, "param:padding")
    start = window.document.graph.node(conv).params["padding"]
    other = "valid" if start == "same" else "same"
    combo.setCurrentIndex(combo.findData(other))
    combo.setCurrentIndex(combo.findData(start))
    stack = window.document.undo_stack
    stack.undo()
    assert window.document.graph.node(conv).params["padding"] == other  # the middle state can be restored
    stack.undo()
    assert window.document.graph.node(conv).params["padding"] == start


def test_spin_box_steps_are_one_undo_step(window) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QSpinBox

    open_example(window, "lenet5.json")
    conv = node_by_name(window, "c1")
    window.scene.select_nodes([conv])
    spin = window.inspector.findChild(QSpinBox, "param:filters")
    start = spin.value()
    for step in range(1, 4):
        spin.setValue(start + step)
    window.document.undo_stack.undo()
    assert window.document.graph.node(conv).params["filters"] == start


def test_file_dialogs_open_in_the_designs_folder_else_the_last_used_else_home(window, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    seen = []

    def fake_save(parent, caption, folder, filters):  # noqa: ANN001, ANN202
        seen.append(folder)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake_save)
    window.save_as()
    assert Path(seen[-1]).parent == Path.home()  # a new design, no folder used yet
    design = tmp_path / "work" / "net.json"
    design.parent.mkdir()
    design.write_text((EXAMPLES / "lenet5.json").read_text())
    assert window.open_path(str(design))
    window.export_code_dialog(False)
    assert Path(seen[-1]).parent == design.parent
    window._used(str(tmp_path / "exports" / "x.py"))
    (tmp_path / "exports").mkdir()
    window.new_document()
    window.export_dialog("png")
    assert Path(seen[-1]).parent == tmp_path / "exports"


def test_autosave_of_a_new_design_then_save_as_leaves_no_orphan(qtbot, settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from gui.main_window import MainWindow
    from gui.recovery import RecoveryStore

    store = RecoveryStore(tmp_path / "recovery")
    window = MainWindow(settings=settings, recovery=store)
    qtbot.addWidget(window)
    window.new_document()
    window.add_layer("Input")
    window.autosaver.save_now()
    untitled = list(store.folder.glob("untitled-*.layerlab-recovery.json"))
    assert len(untitled) == 1
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "mine.json"), ""))
    assert window.save_as()
    window.add_layer("Dense")  # edited again after saving: autosaved under the design's own name
    window.autosaver.save_now()
    left = [p.name for p in store.folder.glob("*.layerlab-recovery.json")]
    assert not any(name.startswith("untitled-") for name in left) and len(left) == 1
    window.save()
    assert list(store.folder.glob("*.layerlab-recovery.json")) == []
    assert json.loads((tmp_path / "mine.json").read_text())["nodes"][1]["type"] == "Dense"


# ------------------------------------------------------------------------------------------------
# Panels


def test_panels_fit_a_laptop_screen_with_inspector_and_exercise_side_by_side(window, settings, qtbot) -> None:  # noqa: ANN001
    from gui.main_window import EXERCISES_DIR, MainWindow

    window.resize(1366, 768)
    assert window.open_exercise(str(EXERCISES_DIR / "ex13_inception_module.json"))
    for _ in range(5):
        QApplication.processEvents()
    assert window.minimumSizeHint().width() <= 1366 and window.minimumSizeHint().height() <= 768
    assert window.exercise_dock.isVisible() and window.inspector_dock.isVisible()
    assert window.tabifiedDockWidgets(window.inspector_dock) == []  # not tabs of one dock
    assert window.bottom_dock.height() < 0.3 * window.height()
    assert window.exercise.checklist.height() > 150  # the checklist gets the room, not the instructions
    window.bottom_dock.hide()
    window.close()  # the layout is remembered for the next start
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    assert again.bottom_dock.isHidden()
