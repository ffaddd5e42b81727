"""Shared test setup: Qt runs offscreen, TensorFlow stays quiet, the repo root is importable."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Recovery files of the editors the tests open go to a throwaway folder, not the user's.
os.environ.setdefault("LAYERLAB_DATA_DIR", tempfile.mkdtemp(prefix="layerlab-test-data-"))

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXAMPLES = ROOT / "resources" / "examples"
