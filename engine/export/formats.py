"""Export a design as ONNX, LiteRT (``.tflite``) or a TensorFlow SavedModel, proven equal to Keras.

Each file is written by Keras's own ``Model.export`` (``format="onnx"`` through tf2onnx, ``"litert"``
through TensorFlow's LiteRT converter, ``"tf_saved_model"``), then run in its own runtime on a batch
and compared with the Keras model: a difference above the format's tolerance is an error, and the file
is not left behind. Files are written beside their target and moved into place only once proven, so a
failed export never replaces a good file.

Layers a format cannot take are refused before anything is built (`refusals`), with the layer's name,
the reason and what to do instead; the reasons live on each layer's spec (``LayerSpec.export_limits``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from engine.i18n import _
from pathlib import Path
from typing import Any

from engine.export.keras_model import DEFAULT_SEED, Weights, build_keras_model
from engine.export.verify import FORMAT_NAMES, Comparison, ExportMismatch, compare, keras_outputs, runtime_outputs, sample_inputs
from engine.graph import NetworkGraph

__all__ = ["FORMATS", "ExportError", "ExportResult", "Refusal", "check_exportable", "export_formats", "refusals"]

#: The file formats LayerLab writes through ``Model.export``, and the ``format=`` Keras names each by.
FORMATS: dict[str, str] = {"onnx": "onnx", "litert": "litert", "saved_model": "tf_saved_model"}

#: The Python package each format needs at export time (pinned in pyproject.toml), for the message when it is missing.
PACKAGES = {"onnx": ("tf2onnx", "onnxruntime"), "litert": ("ai_edge_litert",), "saved_model": ()}


class ExportError(ValueError):
    """A design cannot be exported to a format: refused layers, a missing tool, a converter failure or a mismatch."""


@dataclass(frozen=True)
class Refusal:
    """One layer a format cannot take."""

    format: str
    layer: str
    reason: str

    def sentence(self) -> str:
        return _("{format} cannot take layer {layer}: {reason}").format(format=FORMAT_NAMES[self.format], layer=self.layer,
                                                                      reason=self.reason)


@dataclass(frozen=True)
class ExportResult:
    """A written file and the proof that it computes what Keras computes."""

    format: str
    path: str
    comparison: Comparison
    #: The file takes one sample at a time (a LiteRT model of a recurrent design).
    one_sample: bool = False


def refusals(graph: NetworkGraph, formats: list[str]) -> list[Refusal]:
    """Every layer of ``graph`` that one of ``formats`` cannot take, from the layers' specs (no TensorFlow)."""
    from engine.layers.common import ACTIVATION_EXPORT_LIMITS

    found = []
    for node in graph.nodes():
        limits = dict(ACTIVATION_EXPORT_LIMITS.get(node.spec.activation(node.params) or "", {}))
        limits.update(node.spec.export_limits(node.params) if node.spec.export_limits else {})
        for fmt in formats:
            if fmt in limits:
                found.append(Refusal(fmt, node.name, _(limits[fmt])))
    return found


