"""Background work of the windows, in one place.

- :class:`GuiDispatcher`: the session's ``dispatch`` in the app: what a session task hands over runs
  on the GUI thread (queued from other threads, at once on the GUI thread), so widgets subscribed
  to the session's psygnal signals are only ever touched there.
- Long-lived QObject workers in their own QThread: :func:`start_worker`, :func:`stop_worker` (asks;
  waits only when told, never for the main window, which waits for its threads in a helper thread).
- :func:`join_in_background`: wait for work to end in a helper thread and say so on the GUI thread
  (closing the main window).
"""

from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QMetaObject, QObject, QThread, Qt, Signal, Slot

from tsfgui.io import FrameSource, SourceError, open_source


class GuiDispatcher(QObject):
    """``dispatcher(function)`` runs ``function()`` on the thread this object lives in (the GUI's)."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run)  # auto connection: direct on the GUI thread, queued from any other

    def __call__(self, function: Callable[[], None]) -> None:
        try:
            self._call.emit(function)
        except RuntimeError:  # the window it served was deleted: nobody is left to show the outcome
            pass

    @Slot(object)
    def _run(self, function: Callable[[], None]) -> None:
        function()


class SourceWorker(QObject):
    """A long-lived worker that owns a frame source; :func:`stop_worker` ends it through ``shutdown``."""

    failed = Signal(str)
    finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._source: FrameSource | None = None

    def open_target(self, target: str, fps: float | None) -> bool:
        """Open ``target`` as this worker's source; on failure emit :attr:`failed` and return False."""
        try:
            self._source = open_source(target, fps=fps)
        except SourceError as exc:
            self.failed.emit(str(exc))
            return False
        return True

    @Slot()
    def shutdown(self) -> None:
        """Release the source and end the thread (quit from inside, so a waiting UI thread is released)."""
        if self._source is not None:
            self._source.close()
            self._source = None
        self.finished.emit()
        QThread.currentThread().quit()


#: every worker and thread started and not known to have ended: both are kept until the thread has
#: (a QThread deleted while it runs aborts the program; a worker deleted while its thread runs crashes)
_threads: list[tuple[QThread, QObject]] = []


def start_worker(worker_class: type[QObject], *args, connect: dict | None = None) -> tuple[QObject, QThread]:
    """Create ``worker_class(*args)`` in a new thread, connect signals, start it (``work()`` runs first).
    The worker and the thread object live on until the thread has ended, so it may be waited for
    (``thread.wait()``) from any thread but its own."""
    _threads[:] = [(t, w) for t, w in _threads if not t.isFinished()]
    thread = QThread()
    worker = worker_class(*args)
    worker.moveToThread(thread)
    thread.started.connect(worker.work)
    worker.finished.connect(thread.quit)
    for name, slot in (connect or {}).items():
        getattr(worker, name).connect(slot)
    _threads.append((thread, worker))
    thread.start()
    return worker, thread


def stop_worker(worker: QObject | None, thread: QThread | None, *, wait: bool = True, timeout_ms: int = 10_000) -> None:
    """Ask ``worker`` to shut down (its ``shutdown`` slot quits the thread); with ``wait``, wait for the
    thread here (the main window never does: it waits for its threads off the GUI thread)."""
    if worker is None or thread is None:
        return
    QMetaObject.invokeMethod(worker, "shutdown", Qt.ConnectionType.QueuedConnection)
    if wait:
        thread.wait(timeout_ms)


def join_in_background(waits: list[Callable[[], object]], done: Callable[[], None],
                       dispatch: GuiDispatcher) -> threading.Thread:
    """Call each of ``waits`` (blocking joins) in a helper thread, then ``done()`` on the GUI thread."""

    def run() -> None:
        for wait in waits:
            wait()
        dispatch(done)

    thread = threading.Thread(target=run, name="closing", daemon=True)
    thread.start()
    return thread


def begin_closing(window, event) -> bool:
    """A window's ``closeEvent`` while its background work runs: the close is put off, the window greyed
    with a status message; True the first time (the caller then stops its work and waits for it with
    :func:`join_in_background`), False when closing has already begun."""
    event.ignore()
    if getattr(window, "_closing", False):
        return False
    window._closing = True
    window.setEnabled(False)
    window.statusBar().showMessage("Closing: waiting for the background work to stop …")
    return True
