"""Datasets, as the ``load_data()`` source code that exported scripts and the training worker both run.

``load_data()`` returns ``(x_train, y_train, x_test, y_test)`` as NumPy arrays (``x_test``/``y_test`` may be
``None``). Built in and offline: scikit-learn's digits (8x8x1 images, 10 classes), iris, wine and breast
cancer. The user's own data: a CSV file (with a target column), a NumPy ``.npz`` (``x_train``, ``y_train``,
optional ``x_test``, ``y_test``; loaded with ``allow_pickle=False``), or a folder of images with one
subfolder per class. MNIST, Fashion-MNIST and CIFAR-10 come through ``keras.datasets`` when online.

Paths and column names reach the code only as escaped string literals (`engine.codegen.py_literal`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.codegen import py_literal

__all__ = ["BUILTIN", "DatasetSpec", "DatasetError", "TASKS", "resolve", "load_data_source", "describe", "image_shape_for"]


class DatasetError(ValueError):
    """A dataset that cannot be used; the message says why and how to fix it."""


@dataclass(frozen=True)
class DatasetSpec:
    """Which data to load. ``kind`` is a built-in name, or csv / npz / images for the user's files."""

    kind: str
    path: str = ""
    target: str = ""
    #: Image size and channels for an image folder (taken from the model's Input).
    image_shape: tuple[int, int, int] = (32, 32, 3)
    #: ``classification`` (whole-number classes) or ``regression`` (a number to predict).
    task: str = "classification"

    @property
    def label(self) -> str:
        return self.kind if not self.path else f"{self.kind}:{os.path.basename(self.path.rstrip('/'))}"


#: name -> (description, task) for the datasets built in.
BUILTIN = {
    "digits": ("scikit-learn digits: 1,797 grey 8x8x1 images of 0-9 (10 classes)", "classification"),
    "iris": ("scikit-learn iris: 150 flowers, 4 features, 3 classes", "classification"),
    "wine": ("scikit-learn wine: 178 wines, 13 features, 3 classes", "classification"),
    "breast_cancer": ("scikit-learn breast cancer: 569 tumours, 30 features, 2 classes", "classification"),
    "diabetes": ("scikit-learn diabetes: 442 patients, 10 features, disease progression after a year (a number: regression)", "regression"),
    "mnist": ("MNIST: 70,000 grey 28x28x1 handwritten digits, 10 classes (downloads once)", "classification"),
    "fashion_mnist": ("Fashion-MNIST: 70,000 grey 28x28x1 clothing images, 10 classes (downloads once)", "classification"),
    "cifar10": ("CIFAR-10: 60,000 colour 32x32x3 images, 10 classes (downloads once)", "classification"),
}


TASKS = ("auto", "classification", "regression")
#: A numeric CSV target with more distinct values than this (or any fraction) is a number to predict.
REGRESSION_ABOVE = 20


def resolve(name_or_path: str, target: str = "", image_shape: tuple[int, int, int] = (32, 32, 3), task: str = "auto") -> DatasetSpec:
    """A built-in name, or a path to a .csv / .npz file or an image folder. Raises `DatasetError`.

    ``task`` ``auto`` takes a built-in dataset's task, and for a CSV file looks at the target column:
    numbers with many values (or fractions) are a regression target, anything else classes."""
    if task not in TASKS:
        raise DatasetError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    spec = _resolve(name_or_path, target, image_shape)
    if task == "auto":
        task = BUILTIN[spec.kind][1] if spec.kind in BUILTIN else (_csv_task(spec) if spec.kind == "csv" else "classification")
    elif spec.kind in BUILTIN and task != BUILTIN[spec.kind][1]:
        raise DatasetError(f"{spec.kind} is a {BUILTIN[spec.kind][1]} dataset, not {task}")
    return DatasetSpec(spec.kind, spec.path, spec.target, spec.image_shape, task)


