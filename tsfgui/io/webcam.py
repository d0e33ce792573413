"""Live frames from a camera, read by a background thread so a stalled device can never hang a caller."""

from __future__ import annotations

import atexit
import platform
import queue
import threading
import time
import weakref
from typing import Iterator

import cv2
from .base import Frame, FrameSource, SourceInfo
from .pixels import to_bgr
from .errors import SourceError

#: Opening a camera that does not answer within this many seconds fails.
OPEN_TIMEOUT_S = 5.0
#: A camera that delivers no frame for this many seconds is considered gone.
STALL_TIMEOUT_S = 3.0


_OPEN_CAMERAS: "weakref.WeakSet[WebcamSource]" = weakref.WeakSet()


@atexit.register
def _close_open_cameras() -> None:
    """Stop reader threads before the interpreter tears down (a thread killed inside OpenCV aborts)."""
    for camera in list(_OPEN_CAMERAS):
        camera.close()


def _backend() -> int:
    system = platform.system()
    if system == "Linux":
        return cv2.CAP_V4L2
    if system == "Windows":
        return cv2.CAP_DSHOW
    if system == "Darwin":
        return cv2.CAP_AVFOUNDATION
    return cv2.CAP_ANY


def _describe(device: int | str) -> str:
    return f"camera {device}" if isinstance(device, int) else f"camera '{device}'"


class WebcamSource(FrameSource):
    """A live camera: ``device`` is an index (0 = the default camera) or a device path/stream URL.

    Frames carry a monotonic timestamp (ms since the source was opened). A background thread reads
    the device and keeps at most ``buffer`` frames, dropping the oldest, so a slow consumer always
    gets recent frames and memory stays bounded. Opening a missing camera fails within
    ``open_timeout_s``; a camera that stops delivering (unplugged, taken by another program) ends
    iteration with a :class:`SourceError` after ``stall_timeout_s`` instead of hanging.
    """

    def __init__(self, device: int | str = 0, *, width: int | None = None, height: int | None = None,
                 open_timeout_s: float = OPEN_TIMEOUT_S, stall_timeout_s: float = STALL_TIMEOUT_S,
                 buffer: int = 2):
        self.device = device
        self._stall_timeout_s = stall_timeout_s
        self._cap = self._open(device, width, height, open_timeout_s)
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise SourceError(f"{_describe(device).capitalize()} opened but delivers no picture. It may be in "
                              f"use by another program; close that program and try again.")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        fps = float(fps) if fps and 0 < fps <= 1000 else 30.0
        h, w = first.shape[:2]
        self.info = SourceInfo(kind="webcam", name=_describe(device), fps=fps, width=w, height=h, frame_count=None)
        self._t0 = time.monotonic()
        self._frames: queue.Queue = queue.Queue(maxsize=max(1, buffer))
        self._stop = threading.Event()
        self._error: str | None = None
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"webcam-{device}", daemon=True)
        self._thread.start()
        _OPEN_CAMERAS.add(self)

    @staticmethod
    def _open(device: int | str, width: int | None, height: int | None, timeout_s: float) -> cv2.VideoCapture:
        result: list = []

        def attempt() -> None:
            cap = cv2.VideoCapture(device, _backend()) if isinstance(device, int) else cv2.VideoCapture(device)
            if width:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            if height:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            result.append(cap)

        opener = threading.Thread(target=attempt, daemon=True)
        opener.start()
        opener.join(timeout_s)
        if not result:
            raise SourceError(f"{_describe(device).capitalize()} did not answer within {timeout_s:g} s. Check that "
                              f"it is connected and not used by another program.")
        cap = result[0]
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{_describe(device).capitalize()} cannot be opened: no such camera, or access was "
                              f"denied. Check the connection and the system's camera permissions.")
        return cap

    def _run(self) -> None:
        index = 0
        try:
            while not self._stop.is_set():
                ok, image = self._cap.read()
                if not ok or image is None:
                    self._error = (f"{_describe(self.device).capitalize()} stopped delivering frames after "
                                   f"{index} frames (disconnected, or taken by another program).")
                    return
                frame = Frame(index, (time.monotonic() - self._t0) * 1000.0, to_bgr(image))
                index += 1
                while True:
                    try:
                        self._frames.put_nowait(frame)
                        break
                    except queue.Full:
                        try:
                            self._frames.get_nowait()  # drop the oldest: live means recent
                        except queue.Empty:
                            pass
        finally:
            self._ended.set()

    def __iter__(self) -> Iterator[Frame]:
        deadline = time.monotonic() + self._stall_timeout_s
        while not self._stop.is_set():
            try:
                frame = self._frames.get(timeout=0.05)
            except queue.Empty:
                if self._stop.is_set():
                    return
                if self._ended.is_set() and self._frames.empty():
                    raise SourceError(self._error or f"{_describe(self.device).capitalize()} stopped.") from None
                if time.monotonic() > deadline:
                    raise SourceError(f"{_describe(self.device).capitalize()} delivered no frame for "
                                      f"{self._stall_timeout_s:g} s; it may have been disconnected.") from None
                continue
            deadline = time.monotonic() + self._stall_timeout_s
            yield frame

    def close(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is None or stop.is_set():
            return
        stop.set()
        self._thread.join(timeout=self._stall_timeout_s)
        if not self._thread.is_alive():
            self._cap.release()


def list_cameras(max_index: int = 5, timeout_s: float = 2.0) -> list[int]:
    """Indices of the cameras that actually open and deliver a frame."""
    found = []
    for index in range(max_index):
        try:
            WebcamSource(index, open_timeout_s=timeout_s, stall_timeout_s=timeout_s).close()
        except SourceError:
            continue
        found.append(index)
    return found
