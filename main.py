"""LayerLab entry point: ``python main.py [PROJECT]`` opens the editor; ``python main.py COMMAND ...`` runs the CLI."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from engine.cli import COMMANDS

    # Anything that is neither an existing file nor looks like one is a (mistyped) command.
    looks_like_file = bool(argv) and (os.path.exists(argv[0]) or "." in os.path.basename(argv[0]))
    if argv and (argv[0] in COMMANDS or argv[0].startswith("-") or not looks_like_file):
        from engine.cli import main as cli_main

        return cli_main(argv)
    from gui.app import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
