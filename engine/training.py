"""Training a drawn network: what you train is what you export.

`run_training` generates the exported script (`engine.codegen.generate_code` with the dataset's
``load_data()``), executes that module, checks the data against the model, then compiles and fits it
with a callback that reports every few batches. It runs in a worker process for the editor
(`worker_main`) and in-process for ``main.py train``. TensorFlow is imported only here, inside functions.

Progress goes to ``emit`` as `engine.protocol` messages: `Started`, `Batch`, `Epoch`, `Done`, `Failed`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.analysis import Analysis, analyse
from engine.codegen import CodegenError, TrainingCode, generate_code
from engine.datasets import DatasetError, DatasetSpec, describe, load_data_source
from engine.graph import NetworkGraph
from engine.protocol import Batch, Done, Epoch, Failed, Message, Started
from engine.teaching import training_memory

__all__ = [
    "TrainConfig",
    "TrainingError",
    "plan_training",
    "run_training",
    "worker_main",
    "OPTIMIZERS",
]

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


class TrainingError(RuntimeError):
    """Training cannot start or failed. ``bad_input`` is True for problems with the graph or the data."""

    def __init__(self, message: str, bad_input: bool = False) -> None:
        super().__init__(message)
        self.bad_input = bad_input


@dataclass
class TrainConfig:
    dataset: DatasetSpec = field(default_factory=lambda: DatasetSpec("digits"))
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 10
    validation_split: float = 0.2
    early_stopping: bool = False
    #: Empty: chosen from the dataset and the output layer.
    loss: str = ""
    seed: int = 0
    #: A folder for Keras's TensorBoard logs (``tensorboard --logdir`` reads it); empty: none.
    tensorboard: str = ""
    #: ``auto`` (a GPU when TensorFlow sees one), ``cpu`` or ``gpu``.
    device: str = "auto"
    #: float16 computations with float32 weights (Keras's ``mixed_float16``): faster on a GPU.
    mixed_precision: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["dataset"] = asdict(self.dataset)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        dataset = data.pop("dataset")
        dataset["image_shape"] = tuple(dataset.get("image_shape", (32, 32, 3)))
        dataset.setdefault("task", "classification")
        return cls(dataset=DatasetSpec(**dataset), **data)


def _output_info(graph: NetworkGraph, analysis: Analysis) -> tuple[tuple[int | None, ...], str | None]:
    if len(analysis.output_nodes) != 1:
        raise TrainingError(f"training needs exactly one output layer; this network has {len(analysis.output_nodes)}", True)
    out = analysis.output_nodes[0]
    node = graph.node(out)
    activation = node.spec.activation(node.params)
    shape = analysis[out].shape
    assert shape is not None
    return shape, activation


def plan_training(graph: NetworkGraph, config: TrainConfig) -> TrainingCode:
    """Choose loss and metrics from the task and the output layer, and check the graph can be trained.

    Raises `TrainingError` (bad input) with the fix when the graph is invalid or its output does not
    fit a classification task.
    """
    analysis = analyse(graph)
    if not analysis.is_valid:
        first = analysis.errors[0]
        where = f"{graph.node(first.node).name}: " if first.node else ""
        raise TrainingError(f"the network has errors; fix them before training ({where}{first.message})", True)
    if config.optimizer.lower() not in OPTIMIZERS:
        raise TrainingError(f"unknown optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}", True)
    if not (0 < config.learning_rate < 10) or config.batch_size < 1 or config.epochs < 1 or not (0 <= config.validation_split < 1):
        raise TrainingError("learning rate must be in (0, 10), batch size and epochs at least 1, validation split in [0, 1)", True)
    shape, activation = _output_info(graph, analysis)
    loss = config.loss
    from_logits = False
    if config.dataset.task == "regression":
        out = graph.node(analysis.output_nodes[0])
        if activation in ("softmax", "sigmoid"):
            raise TrainingError(f"{config.dataset.label} is a number to predict (regression), but {out.name} ends with {activation}, which squashes "
                                f"its output into (0, 1): set its activation to None (linear)", True)
        if shape[-1] != 1:
            raise TrainingError(f"{config.dataset.label} is one number to predict per sample (regression), but {out.name} gives {shape[-1]}: "
                                "set its units to 1", True)
        loss = loss or "mse"
    if not loss:
        if shape[-1] == 1:
            loss = "binary_crossentropy"
            from_logits = activation != "sigmoid"
        else:
            loss = "sparse_categorical_crossentropy"
            from_logits = activation != "softmax"
    metrics = ["accuracy"] if "crossentropy" in loss else ["mae"]  # regression: mean absolute error, in the target's units
    return TrainingCode(
        dataset=config.dataset.kind,
        optimizer=config.optimizer.lower(),
        learning_rate=config.learning_rate,
        loss=loss,
        from_logits=from_logits,
        metrics=metrics,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_split=config.validation_split,
        early_stopping=config.early_stopping,
        load_data_source=load_data_source(config.dataset),
    )


def _available_memory() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 1024**3


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:,.1f} {unit}"
        n /= 1024
    return ""


def check_memory(graph: NetworkGraph, config: TrainConfig) -> None:
    need = training_memory(graph, config.batch_size, config.optimizer)
    total = sum(need.values())
    available = _available_memory()
    if total > 0.8 * available:
        parts = ", ".join(f"{k.replace('_', ' ')} {_human(v)}" for k, v in need.items())
        raise TrainingError(
            f"training would need about {_human(total)} ({parts}) but only {_human(available)} is free; "
            "make the network smaller or lower the batch size",
            True,
        )


def _dims(shape: tuple) -> str:
    return "x".join("?" if d is None else str(d) for d in shape)


def check_data(graph: NetworkGraph, config: TrainConfig, x: Any, y: Any) -> int:
    """Check the data against the Input and output layer; returns the number of classes."""
    analysis = analyse(graph)
    input_node = graph.node(analysis.input_nodes[0])
    want = tuple(input_node.params["shape"])
    have = tuple(x.shape[1:])
    name = config.dataset.label
    what = "images are" if len(have) >= 2 else "samples have"
    if len(want) != len(have) or any(w is not None and w != h for w, h in zip(want, have)):
        have_text = f"{have[0]} features" if len(have) == 1 else _dims(have)
        raise TrainingError(
            f"{name} {what} {have_text}, your Input is {_dims(want)}: set the Input shape to {list(have)}",
            True,
        )
    import numpy as np

    x_values = np.asarray(x)
    if x_values.dtype.kind in "fc" and not np.isfinite(x_values).all():
        bad = np.argwhere(~np.isfinite(x_values))[0]
        raise TrainingError(f"{name}: sample {bad[0] + 1} holds {x_values[tuple(bad)]} (at {tuple(int(i) for i in bad[1:])}); "
                            "the data must be finite numbers before training", True)
    labels = np.asarray(y).reshape(-1)
    if config.dataset.task == "regression":
        values = labels.astype("float64") if labels.dtype.kind in "iubf" else None
        if values is None or not np.isfinite(values).all():
            raise TrainingError(f"{name}: a regression target must be finite numbers", True)
        return 0
    if labels.dtype.kind not in "iub":
        if labels.dtype.kind != "f":
            raise TrainingError(f"{name}: the labels are {labels.dtype} values such as {str(labels[0])[:20]!r}; classes must be numbered 0, 1, 2, ...", True)
        bad_index = next((i for i, v in enumerate(labels) if not np.isfinite(v) or v != int(v)), None)
        if bad_index is not None:
            raise TrainingError(f"{name}: label {bad_index + 1} is {labels[bad_index]}; classes must be whole numbers 0, 1, 2, ...", True)
    if len(labels) and labels.min() < 0:
        bad_index = int(np.argmin(labels))
        raise TrainingError(f"{name}: label {bad_index + 1} is {labels[bad_index]}; classes must be numbered from 0 (0, 1, 2, ...)", True)
    classes = int(labels.max()) + 1 if len(labels) else 0
    out_shape, _ = _output_info(graph, analysis)
    units = out_shape[-1]
    if len(out_shape) != 1:
        raise TrainingError(f"the output layer gives {_dims(out_shape)} per sample; a classifier needs one vector (add Flatten or GlobalAveragePooling before the last Dense)", True)
    if units == 1 and classes > 2:
        raise TrainingError(f"{name} has {classes} classes but the output layer has 1 unit: use Dense({classes}, softmax)", True)
    if units != 1 and units != classes:
        raise TrainingError(f"{name} has {classes} classes but the output layer has {units} units: set its units to {classes}", True)
    return classes


def run_training(
    graph: NetworkGraph,
    config: TrainConfig,
    emit: Callable[[Message], None],
    should_stop: Callable[[], bool] = lambda: False,
    save_model: str | None = None,
) -> Done:
    """Train ``graph`` on ``config.dataset``; report progress through ``emit`` (typed `engine.protocol`
    messages); return the final results (also emitted).

    Raises `TrainingError` (``bad_input`` for graph or data problems).
    """
    code = plan_training(graph, config)
    check_memory(graph, config)
    if config.tensorboard:
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            raise TrainingError("TensorBoard logs need the tensorboard package: pip install tensorboard", True)
        try:  # a folder that cannot be written is said now, not as a TensorFlow error in the middle of training
            os.makedirs(config.tensorboard, exist_ok=True)
        except OSError as exc:
            raise TrainingError(f"cannot write TensorBoard logs to {config.tensorboard}: {exc.strerror or exc}", True) from None
    try:
        source = generate_code(graph, model_name="model", training=code, formatted=False)  # run, not read: no ruff process
    except CodegenError as exc:
        raise TrainingError(str(exc), True) from None

    keras = import_keras_quietly()
    import numpy as np

    _choose_device(config)
    keras.utils.set_random_seed(config.seed)
    namespace: dict[str, Any] = {"__name__": "layerlab_exported_model"}
    exec(compile(source, "<exported model>", "exec"), namespace)  # noqa: S102 - our generated code, every value escaped
    try:
        x_train, y_train, x_test, y_test = namespace["load_data"]()
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise TrainingError(f"cannot load {config.dataset.label}: {exc}", True) from None
    classes = check_data(graph, config, x_train, y_train)
    model = namespace["build_model"]()
    model.compile(optimizer=namespace["make_optimizer"](), loss=namespace["make_loss"](), metrics=code.metrics)

    n_train = int(len(x_train) * (1 - config.validation_split))
    steps = max(1, math.ceil(n_train / config.batch_size))
    device = "CPU" if config.device == "cpu" else device_name()
    if config.mixed_precision:
        device += ", mixed precision"
    emit(Started(config.epochs, steps, n_train, classes, describe(config.dataset), code.loss, model.count_params(), device))

    history_rows: list[dict[str, Any]] = []

    class Live(keras.callbacks.Callback):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            self.last = 0.0
            self.epoch_start = time.perf_counter()
            self.failure: str | None = None

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_start = time.perf_counter()
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            # Reading a metric waits for the device: only every 0.1 s (a NaN loss stays NaN, so it is still caught).
            if now - self.last > 0.1 or batch + 1 == steps:
                logs = logs or {}
                loss = float(logs.get("loss", float("nan")))
                if not math.isfinite(loss):
                    self.failure = f"the loss became {loss} at epoch {self.epoch + 1}, batch {batch + 1}: lower the learning rate"
                    self.model.stop_training = True
                    return
                self.last = now
                emit(Batch(self.epoch + 1, batch + 1, steps, loss, _float(logs.get("accuracy", logs.get("mae"))), now - self.epoch_start))
            if should_stop():
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            message = Epoch(epoch + 1, _float(logs.get("loss")), _float(logs.get("accuracy")), _float(logs.get("val_loss")),
                            _float(logs.get("val_accuracy")), round(time.perf_counter() - self.epoch_start, 3),
                            _float(logs.get("mae")), _float(logs.get("val_mae")))
            history_rows.append(asdict(message))
            emit(message)

    live = Live()
    callbacks: list[Any] = [live]
    if config.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True))
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=config.tensorboard))
    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=config.batch_size, epochs=config.epochs,
              validation_split=config.validation_split, callbacks=callbacks, verbose=0, shuffle=True)
    if live.failure:
        raise TrainingError(live.failure)
    result: dict[str, Any] = {"stopped": should_stop(), "epochs_run": len(history_rows), "device": device,
                              "seconds": round(time.perf_counter() - started, 3), "history": history_rows}
    result["early_stopped"] = not result["stopped"] and len(history_rows) < config.epochs
    if history_rows:
        result.update({k: v for k, v in history_rows[-1].items() if k not in ("epoch", "seconds")})
    result["task"] = config.dataset.task
    if x_test is not None and y_test is not None and len(x_test):
        scores = model.evaluate(x_test, y_test, verbose=0, batch_size=256)
        scores = scores if isinstance(scores, list) else [scores]
        result["test_loss"] = float(scores[0])
        if len(scores) > 1:
            result["test_mae" if config.dataset.task == "regression" else "test_accuracy"] = float(scores[1])
        predictions = model.predict(x_test, verbose=0, batch_size=256)
        if config.dataset.task == "regression":  # predicted against true, for a scatter plot (at most 1,000 points)
            result["predictions"] = [[float(t), float(p)] for t, p in zip(np.asarray(y_test).reshape(-1)[:1000], predictions.reshape(-1)[:1000])]
            predictions = None
        if predictions is not None:
            predicted = (predictions[:, 0] > (0.0 if code.from_logits else 0.5)).astype(int) if predictions.shape[-1] == 1 else predictions.argmax(axis=-1)
            matrix = np.zeros((max(classes, 2), max(classes, 2)), dtype=int)
            for truth, guess in zip(y_test.astype(int), predicted):
                matrix[truth, guess] += 1
            result["confusion_matrix"] = matrix.tolist()
            try:
                from engine.figures import collect_figures

                result["figures"] = collect_figures(model, x_test, y_test, predicted) or None
            except Exception:  # noqa: BLE001 - pictures are a bonus: a model they cannot be drawn for still trains
                result["figures"] = None
    if save_model:
        model.save(save_model)
        result["model_path"] = save_model
    done = Done(**result)
    emit(done)
    return done


def import_keras_quietly() -> Any:
    """Import Keras with TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notes) kept off the terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import sys

    if "keras" in sys.modules:
        return sys.modules["keras"]
    saved = os.dup(2)
    try:
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        import keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return keras


