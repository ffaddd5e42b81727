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
    """Wires as drawn (between visible layers and collapsed blocks) that pass under a box."""
    scene = win.scene
    unit = {n: (item.proxy.group_id if item.proxy is not None else n) for n, item in scene.nodes.items()}
    positions = {n: (item.pos().x(), item.pos().y()) for n, item in scene.nodes.items() if item.isVisible()}
    positions.update({g: (item.pos().x(), item.pos().y()) for g, item in scene.blocks.items()})
    wires, routes = [], {}
    for (s, t, _), item in scene.edges.items():
        wire = (unit[s], unit[t])
        if wire[0] != wire[1]:
            wires.append(wire)
            if item.route:
                routes[wire] = [(p.x(), p.y()) for p in item.route]
    return wires_under_layers(positions, wires, routes, (NODE_WIDTH, NODE_HEIGHT))


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
    open_example(window, "inception_module.json")
    target = node_by_name(window, "branch_pool_proj")
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
    open_example(window, "transformer_classifier.json")
    minimap = window.view.minimap
    minimap.refit()
    assert minimap.isVisible()
    bounds = window.scene.visible_bounds()
    window.view.set_zoom(1.2)
    window.view.centerOn(bounds.topLeft())
    bottom = bounds.bottomLeft()
    target = minimap.mapFromScene(bottom.x() + 100, bottom.y() - 100).toPoint()
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=target)
    centre = window.view.visible_scene_rect().center()
    assert abs(centre.y() - (bottom.y() - 100)) < 60  # the view moved to where the minimap was clicked


def test_fit_to_view_stops_at_readable_labels_and_says_how_to_see_more(window) -> None:  # noqa: ANN001
    open_example(window, "densenet121.json")
    for gid in [g for g, group in window.document.graph.groups.items() if group.collapsed]:
        window.set_collapsed(gid, False)  # all 429 layers: too tall to fit at a readable size
    said = []
    window.view.tooBig.connect(said.append)
    window.view.fit()
    assert window.view.zoom >= window.view.LABELS_ZOOM - 1e-9
    assert said and "minimap" in said[0] and "Find (Ctrl+F)" in said[0]
    window.view.zoom_by(1 / 1.2)  # Zoom Out still goes further when asked
    assert window.view.zoom < window.view.LABELS_ZOOM - 0.05


# ------------------------------------------------------------------------------------------------
# Blocks


def test_group_collapse_expand_and_ungroup_are_undoable_and_saved(window, tmp_path) -> None:  # noqa: ANN001
    from engine.codegen import generate_code
    from engine.project import load_project

    open_example(window, "resnet_basic_block.json")
    graph = window.document.graph
    code_before = generate_code(graph)
    body = [node_by_name(window, n) for n in ("conv_a", "bn_a", "relu_a", "conv_b", "bn_b")]
    window.scene.select_nodes(body)
    gid = window.group_selection()
    assert graph.groups[gid].kind == "block" and all(graph.node(n).group == gid for n in body)
    QApplication.processEvents()
    window.scene.reroute()
    assert gid in window.scene.frames  # an expanded block is a named frame
    window.set_collapsed(gid, True)
    QApplication.processEvents()
    block = window.scene.blocks[gid]
    assert not any(window.scene.nodes[n].isVisible() for n in body) and block.isVisible()
    assert block.lines[0] == "block · 5 layers"
    assert block.lines[1] == "56×56×64 → 28×28×128"
    params = sum(window.document.analysis[n].params.total for n in body)
    assert block.lines[2].startswith(f"{params:,} params · ") and block.lines[2].endswith("MACs")
    assert _drawn_wires_under_layers(window) == []
    assert generate_code(graph) == code_before  # a block is a drawing aid: the exported model is the same
    assert window._save_to(str(tmp_path / "blocks.json"))
    saved, _ = load_project(tmp_path / "blocks.json")
    assert saved.groups[gid].collapsed and {n for n in saved.node_ids() if saved.node(n).group == gid} == set(body)
    stack = window.document.undo_stack
    stack.undo()  # expand again
    QApplication.processEvents()
    window.scene.reroute()
    assert not graph.groups[gid].collapsed and all(window.scene.nodes[n].isVisible() for n in body)
    stack.undo()  # ungrouped
    assert gid not in graph.groups and all(graph.node(n).group is None for n in body)
    stack.redo()
    window.scene.select_nodes(body[:1])
    window.ungroup_selection()
    assert gid not in graph.groups


