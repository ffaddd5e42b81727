"""The training code of an exported script for several machines (``--strategy multi-worker``).

Keras 3.15's ``model.fit`` cannot train under ``tf.distribute.MultiWorkerMirroredStrategy``: it reduces the
first batch across the workers while building the model and fails on the ``PerReplica`` value it gets
(``Attempt to convert a value (PerReplica:{...}) ...``), with NumPy arrays and with a ``tf.data`` dataset
alike. The script therefore trains with a loop of its own, the way TensorFlow's guide to multi-worker
training does: a ``tf.data`` pipeline batched with the global batch and sharded by data across the
workers, one ``strategy.run`` per step with ``tf.nn.compute_average_loss``, and the metrics, the
validation and the history ``fit`` reports. Only the chief (worker 0) saves the trained model.
"""

from __future__ import annotations

from typing import Any

__all__ = ["multi_worker_source"]

#: Loss name -> the Keras class, built with ``reduction=None`` so the loop averages over the global batch itself.
_LOSS_CLASSES = {
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy", "categorical_crossentropy": "CategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy", "mse": "MeanSquaredError", "mae": "MeanAbsoluteError", "huber": "Huber",
}

#: What ``fit`` makes of the metric names LayerLab trains with, by loss (``accuracy`` depends on the labels' form).
_ACCURACY = {"sparse_categorical_crossentropy": "SparseCategoricalAccuracy", "categorical_crossentropy": "CategoricalAccuracy",
             "binary_crossentropy": "BinaryAccuracy"}
_METRICS = {"mae": "MeanAbsoluteError", "mse": "MeanSquaredError"}


