"""Classroom III (issue 20), each measured in the same run as its baseline:

- ``grade`` of 200 Inception-module designs with ``--results-json`` and ``--feedback`` (target: under 3 s),
  against the same ``grade`` writing the CSV only;
- ``similar`` on 500 DenseNet121-size designs, each a different variant (target: under 20 s), against
  ``json.load`` of the same 500 files (the floor: reading them at all);
- ``validate --mutants`` on a 20-layer reference (target: under 5 s), against ``validate`` without mutants.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._util import ROOT, report

INCEPTION = ROOT / "resources" / "exercises" / "ex13_inception_module.json"
INCEPTION_SOLUTION = ROOT / "resources" / "exercises" / "solutions" / "ex13_inception_module.json"
DENSENET = ROOT / "resources" / "examples" / "densenet121.json"


def _timed(args: list[str], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "main.py", *args],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        best = min(best, time.perf_counter() - start)
    return best


def _twenty_layers(root: Path) -> Path:
    """A 20-layer residual CNN as the reference of an exercise with structural criteria of every kind."""
    from engine.graph import NetworkGraph
    from engine.project import save_project

    graph = NetworkGraph()
    x = graph.add_node("Input", {"shape": [32, 32, 3]}, name="image")
    x_prev = graph.add_node(
        "Conv2D", {"filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"}, name="stem"
    )
    graph.connect(x, x_prev)
    for block in range(3):
        conv = graph.add_node(
            "Conv2D",
            {"filters": 16 * (block + 1), "kernel_size": 3, "padding": "same", "activation": "relu"},
            name=f"b{block}_conv1",
        )
        graph.connect(x_prev, conv)
        bn = graph.add_node("BatchNormalization", {}, name=f"b{block}_bn")
        graph.connect(conv, bn)
        conv2 = graph.add_node(
            "Conv2D", {"filters": 16 * (block + 1), "kernel_size": 3, "padding": "same"}, name=f"b{block}_conv2"
        )
        graph.connect(bn, conv2)
        proj = graph.add_node("Conv2D", {"filters": 16 * (block + 1), "kernel_size": 1}, name=f"b{block}_proj")
        graph.connect(x_prev, proj)
        add = graph.add_node("Add", {}, name=f"b{block}_add")
        graph.connect(conv2, add)
        graph.connect(proj, add)
        x_prev = add
    pool = graph.add_node("GlobalAveragePooling2D", {}, name="gap")
    graph.connect(x_prev, pool)
    drop = graph.add_node("Dropout", {"rate": 0.3}, name="drop")
    graph.connect(pool, drop)
    out = graph.add_node("Dense", {"units": 10, "activation": "softmax"}, name="classes")
    graph.connect(drop, out)
    assert len(graph) == 20
    (root / "solutions").mkdir(parents=True)
    save_project(graph, root / "solutions" / "ex20.json", answers={"q": 4640})
    exercise = {
        "format": "layerlab-exercise",
        "version": 1,
        "title": "Three residual blocks",
        "criteria": [
            {"id": "in", "type": "input_shape", "shape": [32, 32, 3]},
            {"id": "out", "type": "output_shape", "shape": [10]},
            {"id": "size", "type": "max_params", "value": 60000},
            {
                "id": "convs",
                "type": "requires_layer",
                "layer": "Conv2D",
                "params": {"kernel_size": 3, "padding": "same"},
                "min": 6,
            },
            {"id": "skip", "type": "skip_connection", "min": 3},
            {"id": "deep", "type": "min_depth", "value": 10},
            {"id": "rf", "type": "min_receptive_field", "value": 13},
            {"id": "q", "type": "question", "prompt": "Parameters of b1_conv1?", "answer": {"params_of": "b1_conv1"}},
        ],
    }
    (root / "ex20.json").write_text(json.dumps(exercise))
    return root / "ex20.json"


def run() -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = root / "class"
        for i in range(200):
            (big / f"student{i:03}").mkdir(parents=True)
            (big / f"student{i:03}" / "design.json").write_bytes(INCEPTION_SOLUTION.read_bytes())
        plain = _timed(["grade", str(INCEPTION), str(big), "-o", str(root / "a.csv")], repeat=2)
        full = _timed(
            [
                "grade",
                str(INCEPTION),
                str(big),
                "-o",
                str(root / "b.csv"),
                "--results-json",
                str(root / "gs"),
                "--feedback",
                str(root / "fb"),
            ],
            repeat=2,
        )
        results.append(
            report(
                "grade 200 designs, --results-json --feedback", full, "s", "grade, CSV only", plain, "< 3 s", full < 3
            )
        )

        doc = json.loads(DENSENET.read_text())
        convs = [n for n in doc["nodes"] if n["type"] == "Conv2D"]
        rng = random.Random(20)
        folder = root / "densenets"
        folder.mkdir()
        for i in range(500):  # each a different design: one convolution with its own filter count
            node = rng.choice(convs)
            old = node["params"]["filters"]
            node["params"]["filters"] = old + 1 + i
            (folder / f"s{i:03}.json").write_text(json.dumps(doc))
            node["params"]["filters"] = old
        start = time.perf_counter()
        for path in sorted(folder.glob("*.json")):
            json.loads(path.read_text())
        floor = time.perf_counter() - start
        similar = _timed(["similar", str(folder), "--json", "--reference", str(DENSENET)], repeat=3)
        results.append(
            report(
                "similar, 500 DenseNet121-size designs",
                similar,
                "s",
                "json.load of the 500 files",
                floor,
                "< 20 s",
                similar < 20,
            )
        )

        exercise = _twenty_layers(root / "ex")
        validate = _timed(["validate", str(exercise)], repeat=2)
        mutants = _timed(["validate", str(exercise), "--mutants"], repeat=2)
        results.append(
            report(
                "validate --mutants, 20-layer reference",
                mutants,
                "s",
                "validate without mutants",
                validate,
                "< 5 s",
                mutants < 5,
            )
        )
    return results


if __name__ == "__main__":
    run()
