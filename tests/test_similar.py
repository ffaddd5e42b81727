"""`similar` tells copying from converging, and reads a class of big designs fast (issue 20, point 8)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.project import load_project, save_project
from engine.similar import compare_designs, fingerprint, fingerprint_files, similarity
from tests.conftest import EXAMPLES, ROOT, run

EXERCISES = ROOT / "resources" / "exercises"


def _class(tmp_path: Path) -> Path:
    """Two honest single-setting mistakes on the reference, and a copy (one filter changed) of a design far from it."""
    folder = tmp_path / "class"
    folder.mkdir()
    reference, _ = load_project(EXERCISES / "solutions" / "ex13_inception_module.json")
    honest_a = reference.copy()
    honest_a.set_param(honest_a.find("branch5x5"), "kernel_size", 3)
    save_project(honest_a, folder / "ann.json")
    honest_b = reference.copy()
    honest_b.set_param(honest_b.find("branch3x3"), "filters", 96)
    save_project(honest_b, folder / "ben.json")
    other, _ = load_project(EXAMPLES / "vgg_block.json")
    save_project(other, folder / "cat.json")
    copy = other.copy()
    conv = next(n.id for n in copy.nodes() if n.type == "Conv2D")
    copy.set_param(conv, "filters", copy.params_of(conv)["filters"] * 2)
    save_project(copy, folder / "dan.json")
    save_project(reference, folder / "eve.json")
    return folder


def test_pairs_close_to_each_other_but_far_from_the_reference_come_first(tmp_path: Path) -> None:
    folder = _class(tmp_path)
    plain = json.loads(run("similar", str(folder), "--json", "--threshold", "0.7").stdout)
    pairs = {(p["a"], p["b"]): p for p in plain["near"]}
    assert ("ann.json", "ben.json") in pairs and ("cat.json", "dan.json") in pairs  # alike, as far as similarity goes
    result = run(
        "similar",
        str(folder),
        "--json",
        "--threshold",
        "0.7",
        "--reference",
        str(EXERCISES / "ex13_inception_module.json"),
    )
    out = json.loads(result.stdout)
    first = out["near"][0]
    assert (first["a"], first["b"]) == ("cat.json", "dan.json")
    assert first["beyond_reference"] > 0.5 and min(first["a_from_reference"], first["b_from_reference"]) > 0.5
    honest = next(p for p in out["near"] if (p["a"], p["b"]) == ("ann.json", "ben.json"))
    assert honest["beyond_reference"] <= 0 and max(honest["a_from_reference"], honest["b_from_reference"]) < 0.2
    assert out["same_as_reference"] == ["eve.json"]
    text = run(
        "similar", str(folder), "--threshold", "0.7", "--reference", str(EXERCISES / "ex13_inception_module.json")
    ).stdout
    assert "cat.json (" in text.splitlines()[3] and "from the reference)" in text


def test_the_class_matrix_agrees_with_the_pairwise_similarity() -> None:
    paths = [
        EXERCISES / "solutions" / f"{name}.json"
        for name in ("ex13_inception_module", "ex10_small_mnist_skip", "ex05_residual_projection")
    ]
    graphs = [load_project(p)[0] for p in paths] + [load_project(EXAMPLES / "densenet121.json")[0]]
    changed = graphs[0].copy()
    changed.set_param(changed.find("branch5x5"), "filters", 48)
    fps = [fingerprint(g) for g in (*graphs, changed)]
    found = compare_designs(fps, threshold=0.0)
    for p in found.pairs:
        assert abs(p.similarity - similarity(fps[p.a], fps[p.b])) < 1e-5
    assert len(found.pairs) == len(fps) * (len(fps) - 1) // 2


def test_fingerprints_read_in_worker_processes_equal_those_read_here(tmp_path: Path) -> None:
    for i in range(3):
        shutil.copy(EXAMPLES / "inception_module.json", tmp_path / f"d{i}.json")
    (tmp_path / "bad.json").write_text("{")
    paths = [str(p) for p in sorted(tmp_path.glob("*.json"))]
    here = fingerprint_files(paths, jobs=1)
    import engine.similar as similar

    old = similar.PARALLEL_FROM
    similar.PARALLEL_FROM = 1
    try:
        there = fingerprint_files(paths, jobs=2)
    finally:
        similar.PARALLEL_FROM = old
    assert isinstance(here[0], str) and here[0].startswith("not valid JSON") and there == here
