"""Write the import corpus: real Keras models as their saved configs, with Keras's own numbers.

For every ``keras.applications`` constructor (``weights=None``) and every architecture in
``architectures.py``, this writes ``models/<name>.json.gz`` holding

- ``config``: the model exactly as ``model.save`` writes it into ``config.json``;
- ``expected``: for every layer and operation Keras built, at every depth of nesting, its output
  shape(s) per call, its parameter count and its non-trainable count, read from the built model;
- ``total``, ``trainable``: the model's own counts; ``build_seconds``: how long Keras took to build it.

The fast test (tests/test_corpus.py) imports each config without TensorFlow and compares with
``expected``. Regenerate after a Keras upgrade with ``python -m tests.corpus.make_corpus`` (needs
TensorFlow; about 5 minutes on two cores).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"


def _shape(tensor) -> list:
    return [None if d is None else int(d) for d in tensor.shape[1:]]


def record(model, path: tuple[str, ...] = ()) -> list[dict]:
    """Keras's numbers for every operation of ``model`` (recursing into nested models)."""
    import keras

    out = []
    functional = getattr(model, "_functional", None) or model  # a built Sequential wraps a Functional
    for op in functional.operations:
        if isinstance(op, keras.layers.InputLayer):
            continue
        calls = []
        for node in op._inbound_nodes:
            outputs = node.output_tensors
            calls.append([_shape(t) for t in outputs])
        entry = {"group": list(path), "name": op.name, "class": type(op).__name__, "calls": calls}
        if isinstance(op, keras.layers.Layer):
            entry["params"] = int(op.count_params()) if op.built else 0
            entry["non_trainable"] = int(sum(math.prod(w.shape) for w in op.non_trainable_weights))
        out.append(entry)
        if isinstance(op, keras.Model):
            out.extend(record(op, path + (op.name,)))
    return out


def builders() -> dict:
    import keras

    from tests.corpus.architectures import ARCHITECTURES

    found = {}
    for name in sorted(n for n in dir(keras.applications) if n[0].isupper()):
        found[name] = (lambda n=name: getattr(keras.applications, n)(weights=None))
    found.update(ARCHITECTURES)
    return found


def main(names: list[str]) -> None:
    import keras

    MODELS.mkdir(exist_ok=True)
    for name, build in builders().items():
        if names and name not in names:
            continue
        start = time.perf_counter()
        model = build()
        seconds = time.perf_counter() - start
        config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
        doc = {
            "name": name,
            "keras_version": keras.__version__,
            "build_seconds": round(seconds, 3),
            "total": int(model.count_params()),
            "trainable": int(sum(math.prod(w.shape) for w in model.trainable_weights)),
            "config": config,
            "expected": record(model),
        }
        with gzip.open(MODELS / f"{name}.json.gz", "wt", encoding="utf-8", compresslevel=9) as fh:
            json.dump(doc, fh, separators=(",", ":"))
        print(f"{name}: {len(doc['expected'])} operations, {doc['total']:,} parameters, built in {seconds:.2f} s", flush=True)
        keras.backend.clear_session()


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(HERE.parent.parent))
    main(sys.argv[1:])
