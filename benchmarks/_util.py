"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def median_seconds(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_process_seconds(args: list[str], repeat: int, env: dict[str, str] | None = None) -> float:
    def once() -> None:
        subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

    return median_seconds(once, repeat, warmup=1)


def report(name: str, value: float, unit: str, baseline_name: str, baseline: float, target: str, ok: bool) -> dict:
    """Print one figure with its baseline; the ratio is always measured / baseline (below 1: faster than the baseline)."""
    ratio = value / baseline if baseline else float("inf")
    print(f"{name:<52} {value:>10.3f} {unit:<3} | baseline {baseline_name}: {baseline:.3f} {unit} | measured/baseline {ratio:.4g} | target {target}: {'MET' if ok else 'MISSED'}")
    return {"name": name, "value": value, "unit": unit, "baseline": baseline_name, "baseline_value": baseline, "ratio": ratio, "target": target, "met": ok}
