"""Export targets (issue 22), on DenseNet121 (429 layers, 8 million parameters), measured in the same run:

- ONNX Runtime runs the exported model at least as fast as Keras's ``predict`` on the same batch of 8 images
  (measured / baseline <= 1);
- LayerLab's ONNX export, the run in ONNX Runtime and the comparison with Keras included, takes under 3x
  Keras's ``model.export(format="onnx")`` alone on the same built model.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks._util import ROOT, median_seconds, report

DENSENET = ROOT / "resources" / "examples" / "densenet121.json"


def run() -> list[dict]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import onnxruntime

    from engine.export.formats import _quiet, export_formats
    from engine.export.keras_model import build_keras_model
    from engine.export.verify import keras_outputs, sample_inputs
    from engine.project import load_project

    graph, _ = load_project(DENSENET)
    model = build_keras_model(graph)
    batch = sample_inputs(graph, 8)
    keras_outputs(model, batch)  # Model.export needs a model that has been called
    results = []
    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "keras.onnx"

        def keras_export() -> None:
            with _quiet():
                model.export(str(plain), format="onnx", verbose=False)

        def layerlab_export() -> None:
            export_formats(graph, {"onnx": str(Path(folder) / "layerlab.onnx")}, model=model)

        baseline = median_seconds(keras_export, repeat=2, warmup=0)
        ours = median_seconds(layerlab_export, repeat=2, warmup=0)
        results.append(report("export DenseNet121 to ONNX, checked against Keras (s)", ours, "s", "Keras model.export alone", baseline,
                              "measured/baseline < 3", ours < 3 * baseline))

        session = onnxruntime.InferenceSession(str(plain), providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: batch[0]}
        predict = median_seconds(lambda: model.predict(batch[0], verbose=0), repeat=5, warmup=1)
        runtime = median_seconds(lambda: session.run(None, feed), repeat=5, warmup=1)
        results.append(report("ONNX Runtime inference, DenseNet121, 8 images (s)", runtime, "s", "Keras predict, same batch", predict,
                              "measured/baseline <= 1", runtime <= predict))
    return results
