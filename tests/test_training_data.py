"""Bad datasets are refused before training, with the row and column at fault (no TensorFlow needed):
the CSV loader and the data check run on their own here, as the training run calls them."""

from __future__ import annotations

import numpy as np
import pytest

from engine.datasets import DatasetSpec, load_data_source
from engine.graph import NetworkGraph
from engine.training import TrainConfig, TrainingError, check_data


def _csv(tmp_path, text: str):  # noqa: ANN202
    path = tmp_path / "data.csv"
    path.write_text(text)
    namespace: dict = {}
    exec(compile(load_data_source(DatasetSpec("csv", str(path), target="label")), "<load_data>", "exec"), namespace)  # our generated code
    return namespace["load_data"]


@pytest.mark.parametrize("text,expected", [
    ("a,b,label\n" + "1,2,x\n3,4,y\n" * 5, None),
    ("a,b,label\n1,oops,x\n3,4,y\n", "row 2, column 'b' holds 'oops'; every column but the target must be numeric"),
    ("a,b,label\n1,2,x\n3,nan,y\n", "row 3, column 'b' is nan; fill in or drop that row"),
    ("a,b,label\n1,2,x\n3,inf,y\n", "row 3, column 'b' is inf"),
    ("a,b,label\n1,2,x\n3,4,NaN\n", "row 3 has no label in column 'label'"),
    ("a,b,label\n1,2,x\n3,4\n", "row 3 has 2 values, the header has 3"),
    ("a,b,label\n1,2," + "x" * 200_000 + "\n", "not a readable CSV file (field larger than field limit"),
])
def test_csv_problems_name_the_row_and_column(tmp_path, text: str, expected: str | None) -> None:
    load = _csv(tmp_path, text)
    if expected is None:
        x_train, y_train, _, _ = load()
        assert x_train.shape[1] == 2 and set(y_train) <= {0, 1}
        return
    with pytest.raises(ValueError, match=expected.replace("(", r"\(")):
        load()


def _net() -> NetworkGraph:
    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [2]})
    out = graph.add_node("Dense", {"units": 3, "activation": "softmax"})
    graph.connect(x, out)
    return graph


@pytest.mark.parametrize("x,y,expected", [
    (np.array([[1.0, 2.0], [np.nan, 1.0]]), np.array([0, 2]), r"sample 2 holds nan \(at \(0,\)\); the data must be finite numbers"),
    (np.array([[1.0, 2.0], [3.0, 1.0]]), np.array([0.0, np.nan]), "label 2 is nan; classes must be whole numbers"),
    (np.array([[1.0, 2.0], [3.0, 1.0]]), np.array(["cat", "dog"]), "the labels are <U3 values such as 'cat'"),
    (np.array([[1.0, 2.0], [3.0, 1.0]]), np.array([0, -2]), r"label 2 is -2; classes must be numbered from 0"),
])
def test_bad_values_are_blamed_on_the_data_not_the_learning_rate(x, y, expected: str) -> None:  # noqa: ANN001
    with pytest.raises(TrainingError, match=expected):
        check_data(_net(), TrainConfig(DatasetSpec("csv", "my.csv")), x, y)
    assert check_data(_net(), TrainConfig(DatasetSpec("csv", "my.csv")), np.array([[1.0, 2.0]] * 3), np.array([0, 1, 2])) == 3
