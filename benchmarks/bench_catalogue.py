"""Every keras.applications model: LayerLab's analysis against Keras building the same model, in the same run.

Targets (issue 9): analysis at least 200x faster than Keras building the model, for every application
(measured / baseline <= 0.005); ``main.py summary`` of NASNetLarge (1,041 layers) and EfficientNetB7 under
1 s end to end, without importing TensorFlow (the model read from a ``.keras`` file, as a user would).
The configs come from the import corpus (tests/corpus/models); Keras builds each model here, ``weights=None``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from benchmarks._util import median_process_seconds, median_seconds, report


def run() -> list[dict]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from engine.analysis import analyse
    from engine.keras_import import graph_from_keras_config
    from tests.corpus.compare import load, names

    results = []
    worst = (0.0, "")
    keras_seconds: dict[str, float] = {}
    for name in [n for n in names() if n[0].isupper()]:
        doc = load(name)
        graph = graph_from_keras_config(doc["config"])
        start = time.perf_counter()
        getattr(keras.applications, name)(weights=None)
        keras_seconds[name] = time.perf_counter() - start
        keras.backend.clear_session()
        ours = median_seconds(lambda g=graph: analyse(g), repeat=5, warmup=1)
        ratio = ours / keras_seconds[name]
        print(f"  {name:<20} {len(graph):>5} nodes  analysis {ours * 1e3:7.2f} ms  Keras build {keras_seconds[name]:6.2f} s  measured/baseline {ratio:.5f}")
        worst = max(worst, (ratio, name))
        if name in ("DenseNet121", "NASNetLarge", "EfficientNetB7"):
            results.append(report(f"analyse {name} (ms)", ours * 1e3, "ms", f"Keras builds {name}", keras_seconds[name] * 1e3,
                                  "<= 0.005 (200x faster)" + (", < 10 ms" if name == "DenseNet121" else ""),
                                  ratio <= 0.005 and (name != "DenseNet121" or ours < 0.010)))
    results.append({"name": "every application: analysis / Keras build", "value": worst[0], "unit": "", "baseline": "Keras build",
                    "baseline_value": 1.0, "ratio": worst[0], "target": "<= 0.005", "met": worst[0] <= 0.005})
    print(f"{'worst of 40 applications: analysis / Keras build':<52} {worst[0]:.5f} ({worst[1]}) | target <= 0.005: {'MET' if worst[0] <= 0.005 else 'MISSED'}")

    with tempfile.TemporaryDirectory() as folder:
        for name in ("NASNetLarge", "EfficientNetB7"):
            path = Path(folder) / f"{name}.keras"
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("config.json", json.dumps(load(name)["config"]))
            cli = median_process_seconds([sys.executable, "main.py", "summary", str(path)], repeat=3)
            results.append(report(f"main.py summary {name}.keras (s)", cli, "s", f"Keras builds {name}", keras_seconds[name],
                                  "< 1 s, no TensorFlow import", cli < 1.0))
    return results


if __name__ == "__main__":
    run()
