"""The training session: the worker process, its messages and timing, and the job running. The panel only
renders what the session says.

A *warm* worker is started in the background (`prewarm`) and imports TensorFlow while the user edits;
`start` hands it the job, so the first point appears within a second or two instead of after the
TensorFlow import. A waiting worker that dies is replaced quietly. Every worker ends with the editor:
`shutdown` kills them, and a worker whose editor was killed sees its stdin close and exits.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from engine.protocol import Batch, Done, Epoch, Failed, Message, Ready, Started, decode
from engine.training import TrainConfig

__all__ = ["Progress", "TrainingSession", "WORKER_COMMAND"]

#: How the worker is started: ``python -m engine.worker`` (tests replace it with a fake worker).
WORKER_COMMAND = [sys.executable, "-m", "engine.worker"]


@dataclass
class Progress:
    """What the progress bar says, from measured times (running medians, not the first slow epoch)."""

    done: int = 0
    total: int = 1
    text: str = ""
    seconds_left: float | None = None


@dataclass
class Job:
    """One run as it was started: its settings are kept, whatever the panel's fields say later."""

    config: TrainConfig
    started: float = field(default_factory=time.monotonic)
    steps: int = 0
    epoch_seconds: list[float] = field(default_factory=list)
    batch_seconds: list[float] = field(default_factory=list)
    last_batch: tuple[int, int, float] | None = None  # epoch, batch, elapsed in the epoch


