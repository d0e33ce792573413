"""Live analysis: the newest frame wins. A reader thread pulls frames from a source as they come and
keeps only the latest; the analysis loop takes whatever is newest when it is ready for more, so a
slow model drops frames instead of queueing them, and the delay stays one frame."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from tsfgui.io import Frame, FrameSource


@dataclass
class LiveStats:
    """Rates of a live run: frames the source delivered, frames handed on, frames dropped."""

    delivered: int = 0
    taken: int = 0
    started: float = 0.0

    @property
    def dropped(self) -> int:
        return self.delivered - self.taken

    def rate(self, count: int) -> float:
        elapsed = time.perf_counter() - self.started
        return count / elapsed if elapsed > 0 else 0.0

    @property
    def source_fps(self) -> float:
        return self.rate(self.delivered)

    @property
    def analysis_fps(self) -> float:
        return self.rate(self.taken)


class LatestFrame:
    """Iterate a source through a one-slot mailbox: each ``next()`` returns the newest frame not yet
    taken, waiting for one when none is new. With ``realtime=True`` a file is paced at its frame
    rate, standing in for a camera. Any error of the reader (the source, or ``on_frame``) is re-raised
    in the consumer after the frames before it, never taken for the end of the stream; :meth:`close`
    stops the reader."""

    def __init__(self, source: FrameSource, *, realtime: bool = False,
                 on_frame: Callable[[Frame], None] | None = None, stop: threading.Event | None = None):
        self.source = source
        self.realtime = realtime
        self.on_frame = on_frame  # called in the reader thread for every frame (e.g. to display it)
        self.stats = LiveStats()
        self._slot: Frame | None = None
        self._error: BaseException | None = None
        self._done = False
        self._cond = threading.Condition()
        self._stop = stop or threading.Event()
        self._thread = threading.Thread(target=self._read, name="live-reader", daemon=True)

    def _read(self) -> None:
        start = time.perf_counter()
        try:
            for frame in self.source:
                if self._stop.is_set():
                    break
                if self.realtime:
                    delay = start + frame.timestamp_ms / 1000.0 - time.perf_counter()
                    if delay > 0 and self._stop.wait(delay):
                        break
                if self.on_frame is not None:
                    self.on_frame(frame)
                with self._cond:
                    self._slot = frame
                    self.stats.delivered += 1
                    self._cond.notify()
        except Exception as exc:  # noqa: BLE001 (a driver's or a callback's error ends the stream as an error)
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def __iter__(self) -> Iterator[Frame]:
        if not self._thread.is_alive() and not self._done:
            self.stats.started = time.perf_counter()
            self._thread.start()
        while True:
            with self._cond:
                while self._slot is None and not self._done and not self._stop.is_set():
                    self._cond.wait(0.1)
                frame, self._slot = self._slot, None
                if self._stop.is_set():
                    return
                if frame is None:  # done and nothing left
                    if self._error is not None:
                        raise self._error
                    return
                self.stats.taken += 1
            yield frame

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
