"""Nothing lost: autosave and restore after kill -9, atomic saves under kill, the design survives the worker."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from engine.project import load_project, save_project  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.recovery import RecoveryStore  # noqa: E402
from tests.conftest import EXAMPLES, ROOT  # noqa: E402

EDITOR = r"""
import os, sys, time
sys.path.insert(0, {root!r})
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QSettings
app = QApplication([])
from gui.main_window import MainWindow
w = MainWindow(settings=QSettings({settings!r}, QSettings.Format.IniFormat))
w.show()
assert w.open_path({design!r})
g = w.document.graph
w.document.editor.set_param(g.find("c1"), "filters", 10)
w.document.editor.set_param(g.find("c5"), "units", 99)
end = time.monotonic() + 2.0
while time.monotonic() < end:
    app.processEvents()
    time.sleep(0.01)
print("edited", flush=True)
w.document.editor.set_param(g.find("f6"), "units", 50)  # after the last autosave: may be lost
while True:
    app.processEvents()
    time.sleep(0.01)
"""


def test_killed_mid_edit_then_restored(tmp_path, qtbot, monkeypatch) -> None:
    design = tmp_path / "design.json"
    graph, meta = load_project(EXAMPLES / "lenet5.json")
    save_project(graph, design, name=meta["name"])
    original = design.read_bytes()
    data = tmp_path / "data"
    env = {**os.environ, "LAYERLAB_DATA_DIR": str(data), "LAYERLAB_AUTOSAVE_SECONDS": "0.5", "QT_QPA_PLATFORM": "offscreen"}
    code = EDITOR.format(root=str(ROOT), settings=str(tmp_path / "s.ini"), design=str(design))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "edited", proc.stderr.read()
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert design.read_bytes() == original  # the user's file was never touched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "design.json", "s.ini"]  # nothing written beside it
    store = RecoveryStore(data / "recovery")
    (token, recovered), = store.pending()
    recovery_file = Path(recovered.recovery_path)
    assert recovery_file.parent == data / "recovery"

    monkeypatch.setenv("LAYERLAB_DATA_DIR", str(data))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window = MainWindow(settings=QSettings(str(tmp_path / "s2.ini"), QSettings.Format.IniFormat), recovery=RecoveryStore(data / "recovery"))
    qtbot.addWidget(window)
    assert window.offer_recovery() == []
    g = window.document.graph
    assert g.node(g.find("c1")).params["filters"] == 10 and g.node(g.find("c5")).params["units"] == 99
    assert window.document.path == str(design) and window.document.modified
    assert recovery_file.exists()  # kept until the restored design is saved: a second crash loses nothing
    assert RecoveryStore(data / "recovery").pending() == []  # owned by this running LayerLab
    window.save()
    assert not recovery_file.exists()
    assert load_project(design)[0].node(g.find("c1")).params["filters"] == 10
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)


def test_normal_close_leaves_no_recovery_file(tmp_path, qtbot, monkeypatch) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    store = RecoveryStore(tmp_path / "recovery")
    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), recovery=store)
    qtbot.addWidget(window)
    window.open_path(str(EXAMPLES / "vgg_block.json"), as_template=True)
    window.add_layer("Flatten")
    window.autosaver.save_now()
    assert len(list((tmp_path / "recovery").glob("*.layerlab-recovery.json"))) == 1  # written while editing
    assert window.close()
    assert store.pending() == [] and not list((tmp_path / "recovery").glob("*.layerlab-recovery.json"))


SAVER = r"""
import sys, json
sys.path.insert(0, {root!r})
from engine.project import load_project, save_project
graph, _ = load_project({source!r})
print("ready", flush=True)
i = 0
while True:
    save_project(graph, {target!r}, name="version-" + str(i % 2))
    i += 1
