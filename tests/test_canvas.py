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


# ------------------------------------------------------------------------------------------------
# Editing on the canvas


def _menu_actions(menu) -> dict:  # noqa: ANN001
    return {a.text(): a for a in menu.actions() if a.text()}


def _centre(win, node_id: str):  # noqa: ANN001, ANN202
    from PySide6.QtCore import QPointF

    return win.scene.nodes[node_id].mapToScene(QPointF(NODE_WIDTH / 2, NODE_HEIGHT / 2))


def test_right_click_menus_on_a_layer_a_wire_and_the_empty_canvas(window) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPointF

    open_example(window, "lenet5.json")
    graph = window.document.graph
    c1 = node_by_name(window, "c1")
    assert set(_menu_actions(window.canvas_menu(_centre(window, c1)))) >= {
        "Rename…", "Insert Layer After…", "Disconnect All Wires", "Duplicate", "Delete", "Zoom to Selection"}
    edge = next(e for e in graph.outputs_of(c1))
    wire = window.scene.edges[(edge.source, edge.target, edge.slot)]
    middle = wire.path().pointAtPercent(0.5)
    menu = _menu_actions(window.canvas_menu(middle))
    assert set(menu) == {"Insert Layer on Wire…", "Delete Wire"}
    menu["Insert Layer on Wire…"].trigger()
    popup = window._quick_add
    popup.search.setText("BatchNorm")
    popup.search.returnPressed.emit()
    (bn,) = window.scene.selected_node_ids()
    assert graph.node(bn).type == "BatchNormalization"
    assert [e.source for e in graph.inputs_of(bn)] == [c1] and [e.target for e in graph.outputs_of(bn)] == [edge.target]
    window.document.undo_stack.undo()  # inserting on a wire is one step
    assert bn not in graph and any(e.target == edge.target for e in graph.outputs_of(c1))
    empty = _menu_actions(window.canvas_menu(QPointF(-5000, -5000)))
    assert {"Add Layer Here…", "Paste Here", "Auto-Layout", "Fit to View"} <= set(empty)
    empty["Add Layer Here…"].trigger()
    window._quick_add.search.setText("Dense")
    window._quick_add.search.returnPressed.emit()
    (dense,) = window.scene.selected_node_ids()
    x, y = graph.node(dense).position
    assert abs(x + NODE_WIDTH / 2 + 5000) < 1 and abs(y + NODE_HEIGHT / 2 + 5000) < 1  # where the user clicked


def test_tab_opens_the_quick_add_popup_and_insert_after_takes_over_the_outgoing_wires(window, qtbot) -> None:  # noqa: ANN001
    open_example(window, "lenet5.json")
    graph = window.document.graph
    c1 = node_by_name(window, "c1")
    consumers = sorted(e.target for e in graph.outputs_of(c1))
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Tab)
    assert window._quick_add.isVisible()
    window._quick_add.close()
    _menu_actions(window.canvas_menu(_centre(window, c1)))["Insert Layer After…"].trigger()
    window._quick_add.search.setText("Dropout")
    window._quick_add.search.returnPressed.emit()
    (drop,) = window.scene.selected_node_ids()
    assert [e.source for e in graph.inputs_of(drop)] == [c1]
    assert sorted(e.target for e in graph.outputs_of(drop)) == consumers
    assert [e.target for e in graph.outputs_of(c1)] == [drop]


def test_double_click_a_layers_name_renames_it_in_place(window, qtbot) -> None:  # noqa: ANN001
    open_example(window, "lenet5.json")
    c1 = node_by_name(window, "c1")
    editor = window.rename_in_place(c1)
    assert editor.text() == "c1" and editor.isVisible()
    editor.setText("first_conv")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert window.document.graph.node(c1).name == "first_conv"
    window.document.undo_stack.undo()
    assert window.document.graph.node(c1).name == "c1"
    editor = window.rename_in_place(c1)
    editor.setText("ignored")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert window.document.graph.node(c1).name == "c1"
    window.view.fit()
    QApplication.processEvents()
    from PySide6.QtCore import QPointF

    on_name = window.view.mapFromScene(window.scene.nodes[c1].mapToScene(QPointF(40, 10)))
    qtbot.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=on_name)
    assert window._rename_editor.text() == "c1"