def test_double_click_expands_a_collapsed_block_and_find_expands_the_block_it_shows(window) -> None:  # noqa: ANN001
    open_example(window, "densenet121.json")  # opens collapsed into its stages
    graph = window.document.graph
    outline = [item for item in window.scene.nodes.values() if item.isVisible()]
    assert len(outline) + len(window.scene.blocks) <= 12
    names = {graph.groups[g].name for g in window.scene.blocks}
    assert {"stem", "conv2", "pool2", "conv3", "conv4", "conv5", "head"} <= names
    window.view.fit()
    assert window.view.zoom >= window.view.LABELS_ZOOM - 1e-9
    window.find_field.setText("conv4_block7_1_conv")
    target = graph.find("conv4_block7_1_conv")
    assert window.scene.nodes[target].isVisible() and window.scene.selected_node_ids() == [target]
    assert graph.collapsed_unit(target) is None
    conv2 = next(g for g in window.scene.blocks if graph.groups[g].name == "conv2")
    window.scene.collapseRequested.emit(conv2, False)
    assert not graph.groups[conv2].collapsed


def test_imported_models_get_blocks_from_their_layer_names(tmp_path) -> None:  # noqa: ANN001
    from engine.blocks import apply_blocks, prefix_blocks
    from engine.codegen import generate_code
    from engine.keras_import import graph_from_keras_config
    from tests.corpus.compare import load

    graph = graph_from_keras_config(load("ResNet50")["config"])
    code = generate_code(graph)
    plans = prefix_blocks(graph)
    stages = [p.name for p in plans if p.parent is None]
    assert stages[:5] == ["conv1", "conv2", "conv3", "conv4", "conv5"] or {"conv2", "conv3", "conv4", "conv5"} <= set(stages)
    assert sorted(p.name for p in plans if p.parent == "conv3") == [f"conv3_block{i}" for i in range(1, 5)]
    apply_blocks(graph, plans, collapse_outer=True)
    with_blocks = generate_code(graph)  # the same model (built in Keras by tests/test_export_corpus.py), with one function per stage
    assert with_blocks != code and "def conv_block(x, name):" in with_blocks
    inception = graph_from_keras_config(load("InceptionV3")["config"])
    assert [p.name for p in prefix_blocks(inception)][:3] == ["mixed1", "mixed2", "mixed3"]


def test_repeat_block_chains_copies_in_one_step(window) -> None:  # noqa: ANN001
    from engine.analysis import analyse

    open_example(window, "resnet_basic_block.json")
    graph = window.document.graph
    # An identity block: conv-bn-relu-conv-bn + the input, 28x28x128 in and out.
    out = graph.find("relu_out")
    window.scene.select_nodes([out])
    start = analyse(graph).total_params
    members = [graph.find(n) for n in ("conv_b", "bn_b")]
    window.scene.select_nodes(members)
    gid = window.group_selection()
    made = window.repeat_block(gid, 2)
    assert len(made) == 2 and [graph.groups[g].name for g in made] == [graph.groups[gid].name + "_2", graph.groups[gid].name + "_3"]
    analysis = analyse(graph)
    assert analysis.is_valid and analysis.total_params == start + 2 * sum(analysis[m].params.total for m in members)
    first_copy = graph.group_members(made[0])
    assert any(e.source == graph.find("bn_b") for n in first_copy for e in graph.inputs_of(n))
    window.document.undo_stack.undo()
    assert analyse(graph).total_params == start and all(g not in graph.groups for g in made)
