"""Start the desktop app: checks for a display, creates the QApplication, opens the main window."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tsfgui.resources import DEMO_WEIGHTS, SAMPLE_VIDEO, default_weights  # noqa: F401 (re-exported)


def display_problem() -> str | None:
    """Why no window can be shown here (one line), or None when a display is available."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in {"offscreen", "minimal", "vnc", "eglfs", "linuxfb"}:
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display found (neither DISPLAY nor WAYLAND_DISPLAY is set); run tsfgui on a desktop "
            "session, or use the headless commands (see 'tsfgui --help')")


def make_window(target: str | None = None, fps: float | None = None, weights: str | None = "demo"):
    """The main window on ``target`` (default: the bundled sample); a target that cannot be opened
    shows its error in the window. ``weights``: a file, ``"demo"`` (the demo weights when installed)
    or None (no model). Needs a QApplication."""
    from .main_window import MainWindow

    if target is None and SAMPLE_VIDEO.exists():
        target = str(SAMPLE_VIDEO)
    return MainWindow(target, fps=fps, weights=default_weights() if weights == "demo" else weights)


def qt_application(prog: str = "tsfgui"):
    """The QApplication (created on first use), or None after printing why no window can be shown."""
    problem = display_problem()
    if problem:
        print(f"{prog}: error: {problem}", file=sys.stderr)
        return None
    from PySide6.QtWidgets import QApplication

    from .gui_gc import collect_on_gui_thread

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("tsfgui")
    collect_on_gui_thread(app)  # no Qt object is ever freed by a collection in a worker thread
    return app


def _show(create) -> int:
    """Show ``create()``'s window until it is closed (1 when there is no display)."""
    app = qt_application()
    if app is None:
        return 1
    window = create()
    window.show()
    return app.exec()


def run_gui(target: str | None = None, fps: float | None = None, weights: str | None = "demo") -> int:
    """Show the main window (see :func:`make_window`) until it is closed."""
    return _show(lambda: make_window(target, fps, weights))


def run_review(project: str | None = None, coder: str | None = None) -> int:
    """Show the review window on ``project`` (a ``.tsfproj``) as ``coder`` until it is closed."""

    def create():
        from .review.window import ReviewWindow

        return ReviewWindow(project, coder=coder)

    return _show(create)