"""


def test_killing_during_saves_never_leaves_a_truncated_file(tmp_path) -> None:
    target = tmp_path / "big.json"
    save_project(load_project(EXAMPLES / "densenet121.json")[0], target, name="version-0")
    rng = random.Random(0)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", SAVER.format(root=str(ROOT), source=str(EXAMPLES / "densenet121.json"), target=str(target))],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        graph, meta = load_project(target)  # always complete and valid
        assert meta["name"] in ("version-0", "version-1") and len(graph) == 429
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "big.json"]
    assert all(name.startswith(".big.json.") and name.endswith(".tmp") for name in leftovers)  # only temporaries, never the target


@pytest.mark.keras
def test_custom_registered_layers_are_refused_by_name(tmp_path) -> None:
    keras = pytest.importorskip("keras")
    from engine.keras_import import KerasImportError, import_keras_model

    @keras.saving.register_keras_serializable(package="evil")
    class Sneaky(keras.layers.Layer):
        def call(self, x):
            return x

    x = keras.Input((3,))
    keras.Model(x, Sneaky(name="sneaky")(x)).save(tmp_path / "custom.keras")
    with pytest.raises(KerasImportError, match=r"1 × Sneaky layer: sneaky$"):
        import_keras_model(tmp_path / "custom.keras")
    json.loads("{}")


RESTORER = r"""
import sys, time
sys.path.insert(0, {root!r})
from PySide6.QtWidgets import QApplication, QMessageBox
from PySide6.QtCore import QSettings
app = QApplication([])
from gui.main_window import MainWindow
QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
w = MainWindow(settings=QSettings({settings!r}, QSettings.Format.IniFormat))
w.offer_recovery()
print("restored", w.document.graph.node(w.document.graph.find("c1")).params["filters"], dict(w.document.answers), flush=True)
while True:
    app.processEvents()
    time.sleep(0.01)
"""


def _run_until_killed(code: str, env: dict[str, str]) -> str:
    """Run an editor script until it prints its first line, then kill -9 it; returns that line."""
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        return line or proc.stderr.read()[-2000:]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def test_a_second_crash_right_after_restoring_loses_nothing(tmp_path) -> None:
    """The restored design's recovery file stays until it is saved; answers come back too."""
    design = tmp_path / "design.json"
    graph, meta = load_project(EXAMPLES / "lenet5.json")
    save_project(graph, design, name=meta["name"], answers={"q1": 2320})
    data = tmp_path / "data"
    env = {**os.environ, "LAYERLAB_DATA_DIR": str(data), "LAYERLAB_AUTOSAVE_SECONDS": "0.5", "QT_QPA_PLATFORM": "offscreen"}
    assert _run_until_killed(EDITOR.format(root=str(ROOT), settings=str(tmp_path / "s.ini"), design=str(design)), env) == "edited"
    for _ in range(2):  # restore, then die at once (before any autosave); twice
        code = RESTORER.format(root=str(ROOT), settings=str(tmp_path / "s2.ini"))
        assert _run_until_killed(code, {**env, "LAYERLAB_AUTOSAVE_SECONDS": "3600"}) == "restored 10 {'q1': 2320}"
        (_, recovered), = RecoveryStore(data / "recovery").pending()
        assert recovered.original_path == str(design)


def test_the_first_autosave_of_a_new_design_creates_the_recovery_folder(tmp_path, qtbot, monkeypatch) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    store = RecoveryStore(tmp_path / "not" / "yet" / "there")
    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), recovery=store)
    qtbot.addWidget(window)
    window.add_layer("Input")
    window.autosaver.save_now()
    files = list((tmp_path / "not" / "yet" / "there").glob("untitled-*.layerlab-recovery.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["nodes"][0]["type"] == "Input"


def test_opening_and_editing_the_bundled_examples_writes_nothing_beside_them(tmp_path, qtbot, monkeypatch) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    before = sorted(p.name for p in EXAMPLES.iterdir())
    store = RecoveryStore(tmp_path / "recovery")
    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), recovery=store)
    qtbot.addWidget(window)
    for name in ("lenet5.json", "vgg_block.json"):
        assert window.open_path(str(EXAMPLES / name))
        window.add_layer("Dropout")
        window.autosaver.save_now()
    assert sorted(p.name for p in EXAMPLES.iterdir()) == before
    assert len(list((tmp_path / "recovery").glob("*.layerlab-recovery.json"))) == 1  # the open design's; the first was discarded
