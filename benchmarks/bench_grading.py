"""Grading a class (issue 12), measured in the same run:

- ``grade --train -j 2`` against ``grade --train -j 1`` on the same 6 designs (the digits exercise, 3
  epochs each): parallel workers must not be slower than one (target: ratio at most 1.0; on a machine
  with more cores than TensorFlow uses well, -j N approaches 1/N);
- ``grade`` without training on a class of 200 Inception-module designs, against ``check`` of one: the per-design
  cost once the program is loaded (target: 200 designs in at most 10x the time of one ``check``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._util import ROOT, report

EXERCISE = ROOT / "resources" / "exercises" / "ex12_train_digits.json"
SOLUTION = ROOT / "resources" / "exercises" / "solutions" / "ex12_train_digits.json"
INCEPTION = ROOT / "resources" / "exercises" / "ex13_inception_module.json"
INCEPTION_SOLUTION = ROOT / "resources" / "exercises" / "solutions" / "ex13_inception_module.json"


def _timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run() -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        exercise = json.loads(EXERCISE.read_text())
        exercise["criteria"][-1]["epochs"] = 3
        (root / "ex.json").write_text(json.dumps(exercise))
        small = root / "small"
        small.mkdir()
        for i in range(6):
            shutil.copy(SOLUTION, small / f"student{i}.json")
        serial = _timed(["grade", str(root / "ex.json"), str(small), "-o", str(root / "a.csv"), "--train", "-j", "1"])
        parallel = _timed(["grade", str(root / "ex.json"), str(small), "-o", str(root / "b.csv"), "--train", "-j", "2"])
        ratio = parallel / serial
        results.append(report("grade --train -j 2, 6 designs", parallel, "s", "grade --train -j 1", serial, "ratio <= 1.0", ratio <= 1.0))

        big = root / "class"
        for i in range(200):
            (big / f"student{i:03}").mkdir(parents=True)
            shutil.copy(INCEPTION_SOLUTION, big / f"student{i:03}" / "design.json")
        one = min(_timed(["check", str(INCEPTION), str(INCEPTION_SOLUTION)]) for _ in range(3))
        many = min(_timed(["grade", str(INCEPTION), str(big), "-o", str(root / "c.csv")]) for _ in range(2))
        results.append(report("grade 200 designs (no training)", many, "s", "check 1 design", one, "ratio <= 10", many / one <= 10))
    return results


if __name__ == "__main__":
    run()
