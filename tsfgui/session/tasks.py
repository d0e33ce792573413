"""Background work of a session: one helper that runs a function in a thread, hands it a cancel
token, and relays its outcome (result, error or cancellation) through callbacks; nothing is lost and
nothing waits on the caller's thread."""

from __future__ import annotations

import threading
from typing import Any, Callable


class Cancelled(Exception):
    """Raised inside a task by :meth:`CancelToken.raise_if_cancelled` once cancellation was asked for."""


class CancelToken:
    """A flag the owner sets and the work polls between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when cancellation is asked for (at once if it was already), e.g. to set
        the stop flag of a reader that waits on its own."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class Task:
    """``work(token)`` in its own thread. Its return value goes to ``on_done``, an exception (any) to
    ``on_error``, a :class:`Cancelled` to ``on_cancelled``; each callback runs in the task's thread."""

    def __init__(self, name: str, work: Callable[[CancelToken], Any], *, on_done: Callable[[Any], None],
                 on_error: Callable[[BaseException], None], on_cancelled: Callable[[], None]) -> None:
        self.name = name
        self.token = CancelToken()
        self._work, self._on_done, self._on_error, self._on_cancelled = work, on_done, on_error, on_cancelled
        self._thread = threading.Thread(target=self._run, name=f"session-{name}", daemon=True)

    def _run(self) -> None:
        try:
            result = self._work(self.token)
        except Cancelled:
            self._on_cancelled()
        except Exception as exc:  # noqa: BLE001 (relayed, never swallowed)
            self._on_error(exc)
        else:
            if self.token.cancelled:
                self._on_cancelled()
            else:
                self._on_done(result)

    def start(self) -> "Task":
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the task (never call this on a GUI thread); True when it has ended."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()
