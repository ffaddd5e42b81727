"""Engine speed on DenseNet121 (429 layers), against Keras building the same model in the same run.

Targets (issue 2): full analysis median < 10 ms and >= 200x faster than Keras building the model;
re-analysis after one parameter change < 5 ms; ``main.py summary densenet121.json`` < 1 s end to end.
"""

from __future__ import annotations

import os
import sys

from benchmarks._util import ROOT, median_process_seconds, median_seconds, report

DENSENET = ROOT / "resources" / "examples" / "densenet121.json"


def run() -> list[dict]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from engine.analysis import Analyzer, analyse
    from engine.project import load_project

    graph, _ = load_project(DENSENET)
    results = []

    import keras  # the baseline: Keras constructing the same network (symbolic build, no weights)

    keras_build = median_seconds(lambda: keras.applications.DenseNet121(weights=None), repeat=3)
    full = median_seconds(lambda: analyse(graph), repeat=50, warmup=3)
    results.append(report("analyse DenseNet121 (full pass, ms)", full * 1e3, "ms", "Keras builds DenseNet121", keras_build * 1e3,
                          "< 10 ms and measured/baseline <= 0.005 (200x faster)", full < 0.010 and keras_build / full >= 200))

    analyzer = Analyzer()
    analyzer.analyse(graph)
    conv = graph.find("conv3_block2_1_conv")
    toggle = [128, 96]
    state = {"i": 0}

    def edit_and_reanalyse() -> None:
        state["i"] ^= 1
        graph.set_param(conv, "filters", toggle[state["i"]])
        analyzer.analyse(graph)

    incremental = median_seconds(edit_and_reanalyse, repeat=100, warmup=4)
    results.append(report("re-analyse after one parameter change (ms)", incremental * 1e3, "ms", "full pass", full * 1e3, "< 5 ms", incremental < 0.005))

    from engine.graph import NetworkGraph

    chain = NetworkGraph()
    previous = chain.add_node("Input", {"shape": [16]})
    for _ in range(10_000):
        node = chain.add_node("Dense", {"units": 16})
        chain.connect(previous, node)
        previous = node
    long_chain = median_seconds(lambda: analyse(chain), repeat=5)
    results.append(report("analyse a 10,000-layer chain (s)", long_chain, "s", "1 s budget", 1.0, "well under 1 s", long_chain < 0.5))

    python_start = median_process_seconds([sys.executable, "-c", "pass"], repeat=5)
    cli = median_process_seconds([sys.executable, "main.py", "summary", str(DENSENET)], repeat=5)
    results.append(report("main.py summary densenet121.json (s)", cli, "s", "bare Python start", python_start, "< 1 s", cli < 1.0))
    return results


if __name__ == "__main__":
    run()