def multi_worker_source(t: Any, literal: Any) -> str:
    """``make_optimizer()``, ``make_loss()``, ``make_metrics()`` and ``train()`` for ``MultiWorkerMirroredStrategy``.

    ``t`` is the `engine.codegen.TrainingCode`; ``literal`` turns a value into a Python literal (``py_literal``).
    """
    from engine.codegen import CodegenError, _optimizer_expr

    if t.loss not in _LOSS_CLASSES:
        raise CodegenError(f"unknown loss {t.loss!r}")
    logits = "from_logits=True, " if t.from_logits else ""
    metrics = []
    for name in t.metrics:
        cls = _ACCURACY.get(t.loss, "Accuracy") if name == "accuracy" else _METRICS.get(name)
        if cls is None:
            raise CodegenError(f"unknown metric {name!r}")
        metrics.append(f"{literal(name)}: keras.metrics.{cls}(name={literal(name)})")
    epochs, batch = int(t.epochs), int(t.batch_size)
    stopping = [
        "        # Early stopping: keep the best weights, stop after 3 epochs without progress.",
        "        if val_loss < best_loss:",
        "            best_loss, best_weights, waited = val_loss, model.get_weights(), 0",
        "        else:",
        "            waited += 1",
        "            if waited >= 3:",
        "                model.set_weights(best_weights)",
        "                break",
    ] if t.early_stopping else []
    lines = [
        "def make_optimizer():",
        f"    return {_optimizer_expr(t)}",
        "",
        "",
        "def make_loss():",
        '    """The loss of every sample (reduction=None): train() averages it."""',
        f"    return keras.losses.{_LOSS_CLASSES[t.loss]}({logits}reduction=None)",
        "",
        "",
        "def make_metrics():",
        '    """The metrics model.fit reports, by name."""',
        f"    return {{{', '.join(metrics)}}}",
        "",
        "",
        "def train():",
        '    """Train on several machines (MultiWorkerMirroredStrategy).',
        "",
        "    Start this script on every machine with TF_CONFIG describing the cluster and",
        "    this machine's place in it, e.g. on the first of two workers:",
        '    TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]},',
        '                "task": {"type": "worker", "index": 0}}\'',
        "    and index 1 on the second. Every worker reads the same data; each trains on",
        f"    its share ({batch} samples) of every global batch and the gradients are summed.",
        "    Keras's model.fit cannot run under this strategy (Keras 3 fails on the first",
        "    batch), so this loop does its work: the same metrics and history. The chief",
        "    (worker 0) alone saves the trained model to trained_model.keras.",
        '    """',
        "    import numpy as np",
        "    import tensorflow as tf",
        "",
        "    strategy = tf.distribute.MultiWorkerMirroredStrategy()",
        f"    global_batch = {batch} * strategy.num_replicas_in_sync",
        "    x_train, y_train, x_test, y_test = load_data()",
        f"    n_val = int(len(x_train) * {literal(float(t.validation_split))})  # the last part, as fit's validation_split",
        "    x_train, x_val = x_train[: len(x_train) - n_val], x_train[len(x_train) - n_val :]",
        "    y_train, y_val = y_train[: len(y_train) - n_val], y_train[len(y_train) - n_val :]",
        "    options = tf.data.Options()",
        "    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA",
        "    train_data = (",
        "        tf.data.Dataset.from_tensor_slices((x_train, y_train))",
        "        .shuffle(len(x_train), seed=0)  # the same order on every worker",
        "        .batch(global_batch, drop_remainder=True)  # the same number of steps on every worker",
        "        .with_options(options)",
        "    )",
        "    with strategy.scope():",
        "        model = build_model()",
        "        optimizer = make_optimizer()",
        "        loss_fn = make_loss()",
        "        metrics = make_metrics()",
        "        val_metrics = make_metrics()",
        "",
        "    def sample_losses(y, prediction):",
        "        loss = loss_fn(y, prediction)",
        "        return tf.reduce_mean(tf.reshape(loss, [tf.shape(loss)[0], -1]), axis=1)",
        "",
        "    @tf.function",
        "    def train_step(x, y):",
        "        with tf.GradientTape() as tape:",
        "            prediction = model(x, training=True)",
        "            loss = tf.nn.compute_average_loss(sample_losses(y, prediction), global_batch_size=global_batch)",
        "            if model.losses:",
        "                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))",
        "        gradients = tape.gradient(loss, model.trainable_variables)",
        "        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))",
        "        for metric in metrics.values():",
        "            metric.update_state(y, prediction)",
        "        return loss",
        "",
        "    def evaluate(x, y, prefix=\"\"):",
        "        prediction = model.predict(x, batch_size=256, verbose=0)",
        "        for metric in val_metrics.values():",
        "            metric.reset_state()",
        "            metric.update_state(y, prediction)",
        "        logs = {\"loss\": float(np.mean(sample_losses(y, prediction)))}",
        "        logs.update({name: float(metric.result()) for name, metric in val_metrics.items()})",
        "        return {prefix + name: value for name, value in logs.items()}",
        "",
        "    history = keras.callbacks.History()",
        "    history.history, history.epoch = {}, []",
        *(["    best_loss, best_weights, waited = float(\"inf\"), None, 0"] if t.early_stopping else []),
        f"    for epoch in range({epochs}):",
        "        for metric in metrics.values():",
        "            metric.reset_state()",
        "        total, steps = 0.0, 0",
        "        for x, y in strategy.experimental_distribute_dataset(train_data):",
        "            losses = strategy.run(train_step, args=(x, y))",
        "            total += float(strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None))",
        "            steps += 1",
        "        logs = {\"loss\": total / max(steps, 1)}",
        "        logs.update({name: float(metric.result()) for name, metric in metrics.items()})",
        "        if n_val:",
        "            logs.update(evaluate(x_val, y_val, \"val_\"))",
        "        history.epoch.append(epoch)",
        "        for name, value in logs.items():",
        "            history.history.setdefault(name, []).append(value)",
        "        shown = \" - \".join(f\"{name}: {value:.4f}\" for name, value in logs.items())",
        f"        print(f\"Epoch {{epoch + 1}}/{epochs} - {{shown}}\", flush=True)",
        *(["        val_loss = logs.get(\"val_loss\", logs[\"loss\"])", *stopping] if t.early_stopping else []),
        "    if x_test is not None:",
        "        print(\"test:\", evaluate(x_test, y_test))",
        "    worker = strategy.cluster_resolver",
        "    if worker.task_type in (None, \"chief\") or (worker.task_type == \"worker\" and worker.task_id == 0):",
        "        model.save(\"trained_model.keras\")",
        "    return model, history",
    ]
    return "\n".join(lines) + "\n"
