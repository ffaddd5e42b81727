"""LayerLab installs as a package: a built wheel carries the engine, the editor and the bundled data, and its
``layerlab`` command works from any folder (not only from a checkout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_built_wheel_installs_and_runs_layerlab_summary_on_a_bundled_example(tmp_path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
                   check=True, cwd=tmp_path, timeout=300)
    (wheel,) = dist.glob("layerlab-*.whl")
    venv = tmp_path / "venv"
    # The heavy dependencies (PySide6, TensorFlow) come from this environment; LayerLab itself from the wheel.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, cwd=tmp_path, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import engine, resources; from engine.resources import resource_dir; "
         "print(engine.__file__); print(resource_dir('examples'))"],
        capture_output=True, text=True, cwd=elsewhere, env=env, check=True, timeout=60,
    ).stdout.split()
    assert all(str(venv) in line for line in where), where  # the installed copy, not the checkout
    examples = Path(where[1])
    assert (examples / "lenet5.json").is_file() and (examples.parent / "exercises" / "solutions" / "ex01_dense_parameters.json").is_file()
    result = subprocess.run([str(venv / "bin" / "layerlab"), "summary", str(examples / "lenet5.json"), "--json"],
                            capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total_params"] == 61_706