def _csv_task(spec: DatasetSpec) -> str:
    """``regression`` when the target column holds numbers with many different values or fractions."""
    import csv

    try:
        with open(spec.path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            if spec.target not in header:
                return "classification"  # the loader says what is wrong
            column = header.index(spec.target)
            values = [row[column].strip() for _, row in zip(range(100_000), reader) if len(row) > column and row[column].strip()]
    except (OSError, csv.Error, UnicodeDecodeError):
        return "classification"
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        return "classification"  # text labels are classes
    fractions = any(not n.is_integer() for n in numbers if n == n and abs(n) != float("inf"))
    return "regression" if fractions or len(set(numbers)) > REGRESSION_ABOVE else "classification"


def _resolve(name_or_path: str, target: str, image_shape: tuple[int, int, int]) -> DatasetSpec:
    key = name_or_path.strip().lower().replace("-", "_")
    if key in BUILTIN:
        return DatasetSpec(key)
    path = name_or_path
    if os.path.isdir(path):
        return DatasetSpec("images", os.path.abspath(path), image_shape=image_shape)
    if not os.path.exists(path):
        raise DatasetError(f"{name_or_path}: no such dataset or file (built in: {', '.join(BUILTIN)})")
    lower = path.lower()
    if lower.endswith(".csv"):
        return DatasetSpec("csv", os.path.abspath(path), target=target)
    if lower.endswith(".npz"):
        return DatasetSpec("npz", os.path.abspath(path))
    raise DatasetError(f"{name_or_path}: LayerLab reads .csv and .npz files and folders of images")


def image_shape_for(graph) -> tuple[int, int, int]:  # noqa: ANN001 - a NetworkGraph
    """The (height, width, channels) an image folder is resized to: the Input's, or 32x32x3."""
    from engine.analysis import analyse

    analysis = analyse(graph)
    if analysis.input_nodes:
        dims = tuple(graph.node(analysis.input_nodes[0]).params["shape"])
        if len(dims) == 3 and None not in dims:
            return dims  # type: ignore[return-value]
    return (32, 32, 3)


def describe(spec: DatasetSpec) -> str:
    if spec.kind in BUILTIN:
        return BUILTIN[spec.kind][0]
    return {"csv": "CSV file", "npz": "NumPy archive", "images": "image folder"}[spec.kind] + f" {spec.path}"


_SKLEARN_IMAGES = '''def load_data():
    """scikit-learn's digits: 8x8x1 grey images scaled to [0, 1], labels 0-9."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return x_train, y_train, x_test, y_test
'''

_SKLEARN_TABLE = '''def load_data():
    """scikit-learn's {name}: standardised features (scaled on the training part only)."""
    from sklearn.datasets import load_{name}
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    data = load_{name}()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data.astype("float32"), data.target.astype("int64"), test_size=0.2, random_state=0, stratify=data.target
    )
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train).astype("float32"), y_train, scaler.transform(x_test).astype("float32"), y_test
'''

_SKLEARN_REGRESSION = '''def load_data():
    """scikit-learn's {name}: standardised features (scaled on the training part only); the target is a number."""
    from sklearn.datasets import load_{name}
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    data = load_{name}()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data.astype("float32"), data.target.astype("float32"), test_size=0.2, random_state=0
    )
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train).astype("float32"), y_train, scaler.transform(x_test).astype("float32"), y_test
'''

_KERAS = '''def load_data():
    """{title} from keras.datasets, scaled to [0, 1]."""
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.{name}.load_data()
    except Exception as exc:  # no network, or a blocked download
        raise RuntimeError("{title} could not be downloaded (is this machine online?): " + str(exc)) from None
    x_train = (x_train / 255.0).astype("float32").reshape((len(x_train), {shape}))
    x_test = (x_test / 255.0).astype("float32").reshape((len(x_test), {shape}))
    return x_train, y_train.reshape(-1).astype("int64"), x_test, y_test.reshape(-1).astype("int64")
'''

_CSV = '''def load_data():
    """A CSV file with a header row; the target column holds the labels (text or numbers)."""
    import csv

    import numpy as np
    from sklearn.model_selection import train_test_split

    path, target = {path}, {target}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (csv.Error, UnicodeDecodeError) as exc:  # a huge field, a NUL byte, not UTF-8
        raise ValueError(path + ": not a readable CSV file (" + str(exc)[:120] + ")") from None
    if not rows:
        raise ValueError(path + ": the file is empty")
    header, rows = rows[0], [row for row in rows[1:] if row]
    if target not in header:
        raise ValueError("column " + repr(target) + " is not in " + path + "; columns: " + ", ".join(header))
    t = header.index(target)
    values = []
    for r, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(path + ": row " + str(r) + " has " + str(len(row)) + " values, the header has " + str(len(header)))
        numbers = []
        for i, v in enumerate(row):
            if i == t:
                continue
            try:
                number = float(v)
            except ValueError:
                raise ValueError(path + ": row " + str(r) + ", column " + repr(header[i]) + " holds " + repr(v[:40]) + "; every column but the target must be numeric") from None
            if not np.isfinite(number):
                raise ValueError(path + ": row " + str(r) + ", column " + repr(header[i]) + " is " + v.strip() + "; fill in or drop that row")
            numbers.append(number)
        values.append(numbers)
    x = np.array(values, dtype="float32")
    labels = [row[t].strip() for row in rows]
    missing = next((r for r, v in enumerate(labels, start=2) if v.lower() in ("", "nan", "na", "null", "none")), None)
    if missing is not None:
        raise ValueError(path + ": row " + str(missing) + " has no label in column " + repr(target) + "; fill it in or drop the row")
    if {regression}:  # a number to predict
        try:
            y = np.array([float(v) for v in labels], dtype="float32")
        except ValueError:
            raise ValueError(path + ": the target column " + repr(target) + " holds text; a regression target must be numbers") from None
    else:
        classes = sorted(set(labels))
        y = np.array([classes.index(v) for v in labels], dtype="int64")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-7
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test
'''

_NPZ = '''def load_data():
    """A NumPy archive with x_train, y_train and optionally x_test, y_test (no pickled objects)."""
    import numpy as np

    with np.load({path}, allow_pickle=False) as data:
        missing = [key for key in ("x_train", "y_train") if key not in data.files]
        if missing:
            raise ValueError({path} + " lacks " + ", ".join(missing) + "; it holds " + ", ".join(data.files))
        x_test = data["x_test"] if "x_test" in data.files else None
        y_test = data["y_test"] if "y_test" in data.files else None
        return data["x_train"], data["y_train"], x_test, y_test
'''

_IMAGES = '''def load_data():
    """A folder with one subfolder per class, images resized to {height}x{width} ({mode})."""
    import os

    import numpy as np
    from sklearn.model_selection import train_test_split

    root = {path}
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if len(classes) < 2:
        raise ValueError(root + " needs one subfolder per class (at least two)")
    images, labels = [], []
    for index, name in enumerate(classes):
        folder = os.path.join(root, name)
        for file in sorted(os.listdir(folder)):
            if file.lower().endswith((".png", ".jpg", ".jpeg", ".bmp", ".gif")):
                image = keras.utils.load_img(os.path.join(folder, file), color_mode={mode}, target_size=({height}, {width}))
                images.append(keras.utils.img_to_array(image) / 255.0)
                labels.append(index)
    x, y = np.array(images, dtype="float32"), np.array(labels, dtype="int64")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return x_train, y_train, x_test, y_test
'''

_KERAS_SHAPES = {"mnist": ("MNIST", "28, 28, 1"), "fashion_mnist": ("Fashion-MNIST", "28, 28, 1"), "cifar10": ("CIFAR-10", "32, 32, 3")}


def load_data_source(spec: DatasetSpec) -> str:
    """The ``load_data()`` function for ``spec`` as source code."""
    if spec.kind == "digits":
        return _SKLEARN_IMAGES
    if spec.kind in ("iris", "wine", "breast_cancer"):
        return _SKLEARN_TABLE.format(name=spec.kind)
    if spec.kind == "diabetes":
        return _SKLEARN_REGRESSION.format(name=spec.kind)
    if spec.kind in _KERAS_SHAPES:
        title, shape = _KERAS_SHAPES[spec.kind]
        return _KERAS.format(name=spec.kind, title=title, shape=shape)
    if spec.kind == "csv":
        if not spec.target:
            raise DatasetError(f"{spec.path}: choose the target column (--target NAME)")
        return _CSV.format(path=py_literal(spec.path), target=py_literal(spec.target), regression=spec.task == "regression")
    if spec.kind == "npz":
        return _NPZ.format(path=py_literal(spec.path))
    if spec.kind == "images":
        height, width, channels = spec.image_shape
        mode = {1: "grayscale", 3: "rgb", 4: "rgba"}.get(channels)
        if mode is None:
            raise DatasetError(f"images have 1, 3 or 4 channels; the Input has {channels}")
        return _IMAGES.format(path=py_literal(spec.path), height=int(height), width=int(width), mode=py_literal(mode))
    raise DatasetError(f"unknown dataset kind {spec.kind!r}")
