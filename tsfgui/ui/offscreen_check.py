"""The window step of ``tsfgui --selftest``: build the main window offscreen and draw it once."""

from __future__ import annotations

import os
import sys


def draw_main_window(video: str) -> tuple[int, int, str]:
    """Open ``video`` in a main window without a model, draw it, close it; returns the drawn width,
    height and the Qt platform. Raises RuntimeError when nothing could be drawn."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    def quiet(_mode, _context, message: str) -> None:  # the offscreen platform's harmless notice
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(video, weights=None)
    try:
        window.show()
        app.processEvents()
        shot = window.grab()
        if shot.isNull() or shot.width() == 0:
            raise RuntimeError("the main window could not be drawn")
        return shot.width(), shot.height(), app.platformName()
    finally:
        import time

        window.close()  # the window closes once its background work has stopped (waited off this thread)
        deadline = time.monotonic() + 60
        while not window.workers_ended and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
