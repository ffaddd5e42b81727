"""The command line: ``python main.py summary|import ...``.

Exit codes: 0 success (for ``summary``: the graph is valid), 1 the graph has errors,
2 the input cannot be read or the arguments are wrong. Errors are one line on stderr, never a
traceback. TensorFlow is never imported here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["COMMANDS", "main"]

COMMANDS = ("summary", "import")

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="LayerLab: design neural networks by drawing them.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("summary", help="print every layer's output shape and parameter count, and the problems")
    p.add_argument("project", help="a LayerLab project (.json) or a Keras model (.keras, .h5)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p = sub.add_parser("import", help="turn a Keras .keras/.h5 model into a LayerLab project")
    p.add_argument("model", help="a .keras or .h5 model file")
    p.add_argument("-o", "--output", required=True, help="project file to write (.json)")
    return parser


def load_any(path: str):
    """Load a project file, or import a Keras model file; returns ``(graph, title)``.

    Raises `ProjectError` or `KerasImportError` with a one-line message.
    """
    from engine.keras_import import import_keras_model
    from engine.project import load_project

    if path.lower().endswith((".keras", ".h5", ".hdf5")):
        return import_keras_model(path), Path(path).stem
    graph, meta = load_project(path)
    return graph, meta.get("name") or Path(path).stem


def _summary(args: argparse.Namespace) -> int:
    from engine.analysis import analyse
    from engine.report import summary_json, summary_text

    graph, title = load_any(args.project)
    analysis = analyse(graph)
    if args.json:
        json.dump(summary_json(graph, analysis), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(summary_text(graph, analysis, title))
    return EXIT_OK if analysis.is_valid else EXIT_INVALID


def _import(args: argparse.Namespace) -> int:
    from engine.analysis import analyse
    from engine.keras_import import import_keras_model
    from engine.project import save_project

    graph = import_keras_model(args.model)
    save_project(graph, args.output, name=Path(args.model).stem)
    analysis = analyse(graph)
    print(f"Imported {len(graph)} layers from {args.model} into {args.output} ({analysis.total_params:,} parameters).")
    for d in analysis.diagnostics:
        print(f"  {d}", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    from engine.keras_import import KerasImportError
    from engine.project import ProjectError

    args = _parser().parse_args(argv)
    handlers = {"summary": _summary, "import": _import}
    try:
        return handlers[args.command](args)
    except (ProjectError, KerasImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except BrokenPipeError:  # piped into head: stop quietly
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNREADABLE
