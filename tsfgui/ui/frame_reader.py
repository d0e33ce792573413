"""A worker that opens a frame source and decodes requested frames off the UI thread."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import Signal, Slot

from tsfgui.io import SourceError

from .threads import SourceWorker


class FrameReader(SourceWorker):
    """Lives in its own thread; the UI asks for a frame with :meth:`request` and gets :attr:`frameReady`.

    The UI keeps at most one request in flight (see ``PlayerWindow``), so requests never queue up
    behind a slow decoder.
    """

    opened = Signal(object)  # SourceInfo
    frameReady = Signal(int, float, object)  # index, timestamp_ms, RGB uint8 H×W×3

    def __init__(self, target: str, fps: float | None = None):
        super().__init__()
        self._target = target
        self._fps = fps

    @Slot()
    def work(self) -> None:
        """Open the source (runs in the worker thread when it starts)."""
        if self.open_target(self._target, self._fps):
            self.opened.emit(self._source.info)

    @Slot(int)
    def request(self, index: int) -> None:
        """Decode frame ``index`` and emit it as RGB (colour conversion stays off the UI thread)."""
        if self._source is None:
            return
        try:
            frame = self._source.read(index)
        except SourceError as exc:
            self.failed.emit(str(exc))
            return
        rgb = np.ascontiguousarray(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
        self.frameReady.emit(frame.index, frame.timestamp_ms, rgb)
