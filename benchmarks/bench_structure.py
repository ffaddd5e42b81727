"""Editing real structures (issue 17): every figure against a baseline measured in the same run.

- Disconnect All on a Concatenate with 1,000 inputs, and its undo, with the canvas: < 0.5 s each
  (baseline: the same edits on the engine's model alone, no canvas);
- a design of 1,000 nested blocks: opening it on the canvas, expanding one, undoing that, a parameter edit:
  < 0.5 s each edit (baseline: one analysis of the design);
- a design of 2,000 nested blocks: refused with a message in < 2 s (baseline: parsing its JSON);
- auto-layout of a 10,000-layer chain: < 5 s (baseline: one analysis of the chain).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from benchmarks._util import median_seconds, report


def _concat_graph(n: int):  # noqa: ANN202
    from engine.graph import NetworkGraph

    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [8]})
    merge = graph.add_node("Concatenate", {}, position=(0.0, 400.0))
    for i in range(n):
        dense = graph.add_node("Dense", {"units": 2}, position=(i * 260.0, 150.0))
        graph.connect(x, dense)
        graph.connect(dense, merge)
    return graph, merge


def _nested_blocks(path: Path, depth: int) -> None:
    groups = [{"id": f"b{i}", "name": f"block{i}", "kind": "block", "parent": f"b{i - 1}" if i > 1 else None, "collapsed": True}
              for i in range(1, depth + 1)]
    nodes = [{"id": "n0", "type": "Input", "name": "x", "params": {"shape": [8]}, "position": [0, 0]}]
    nodes += [{"id": f"n{i}", "type": "Dense", "name": f"d{i}", "params": {"units": 4}, "position": [0, i * 134], "group": f"b{i}"}
              for i in range(1, depth + 1)]
    edges = [{"source": f"n{i - 1}", "target": f"n{i}", "slot": 0} for i in range(1, depth + 1)]
    path.write_text(json.dumps({"format": "layerlab-project", "version": 2, "groups": groups, "nodes": nodes, "edges": edges}))


def run() -> list[dict]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from engine.analysis import analyse
    from engine.layout import auto_layout
    from engine.project import ProjectError, load_project
    from gui.canvas.scene import GraphScene
    from gui.document import Document
    from tests.conftest import chain

    app = QApplication.instance() or QApplication([])
    results = []

    def timed(action) -> float:  # noqa: ANN001
        start = time.perf_counter()
        action()
        app.processEvents()
        return time.perf_counter() - start

    # A Concatenate of 1,000 branches.
    graph, merge = _concat_graph(1000)
    doc = Document(graph)
    scene = GraphScene(doc)
    app.processEvents()
    cut = timed(lambda: (doc.editor.disconnect_all(merge), doc.refresh()))
    back = timed(lambda: (doc.undo_stack.undo(), doc.refresh()))
    engine_graph, engine_merge = _concat_graph(1000)
    edges = engine_graph.inputs_of(engine_merge)
    start = time.perf_counter()
    for e in edges:
        engine_graph.disconnect(e.source, e.target, e.slot)
    analyse(engine_graph)
    engine_cut = time.perf_counter() - start
    results.append(report("Disconnect All, Concatenate of 1,000 inputs (s)", cut, "s", "engine alone", engine_cut, "< 0.5 s", cut < 0.5))
    results.append(report("  its undo (s)", back, "s", "engine alone", engine_cut, "< 0.5 s", back < 0.5))
    scene.detach()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nested1000.json"
        _nested_blocks(path, 1000)
        analysis = median_seconds(lambda: analyse(load_project(path)[0]), repeat=3)
        holder: dict = {}
        opened = timed(lambda: holder.update(doc=Document.open(str(path))))
        nested = holder["doc"]
        canvas = GraphScene(nested)
        app.processEvents()
        expand = timed(lambda: nested.editor.set_collapsed("b1", False))
        undo = timed(nested.undo_stack.undo)
        edit = timed(lambda: (nested.editor.set_param("n500", "units", 7), nested.refresh()))
        for name, value in (("open 1,000 nested blocks (engine) (s)", opened), ("expand the outermost of 1,000 nested blocks (s)", expand),
                            ("  undo that (s)", undo), ("  a parameter edit inside (s)", edit)):
            limit = 2.0 if name.startswith("open") else 0.5
            results.append(report(name, value, "s", "one analysis of the design", analysis, f"< {limit:g} s", value < limit))
        canvas.detach()

        deep = Path(folder) / "nested2000.json"
        _nested_blocks(deep, 2000)
        parse = median_seconds(lambda: json.loads(deep.read_text()), repeat=3)
        start = time.perf_counter()
        try:
            Document.open(str(deep))
            refused = False
        except ProjectError:
            refused = True
        seconds = time.perf_counter() - start
        results.append(report("2,000 nested blocks refused with a message (s)", seconds, "s", "parsing its JSON", parse, "< 2 s, refused",
                              refused and seconds < 2.0))

    long_chain, _ = chain((8,), *[("Dense", {"units": 8})] * 10_000)
    layout = median_seconds(lambda: auto_layout(long_chain), repeat=3, warmup=0)
    baseline = median_seconds(lambda: analyse(long_chain), repeat=3, warmup=0)
    results.append(report("auto-layout of a 10,000-layer chain (s)", layout, "s", "one analysis of the chain", baseline, "< 5 s", layout < 5.0))
    return results
