"""The canvas over blocks: a collapsed block never keeps a deleted wire, and ungrouping one never leaves the
canvas behind the model (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui.canvas.scene import GraphScene  # noqa: E402
from gui.document import Document  # noqa: E402
from tests.conftest import chain  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# Runs in its own process: before the fix, Qt dereferenced a freed wire and the whole process died (SIGSEGV).
DELETE_INSIDE_A_COLLAPSED_BLOCK = r"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, os.getcwd())
from PySide6.QtWidgets import QApplication
app = QApplication([])
from tests.conftest import chain
from gui.document import Document
from gui.canvas.scene import GraphScene
graph, ids = chain((28, 28, 1), ("Conv2D", {"filters": 4, "kernel_size": [3, 3]}), ("Conv2D", {"filters": 4, "kernel_size": [3, 3]}),
                   ("Flatten", {}), ("Dense", {"units": 10}))
doc = Document(graph)
scene = GraphScene(doc)
block = doc.editor.group(ids[1:3], "blk")
doc.editor.set_collapsed(block, True)
app.processEvents()
doc.editor.remove([ids[VICTIM]])  # a layer of the block, or a layer wired to it
doc.editor.move({ids[1]: (500.0, 500.0)})  # a member moves before the canvas re-syncs
box = scene.blocks[block]
box.setPos(box.pos().x() + 10, box.pos().y())  # and the box is dragged
app.processEvents()
assert all(edge.scene() is scene for edge in scene.blocks[block].edges)
print("alive", len(scene.edges))
"""


@pytest.mark.parametrize("victim", [2, 3])
def test_deleting_part_of_a_collapsed_block_then_moving_it_does_not_crash(victim: int) -> None:
    result = subprocess.run([sys.executable, "-c", DELETE_INSIDE_A_COLLAPSED_BLOCK.replace("VICTIM", str(victim))], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("alive")


def collapsed_block(qapp):  # noqa: ANN001, ANN201
    """Input -> [Dense -> Dense] (a collapsed block) -> Dense, on a canvas."""
    graph, ids = chain((8,), ("Dense", {"units": 4}), ("Dense", {"units": 4}), ("Dense", {"units": 2}))
    doc = Document(graph)
    scene = GraphScene(doc)
    block = doc.editor.group(ids[1:3], "blk")
    doc.editor.set_collapsed(block, True)
    qapp.processEvents()
    return doc, scene, block, ids


def test_a_collapsed_block_forgets_a_wire_as_soon_as_it_is_deleted(qapp) -> None:  # noqa: ANN001
    doc, scene, block, ids = collapsed_block(qapp)
    box = scene.blocks[block]
    wire = scene.edges[(ids[2], ids[3], 0)]
    assert wire in box.edges
    doc.editor.remove([ids[3]])
    assert wire not in box.edges  # at once, not at the next re-sync
    scene.detach()


def test_ungrouping_a_collapsed_block_then_editing_updates_the_canvas(qapp, qtbot) -> None:  # noqa: ANN001
    doc, scene, block, ids = collapsed_block(qapp)
    doc.editor.ungroup(block)
    doc.editor.set_param(ids[3], "units", 7)  # any edit: the analysis arrives before the canvas re-synced its boxes
    doc.refresh()
    qapp.processEvents()
    assert scene.blocks == {} and all(item.isVisible() for item in scene.nodes.values())
    assert scene.nodes[ids[3]].result.output.shape == (7,)
    scene.detach()
