"""Training from the CLI and the engine: progress, final metrics, clear failures, every dataset loader."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from engine.datasets import DatasetError, DatasetSpec, resolve
from engine.graph import NetworkGraph
from engine.project import load_project, save_project
from engine.protocol import Batch, Message
from engine.teaching import training_memory
from engine.training import TrainConfig, TrainingError, check_memory, history_csv, plan_training, run_training
from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.keras


def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def dense_net(n_features: int, classes: int, dtype: str = "float32") -> NetworkGraph:
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [n_features], "dtype": dtype})
    h = graph.add_node("Dense", {"units": 16, "activation": "relu"})
    out = graph.add_node("Dense", {"units": classes, "activation": "softmax" if classes > 1 else "sigmoid"})
    graph.connect(x, h)
    graph.connect(h, out)
    return graph


def test_cli_train_json_lines_history_and_model(tmp_path) -> None:
    result = run("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--epochs", "3", "--batch-size", "64",
                 "--json", "--history", str(tmp_path / "h.csv"), "--save-model", str(tmp_path / "m.keras"))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    epochs, final = lines[:-1], lines[-1]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert set(epochs[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    assert final["final"] is True and final["epochs_run"] == 3 and 0.5 < final["test_accuracy"] <= 1
    matrix = np.array(final["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 360
    rows = list(csv.DictReader(open(tmp_path / "h.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert json.loads(run("summary", str(tmp_path / "m.keras"), "--json").stdout)["total_params"] == 29_066


def test_data_that_does_not_fit_the_input_is_refused_with_the_fix() -> None:
    result = run("train", str(EXAMPLES / "lenet5.json"), "--dataset", "digits", "--epochs", "1")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: digits images are 8x8x1, your Input is 32x32x1: set the Input shape to [8, 8, 1]"


def test_output_layer_must_match_the_classes() -> None:
    with pytest.raises(TrainingError, match="iris has 3 classes but the output layer has 5 units: set its units to 3"):
        run_training(dense_net(4, 5), TrainConfig(DatasetSpec("iris"), epochs=1), lambda m: None)


def test_bad_arguments_and_invalid_graph(tmp_path) -> None:
    assert run("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "nonexistent-data").returncode == 2
    assert run("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--optimizer", "magic").returncode == 2
    graph, _ = load_project(EXAMPLES / "digits_cnn.json")
    graph.set_params(graph.find("conv1"), {"kernel_size": 9, "padding": "valid"})  # 9x9 on 8x8
    save_project(graph, tmp_path / "broken.json")
    result = run("train", str(tmp_path / "broken.json"), "--dataset", "digits")
    assert result.returncode == 2 and "fix them before training (conv1:" in result.stderr and "Traceback" not in result.stderr


def test_nan_loss_stops_with_a_message(tmp_path) -> None:
    x = (np.sign(np.random.default_rng(0).normal(size=(64, 4))) * 3e38).astype("float32")  # finite, but at float32's limit
    np.savez(tmp_path / "big.npz", x_train=x, y_train=np.arange(64) % 3)
    save_project(dense_net(4, 3), tmp_path / "net.json")
    result = run("train", str(tmp_path / "net.json"), "--dataset", str(tmp_path / "big.npz"), "--epochs", "2", "--lr", "9")
    assert result.returncode == 1
    assert "the loss became nan" in result.stderr and "lower the learning rate" in result.stderr


def test_inf_in_the_data_is_blamed_on_the_data_before_training(tmp_path) -> None:
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    x[5, 2] = np.inf
    np.savez(tmp_path / "bad.npz", x_train=x, y_train=np.arange(64) % 3)
    save_project(dense_net(4, 3), tmp_path / "net.json")
    result = run("train", str(tmp_path / "net.json"), "--dataset", str(tmp_path / "bad.npz"), "--epochs", "2")
    assert result.returncode == 2
    assert "sample 6 holds inf (at (2,)); the data must be finite numbers before training" in result.stderr


def test_huge_model_is_refused_with_a_memory_estimate() -> None:
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [1000]})
    d = graph.add_node("Dense", {"units": 10**9})
    graph.connect(x, d)
    need = training_memory(graph, 32)
    assert need["weights"] == 1001 * 10**9 * 4 and need["optimizer_state"] == 2 * need["weights"]
    with pytest.raises(TrainingError, match=r"training would need about .* TB .* but only .* is free"):
        check_memory(graph, TrainConfig())


def test_stop_ends_within_a_batch() -> None:
    graph, _ = load_project(EXAMPLES / "digits_cnn.json")
    batches = []

    def emit(message: Message) -> None:
        if isinstance(message, Batch):
            batches.append(message)

    result = run_training(graph, TrainConfig(epochs=20, batch_size=16), emit, should_stop=lambda: bool(batches))
    assert result.stopped and not result.early_stopped and result.epochs_run == 1
    assert result.history[0]["epoch"] == 1


def test_loss_follows_the_output_layer() -> None:
    graph = dense_net(30, 1)
    code = plan_training(graph, TrainConfig(DatasetSpec("breast_cancer")))
    assert (code.loss, code.from_logits) == ("binary_crossentropy", False)
    graph.set_param(graph.node_ids()[-1], "activation", None)
    assert plan_training(graph, TrainConfig(DatasetSpec("breast_cancer"))).from_logits
    result = run_training(dense_net(30, 1), TrainConfig(DatasetSpec("breast_cancer"), epochs=10, learning_rate=0.01), lambda m: None)
    assert result.test_accuracy > 0.85 and np.array(result.confusion_matrix).shape == (2, 2)


def test_csv_npz_and_image_folder_datasets(tmp_path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "flowers.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a", "b", "species", "c"])
        for i in range(90):
            label = ["setosa", "virginica", "versicolor"][i % 3]
            writer.writerow([rng.normal() + i % 3, rng.normal(), label, rng.normal() - i % 3])
    with pytest.raises(DatasetError, match="choose the target column"):
        run_training(dense_net(3, 3), TrainConfig(resolve(str(path)), epochs=1), lambda m: None)
    with pytest.raises(TrainingError, match="column 'kind' is not in"):
        run_training(dense_net(3, 3), TrainConfig(resolve(str(path), target="kind"), epochs=1), lambda m: None)
    result = run_training(dense_net(3, 3), TrainConfig(resolve(str(path), target="species"), epochs=5), lambda m: None)
    assert result.epochs_run == 5

    np.savez(tmp_path / "d.npz", x_train=rng.normal(size=(40, 6)), y_train=np.arange(40) % 2, x_test=rng.normal(size=(8, 6)), y_test=np.arange(8) % 2)
    result = run_training(dense_net(6, 2), TrainConfig(resolve(str(tmp_path / "d.npz")), epochs=1), lambda m: None)
    assert result.test_accuracy is not None
    np.savez(tmp_path / "wrong.npz", features=np.zeros((3, 2)))
    with pytest.raises(TrainingError, match="lacks x_train, y_train"):
        run_training(dense_net(6, 2), TrainConfig(resolve(str(tmp_path / "wrong.npz")), epochs=1), lambda m: None)

    from PIL import Image

    for label, colour in (("cats", 40), ("dogs", 200)):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (20, 14), (colour, colour + i, 50)).save(tmp_path / "pets" / label / f"{i}.png")
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [16, 16, 3]})
    f = graph.add_node("Flatten")
    out = graph.add_node("Dense", {"units": 2, "activation": "softmax"})
    graph.connect(x, f)
    graph.connect(f, out)
    spec = resolve(str(tmp_path / "pets"), image_shape=(16, 16, 3))
    assert spec.kind == "images"
    result = run_training(graph, TrainConfig(spec, epochs=2, batch_size=4), lambda m: None)
    assert np.array(result.confusion_matrix).sum() == 3  # 20% of 12 images held out


def test_keras_datasets_loading_code_with_generated_data(monkeypatch) -> None:
    import keras

    rng = np.random.default_rng(2)
    fake = ((rng.integers(0, 255, size=(50, 28, 28)), rng.integers(0, 10, size=(50,))),
            (rng.integers(0, 255, size=(10, 28, 28)), rng.integers(0, 10, size=(10,))))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [28, 28, 1]})
    f = graph.add_node("Flatten")
    out = graph.add_node("Dense", {"units": 10, "activation": "softmax"})
    graph.connect(x, f)
    graph.connect(f, out)
    result = run_training(graph, TrainConfig(DatasetSpec("mnist"), epochs=1), lambda m: None)
    assert np.array(result.confusion_matrix).sum() == 10

    def offline():
        raise OSError("URL fetch failure: network is unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(TrainingError, match=r"MNIST could not be downloaded \(is this machine online\?\)"):
        run_training(graph, TrainConfig(DatasetSpec("mnist"), epochs=1), lambda m: None)


def test_a_numeric_csv_target_with_many_values_is_a_regression_task(tmp_path) -> None:
    rows = "".join(f"{i},{i % 7},{1.5 * i + 3:.2f}\n" for i in range(60))
    (tmp_path / "houses.csv").write_text("rooms,age,price\n" + rows)
    assert resolve(str(tmp_path / "houses.csv"), "price").task == "regression"
    assert resolve(str(tmp_path / "houses.csv"), "age").task == "classification"  # 7 whole-number values: classes
    assert resolve(str(tmp_path / "houses.csv"), "age", task="regression").task == "regression"
    assert resolve("diabetes").task == "regression" and resolve("digits").task == "classification"
    with pytest.raises(DatasetError, match="digits is a classification dataset"):
        resolve("digits", task="regression")


def test_a_regression_design_whose_output_does_not_fit_is_refused_with_the_fix() -> None:
    softmax = dense_net(10, 1)  # one sigmoid unit
    with pytest.raises(TrainingError, match=r"ends with sigmoid, .* set its activation to None \(linear\)"):
        plan_training(softmax, TrainConfig(resolve("diabetes")))
    ten = dense_net(10, 3)
    ten.set_param(ten.node_ids()[-1], "activation", None)
    with pytest.raises(TrainingError, match="gives 3: set its units to 1"):
        plan_training(ten, TrainConfig(resolve("diabetes")))
    linear = dense_net(10, 1)
    linear.set_param(linear.node_ids()[-1], "activation", None)
    code = plan_training(linear, TrainConfig(resolve("diabetes")))
    assert (code.loss, code.metrics) == ("mse", ["mae"])


def test_regression_trains_with_mse_and_reports_mae_and_predictions() -> None:
    graph = dense_net(10, 1)
    graph.set_param(graph.node_ids()[-1], "activation", None)
    result = run_training(graph, TrainConfig(resolve("diabetes"), epochs=30, learning_rate=0.05), lambda m: None)
    assert result.task == "regression" and result.confusion_matrix is None and result.test_accuracy is None
    assert result.test_mae is not None and result.test_mae < 80  # disease progression runs from 25 to 346
    assert len(result.predictions) == 89 and all(len(p) == 2 for p in result.predictions)
    assert history_csv(result.history).splitlines()[0] == "epoch,loss,mae,val_loss,val_mae,seconds"


def test_training_on_a_gpu_this_machine_lacks_is_refused_and_cpu_says_so(tmp_path) -> None:
    import tensorflow as tf

    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    result = run("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--epochs", "1", "--device", "cpu", "--json")
    assert result.returncode == 0, result.stderr[-1000:]
    assert json.loads(result.stdout.splitlines()[-1])["device"] == "CPU"
    if not has_gpu:
        refused = run("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--device", "gpu")
        assert refused.returncode == 2 and "no GPU is visible to TensorFlow on this machine" in refused.stderr
        mixed = run("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--mixed-precision")
        assert mixed.returncode == 2 and "mixed precision speeds up training on a GPU only" in mixed.stderr


def test_figures_are_drawn_from_a_run_without_tensorflow(tmp_path) -> None:
    from engine.figures import mosaic, save_figures
    from engine.protocol import Done

    digit = (np.arange(64).reshape(8, 8) * 4).astype("uint8").tolist()
    figures = {"misclassified": [{"image": digit, "true": 3, "predicted": 8}] * 3,
               "filters": {"layer": "conv1", "images": [digit[:3], digit[:3]]},
               "feature_maps": [{"layer": "conv1", "images": [[digit, digit]]}], "samples": [digit]}
    history = [{"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.4, "seconds": 1.0},
               {"epoch": 2, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7, "seconds": 1.0}]
    done = Done(False, 2, 2.0, history, confusion_matrix=[[5, 1], [2, 4]], figures=figures)
    names = sorted(p.name for p in save_figures(done, tmp_path))
    assert names == ["confusion_matrix.png", "curves.png", "feature_maps_conv1.png", "filters.png", "misclassified.png"]
    grid = mosaic([digit] * 10, columns=4, pad=2)
    assert grid.shape == (3 * 10 + 2, 4 * 10 + 2, 3) and grid[0, 0].tolist() == [255, 255, 255]


def test_train_saves_the_figures_of_an_image_classifier(tmp_path) -> None:
    result = run("train", str(EXAMPLES / "digits_cnn.json"), "--dataset", "digits", "--epochs", "2", "--figures", str(tmp_path / "figs"))
    assert result.returncode == 0, result.stderr[-1000:]
    names = {p.name for p in (tmp_path / "figs").iterdir()}
    assert {"curves.png", "confusion_matrix.png", "misclassified.png", "filters.png"} <= names
    assert any(n.startswith("feature_maps_") for n in names)