DEVICES = ("auto", "cpu", "gpu")


def _choose_device(config: TrainConfig) -> None:
    """Run on the device asked for, with mixed precision if asked; refuse what this machine cannot do."""
    import tensorflow as tf

    keras = import_keras_quietly()
    if config.device not in DEVICES:
        raise TrainingError(f"device must be one of {', '.join(DEVICES)}, got {config.device!r}", True)
    gpus = tf.config.list_physical_devices("GPU")
    if config.device == "gpu" and not gpus:
        raise TrainingError("no GPU is visible to TensorFlow on this machine: train on the CPU (--device cpu or auto)", True)
    if config.device == "cpu" and gpus:
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # TensorFlow already started on the GPU in this process
            raise TrainingError("the GPU is already in use by this training process; start a new one to train on the CPU", True) from None
    if config.mixed_precision:
        if not gpus or config.device == "cpu":
            raise TrainingError("mixed precision speeds up training on a GPU only; this run would be on the CPU", True)
        keras.mixed_precision.set_global_policy("mixed_float16")
    else:
        keras.mixed_precision.set_global_policy("float32")


def device_name() -> str:
    """Where Keras computes: ``GPU (NVIDIA H100 ...)`` when TensorFlow sees a GPU, else ``CPU``."""
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    except Exception:  # noqa: BLE001 - no device query: say CPU
        return "CPU"
    if not gpus:
        return "CPU"
    try:
        detail = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "")
    except Exception:  # noqa: BLE001
        detail = ""
    return f"GPU ({detail})" if detail else "GPU"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def history_csv(rows: list[dict[str, Any]]) -> str:
    """The per-epoch history as CSV text."""
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
    if any(row.get("mae") is not None for row in rows):  # a regression run: its error in the target's units
        columns = ["epoch", "loss", "mae", "val_loss", "val_mae", "seconds"]
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join("" if row.get(c) is None else f"{row[c]:.6g}" if isinstance(row[c], float) else str(row[c]) for c in columns))
    return "\n".join(lines) + "\n"


def worker_main(project: dict[str, Any], config: dict[str, Any], queue: Any, stop: Any, save_model: str | None = None) -> None:
    """Entry point of the editor's training process. Everything goes back through ``queue``."""
    from engine.project import graph_from_dict

    try:
        graph, _ = graph_from_dict(project, "editor")
        run_training(graph, TrainConfig.from_dict(config), queue.put, stop.is_set, save_model)
    except (TrainingError, DatasetError) as exc:
        queue.put(Failed(str(exc), getattr(exc, "bad_input", True)))
    except MemoryError:
        queue.put(Failed("the training process ran out of memory: lower the batch size or the network size"))
    except Exception as exc:  # the worker must always say why it ended
        queue.put(Failed(f"training failed: {type(exc).__name__}: {exc}"))

