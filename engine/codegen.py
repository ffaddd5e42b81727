"""Turn a graph into readable, runnable Keras 3 source code.

The code is what a careful Keras user would write: the functional API (``keras.Sequential`` where the
graph is a plain chain), layer names and parameters as in the graph, only arguments that differ from
Keras's defaults, ``build_model()`` returning the model, and ``model.summary()`` when run as a script.

Nothing from a project file becomes code: layer names and other text are emitted as escaped string
literals, numbers are re-printed from validated values, and Python identifiers are derived from names
by keeping ASCII letters, digits and underscores only. A graph with errors is refused
(`CodegenError`), since Keras would refuse it too.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.analysis import analyse
from engine.graph import NetworkGraph
from engine.layers import ParamSpec, get_spec

__all__ = ["CodegenError", "TrainingCode", "generate_code", "py_literal", "identifier"]


class CodegenError(ValueError):
    """The graph cannot be exported; the message says why (the first error, with its layer)."""


@dataclass
class TrainingCode:
    """Options for the compile-and-fit part of an exported script."""

    dataset: str = "digits"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    loss: str = "sparse_categorical_crossentropy"
    #: The output layer gives scores, not probabilities (no softmax/sigmoid): the loss applies it.
    from_logits: bool = False
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    batch_size: int = 32
    epochs: int = 10
    validation_split: float = 0.2
    early_stopping: bool = False
    momentum: float = 0.9
    #: None, "mirrored" (several GPUs on one machine) or "multi_worker" (several machines).
    strategy: str | None = None
    #: Text of the data-loading function (from engine.datasets), already safe.
    load_data_source: str = ""


def py_literal(value: Any) -> str:
    """A Python literal for a validated parameter value. Strings are escaped (never raw text)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        text = repr(float(value))
        if text in ("nan", "inf", "-inf"):
            raise CodegenError(f"{text} cannot be exported")
        return text
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)  # a valid Python string literal; escapes quotes, newlines, \\ and non-ASCII
    if isinstance(value, (tuple, list)):
        inner = ", ".join(py_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise CodegenError(f"cannot export a value of type {type(value).__name__}")


_IDENT_RE = re.compile(r"[^0-9A-Za-z_]+")


def identifier(name: str, taken: set[str]) -> str:
    """A safe, unique Python identifier for a layer name (ASCII only, so no look-alike characters)."""
    base = _IDENT_RE.sub("_", name).strip("_").lower()[:40].rstrip("_") or "layer"
    if base[0].isdigit():
        base = f"layer_{base}"
    if keyword.iskeyword(base) or base in {"keras", "layers", "inputs", "outputs", "model", "build_model", "tf", "np", "main", "load_data", "train"}:
        base = f"{base}_layer"
    candidate, i = base, 1
    while candidate in taken:
        candidate = f"{base}_{i}"
        i += 1
    taken.add(candidate)
    return candidate


def _compact(spec: ParamSpec, value: Any) -> Any:
    """``(3, 3)`` -> ``3`` and ``((1, 1), (1, 1))`` -> ``1`` where Keras reads both the same."""
    if spec.kind == "ints" and isinstance(value, tuple) and len(set(value)) == 1:
        return value[0]
    if spec.kind == "padding2d" and isinstance(value, tuple):
        (t, b), (left, r) = value
        if t == b == left == r:
            return t
        if t == b and left == r:
            return (t, left)
    return value


_POSITIONAL = {"units", "filters", "kernel_size", "rate", "input_dim", "output_dim", "target_shape", "dims", "activation", "layer"}


def _is_default(spec: ParamSpec, value: Any) -> bool:
    if spec.required:
        return False
    default = spec.default
    if spec.kind == "choice" and "activation" in spec.name and default is None:
        return value in (None, "linear")
    return value == default


LINE_LENGTH = 88  # ruff format's default


def wrap_call(indent: int, head: str, args: list[str], tail: str) -> list[str]:
    """``head(args)tail`` at ``indent``, split as ruff format splits a call that does not fit:
    all arguments on one indented line if they fit there, else one per line with a trailing comma."""
    pad = " " * indent
    one_line = f"{pad}{head}({', '.join(args)}){tail}"
    if len(one_line) <= LINE_LENGTH or not args:
        return [one_line]
    inner = " " * (indent + 4)
    joined = f"{inner}{', '.join(args)}"
    if len(joined) <= LINE_LENGTH and not any("\n" in a for a in args):
        return [f"{pad}{head}(", joined, f"{pad}){tail}"]
    return [f"{pad}{head}(", *(f"{inner}{a}," for a in args), f"{pad}){tail}"]


def layer_call(layer_type: str, params: Mapping[str, Any], name: str | None) -> str:
    """``layers.Conv2D(32, 3, strides=2, name="conv1")``: required arguments positional, defaults left out."""
    args = layer_args(layer_type, params, name)
    return f"layers.{layer_type}({', '.join(args)})"


def layer_args(layer_type: str, params: Mapping[str, Any], name: str | None) -> list[str]:
    """The argument texts of `layer_call`."""
    spec = get_spec(layer_type)
    args: list[str] = []
    keyword_only = False
    for p in spec.params:
        value = params.get(p.name, p.default)
        if _is_default(spec.param(p.name), value):
            keyword_only = True
            continue
        if p.kind == "layer":
            text = layer_call(value["type"], value["params"], None)
        else:
            text = py_literal(_compact(p, value))
        if p.required and p.name in _POSITIONAL and not keyword_only:
            args.append(text)
        else:
            keyword_only = True
            args.append(f"{p.name}={text}")
    if name is not None:
        args.append(f"name={py_literal(name)}")
    return args


def _input_args(params: Mapping[str, Any], name: str) -> list[str]:
    args = [f"shape={py_literal(tuple(params['shape']))}"]
    if params["dtype"] != "float32":
        args.append(f"dtype={py_literal(params['dtype'])}")
    args.append(f"name={py_literal(name)}")
    return args


def _is_chain(graph: NetworkGraph, order: list[str]) -> bool:
    g = graph.nx_graph
    inputs = [n for n in order if g.nodes[n]["type"] == "Input"]
    if len(inputs) != 1 or order[0] != inputs[0]:
        return False
    for a, b in zip(order, order[1:]):
        if g.out_degree(a) != 1 or g.in_degree(b) != 1 or not g.has_edge(a, b) or get_spec(g.nodes[b]["type"]).is_merge:
            return False
    return g.out_degree(order[-1]) == 0


def _comment(text: str) -> str:
    """Free text as a one-line comment: control characters and line breaks removed."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return re.sub(r"\s+", " ", cleaned).strip()[:200]


def build_model_source(graph: NetworkGraph, model_name: str = "model") -> str:
    """The ``build_model()`` function for ``graph``. Raises `CodegenError` if the graph has errors."""
    analysis = analyse(graph)
    if not analysis.is_valid:
        first = analysis.errors[0]
        where = f"{graph.node(first.node).name}: " if first.node else ""
        raise CodegenError(f"the network has {len(analysis.errors)} error(s); fix them first ({where}{first.message})")
    order = analysis.order
    g = graph.nx_graph
    lines = ["def build_model():", '    """Build the Keras model drawn in LayerLab."""']
    if _is_chain(graph, order):
        lines.append("    return keras.Sequential(")
        lines.append("        [")
        first = g.nodes[order[0]]
        lines += wrap_call(12, "keras.Input", _input_args(first["params"], first["name"]), ",")
        for n in order[1:]:
            data = g.nodes[n]
            lines += wrap_call(12, f"layers.{data['type']}", layer_args(data["type"], data["params"], data["name"]), ",")
        lines.append("        ],")
        lines.append(f"        name={py_literal(model_name)},")
        lines.append("    )")
        return "\n".join(lines) + "\n"
    taken: set[str] = set()
    var = {n: identifier(g.nodes[n]["name"], taken) for n in order}
    for n in order:
        data = g.nodes[n]
        if data["type"] == "Input":
            lines += wrap_call(4, f"{var[n]} = keras.Input", _input_args(data["params"], data["name"]), "")
            continue
        spec = get_spec(data["type"])
        sources = [var[e.source] for e in graph.inputs_of(n)]
        argument = f"[{', '.join(sources)}]" if spec.is_merge else sources[0]
        lines += wrap_call(4, f"{var[n]} = layers.{data['type']}", layer_args(data["type"], data["params"], data["name"]), f"({argument})")
    ins = [var[n] for n in analysis.input_nodes]
    outs = [var[n] for n in analysis.output_nodes]
    ins_text = ins[0] if len(ins) == 1 else f"[{', '.join(ins)}]"
    outs_text = outs[0] if len(outs) == 1 else f"[{', '.join(outs)}]"
    lines += wrap_call(4, "return keras.Model", [f"inputs={ins_text}", f"outputs={outs_text}", f"name={py_literal(model_name)}"], "")
    return "\n".join(lines) + "\n"


def _optimizer_expr(t: TrainingCode) -> str:
    name = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}[t.optimizer.lower()]
    extra = f", momentum={py_literal(float(t.momentum))}" if name == "SGD" else ""
    return f"keras.optimizers.{name}(learning_rate={py_literal(float(t.learning_rate))}{extra})"


_LOSS_CLASSES = {
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
}


def _loss_expr(t: TrainingCode) -> str:
    if t.from_logits and t.loss in _LOSS_CLASSES:
        return f"keras.losses.{_LOSS_CLASSES[t.loss]}(from_logits=True)"
    if t.loss not in (*_LOSS_CLASSES, "mse", "mae", "huber"):
        raise CodegenError(f"unknown loss {t.loss!r}")
    return py_literal(t.loss)


def _training_source(t: TrainingCode) -> str:
    metrics = ", ".join(py_literal(m) for m in t.metrics)
    callbacks = "[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)]" if t.early_stopping else "[]"
    helpers = [
        "def make_optimizer():",
        f"    return {_optimizer_expr(t)}",
        "",
        "",
        "def make_loss():",
        f"    return {_loss_expr(t)}",
        "",
        "",
    ]
    compile_lines = [
        f"    model.compile(optimizer=make_optimizer(), loss=make_loss(), metrics=[{metrics}])",
    ]
    if t.strategy == "mirrored":
        head = [
            "def train():",
            '    """Train on every GPU of this machine (MirroredStrategy; falls back to the CPU)."""',
            "    import tensorflow as tf",
            "",
            "    strategy = tf.distribute.MirroredStrategy()",
            "    with strategy.scope():",
            "        model = build_model()",
            *["    " + line for line in compile_lines],
        ]
    elif t.strategy == "multi_worker":
        head = [
            "def train():",
            '    """Train on several machines (MultiWorkerMirroredStrategy).',
            "",
            "    Start this script on every machine with TF_CONFIG describing the cluster and",
            "    this machine's place in it, e.g. on the first of two workers:",
            '    TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]},',
            '                "task": {"type": "worker", "index": 0}}\'',
            '    """',
            "    import tensorflow as tf",
            "",
            "    strategy = tf.distribute.MultiWorkerMirroredStrategy()",
            "    with strategy.scope():",
            "        model = build_model()",
            *["    " + line for line in compile_lines],
        ]
    elif t.strategy is None:
        head = ["def train():", '    """Compile the model and fit it to the data."""', "    model = build_model()", *compile_lines]
    else:
        raise CodegenError(f"unknown distribution strategy {t.strategy!r}")
    body = [
        "    x_train, y_train, x_test, y_test = load_data()",
        "    history = model.fit(",
        "        x_train,",
        "        y_train,",
        f"        batch_size={py_literal(int(t.batch_size))},",
        f"        epochs={py_literal(int(t.epochs))},",
        f"        validation_split={py_literal(float(t.validation_split))},",
        f"        callbacks={callbacks},",
        "    )",
        "    if x_test is not None:",
        '        print("test:", model.evaluate(x_test, y_test, verbose=0, return_dict=True))',
        "    return model, history",
    ]
    return "\n".join(helpers + head + body) + "\n"


