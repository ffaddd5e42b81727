"""Prove an exported model equal to Keras: run it in its own runtime on a batch and compare with Keras.

The inputs are a fixed random batch shaped like the design's inputs (integers below the smallest
vocabulary of the layers an integer input feeds, so an Embedding is never indexed out of range). Each
runtime is imported only when its format is checked: ONNX Runtime for ONNX, the LiteRT interpreter
(``ai_edge_litert``) for ``.tflite`` files, TensorFlow's own loader for a SavedModel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from engine.i18n import _
from typing import Any

from engine.graph import NetworkGraph

__all__ = ["TOLERANCE", "Comparison", "ExportMismatch", "compare", "keras_outputs", "runtime_outputs", "sample_inputs", "torch_outputs"]

#: Largest absolute difference accepted between an exported model's outputs and Keras's, per format. Every
#: format is held to 1e-4 (float32 with a different order of additions stays far below it on the examples and
#: the corpus).
TOLERANCE: dict[str, float] = {"onnx": 1e-4, "litert": 1e-4, "saved_model": 1e-4, "torch": 1e-4}

#: The runtime each format runs in, for messages.
RUNTIME_NAMES = {"onnx": "ONNX Runtime", "litert": "the LiteRT interpreter", "saved_model": "TensorFlow", "torch": "PyTorch"}

#: Format names in messages.
FORMAT_NAMES = {"onnx": "ONNX", "litert": "LiteRT", "saved_model": "SavedModel", "torch": "PyTorch", "keras": "Keras"}

#: Size given to an axis whose length the design leaves open (a sequence of any length, an image of any size): 32
#: leaves a pixel after the five halvings of an ImageNet network.
OPEN_AXIS = 32


class ExportMismatch(ValueError):
    """An exported model computes something else than Keras (beyond the format's tolerance), or cannot run."""


@dataclass(frozen=True)
class Comparison:
    """How far an exported model's outputs are from Keras's on one batch."""

    format: str
    max_diff: float
    samples: int
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_diff <= self.tolerance

    def sentence(self) -> str:
        """``ONNX output equals Keras: max |diff| 2.4e-07 on 8 samples``."""
        if self.ok:
            text = _("{format} output equals Keras: max |diff| {diff:.1e} on {samples} samples")
        else:
            text = _("{format} output differs from Keras: max |diff| {diff:.1e} on {samples} samples, above the tolerance {tolerance:g}")
        return text.format(format=FORMAT_NAMES[self.format], diff=self.max_diff, samples=self.samples, tolerance=self.tolerance)


def sample_inputs(graph: NetworkGraph, samples: int = 8, seed: int = 0) -> list[Any]:
    """A reproducible batch for every input of ``graph``, in the model's input order.

    Floats are standard normal; integers lie in ``[0, n)`` with ``n`` the smallest ``input_dim`` of the layers
    the input feeds (10 when none has one); booleans are fair coin flips.
    """
    import numpy as np

    from engine.analysis import analyse

    rng = np.random.default_rng(seed)
    batch: list[Any] = []
    for node in analyse(graph).input_nodes:
        params = graph.node(node).params
        shape = (samples, *(OPEN_AXIS if d is None else d for d in params["shape"]))
        dtype = params["dtype"]
        if dtype == "bool":
            batch.append(rng.random(shape) < 0.5)
        elif dtype.startswith(("int", "uint")):
            bounds = [graph.node(e.target).params.get("input_dim") for e in graph.outputs_of(node)]
            high = min([b for b in bounds if isinstance(b, int)] or [10])
            batch.append(rng.integers(0, high, size=shape).astype(dtype))
        else:
            batch.append(rng.standard_normal(shape).astype(dtype))
    return batch


def _as_list(outputs: Any) -> list[Any]:
    import numpy as np

    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(o) for o in outputs]


def keras_outputs(model: Any, inputs: Sequence[Any]) -> list[Any]:
    """The Keras model's outputs on ``inputs`` (inference mode), as NumPy arrays in the model's output order."""
    import keras

    result = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
    return [keras.ops.convert_to_numpy(o) for o in (result if isinstance(result, (list, tuple)) else [result])]


