"""Start the editor: ``python main.py [PROJECT]``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["run", "create_window"]


def create_window(path: str | None = None):  # noqa: ANN201
    """The main window showing ``path`` (a project or Keras model) or, without one, the default example."""
    from gui.main_window import DEFAULT_EXAMPLE, EXAMPLES_DIR, MainWindow

    window = MainWindow()
    if path is None:
        window.open_path(str(EXAMPLES_DIR / DEFAULT_EXAMPLE), as_template=True)
    elif not window.open_path(path):
        window.statusBar().showMessage(f"Could not open {path}", 10000)
    return window


def run(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    if len(argv) > 1:
        print("usage: main.py [PROJECT]  |  main.py COMMAND ... (see main.py --help)", file=sys.stderr)
        return 2
    if argv and not Path(argv[0]).exists():
        print(f"error: {argv[0]}: no such file", file=sys.stderr)
        return 2
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        print("error: no display found (set DISPLAY, or QT_QPA_PLATFORM=offscreen for a headless run)", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LayerLab")
    app.setOrganizationName("LayerLab")
    window = create_window(argv[0] if argv else None)
    window.show()
    extra = window.offer_recovery()  # after a crash: restore autosaved work
    app._layerlab_windows = [window, *extra]  # keep them alive
    return app.exec()
