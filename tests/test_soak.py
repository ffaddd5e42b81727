"""The soak test in the default run: random edits (refused ones included) through the editing controller on
designs with blocks, shared layers and nested models; after every step the structural invariant holds, the
analysis the editor shows equals a fresh analysis of the saved file, and save -> load -> save is byte-identical;
undoing every step gives the starting design and redoing them the final one (`tests/soak.py`).

The long version: ``python -m benchmarks soak`` (thousands of steps)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.soak import SOAK_DESIGNS, soak  # noqa: E402


@pytest.mark.parametrize("design", SOAK_DESIGNS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_edits_keep_every_promise(design: str, seed: int, qapp) -> None:  # noqa: ANN001
    report = soak(design, seed, steps=60, settle=qapp.processEvents)
    assert report.problems == []
    assert report.steps == 60 and report.refused < 60  # the edits were made, not all refused