def _by_name_or_position(names: Sequence[str], model_names: Sequence[str], inputs: Sequence[Any]) -> dict[str, Any]:
    """Feed the runtime's inputs by the Keras input names when they match, else in order."""
    if sorted(names) == sorted(model_names):
        return {name: inputs[model_names.index(name)] for name in names}
    return dict(zip(names, inputs))


def _run_onnx(path: str, model_names: Sequence[str], inputs: Sequence[Any]) -> list[Any]:
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return _as_list(session.run(None, _by_name_or_position(names, model_names, inputs)))


def _run_litert(path: str, model_names: Sequence[str], inputs: Sequence[Any]) -> list[Any]:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    runner = interpreter.get_signature_runner()
    details = runner.get_input_details()
    feed = _by_name_or_position(list(details), model_names, inputs)
    if all(d["shape_signature"][0] == 1 for d in details.values()):  # converted for one sample at a time
        rows = [runner(**{k: v[i:i + 1] for k, v in feed.items()}) for i in range(len(inputs[0]))]
        result = {k: np.concatenate([row[k] for row in rows]) for k in rows[0]}
    else:
        result = runner(**feed)
    # Outputs are named output_0, output_1, ... in the model's order (output_10 after output_9).
    ordered = sorted(result, key=lambda k: (len(k), k))
    return [result[k] for k in ordered]


def _run_saved_model(path: str, model_names: Sequence[str], inputs: Sequence[Any]) -> list[Any]:
    import tensorflow as tf

    loaded = tf.saved_model.load(path)  # kept in a name: its variables die with it
    return _as_list(loaded.serve(list(inputs) if len(inputs) > 1 else inputs[0]))


RUNNERS: dict[str, Callable[[str, Sequence[str], Sequence[Any]], list[Any]]] = {
    "onnx": _run_onnx, "litert": _run_litert, "saved_model": _run_saved_model,
}


def runtime_outputs(fmt: str, path: str, model: Any, inputs: Sequence[Any]) -> list[Any]:
    """Run the exported file at ``path`` in the runtime of ``fmt`` on ``inputs``."""
    return RUNNERS[fmt](path, [t.name for t in model.inputs], inputs)


def compare(fmt: str, expected: Sequence[Any], actual: Sequence[Any], samples: int) -> Comparison:
    """The largest absolute difference between two lists of outputs (raises `ExportMismatch` if they do not match
    in number or shape: the exported model does not compute the same thing)."""
    import numpy as np

    if len(expected) != len(actual):
        raise ExportMismatch(_("The {format} model gives {actual} outputs where Keras gives {expected}.").format(
            format=FORMAT_NAMES[fmt], actual=len(actual), expected=len(expected)))
    worst = 0.0
    for index, (e, a) in enumerate(zip(expected, actual)):
        e, a = np.asarray(e), np.asarray(a)
        if e.shape != a.shape:
            raise ExportMismatch(_("Output {index} of the {format} model has shape {actual} where Keras gives {expected}.").format(
                index=index, format=FORMAT_NAMES[fmt], actual=a.shape, expected=e.shape))
        if e.size:
            e, a = e.astype(np.float64), a.astype(np.float64)
            diff = np.where(np.isnan(e) & np.isnan(a), 0.0, np.abs(e - a))  # NaN where Keras gives NaN is equal
            largest = float(diff.max())
            worst = max(worst, largest if largest == largest else float("inf"))
    return Comparison(fmt, worst, samples, TOLERANCE[fmt])


def torch_outputs(path: str, keras_file: str, inputs: Sequence[Any]) -> tuple[list[Any], int]:
    """Run the PyTorch code LayerLab wrote at ``path`` with the weights of ``keras_file`` on ``inputs``.

    Returns the outputs as NumPy arrays and the module's `count_parameters`.
    """
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("layerlab_torch_export", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the code LayerLab itself generated from validated values
    model = module.build_model()
    module.load_keras_weights(model, keras_file)
    model.eval()
    with torch.no_grad():
        result = model(*[torch.from_numpy(x) for x in inputs])
    outputs = result if isinstance(result, tuple) else (result,)
    return [o.numpy() for o in outputs], int(module.count_parameters(model))
