"""Decode ahead: a reader thread pulls frames from a source while the caller analyses earlier ones.

OpenCV and FFmpeg release the GIL while they decode, so on a machine with two or more cores the
decoding of frame ``n + 1`` overlaps the analysis of frame ``n``. Unlike the live mailbox
(:class:`tsfgui.engine.live.LatestFrame`) nothing is dropped: every frame arrives, in order, and an
error of the source reaches the caller after the frames before it.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")
_END = object()


def read_ahead(frames: Iterable[T], depth: int = 8) -> Iterator[T]:
    """Iterate ``frames`` through a reader thread holding at most ``depth`` items ahead.

    Closing the iterator early (``break``, an exception, garbage collection) stops the thread and
    closes the underlying iterator in it, so a video file is released.
    """
    if depth < 1:
        raise ValueError(f"read_ahead depth must be at least 1, not {depth}")
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        it = iter(frames)
        try:
            for item in it:
                if not put(item):
                    break
        except BaseException as exc:  # handed to the consumer after the frames before it
            put((_END, exc))
            return
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
        put((_END, None))

    thread = threading.Thread(target=reader, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if isinstance(item, tuple) and len(item) == 2 and item[0] is _END:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=10)