def test_a_wire_dropped_on_a_taken_input_replaces_the_old_one_in_one_step(window) -> None:  # noqa: ANN001
    from tests.test_gui import drag_wire

    open_example(window, "lenet5.json")
    graph = window.document.graph
    c1, c3 = node_by_name(window, "c1"), node_by_name(window, "c3")
    old_source = graph.inputs_of(c3)[0].source
    assert old_source != c1
    drag_wire(window, c1, c3)
    assert [e.source for e in graph.inputs_of(c3)] == [c1]
    window.document.undo_stack.undo()
    assert [e.source for e in graph.inputs_of(c3)] == [old_source]


def test_paste_lands_at_the_mouse_or_beside_and_duplicate_beside_the_originals(window) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPointF

    open_example(window, "lenet5.json")
    graph = window.document.graph
    c1 = node_by_name(window, "c1")
    window.scene.select_nodes([c1])
    window.duplicate()
    (copy,) = window.scene.selected_node_ids()
    (x0, y0), (x1, y1) = graph.node(c1).position, graph.node(copy).position
    assert y1 == y0 and x1 >= x0 + NODE_WIDTH  # beside, not on top
    window.scene.select_nodes([c1])
    window.copy()
    window.paste(at=QPointF(900, 900))
    (pasted,) = window.scene.selected_node_ids()
    assert graph.node(pasted).position == (900.0, 900.0)
    window.paste()  # the mouse is not over the canvas (offscreen): the second paste goes further
    window.paste()
    *_, third = (graph.node(n).position for n in window.scene.selected_node_ids())
    assert third[0] - x0 >= 120 and third[1] - y0 >= 120


def test_zooming_keeps_the_selection_in_view(window) -> None:  # noqa: ANN001
    open_example(window, "densenet121.json")
    target = window.document.graph.node_ids()[-1]
    window.scene.select_nodes([target])
    window.zoom_to_selection()
    for _ in range(3):
        window.view.zoom_by(1 / 1.2)
        assert window.view.visible_scene_rect().contains(window.scene.nodes[target].sceneBoundingRect().center())


# ------------------------------------------------------------------------------------------------
# Navigation


def test_find_selects_and_shows_matches_as_you_type_and_enter_goes_to_the_next(window, qtbot) -> None:  # noqa: ANN001
    open_example(window, "densenet121.json")
    window.start_find()
    assert window.find_field.hasFocus() or QApplication.focusWidget() is window.find_field
    window.find_field.setText("conv5_block16")
    found = list(window._found)
    assert found and all(window.document.graph.node(n).name.startswith("conv5_block16") for n in found)
    first = window.scene.selected_node_ids()
    assert first == [found[0]]
    assert window.view.visible_scene_rect().contains(window.scene.nodes[found[0]].sceneBoundingRect().center())
    assert window.view.zoom >= window.view.LABELS_ZOOM - 1e-9
    qtbot.keyClick(window.find_field, Qt.Key.Key_Return)
    assert window.scene.selected_node_ids() == [found[1]]
    window.find_field.setText("averagepooling")  # by type too
    graph = window.document.graph
    assert [graph.node(n).type for n in window._found] == ["AveragePooling2D"] * 3 + ["GlobalAveragePooling2D"]


def test_the_minimap_frames_the_view_and_moves_it_on_click(window, qtbot) -> None:  # noqa: ANN001
    open_example(window, "densenet121.json")
    minimap = window.view.minimap
    assert minimap.isVisible()
    bottom = window.scene.itemsBoundingRect().bottomLeft()
    target = minimap.mapFromScene(bottom.x() + 100, bottom.y() - 100)
    qtbot.mouseClick(minimap.viewport(), Qt.MouseButton.LeftButton, pos=target)
    centre = window.view.visible_scene_rect().center()
    assert abs(centre.y() - (bottom.y() - 100)) < window.view.visible_scene_rect().height()
    assert centre.y() > window.scene.itemsBoundingRect().center().y()  # moved down to the end of the network


def test_fit_to_view_stops_at_readable_labels_and_says_how_to_see_more(window) -> None:  # noqa: ANN001
    open_example(window, "densenet121.json")
    said = []
    window.view.tooBig.connect(said.append)
    window.view.fit()
    assert window.view.zoom >= window.view.LABELS_ZOOM - 1e-9
    assert said and "minimap" in said[0] and "Find (Ctrl+F)" in said[0]
    window.view.zoom_by(1 / 1.2)  # Zoom Out still goes further when asked
    assert window.view.zoom < window.view.LABELS_ZOOM - 0.05
