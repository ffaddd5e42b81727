"""The training session: a warm worker, honest progress, stop, a worker that dies, nothing left running.
Against a fake worker speaking the protocol (no Keras); the real worker under the ``keras`` marker."""

from __future__ import annotations

import os
import sys
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QProcess, Qt  # noqa: E402

from engine.protocol import Batch, Done, Epoch, Failed, Ready, Started, decode, encode  # noqa: E402
from engine.training import TrainConfig  # noqa: E402
from gui.training_session import TrainingSession  # noqa: E402

FAKE = [sys.executable, "-m", "tests.fakes.worker"]


@pytest.fixture
def session(qtbot, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("LAYERLAB_WARM_WORKER", "1")
    monkeypatch.setenv("FAKE_IMPORT_SECONDS", "1.5")
    made = TrainingSession(command=FAKE)
    yield made
    made.shutdown()
    made.deleteLater()  # Qt deletes it (and its processes), not Python's garbage collector


def _events(session: TrainingSession) -> list:
    seen: list = []
    session.started.connect(lambda m: seen.append(m))
    session.batch.connect(lambda m, p: seen.append((m, p)))
    session.epoch.connect(lambda m, p: seen.append((m, p)))
    session.done.connect(lambda m, text: seen.append((m, text)))
    session.failed.connect(lambda text: seen.append(text))
    return seen


def test_messages_round_trip_and_unknown_lines_are_ignored() -> None:
    for message in (Ready("GPU (H100)"), Started(3, 10, 800, 10, "digits", "loss", 99), Batch(1, 2, 10, 0.5, None, 0.1),
                    Epoch(1, 0.5, 0.8, float("nan"), None, 1.0), Done(True, 2, 3.0, [], early_stopped=False), Failed("x", True)):
        back = decode(encode(message))
        assert type(back) is type(message)
    assert decode(encode(Epoch(1, 0.5, 0.8, float("nan"), None, 1.0))).val_loss is None  # JSON has no NaN
    assert decode("Epoch 1/3 (a library printing)") is None and decode('{"type": "gossip"}') is None


def test_a_warm_worker_starts_the_first_point_at_once(session, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(session.ready, timeout=10_000):
        session.prewarm()
    assert session.warm
    seen = _events(session)
    clicked = time.monotonic()
    session.start({}, TrainConfig(epochs=2), None)
    qtbot.waitUntil(lambda: any(isinstance(e, tuple) and isinstance(e[0], Batch) for e in seen), timeout=5_000)
    assert time.monotonic() - clicked < 1.0  # the fake's 1.5 s "TensorFlow import" was already paid
    qtbot.waitUntil(lambda: not session.running, timeout=10_000)
    done, text = next(e for e in seen if isinstance(e, tuple) and isinstance(e[0], Done))
    assert text == "Finished all 2 epochs."
    qtbot.waitUntil(lambda: session.warm, timeout=10_000)  # the next worker is already waiting


def test_a_cold_start_takes_the_job_once_loaded(session, qtbot) -> None:  # noqa: ANN001
    seen = _events(session)
    session.start({}, TrainConfig(epochs=1), None)
    qtbot.waitUntil(lambda: not session.running, timeout=15_000)
    assert isinstance(seen[0], Started) and any(isinstance(e, tuple) and isinstance(e[0], Done) for e in seen)


def test_time_left_uses_the_running_median_not_the_slow_first_epoch(session, qtbot, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("FAKE_FIRST_EPOCH_SLOWDOWN", "20")  # 2 s for the first epoch, 0.1 s for the others
    monkeypatch.setenv("FAKE_BATCH_SECONDS", "0.02")
    seen = _events(session)
    session.start({}, TrainConfig(epochs=8), None)
    qtbot.waitUntil(lambda: not session.running, timeout=30_000)
    progress = [p for e in seen if isinstance(e, tuple) and isinstance(e[0], Epoch) for p in [e[1]]]
    at_epoch_5 = progress[4]
    assert at_epoch_5.seconds_left is not None and at_epoch_5.seconds_left < 0.8  # 3 epochs of ~0.1 s, not 3 x 2 s
    assert at_epoch_5.text.startswith("epoch 5 of 8  batch 5 of 5  about ")
    assert (at_epoch_5.done, at_epoch_5.total) == (25, 40)


def test_stop_says_at_which_epoch_and_the_run_keeps_its_settings(session, qtbot, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("FAKE_BATCH_SECONDS", "0.05")
    seen = _events(session)
    config = TrainConfig(epochs=20)
    session.start({}, config, None)
    qtbot.waitUntil(lambda: sum(isinstance(e, tuple) and isinstance(e[0], Epoch) for e in seen) >= 2, timeout=15_000)
    config.epochs = 3  # the panel's field changes during the run: the run's own settings stay
    session.stop()
    qtbot.waitUntil(lambda: not session.running, timeout=10_000)
    done, text = next(e for e in seen if isinstance(e, tuple) and isinstance(e[0], Done))
    assert done.stopped and text == f"Stopped at epoch {done.epochs_run} of 20."
    totals = {e[1].total for e in seen if isinstance(e, tuple) and isinstance(e[0], (Batch, Epoch))}
    assert totals == {20 * 5}


def test_a_worker_that_dies_fails_the_run_and_a_waiting_one_is_replaced(session, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(session.ready, timeout=10_000):
        session.prewarm()
    waiting = session._process
    waiting.kill()
    qtbot.waitUntil(lambda: session._process is not None and session._process is not waiting, timeout=5_000)
    with qtbot.waitSignal(session.ready, timeout=10_000):
        pass
    seen = _events(session)
    session.start({}, TrainConfig(epochs=50), None)
    qtbot.waitUntil(lambda: any(isinstance(e, tuple) for e in seen), timeout=10_000)
    session.kill()
    qtbot.waitUntil(lambda: not session.running, timeout=10_000)
    assert any(isinstance(e, str) and "stopped unexpectedly" in e for e in seen)


def test_shutdown_leaves_no_worker_running(session, qtbot) -> None:  # noqa: ANN001
    session.prewarm()
    process = session._process
    session.shutdown()
    assert process.state() == QProcess.ProcessState.NotRunning


@pytest.mark.keras
def test_the_real_worker_warm_start(qtbot, monkeypatch) -> None:  # noqa: ANN001
    from engine.datasets import DatasetSpec
    from engine.project import graph_to_dict, load_project
    from tests.conftest import EXAMPLES

    monkeypatch.setenv("LAYERLAB_WARM_WORKER", "1")
    session = TrainingSession()
    try:
        with qtbot.waitSignal(session.ready, timeout=120_000):
            session.prewarm()
        seen = _events(session)
        graph, _ = load_project(EXAMPLES / "digits_cnn.json")
        clicked = time.monotonic()
        session.start(graph_to_dict(graph), TrainConfig(DatasetSpec("digits"), epochs=1), None)
        qtbot.waitUntil(lambda: any(isinstance(e, tuple) and isinstance(e[0], Batch) for e in seen), timeout=60_000)
        first_point = time.monotonic() - clicked
        qtbot.waitUntil(lambda: not session.running, timeout=120_000)
        assert first_point < 5.0, f"first point after {first_point:.1f} s"  # 2 s on an idle machine; CI is shared
        assert any(isinstance(e, tuple) and isinstance(e[0], Done) for e in seen)
    finally:
        session.shutdown()


def test_runs_are_labelled_renamed_deleted_exported_and_only_comparable_runs_overlay(window, qtbot, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    """The panel's runs, with the fake worker: labelled with the design and the time, renamed, exported as CSV,
    deleted; a run on other data is listed but not overlaid."""
    import gui.training_session as training_session
    from tests.test_gui import open_example

    monkeypatch.setattr(training_session, "WORKER_COMMAND", FAKE)
    monkeypatch.setenv("FAKE_IMPORT_SECONDS", "0.2")
    open_example(window, "digits_cnn.json")
    panel = window.training
    panel.session.command = FAKE
    panel.epochs.setValue(2)
    for dataset in ("digits", "digits", "iris"):
        panel.dataset.setCurrentIndex(panel.dataset.findData(dataset))
        if dataset == "iris":
            monkeypatch.setattr("gui.training_panel.plan_training", lambda *a: None)  # the fake worker trains anything
            monkeypatch.setattr("gui.training_panel.check_memory", lambda *a: None)
        assert panel.start()
        qtbot.waitUntil(lambda: not panel.running, timeout=15_000)
    assert [r.error for r in panel.runs] == [None, None, None]
    assert panel.runs[0].label.startswith("#1 Small CNN for 8x8 digits · digits, adam lr=0.001, bs=32 · ")  # the design's name
    assert panel.runs[0].ending == "Finished all 2 epochs." and panel.status.text() == "Finished all 2 epochs."
    panel.rename_run(0, "  baseline   run ")
    assert panel.runs[0].label == "baseline run" and panel.runs_list.item(0).text() == "baseline run"
    panel.export_run(0, str(tmp_path / "run1.csv"))
    assert (tmp_path / "run1.csv").read_text().splitlines()[0] == "epoch,loss,accuracy,val_loss,val_accuracy,seconds"
    for i in range(3):
        panel.runs_list.item(i).setCheckState(Qt.CheckState.Checked)
    panel.current = panel.runs[0]
    panel.redraw()
    assert {number for number, _ in panel._items} == {1, 2}  # run 3 (iris) does not overlay digits curves
    assert "Only runs on digits are overlaid" in panel.status.text()
    panel.delete_run(1)
    assert [r.number for r in panel.runs] == [1, 3] and panel.runs_list.count() == 2
    assert {number for number, _ in panel._items} == {1}


@pytest.mark.keras
def test_train_writes_tensorboard_logs(tmp_path) -> None:
    from tests.conftest import EXAMPLES, run

    result = run("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--epochs", "1", "--tensorboard", str(tmp_path / "logs"))
    assert result.returncode == 0, result.stderr[-1000:]
    events = list((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert {p.parent.name for p in events} >= {"train", "validation"}


KILLED_EDITOR = r"""
import os, sys
sys.path.insert(0, {root!r})
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["LAYERLAB_WARM_WORKER"] = "1"
os.environ["FAKE_IMPORT_SECONDS"] = "0.3"
from PySide6.QtCore import QCoreApplication
app = QCoreApplication([])
from gui.training_session import TrainingSession
session = TrainingSession(command=[sys.executable, "-m", "tests.fakes.worker"])
session.ready.connect(lambda: (print(session._process.processId(), flush=True), os.kill(os.getpid(), 9)))
session.prewarm()
app.exec()
"""


def test_a_waiting_worker_exits_when_the_editor_is_killed() -> None:
    import subprocess

    from tests.conftest import ROOT

    editor = subprocess.run([sys.executable, "-c", KILLED_EDITOR.format(root=str(ROOT))], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert editor.returncode == -9, editor.stderr[-500:]
    worker = int(editor.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return  # gone: its stdin closed with the editor
        time.sleep(0.1)
    os.kill(worker, 9)
    raise AssertionError("the worker outlived the killed editor")
