"""A worker thread that decodes an event's window, cuts the onset-aligned crops and magnifies them.

The GUI thread never decodes or magnifies: it sends a request with an id and shows whatever the
worker sends back for the newest id; a request overtaken by a newer one stops between frames.
"""

from __future__ import annotations

import itertools
import threading

from PySide6.QtCore import Signal, Slot

from tsfgui.engine.event_loop import (EventClip, EventWindow, OnsetAligner, event_heatmap, magnified_crops,
                                     read_event_clip)
from tsfgui.engine.magnify import MagnificationCache, MagnifySettings
from tsfgui.io import SourceError

from ..threads import SourceWorker


class RequestIds:
    """Monotonic request ids shared by the GUI thread (which issues them) and a worker (which checks them)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.latest = 0

    def next(self) -> int:
        """A new id, which makes every older request stale."""
        with self._lock:
            self.latest = next(self._counter)
            return self.latest

    def stale(self, request_id: int) -> bool:
        """True when a newer request was issued after ``request_id``."""
        return request_id != self.latest


class EventClipWorker(SourceWorker):
    """Owns one recording's frame source, a face aligner and the magnification cache."""

    clipReady = Signal(int, object)  # request id, EventClip
    magnifiedReady = Signal(int, object, object)  # request id, uint8 T×S×S×3 crops, MagnifySettings
    heatmapReady = Signal(int, object, str)  # request id, S×S map in [0, 1] or None, explained class or why not

    def __init__(self, target: str, ids: RequestIds, cache: MagnificationCache, aligner: OnsetAligner,
                 fps: float | None = None):
        super().__init__()
        self._target = target
        self._fps = fps
        self._ids = ids
        self._cache = cache
        self._aligner = aligner  # shared by the view's successive workers: the models load once
        self._clip: EventClip | None = None
        self._clip_key: object = None

    @Slot()
    def work(self) -> None:
        """Open the recording and load the face models (runs first, in the worker thread)."""
        if self.open_target(self._target, self._fps):
            self._aligner.load()

    @Slot(int, object, object, object)
    def load(self, request_id: int, event_key: object, window: EventWindow, settings: MagnifySettings | None) -> None:
        """Decode ``window`` (skipped when stale), then magnify it when ``settings`` is given."""
        if self._source is None or self._ids.stale(request_id):
            return
        try:
            clip = read_event_clip(self._source, window, align=self._aligner,
                                   should_stop=lambda: self._ids.stale(request_id))
        except (SourceError, ValueError) as exc:
            self.failed.emit(f"{self._target}: cannot read frames {window.start}…{window.stop - 1}: {exc}")
            return
        if clip is None:
            return
        self._clip, self._clip_key = clip, event_key
        self.clipReady.emit(request_id, clip)
        if settings is not None:
            self.magnify(request_id, settings)

    @Slot(int, object)
    def explain(self, request_id: int, model_service) -> None:
        """Grad-CAM of the current event's onset/apex pair with the service's model (loaded once)."""
        if self._clip is None or self._ids.stale(request_id):
            return
        from tsfgui.model.weights import WeightsError

        try:
            model = model_service.get()
        except WeightsError as exc:
            self.heatmapReady.emit(request_id, None, str(exc))
            return
        if model is None:
            self.heatmapReady.emit(request_id, None, "no model: this analysis ran without weights")
            return
        result = event_heatmap(model, self._clip)
        if not self._ids.stale(request_id):
            if result is None:
                self.heatmapReady.emit(request_id, None, "no face on the onset frame")
            else:
                self.heatmapReady.emit(request_id, result[0], result[1])

    @Slot(int, object)
    def magnify(self, request_id: int, settings: MagnifySettings) -> None:
        """Magnify the current clip's crops with ``settings`` (from the cache when done before)."""
        if self._clip is None or self._clip.crops is None or self._ids.stale(request_id):
            return
        frames = magnified_crops(self._clip, settings, self._cache, self._clip_key)
        if not self._ids.stale(request_id):
            self.magnifiedReady.emit(request_id, frames, settings)
