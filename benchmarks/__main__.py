"""``python -m benchmarks``: run every benchmark of the project and print each figure with its baseline."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    wanted = sys.argv[1:]
    results = []
    for name in names:
        if wanted and name not in wanted and name.removeprefix("bench_") not in wanted:
            continue
        print(f"== {name}")
        results += importlib.import_module(f"benchmarks.{name}").run()
    missed = [r["name"] for r in results if not r["met"]]
    print(f"\n{len(results) - len(missed)} of {len(results)} targets met" + (f"; missed: {', '.join(missed)}" if missed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
