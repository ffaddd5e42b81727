"""The long soak (issue 17): thousands of random edits, refused ones included, on designs with blocks, shared
layers and nested models, checked after every step (`tests/soak.py`). ``LAYERLAB_SOAK_SEEDS`` (default 20) seeds
of 300 steps per design. Prints the problems found per step run (target: none) and the steps per second."""

from __future__ import annotations

import os
import time

from benchmarks._util import report


def run() -> list[dict]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from tests.soak import SOAK_DESIGNS, soak

    app = QApplication.instance() or QApplication([])
    seeds = int(os.environ.get("LAYERLAB_SOAK_SEEDS", "20"))
    steps = problems = 0
    start = time.perf_counter()
    for design in SOAK_DESIGNS:
        for seed in range(100, 100 + seeds):
            result = soak(design, seed, steps=300, settle=app.processEvents)
            steps += result.steps
            problems += len(result.problems)
            for problem in result.problems:
                print(f"  {design} seed {seed}: {problem}")
    seconds = time.perf_counter() - start
    print(f"  {steps:,} edits in {seconds:.0f} s ({steps / seconds:.0f} a second)")
    return [report("soak: problems found, per edit run", problems / max(steps, 1), "", f"{steps:,} edits run", float(steps) / max(steps, 1),
                   "no problem", problems == 0)]
