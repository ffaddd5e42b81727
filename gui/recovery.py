"""Autosave and crash recovery.

A few seconds after an edit the open design (with its exercise answers) is written, atomically, to a
recovery file in the per-user recovery folder, never over the user's file and never beside it (as
LibreOffice and Qt Creator do): ``NAME-<hash of the design's path>.layerlab-recovery.json``, or
``untitled-<session>.layerlab-recovery.json``. An index in the recovery folder lists them. Saving or
closing normally removes the recovery file; after a crash (even ``kill -9``) the next start finds it and
offers to restore, losing at most one autosave interval of work. A restored design keeps its recovery
file (rewritten at once under the new session) until it is saved, so a second crash loses nothing.

The recovery folder is ``$LAYERLAB_DATA_DIR/recovery`` when that variable is set, else the platform's
application data folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from engine.project import ProjectError, StructureError, atomic_write_text, graph_from_dict, graph_to_dict, read_json_file
from gui.document import Document

__all__ = ["RecoveryStore", "Autosaver", "Recovered", "AUTOSAVE_SECONDS"]

#: Seconds between an edit and its autosave (``LAYERLAB_AUTOSAVE_SECONDS`` overrides it).
AUTOSAVE_SECONDS = float(os.environ.get("LAYERLAB_AUTOSAVE_SECONDS", "5"))


def data_dir() -> Path:
    override = os.environ.get("LAYERLAB_DATA_DIR")
    if override:
        return Path(override)
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(location or Path.home() / ".layerlab")


@dataclass
class Recovered:
    """A design that was being edited when LayerLab stopped without saving."""

    recovery_path: str
    original_path: str | None
    title: str
    saved_at: float

    def describe(self) -> str:
        name = Path(self.original_path).name if self.original_path else (self.title or "an untitled design")
        return f"{name} (autosaved {time.strftime('%H:%M:%S', time.localtime(self.saved_at))})"


class RecoveryStore:
    """Where recovery files live, and the index that finds them after a crash."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or data_dir() / "recovery"
        self.index_path = self.folder / "index.json"

    def _index(self) -> dict[str, Any]:
        try:
            data = read_json_file(self.index_path)
        except ProjectError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write_index(self, index: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.index_path, json.dumps(index, indent=1))

    def path_for(self, document: Document, token: str) -> Path:
        """The recovery file of ``document``: in the recovery folder, named after the design's path."""
        if document.path:
            absolute = os.path.abspath(document.path)
            digest = hashlib.sha256(absolute.encode("utf-8", "surrogatepass")).hexdigest()[:16]
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(absolute).stem)[:40] or "design"
            return self.folder / f"{stem}-{digest}.layerlab-recovery.json"
        return self.folder / f"untitled-{token}.layerlab-recovery.json"

    def write(self, document: Document, token: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)  # the first autosave of a new design creates it
        path = self.path_for(document, token)
        doc = graph_to_dict(document.graph, name=document.title, description=document.description, answers=document.answers)
        doc["recovery"] = {"original_path": document.path, "saved_at": time.time(), "pid": os.getpid()}
        atomic_write_text(path, json.dumps(doc))
        index = self._index()
        for other, other_path in list(index.items()):  # the same design autosaved by an earlier session
            if other != token and other_path == str(path):
                index.pop(other)
        previous = index.get(token)
        if previous and previous != str(path):  # the design got a file name (Save As): its untitled file goes
            try:
                os.unlink(previous)
            except OSError:
                pass
        index[token] = str(path)
        self._write_index(index)
        return path

    def discard(self, token: str) -> None:
        index = self._index()
        path = index.pop(token, None)
        if path:
            try:
                os.unlink(path)
            except OSError:
                pass
            self._write_index(index)

    def pending(self) -> list[tuple[str, Recovered]]:
        """Recovery files left by sessions that did not end normally: (token, what)."""
        found = []
        for token, path in self._index().items():
            try:
                doc = read_json_file(path)
                info = doc.get("recovery", {}) if isinstance(doc, dict) else {}
            except ProjectError:
                continue
            if _alive(info.get("pid")):
                continue  # a LayerLab that is still running owns it (another one, or this one)
            found.append((token, Recovered(str(path), info.get("original_path"), doc.get("name", ""), float(info.get("saved_at", 0)))))
        return found

    def restore(self, token: str, recovered: Recovered) -> Document:
        """The recovered design, with its answers, as an unsaved document (Save writes to the original file).

        The recovery file stays: the window that shows the design takes it over (`Autosaver.adopt`)."""
        doc = read_json_file(recovered.recovery_path)
        doc.pop("recovery", None)
        graph, meta = graph_from_dict(doc, recovered.recovery_path)
        document = Document(graph, recovered.original_path, meta.get("name", ""))
        document.description = meta.get("description", "")
        document.answers = dict(meta.get("answers", {}))
        document.undo_stack.resetClean()  # unsaved: the user decides whether to keep it
        return document


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Autosaver(QObject):
    """Writes the window's document to its recovery file `AUTOSAVE_SECONDS` after each change."""

    def __init__(self, store: RecoveryStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.token = uuid.uuid4().hex[:12]
        self.document: Document | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(AUTOSAVE_SECONDS * 1000))
        self._timer.timeout.connect(self.save_now)

    def watch(self, document: Document) -> None:
        if self.document is not None:
            try:
                self.document.undo_stack.indexChanged.disconnect(self._changed)
                self.document.titleChanged.disconnect(self._title_changed)
            except (RuntimeError, TypeError):
                pass
        self.store.discard(self.token)
        self.document = document
        document.undo_stack.indexChanged.connect(self._changed)
        document.titleChanged.connect(self._title_changed)
        if document.modified:
            self._timer.start()

    def _changed(self, _index: int) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _title_changed(self) -> None:
        if self.document is not None and not self.document.modified:
            self._timer.stop()
            self.store.discard(self.token)  # saved: nothing to recover

    def adopt(self, token: str) -> None:
        """Take over a restored design's recovery file (its index entry ``token``) and rewrite it at once under
        this session, so it survives until the design is saved, even if LayerLab dies again right away."""
        self.store.discard(self.token)
        self.token = token
        if self.document is not None:
            try:
                self.store.write(self.document, token)
            except OSError:
                pass

    def save_now(self) -> None:
        if self.document is not None and self.document.modified:
            try:
                self.store.write(self.document, self.token)
            except (OSError, StructureError):
                pass  # autosave must never interrupt editing; a damaged design never replaces the last good recovery file

    def stop(self) -> None:
        """The window closes normally: no recovery needed."""
        self._timer.stop()
        self.store.discard(self.token)
