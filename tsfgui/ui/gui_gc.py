"""Python's cyclic garbage collector only on the GUI thread.

Automatic collection runs in whichever thread happens to allocate; when it frees a Qt object there (a
window's menu from an earlier view, say) from an analysis thread, Qt's destructor and the GUI thread can
wait for each other forever (seen: the analysis thread in ``~QObject`` waiting for the GIL while the
GUI thread, deleting a menu, waits for Qt's lock). So, while a Qt application runs, automatic
collection is off and a timer on the GUI thread collects instead (pyqtgraph's documented remedy).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    """Turns automatic collection off and collects on a GUI-thread timer every ``interval_ms``;
    :meth:`stop` collects once more and turns automatic collection back on."""

    def __init__(self, interval_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._timer.start(interval_ms)

    def collect(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds (as Python would)."""
        counts = gc.get_count()
        generation = -1
        for g in range(3):
            if counts[g] > self._thresholds[g]:
                generation = g
            else:
                break
        if generation >= 0:
            gc.collect(generation)

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()


def collect_on_gui_thread(app: QObject) -> GuiThreadCollector:
    """Install (once) the collector on ``app`` (the QApplication) and return it."""
    existing = app.findChild(GuiThreadCollector)
    return existing if existing is not None else GuiThreadCollector(parent=app)