class TrainingSession(QObject):
    ready = Signal()
    started = Signal(object)  # Started
    batch = Signal(object, object)  # Batch, Progress
    epoch = Signal(object, object)  # Epoch, Progress
    done = Signal(object, str)  # Done, the sentence saying how it ended
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, command: list[str] | None = None) -> None:
        super().__init__(parent)
        self.command = list(command or WORKER_COMMAND)
        self.root = str(Path(__file__).resolve().parent.parent)
        self._process: QProcess | None = None
        self._ready = False
        self._buffer = b""
        self._stderr = b""
        self.job: Job | None = None
        self._ended = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self.kill)
        self._leaving: set[QProcess] = set()
        self._restarts: list[float] = []
        self._closed = False
        #: Start the next worker as soon as a run ends (and replace a waiting one that dies).
        #: ``LAYERLAB_WARM_WORKER=0`` turns it off (the test suite does, so that each editor it opens stays light).
        self.keep_warm = os.environ.get("LAYERLAB_WARM_WORKER", "1") != "0"

    # -- the worker process --------------------------------------------------------------------

    @property
    def warm(self) -> bool:
        """A worker has imported TensorFlow and waits for a job."""
        return self._process is not None and self._ready and self.job is None

    @property
    def running(self) -> bool:
        return self.job is not None

    def prewarm(self) -> None:
        """Start a worker now, so that it is ready when training starts (it runs at low priority)."""
        if self._process is None and not self._closed:
            self._spawn()

    def _spawn(self) -> None:
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONPATH", self.root + os.pathsep + env.value("PYTHONPATH", ""))
        env.insert("TF_CPP_MIN_LOG_LEVEL", "3")
        process.setProcessEnvironment(env)
        process.setWorkingDirectory(self.root)
        process.readyReadStandardOutput.connect(self._read)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        self._process, self._ready, self._buffer, self._stderr = process, False, b"", b""
        process.start(self.command[0], self.command[1:])

    def start(self, project: dict[str, Any], config: TrainConfig, model_path: str | None) -> None:
        """Hand a job to the warm worker (or to a new one, which takes it once TensorFlow is loaded)."""
        if self.job is not None:
            raise RuntimeError("a run is already going")
        if self._process is None:
            self._spawn()
        assert self._process is not None
        self.job = Job(copy.deepcopy(config))  # the run keeps the settings it started with
        self._ended = False
        request = {"project": project, "config": config.to_dict(), "model_path": model_path}
        self._process.write((json.dumps(request) + "\n").encode("utf-8"))

    def stop(self) -> None:
        """Stop after the current batch (the worker is killed if it has not stopped within 10 s)."""
        if self.job is not None and self._process is not None:
            self._process.write(b"stop\n")
            self._kill_timer.start(10_000)

    def kill(self) -> None:
        if self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning:
            self._process.kill()

    def shutdown(self) -> None:
        """The editor closes: no worker outlives it."""
        self._closed = True
        for process in [self._process, *self._leaving]:
            if process is not None and _alive(process) and process.state() != QProcess.ProcessState.NotRunning:
                process.kill()
                process.waitForFinished(3000)
        self._leaving = set()

    # -- messages ------------------------------------------------------------------------------

    def _read(self) -> None:
        process = self._process
        if process is None:
            return
        self._buffer += bytes(process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            message = decode(line)
            if message is not None:
                self._handle(message)

    def _read_stderr(self) -> None:
        if self._process is not None:
            self._stderr = (self._stderr + bytes(self._process.readAllStandardError()))[-4000:]

    def _handle(self, message: Message) -> None:
        if isinstance(message, Ready):
            self._ready = True
            self.ready.emit()
            return
        job = self.job
        if job is None or self._ended:
            return
        if isinstance(message, Started):
            job.steps = message.steps
            self.started.emit(message)
        elif isinstance(message, Batch):
            self._time_batch(job, message)
            self.batch.emit(message, self.progress(message.epoch, message.batch))
        elif isinstance(message, Epoch):
            job.epoch_seconds.append(message.seconds)
            self.epoch.emit(message, self.progress(message.epoch, job.steps))
        elif isinstance(message, Done):
            self._end()
            self.done.emit(message, self.ending(message))
        elif isinstance(message, Failed):
            self._end()
            self.failed.emit(message.message)

    def _time_batch(self, job: Job, message: Batch) -> None:
        if job.last_batch is not None and job.last_batch[0] == message.epoch and message.batch > job.last_batch[1]:
            per_batch = (message.elapsed - job.last_batch[2]) / (message.batch - job.last_batch[1])
            job.batch_seconds = (job.batch_seconds + [per_batch])[-50:]
        job.last_batch = (message.epoch, message.batch, message.elapsed)

    def progress(self, epoch: int, batch: int) -> Progress:
        """Where the run is and the time left: the median epoch time for the epochs to come, and the median
        batch time for the rest of this one (until an epoch has finished, batches alone)."""
        job = self.job
        assert job is not None
        epochs, steps = job.config.epochs, max(job.steps, 1)
        done = (epoch - 1) * steps + batch
        total = epochs * steps
        batch_time = statistics.median(job.batch_seconds) if job.batch_seconds else None
        epoch_time = statistics.median(job.epoch_seconds) if job.epoch_seconds else (batch_time * steps if batch_time else None)
        left = None
        if epoch_time is not None:
            rest_of_epoch = (steps - batch) * (batch_time if batch_time is not None else epoch_time / steps)
            left = rest_of_epoch + (epochs - epoch) * epoch_time
        when = f"  about {_duration(left)} left" if left is not None else ""
        return Progress(done, total, f"epoch {epoch} of {epochs}  batch {batch} of {steps}{when}", left)

    def ending(self, done: Done) -> str:
        """How the run ended, in words: finished, stopped at epoch 7 of 20, or early stopping."""
        epochs = self.last_config.epochs if self.last_config else done.epochs_run
        if done.stopped:
            return f"Stopped at epoch {done.epochs_run} of {epochs}."
        if done.early_stopped:
            return f"Early stopping ended training at epoch {done.epochs_run} of {epochs}: the validation loss stopped improving."
        return f"Finished all {done.epochs_run} epochs."

    def _end(self) -> None:
        """The job ended: its worker exits; a new warm worker is started for the next run."""
        self._ended = True
        self._kill_timer.stop()
        self.last_config = self.job.config if self.job else None
        self.job = None
        process, self._process = self._process, None
        if process is not None:
            process.closeWriteChannel()  # the worker exits once its stdin closes
            process.finished.disconnect(self._finished)
            self._leaving = {p for p in self._leaving if _alive(p)} | {process}
            # No lambda holding this session: a reference cycle through a QProcess crashes PySide6's collector.
            process.finished.connect(process.deleteLater)
            QTimer.singleShot(10_000, process, process.kill)
        if self.keep_warm and not self._closed:
            QTimer.singleShot(0, self.prewarm)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        process = self._process
        if process is None:
            return
        self._read()
        if self.job is not None and not self._ended:
            reason = "it was killed or crashed" if status == QProcess.ExitStatus.CrashExit else f"exit code {code}"
            last = self._stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            detail = f": {last[0][:200]}" if last[0] else ""
            self._end()
            self.failed.emit(f"the training process stopped unexpectedly ({reason}{detail}); your design is unchanged")
            return
        # A waiting worker died: replace it quietly, at most 3 times a minute.
        self._process = None
        process.deleteLater()
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < 60] + [now]
        if self.keep_warm and not self._closed and len(self._restarts) <= 3:
            QTimer.singleShot(0, self.prewarm)

    last_config: TrainConfig | None = None


def _alive(process: QProcess) -> bool:
    """The QProcess still exists on the C++ side (a finished one deletes itself)."""
    try:
        process.state()
    except RuntimeError:
        return False
    return True


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