def _refusal_message(found: list[Refusal], formats: list[str]) -> str:
    formats_refused = sorted({r.format for r in found}, key=formats.index)
    others = [FORMAT_NAMES[f] for f in (*FORMATS, "keras") if f not in formats_refused]
    layers = ", ".join(sorted({r.layer for r in found}))
    reasons = "; ".join(r.sentence() for r in found[:4]) + ("; ..." if len(found) > 4 else "")
    return _("Nothing was written. {reasons}. Export without {layers}, or to {others}.").format(
        reasons=reasons, layers=layers, others=_(" or ").join(others))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """tf2onnx and the LiteRT converter log every step, and the converter's C++ code writes its diagnostics straight
    to the error stream; the command line says one sentence per file instead (a failure's first line included)."""
    loggers = [logging.getLogger(n) for n in ("tf2onnx", "tensorflow", "absl")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _check_tools(formats: list[str]) -> None:
    import importlib.util

    missing = [p for f in formats for p in PACKAGES[f] if importlib.util.find_spec(p) is None]
    if missing:
        raise ExportError(_("This export needs the packages {packages}: pip install -e . installs them.").format(
            packages=", ".join(missing)))


def _check_target(fmt: str, path: str) -> None:
    target = Path(path)
    if fmt == "litert" and target.suffix != ".tflite":
        raise ExportError(_("{path}: a LiteRT model file must end in .tflite.").format(path=path))
    if fmt == "saved_model":
        if target.exists() and not target.is_dir():
            raise ExportError(_("{path}: a SavedModel is a folder, and this is a file.").format(path=path))
        if target.is_dir() and any(target.iterdir()) and not (target / "saved_model.pb").exists():
            raise ExportError(_("{path}: the folder is not empty and holds no SavedModel; choose a new folder.").format(path=path))
    elif target.is_dir():
        raise ExportError(_("{path}: a folder is in the way of the file.").format(path=path))
    if not target.resolve().parent.is_dir():
        raise ExportError(_("{path}: the folder it goes in does not exist.").format(path=path))


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, without terminal colour codes (Keras wraps its errors in them)."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("Exception encountered")]
    return lines[0][:300] if lines else type(exc).__name__


def _put_in_place(written: str, path: str) -> None:
    target = Path(path)
    if target.is_dir():
        shutil.rmtree(target)
    os.replace(written, target)


def _signature(model: Any, batch: int | None) -> list[Any]:
    """The model's inputs as ``Model.export`` takes them (their names kept), with the batch size left open or fixed."""
    import keras

    specs = [keras.InputSpec(shape=(batch, *t.shape[1:]), dtype=t.dtype, name=t.name) for t in model.inputs]
    return specs if len(specs) == 1 else [specs]


def inference_model(model: Any) -> Any:
    """A Keras model that calls ``model`` with ``training=False``: what every file is exported from.

    Keras 3.15's ONNX and SavedModel exports trace ``model.__call__`` without ``training=False``; in a model with
    preprocessing layers (Resizing, CenterCrop) before a BatchNormalization, the traced BatchNormalization then
    normalises with the batch's statistics, as in training (found by the check on Keras's Oxford-pets U-Net:
    max |diff| 0.9). LiteRT's export already calls the model so; all three go through this model alike.
    """
    import keras

    class InferenceModel(keras.Model):
        def __init__(self, inner: Any) -> None:
            super().__init__(name=inner.name)
            self.inner = inner

        def call(self, inputs: Any) -> Any:
            return self.inner(inputs, training=False)

    return InferenceModel(model)


def _write(fmt: str, model: Any, path: str) -> bool:
    """Write ``model`` (an `inference_model`) to ``path`` with ``Model.export``; True when the file takes one sample
    at a time.

    A LiteRT file is converted to LiteRT's own operations only (no "select TensorFlow ops", which the LiteRT
    runtime on a phone or microcontroller does not have). TensorFlow's converter turns a recurrent layer's loop
    into LiteRT operations only when the batch size is fixed: a design it cannot convert with any batch size is
    converted for one sample at a time, as LiteRT models usually run.
    """
    inner = model.inner
    if fmt != "litert":
        model.export(path, format=FORMATS[fmt], verbose=False, input_signature=_signature(inner, None))
        return False
    import tensorflow as tf

    builtins = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    try:
        model.export(path, format="litert", verbose=False, target_spec=builtins, input_signature=_signature(inner, None))
        return False
    except Exception:  # noqa: BLE001 - the converter raises its own error types; the second try says what is wrong
        model.export(path, format="litert", verbose=False, target_spec=builtins, input_signature=_signature(inner, 1))
        return True


def check_exportable(graph: NetworkGraph, targets: Mapping[str, str]) -> list[str]:
    """Refuse, before anything is built or written, what cannot be exported: layers a format cannot take, a
    target path that cannot hold the format, a missing package. Returns the formats asked for, in `FORMATS` order.

    Raises
    ------
    ExportError
        With one line naming every refused layer, its reason and what to do instead.
    """
    formats = [f for f in FORMATS if f in targets]
    found = refusals(graph, formats)
    if found:
        raise ExportError(_refusal_message(found, formats))
    for fmt in formats:
        _check_target(fmt, targets[fmt])
    _check_tools(formats)
    return formats


def export_formats(graph: NetworkGraph, targets: Mapping[str, str], weights: Weights | None = None, *, seed: int = DEFAULT_SEED,
                   samples: int = 8, model: Any = None, progress: Callable[[str], None] | None = None) -> list[ExportResult]:
    """Write ``graph`` in each format of ``targets`` (format -> path) and prove each file equal to Keras.

    Parameters
    ----------
    graph : NetworkGraph
        A design without errors.
    targets : mapping
        ``{"onnx": "m.onnx", "litert": "m.tflite", "saved_model": "folder"}``, any subset.
    weights : mapping, optional
        Layer name -> arrays (see `build_keras_model`); else Keras's initialisation drawn from ``seed``.
    samples : int
        Size of the random batch every file is checked on.
    model : keras.Model, optional
        The model already built from ``graph`` (``build_keras_model``), to save building it twice.

    Raises
    ------
    ExportError
        Refused layers (before anything is built or written), a missing package, a converter failure, or a
        file whose outputs differ from Keras's beyond the tolerance (the file is then not written).
    """
    formats = check_exportable(graph, targets)
    if model is None:
        model = build_keras_model(graph, weights, seed=seed)
    inputs = sample_inputs(graph, samples)
    try:
        expected = keras_outputs(model, inputs)
    except Exception as exc:  # noqa: BLE001 - a design Keras builds but cannot run (sizes only known at run time)
        raise ExportError(_("Keras itself cannot run the model on a batch of {samples}: {detail}").format(
            samples=samples, detail=_first_line(exc))) from None
    exported = inference_model(model)
    exported(inputs if len(inputs) > 1 else inputs[0])  # Model.export needs a model that has been called
    results = []
    for fmt in formats:
        path = targets[fmt]
        staging = tempfile.mkdtemp(prefix=".layerlab-export-", dir=Path(path).resolve().parent)
        written = os.path.join(staging, Path(path).name if fmt != "saved_model" else "model")
        try:
            try:
                with _quiet():
                    fixed_batch = _write(fmt, exported, written)
            except Exception as exc:  # noqa: BLE001 - a converter's failure is one line for the user, whatever its type
                raise ExportError(_("Keras could not export the model to {format}: {detail}").format(
                    format=FORMAT_NAMES[fmt], detail=_first_line(exc))) from None
            try:
                with _quiet():
                    actual = runtime_outputs(fmt, written, model, inputs)
            except ExportMismatch:
                raise
            except Exception as exc:  # noqa: BLE001 - the runtime's failure to run the file is a failed export
                raise ExportError(_("The exported {format} model does not run: {detail}").format(
                    format=FORMAT_NAMES[fmt], detail=_first_line(exc))) from None
            comparison = compare(fmt, expected, actual, samples)
            if not comparison.ok:
                raise ExportError(_("{comparison}; {path} was not written.").format(comparison=comparison.sentence(), path=path))
            _put_in_place(written, path)
        except ExportMismatch as exc:
            raise ExportError(str(exc)) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        results.append(ExportResult(fmt, path, comparison, fixed_batch))
        if progress is not None:
            text = _("Wrote {path}, which takes one sample at a time. {comparison}.") if fixed_batch else _("Wrote {path}. {comparison}.")
            progress(text.format(path=path, comparison=comparison.sentence()))
    return results
