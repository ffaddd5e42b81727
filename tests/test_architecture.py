"""The engine is Qt-free and starts without TensorFlow: checked, not hoped for."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys

import engine
from tests.conftest import ROOT

HEAVY = ("tensorflow", "keras", "PySide6", "pyqtgraph")


def _engine_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]


def test_importing_all_of_engine_loads_no_qt_and_no_tensorflow() -> None:
    modules = _engine_modules()
    assert "engine.analysis" in modules and "engine.layers.conv" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
    assert out == ""


def test_cli_summary_runs_without_tensorflow() -> None:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['main.py', 'summary', {str(ROOT / 'resources/examples/densenet121.json')!r}, '--json']\n"
        "import io, contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        runpy.run_path('main.py', run_name='__main__')\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
    assert out == ""


def test_no_module_level_heavy_imports_in_engine_source() -> None:
    for path in (ROOT / "engine").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:  # module level only; imports inside functions are allowed
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in HEAVY, f"{path.name} imports {name} at module level"


def test_engine_type_checks() -> None:
    """mypy over engine/ (the Qt-free core): typing mistakes there are bugs waiting."""
    result = subprocess.run([sys.executable, "-m", "mypy", "engine"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
