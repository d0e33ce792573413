"""Background work of the window: long-lived QObject workers in their own QThread (superqt creates
them; this stops them cleanly), and the relay that makes every error of a superqt worker reach the
window's ``errored`` handlers."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from PySide6.QtCore import QMetaObject, QObject, QThread, Qt, Signal, Slot
from superqt.utils import new_worker_qthread

from tsfgui.io import FrameSource, SourceError, open_source


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


def start_worker(worker_class: type[QObject], *args, connect: dict | None = None) -> tuple[QObject, QThread]:
    """Create ``worker_class(*args)`` in a new thread, connect signals, start it (``work()`` runs first)."""
    worker, thread = new_worker_qthread(worker_class, *args, _connect=connect or {})
    thread.start()
    return worker, thread


def stop_worker(worker: QObject | None, thread: QThread | None, timeout_ms: int = 10_000) -> None:
    """Ask ``worker`` to shut down (its ``shutdown`` slot quits the thread) and wait for the thread."""
    if worker is None or thread is None:
        return
    QMetaObject.invokeMethod(worker, "shutdown", Qt.ConnectionType.QueuedConnection)
    thread.wait(timeout_ms)


class WorkerError(Exception):
    """An error of a background worker, relayed to the window.

    superqt's workers do not emit ``errored`` for a ``RuntimeError`` (they take it for a deleted Qt
    object and only warn), and torch and camera drivers raise ``RuntimeError``: wrapped in this
    class, such an error reaches the error bar like any other."""


def relaying_errors(function: Callable[..., Iterator[Any]], *args: Any) -> Iterator[Any]:
    """For a superqt generator worker: the items of ``function(*args)``, a ``RuntimeError`` re-raised
    as :class:`WorkerError` (same message)."""
    try:
        yield from function(*args)
    except RuntimeError as exc:
        raise WorkerError(str(exc) or type(exc).__name__) from exc


def calling_relaying_errors(function: Callable[..., Any], *args: Any) -> Any:
    """For a superqt function worker: ``function(*args)``, a ``RuntimeError`` re-raised as :class:`WorkerError`."""
    try:
        return function(*args)
    except RuntimeError as exc:
        raise WorkerError(str(exc) or type(exc).__name__) from exc
