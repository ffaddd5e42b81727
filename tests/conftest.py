"""Shared test setup: Qt runs offscreen, TensorFlow stays quiet, the repo root is importable."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Editors opened by tests do not start a training worker in the background (tests that need one ask for it).
os.environ.setdefault("LAYERLAB_WARM_WORKER", "0")
# Recovery files of the editors the tests open go to a throwaway folder, not the user's.
os.environ.setdefault("LAYERLAB_DATA_DIR", tempfile.mkdtemp(prefix="layerlab-test-data-"))

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXAMPLES = ROOT / "resources" / "examples"


def chain(shape, *layers):  # noqa: ANN001, ANN201
    """A graph of an Input of ``shape`` followed by ``(type, params)`` layers in a row; returns ``(graph, ids)``."""
    from engine.graph import NetworkGraph

    graph = NetworkGraph()
    ids = [graph.add_node("Input", {"shape": list(shape)})]
    for layer_type, params in layers:
        ids.append(graph.add_node(layer_type, params))
        graph.connect(ids[-2], ids[-1])
    return graph, ids


def run(*args: str):  # noqa: ANN201
    """``python main.py ARGS`` in the repository, as a user types it."""
    import subprocess

    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


import pytest  # noqa: E402


@pytest.fixture
def settings(tmp_path):  # noqa: ANN001, ANN201
    """Editor settings in a throwaway file, not the user's."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings, monkeypatch):  # noqa: ANN001, ANN201
    """An editor window, shown; unsaved-changes prompts answer "Discard" unless a test says otherwise."""
    from PySide6.QtWidgets import QMessageBox

    from gui.main_window import MainWindow

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win
