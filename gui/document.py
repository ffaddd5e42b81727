"""The open design: a `NetworkGraph`, its undo stack, its file, and the live analysis.

Views subscribe to the graph's events for structure and to `Document.analysed` for shapes, counts
and diagnostics. Re-analysis is coalesced: many events in one edit (a paste, an undo of a delete)
trigger one pass when control returns to the event loop.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from engine.analysis import Analysis, Analyzer
from engine.graph import GraphEvent, NetworkGraph
from engine.project import ProjectError, graph_to_dict, load_design, save_project
from engine.teaching import Explainer, Teaching

__all__ = ["Document", "EditRefused"]


#: The largest design the editor opens: drawing takes about 1.5 ms per layer, so 5,000 layers open in about 8 s.
MAX_CANVAS_LAYERS = 5_000
#: An imported model with more layers than this opens with its stages collapsed.
COLLAPSE_ABOVE = 120


class EditRefused(Exception):
    """An edit the model refused; the message is for the user."""


class Document(QObject):
    #: Emitted with the new `Analysis` after the graph changed.
    analysed = Signal(object)
    #: Emitted when the file name or the unsaved state changes.
    titleChanged = Signal()

    def __init__(self, graph: NetworkGraph | None = None, path: str | None = None, title: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph = graph if graph is not None else NetworkGraph()
        self.path = path
        self.title = title
        self.description = ""
        #: Answers to the open exercise's questions, saved with the design.
        self.answers: dict[str, Any] = {}
        #: The auto-layout an imported model was opened with (its wire routes), until the canvas shows it.
        self.initial_layout: Any = None
        self.undo_stack = QUndoStack(self)
        self._editor = None
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self._analyzer = Analyzer()
        self._explainer = Explainer()
        self._teaching: Teaching | None = None
        self._analysis: Analysis | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        # A weak subscription: the graph must not keep its document alive. Without the cycle, a dropped document
        # is freed by reference counting; a cycle would leave it to Python's garbage collector, and PySide6
        # crashes collecting a QUndoStack whose commands are Python objects.
        this = weakref.ref(self)
        self._unsubscribe = self.graph.subscribe(lambda event: (lambda doc: doc._on_event(event) if doc is not None else None)(this()))
        self.refresh()

    def _clean_changed(self, _clean: bool) -> None:
        self.titleChanged.emit()

    # -- analysis -------------------------------------------------------------------------------

    @property
    def analysis(self) -> Analysis:
        """The analysis of the graph as it is now (computed on demand if an update is pending)."""
        if self._analysis is None or self._timer.isActive():
            self.refresh()
        assert self._analysis is not None
        return self._analysis

    def _on_event(self, event: GraphEvent) -> None:
        if event.kind != "moved" and not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        self._timer.stop()
        self._analysis = self._analyzer.analyse(self.graph)
        self._teaching = None
        self.analysed.emit(self._analysis)

    def teaching(self, node_id: str | None = None) -> Teaching:
        """How the numbers of the current analysis come about (multiply-adds, output sizes, receptive fields),
        computed when first asked and only for the layers that changed since the last time. With ``node_id``,
        only that layer's notes are sure to be there (it and the layers feeding it are computed)."""
        if self._teaching is not None:
            return self._teaching
        if node_id is not None:
            import networkx as nx

            return self._explainer.explain(self.graph, self.analysis, nx.ancestors(self.graph.nx_graph, node_id) | {node_id})
        self._teaching = self._explainer.explain(self.graph, self.analysis)
        return self._teaching

    @property
    def editor(self):  # noqa: ANN201 - gui.editor imports this module
        """The editing controller of this design: the only thing that pushes undo commands."""
        if self._editor is None:
            from gui.editor import Editor

            self._editor = Editor(weakref.proxy(self))
        return self._editor

    # -- files ----------------------------------------------------------------------------------

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def display_name(self) -> str:
        return Path(self.path).name if self.path else (self.title or "Untitled")

    @classmethod
    def open(cls, path: str, parent: QObject | None = None) -> Document:
        """Load a project or import a Keras model. Raises ProjectError / KerasImportError; a design larger
        than the canvas draws in reasonable time (`MAX_CANVAS_LAYERS`) is refused with what to do instead."""
        graph, meta, is_project = load_design(path)
        if len(graph) > MAX_CANVAS_LAYERS:
            raise ProjectError(
                path, f"{len(graph):,} layers is more than the editor draws ({MAX_CANVAS_LAYERS:,}); "
                f"the design itself is fine: use `layerlab summary {Path(path).name}` for its shapes and counts",
            )
        layout = None
        if not is_project:  # an imported model: blocks from its layer names, laid out, its wires routed
            from engine.blocks import apply_blocks, prefix_blocks
            from engine.layout import auto_layout

            # A large model opens with its stages collapsed, readable at once; the blocks change nothing Keras sees.
            apply_blocks(graph, prefix_blocks(graph), collapse_outer=len(graph) > COLLAPSE_ABOVE)
            layout = auto_layout(graph)
            for node_id, position in layout.positions.items():
                graph.move(node_id, position)
        doc = cls(graph, path if is_project else None, meta.get("name", ""), parent)
        doc.initial_layout = layout
        doc.description = meta.get("description", "")
        doc.answers = dict(meta.get("answers", {}))
        return doc

    def save(self, path: str | None = None) -> None:
        path = path or self.path
        if not path:
            raise ValueError("no file name")
        save_project(self.graph, path, name=self.title, description=self.description, answers=self.answers)
        self.path = path
        self.undo_stack.setClean()
        self.titleChanged.emit()

    def fragment(self, node_ids: Iterable[str]) -> dict[str, Any]:
        """The selected layers and the wires among them, as a project-format dict (for the clipboard)."""
        ids = set(node_ids)
        doc = graph_to_dict(self.graph)
        doc["nodes"] = [n for n in doc["nodes"] if n["id"] in ids]
        doc["edges"] = [e for e in doc["edges"] if e["source"] in ids and e["target"] in ids]
        return doc

    def close(self) -> None:
        self._unsubscribe()
        self._timer.stop()
