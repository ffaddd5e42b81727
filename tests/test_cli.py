"""The command line as users and outside checks call it: exact JSON shape and exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_summary_table_like_keras() -> None:
    result = run("summary", str(EXAMPLES / "lenet5.json"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert 'Model: "LeNet-5"' in out
    assert "c1 (Conv2D)" in out and "(None, 28, 28, 6)" in out and "156" in out
    assert "Total params: 61,706" in out and "Trainable params: 61,706" in out and "Non-trainable params: 0" in out
    assert "No problems found." in out


def test_summary_json_schema() -> None:
    result = run("summary", str(EXAMPLES / "resnet_basic_block.json"), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) >= {"layers", "total_params", "trainable_params", "non_trainable_params", "diagnostics"}
    first = doc["layers"][0]
    assert first["type"] == "InputLayer" and first["output_shape"] == [None, 56, 56, 64]
    for layer in doc["layers"]:
        assert set(layer) >= {"name", "type", "output_shape", "params", "trainable_params"}
    bn = next(layer for layer in doc["layers"] if layer["name"] == "bn_a")
    assert (bn["params"], bn["trainable_params"]) == (512, 256)
    assert doc["total_params"] == 230_912 and doc["non_trainable_params"] == 768
    assert doc["total_params"] == sum(layer["params"] for layer in doc["layers"])
    assert doc["diagnostics"] == []


def test_summary_exit_1_on_errors_with_diagnostics(tmp_path) -> None:
    doc = json.loads((EXAMPLES / "lenet5.json").read_text())
    for node in doc["nodes"]:
        if node["name"] == "c3":
            node["params"]["kernel_size"] = [20, 20]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    result = run("summary", str(path), "--json")
    assert result.returncode == 1
    out = json.loads(result.stdout)
    errors = [d for d in out["diagnostics"] if d["severity"] == "error"]
    assert errors and errors[0]["layer"] == "c3" and errors[0]["hint"]
    downstream = {layer["name"]: layer for layer in out["layers"]}
    assert downstream["output"]["output_shape"] is None and downstream["output"]["params"] is None
    text = run("summary", str(path))
    assert text.returncode == 1 and "ERROR [c3]" in text.stdout and "hint:" in text.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("summary", "does-not-exist.json"),
        ("summary", str(EXAMPLES)),
        ("summary",),
        ("summary", str(EXAMPLES / "lenet5.json"), "--bogus"),
        ("frobnicate",),
        ("import", "missing.keras", "-o", "x.json"),
        ("import", str(EXAMPLES / "lenet5.json"), "-o", "x.json"),
        ("summary", "/dev/null"),
        ("summary", sys.executable),
        ("summary", "weird\u202ename.json"),
        ("export", str(EXAMPLES / "lenet5.json"), "-o", "/nonexistent-dir/x.py"),
        ("export", str(EXAMPLES / "lenet5.json")),
        ("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--epochs", "-1"),
        ("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--lr", "nan"),
        ("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--batch-size", "many"),
        ("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", str(EXAMPLES)),
        ("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", str(EXAMPLES / "lenet5.json")),
    ],
)
def test_bad_input_exits_2_without_traceback(args) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip()


def test_garbage_project_is_one_line(tmp_path) -> None:
    path = tmp_path / "g.json"
    path.write_text('{"format": "layerlab-project", "version": 1, "nodes": [{"id": "a", "type": "Dense", "params": {"units": -1}}]}')
    result = run("summary", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {path}: node 'a': units must be at least 1, got -1"


@pytest.mark.keras
def test_import_then_summary(tmp_path) -> None:
    keras = pytest.importorskip("keras")
    x = keras.Input((10,), name="x")
    model = keras.Model(x, keras.layers.Dense(3, name="y")(keras.layers.BatchNormalization(name="bn")(x)))
    model.save(tmp_path / "m.keras")
    result = run("import", str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.json"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(run("summary", str(tmp_path / "m.json"), "--json").stdout)
    assert [layer["name"] for layer in summary["layers"]] == ["x", "bn", "y"]
    assert (summary["total_params"], summary["non_trainable_params"]) == (model.count_params(), 20)
    direct = run("summary", str(tmp_path / "m.keras"), "--json")
    assert json.loads(direct.stdout)["total_params"] == summary["total_params"]