def generate_code(graph: NetworkGraph, *, title: str = "", model_name: str = "model", training: TrainingCode | None = None) -> str:
    """A complete, ruff-clean Python module for ``graph``. Raises `CodegenError` for an invalid graph."""
    model_name = model_name if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", model_name or "") else "model"
    header = '"""Keras model exported by LayerLab."""\n'
    if title:  # free text only ever appears as a one-line comment
        header += f"\n# Design: {_comment(title)}\n"
    parts = [header, "import keras\nfrom keras import layers\n", build_model_source(graph, model_name)]
    if training is not None:
        parts.append(training.load_data_source.strip() + "\n")
        parts.append(_training_source(training))
    main = ['if __name__ == "__main__":']
    if training is None:
        main += ["    model = build_model()", "    model.summary()"]
    else:
        main += ["    model, history = train()", "    model.summary()"]
    parts.append("\n".join(main) + "\n")
    head, *rest = parts
    return ruff_format(head + "\n" + "\n\n\n".join(p.rstrip("\n") for p in rest) + "\n")


def ruff_format(source: str) -> str:
    """``source`` formatted by ruff with its defaults (what a careful Keras user's editor does).

    Without ruff the code is returned as generated: valid, with long calls already wrapped.
    """
    import subprocess
    import sys

    try:
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--isolated", "--stdin-filename", "model.py", "-"],
            input=source, capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return source
    return result.stdout if result.returncode == 0 and result.stdout else source
