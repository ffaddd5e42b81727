"""Layout (issue 11), measured in the same run:

- auto-layout of DenseNet121 (429 layers): under 300 ms; printed against the one-sweep rows layout it
  replaced (the baseline);
- wires under layers: 0 after auto-layout on the bundled examples and imported applications (counted
  with straight runs between the routed points), against the rows layout.
"""

from __future__ import annotations

import time

from benchmarks._util import ROOT, report

MODELS = ["ResNet50", "InceptionV3", "DenseNet121", "Xception", "MobileNetV2"]


def _graphs():  # noqa: ANN202
    from engine.keras_import import graph_from_keras_config
    from engine.project import load_project
    from tests.corpus.compare import load

    for path in sorted((ROOT / "resources" / "examples").glob("*.json")):
        graph = load_project(path)[0]
        for gid, group in list(graph.groups.items()):  # every layer laid out (the DenseNet121 example opens collapsed)
            if group.collapsed:
                graph.update_group(gid, collapsed=False)
        yield path.stem, graph
    for name in MODELS:
        yield name, graph_from_keras_config(load(name)["config"])


def run() -> list[dict]:
    from engine.layout import auto_layout, layered_positions, wires_under_layers

    results = []
    before_total = after_total = 0
    for name, graph in _graphs():
        wires = [(e.source, e.target) for e in graph.edges()]
        before = len(wires_under_layers(layered_positions(graph), wires))
        layout = auto_layout(graph)
        after = len(wires_under_layers(layout.positions, wires, layout.routes))
        before_total += before
        after_total += after
        print(f"  {name:28} wires under layers: rows layout {before:3}, auto-layout {after}")
        if name == "DenseNet121":
            times, base = [], []
            for _ in range(3):
                start = time.perf_counter()
                auto_layout(graph)
                times.append(time.perf_counter() - start)
                start = time.perf_counter()
                layered_positions(graph)
                base.append(time.perf_counter() - start)
            ms = min(times) * 1000
            results.append(report("auto-layout DenseNet121 (429 layers)", ms, "ms", "rows layout", min(base) * 1000, "< 300 ms", ms < 300))
    results.append(report("wires under layers, examples + 5 applications", after_total, "", "rows layout", before_total, "0", after_total == 0))
    return results


if __name__ == "__main__":
    run()
