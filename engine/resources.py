"""Where LayerLab's bundled data (examples, exercises) is, in a checkout or in an installed wheel."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["resource_dir"]


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``examples``, ``exercises``) of the ``resources`` package, found through
    ``importlib.resources`` so that a non-editable install (a wheel) finds its own copy."""
    return Path(str(files("resources") / name))
