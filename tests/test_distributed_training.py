"""Exported training scripts that run on several devices and machines, run as a user runs them.

``--strategy multi-worker``: two worker processes on this machine (TF_CONFIG with two free localhost ports,
task index 0 and 1) train the digits CNN together and finish with the same loss; only the chief saves.
Keras 3.15's ``model.fit`` fails there, so the script trains with a loop of its own (a regression test:
the script ``fit`` would have died in both workers). ``--strategy mirrored``: the script mirrors the
model over two logical CPU devices and trains with ``fit``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from engine.codegen import TrainingCode, generate_code
from engine.project import load_project
from tests.conftest import EXAMPLES, ROOT, run


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _export(tmp_path, strategy: str, epochs: int) -> str:  # noqa: ANN001
    script = tmp_path / f"{strategy}.py"
    result = run("export", str(EXAMPLES / "digits_cnn.json"), "-o", str(script), "--train", "digits", "--epochs", str(epochs),
                 "--strategy", strategy)
    assert result.returncode == 0, result.stderr
    return str(script)


@pytest.mark.keras
def test_multi_worker_script_trains_on_two_workers_to_the_same_loss_and_only_the_chief_saves(tmp_path) -> None:
    script = _export(tmp_path, "multi-worker", 2)
    ports = _free_ports(2)
    workers = []
    for index in range(2):
        folder = tmp_path / f"worker{index}"
        folder.mkdir()
        config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config), "TF_CPP_MIN_LOG_LEVEL": "3"}
        workers.append(subprocess.Popen([sys.executable, script], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True))
    outputs = []
    for worker in workers:
        try:
            outputs.append(worker.communicate(timeout=240)[0])
        except subprocess.TimeoutExpired:
            for w in workers:
                w.kill()
            raise
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    finals = [re.findall(r"Epoch 2/2 - loss: ([0-9.]+) - accuracy: ([0-9.]+) - val_loss: ([0-9.]+)", out) for out in outputs]
    assert finals[0] and finals[0] == finals[1]  # the same model on both workers
    assert float(finals[0][0][0]) < 2.25  # it learned (chance is ln 10 = 2.30)
    assert (tmp_path / "worker0" / "trained_model.keras").exists()
    assert not (tmp_path / "worker1" / "trained_model.keras").exists()


@pytest.mark.keras
def test_mirrored_script_trains_on_two_logical_cpu_devices(tmp_path) -> None:
    script = _export(tmp_path, "mirrored", 1)
    code = f"""
import runpy, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
exported = runpy.run_path({script!r})
model, history = exported["train"]()
print("replicas", len(model.weights[0].value.values), "epochs", len(history.history["loss"]))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=240,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas 2 epochs 1" in result.stdout


@pytest.mark.parametrize("loss,metrics,early_stopping", [("sparse_categorical_crossentropy", ["accuracy"], True), ("mse", ["mae"], False),
                                                         ("binary_crossentropy", ["accuracy"], False)])
def test_multi_worker_loop_is_clean_code_for_every_task(loss: str, metrics: list[str], early_stopping: bool, tmp_path) -> None:
    graph, _ = load_project(EXAMPLES / "digits_cnn.json")
    plan = TrainingCode(loss=loss, metrics=metrics, early_stopping=early_stopping, strategy="multi_worker",
                        load_data_source="def load_data():\n    return None, None, None, None\n")
    source = generate_code(graph, training=plan)
    assert "strategy.run(train_step" in source and "tf.nn.compute_average_loss(" in source and "AutoShardPolicy.DATA" in source
    assert "model.fit(" not in source and ("if waited >= 3:" in source) is early_stopping
    (tmp_path / "script.py").write_text(source)
    for args in (["check", "--isolated", "--select", "E,F,W,I,B,UP"], ["format", "--isolated", "--check"]):
        result = subprocess.run([sys.executable, "-m", "ruff", *args, str(tmp_path / "script.py")], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
