"""What a training run says, as typed messages: the worker, the CLI and the editor read the same classes.

On the wire (the worker's stdout, ``train --json``) each message is one JSON object per line with a
``type``: ``ready``, ``start``, ``batch``, ``epoch``, ``done``, ``error``. `encode` writes one, `decode`
reads one back (``None`` for a line that is not a message, e.g. a library printing to stdout).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["Batch", "Done", "Epoch", "Failed", "Message", "Ready", "Started", "decode", "encode", "TYPES"]


@dataclass(frozen=True)
class Ready:
    """The worker has imported TensorFlow and waits for a job."""

    device: str = "CPU"


@dataclass(frozen=True)
class Started:
    epochs: int
    steps: int
    samples: int
    classes: int
    dataset: str
    loss: str
    params: int
    device: str = "CPU"


@dataclass(frozen=True)
class Batch:
    epoch: int
    batch: int
    steps: int
    loss: float
    accuracy: float | None
    #: Seconds since the epoch began.
    elapsed: float


@dataclass(frozen=True)
class Epoch:
    epoch: int
    loss: float | None
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    seconds: float
    #: Mean absolute error, for a regression task.
    mae: float | None = None
    val_mae: float | None = None


@dataclass(frozen=True)
class Done:
    #: Stop was asked for (by the user).
    stopped: bool
    epochs_run: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Early stopping ended the run before its last epoch.
    early_stopped: bool = False
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    test_loss: float | None = None
    test_accuracy: float | None = None
    confusion_matrix: list[list[int]] | None = None
    model_path: str | None = None
    device: str = "CPU"
    #: ``classification`` or ``regression``.
    task: str = "classification"
    mae: float | None = None
    val_mae: float | None = None
    test_mae: float | None = None
    #: Regression: (true, predicted) pairs of test samples, for a scatter plot.
    predictions: list[list[float]] | None = None
    #: Pictures of an image classifier (`engine.figures.collect_figures`): misclassified images, filters, feature maps.
    figures: dict[str, Any] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        """Dict-style access for code that reads results by name (grading, the exercise checker)."""
        return getattr(self, key, default)


@dataclass(frozen=True)
class Failed:
    message: str
    #: The design or the data is at fault (not LayerLab or the machine).
    bad_input: bool = False


Message = Ready | Started | Batch | Epoch | Done | Failed
TYPES: dict[str, type] = {"ready": Ready, "start": Started, "batch": Batch, "epoch": Epoch, "done": Done, "error": Failed}
_NAMES = {cls: name for name, cls in TYPES.items()}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN: a missing metric
    return value


def encode(message: Message) -> str:
    """One JSON line (without the newline)."""
    body = {k: _clean(v) for k, v in asdict(message).items()}
    return json.dumps({"type": _NAMES[type(message)], **body})


def decode(line: str | bytes) -> Message | None:
    """The message a line holds, or None when it holds none (unknown keys are ignored: a newer worker)."""
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("type") not in TYPES:
        return None
    cls = TYPES[doc["type"]]
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in doc.items() if k in names})  # type: ignore[no-any-return]
    except TypeError:
        return None
