"""Two-stage analysis of a live source: spot on every analysed frame, classify each spotted event once.

A file's analysis spots over the whole recording, then runs TSFmicro on every spotted interval's onset
and apex (:mod:`tsfgui.engine.interval_labels`). Live, the recording never ends, so
:class:`LiveSpotter` keeps the last seconds of signals and spots them again every ``hop_s``; an interval
is handed on once nothing that comes later can change it (no later burst can still merge with it, pair
with it into a macro-expression or make it part of speech), with its onset and apex face crops cut by
one alignment as the training pairs are. :class:`EventClassifier` runs the model on those pairs in its
own thread, so the signals of the newest frames never wait for the model.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from typing import Callable

import cv2
import numpy as np
import torch

from tsfgui.face import compose_affine, invert_affine
from tsfgui.model import select_device

from .interval_labels import label_pairs
from .results import FrameResult
from .spotting import SpotSettings, SpottedInterval, spot

#: Gaps between analysed frames up to this long are bridged by repeating the last frame's signals (the
#: newest frame wins in live use, so a busy moment skips a frame or two); longer ones read as no face.
BRIDGE_S = 0.25


@dataclass
class LiveEvent:
    """A spotted interval with the aligned onset and apex crops it is classified on (None where the
    onset frame showed no face)."""

    interval: SpottedInterval
    onset_crop: np.ndarray | None = None
    apex_crop: np.ndarray | None = None


class LiveSpotter:
    """Spots a live stream of :class:`FrameResult` (frames in order; some may be skipped).

    :meth:`add` takes each analysed frame (with its face crop) and returns the events that have become
    final since the last call. ``fps`` is the source's announced rate; once a few seconds have come the
    rate is measured from the frames' timestamps instead (cameras deliver fewer frames in dim light than
    they announce), and it decides how many frames the settings' seconds stand for."""

    def __init__(self, fps: float | None = None, settings: SpotSettings | None = None):
        self.settings = settings = settings or SpotSettings()
        self.announced_fps = fps if fps and fps > 0 else 30.0
        #: seconds after an interval's last moving frame before it is final: a later burst may still merge
        #: with it, pair with it into a macro-expression (or be its quiet other half, within pair_turn_gap_s
        #: plus 0.2 s), or chain it into a bout of speech until then
        self.settle_s = max(settings.merge_s, settings.pair_gap_s, settings.pair_turn_gap_s,
                            settings.talk_gap_s + settings.talk_pad_s) + settings.hop_s
        #: seconds of signals spotted each time: the baseline's window and the longest interval before it
        self.window_s = settings.baseline_s + settings.macro_max_s + self.settle_s
        self.crops_s = settings.macro_max_s + self.settle_s + 2 * settings.hop_s
        self._results: deque[FrameResult] = deque()
        self._crops: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # index → (crop, matrix)
        self._last_spot: int | None = None  # the frame spotted at last
        self._reported_offset = -1  # the offset of the last event handed on: later ones start after it
        self.spotted = 0  # events handed on so far
        #: the first movement spotted at the last spotting that is not final yet (None: none), for a
        #: "moving…" indication before its event is handed on
        self.pending: SpottedInterval | None = None

    @property
    def fps(self) -> float:
        """Frames per second of the source: measured over the kept frames once they span 2 s (and give a
        rate a camera can have, 1–240), else announced."""
        if len(self._results) >= 2:
            first, last = self._results[0], self._results[-1]
            span = (last.timestamp_ms - first.timestamp_ms) / 1000.0
            if span >= 2.0 and 1.0 <= (last.index - first.index) / span <= 240.0:
                return (last.index - first.index) / span
        return self.announced_fps

    def add(self, result: FrameResult) -> list[LiveEvent]:
        """Keep ``result`` (its crop as well, for a while) and, every ``hop_s``, spot the kept seconds:
        the events that became final since the last call, in order."""
        if self._results and result.index <= self._results[-1].index:
            raise ValueError(f"frame {result.index} came after frame {self._results[-1].index}: frames must come in order")
        face = result.face
        if face is not None and face.crop is not None:
            self._crops[result.index] = (face.crop, face.matrix)
        self._results.append(result.compact())
        # kept by frame number (whatever the camera's clock does): the last window_s and crops_s seconds
        fps = self.fps
        while self._results and result.index - self._results[0].index > self.window_s * fps:
            self._results.popleft()
        while self._crops and result.index - next(iter(self._crops)) > self.crops_s * fps:
            self._crops.popitem(last=False)
        due = self.settings.hop_s * fps
        if self._last_spot is not None and result.index - self._last_spot < due:
            return []
        self._last_spot = result.index
        return self._final_events()

    def _regular(self) -> list[FrameResult]:
        """The kept results on every frame index: short gaps repeat the frame before, long ones show no face."""
        fps, out = self.fps, []
        bridge = max(1, int(round(BRIDGE_S * fps)))
        previous: FrameResult | None = None
        for r in self._results:
            if previous is not None:
                gap = r.index - previous.index - 1
                for missing in range(previous.index + 1, r.index):
                    ts = previous.timestamp_ms + 1000.0 * (missing - previous.index) / fps
                    out.append(replace(previous, index=missing, timestamp_ms=ts) if gap <= bridge
                               else FrameResult(missing, ts, None))
            out.append(r)
            previous = r
        return out

    def finish(self) -> list[LiveEvent]:
        """The events not handed on yet, final or not: the source has ended, nothing more will come."""
        return self._final_events(settled=False)

    def _final_events(self, settled: bool = True) -> list[LiveEvent]:
        results = self._regular()
        if not results:
            return []
        fps = self.fps
        newest = results[-1].index
        settle = int(round(self.settle_s * fps))
        lag = int(round(self.settings.offset_lag_s * fps))  # the offset is set this far before the last moving frame
        events = []
        self.pending = None
        for interval in spot(results, fps, self.settings):
            if interval.onset <= self._reported_offset:
                continue  # handed on already (or overlapping one that was)
            if settled and interval.offset + lag + settle > newest:
                self.pending = interval  # this one and all later ones may still change
                break
            events.append(self._with_crops(interval))
            self._reported_offset = interval.offset
        self.spotted += len(events)
        return events

    def _with_crops(self, interval: SpottedInterval) -> LiveEvent:
        """The interval with its onset crop and its apex cut with the onset's alignment (where both frames
        showed a face; the first frame with a face from the onset to the apex stands in for the onset)."""
        onset = next((i for i in range(interval.onset, interval.apex) if i in self._crops), None)
        apex = self._crops.get(interval.apex)
        if onset is None or apex is None:
            return LiveEvent(interval)
        onset_crop, onset_matrix = self._crops[onset]
        apex_crop, apex_matrix = apex
        size = onset_crop.shape[0]
        # apex crop → apex frame → onset crop: the apex as the onset's alignment cuts it
        to_onset = compose_affine(onset_matrix, invert_affine(apex_matrix))
        realigned = cv2.warpAffine(apex_crop, to_onset, (size, size), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
        return LiveEvent(interval, onset_crop, realigned)


class EventClassifier:
    """Classifies :class:`LiveEvent` s with TSFmicro in a thread of its own, in the order they came, and
    hands each interval, labelled, to ``on_event`` (from that thread). An event without crops (no face at
    its onset) or without a model is handed on unlabelled. An error of the model or of ``on_event``
    stops the thread; :meth:`submit` and :meth:`close` raise it in the caller."""

    def __init__(self, model, on_event: Callable[[SpottedInterval], None], *,
                 device: str | torch.device | None = None):
        self.model = model
        self.device = select_device(device)
        if model is not None:
            self.model = model.eval().to(self.device)
        self.on_event = on_event
        self.classified = 0
        self.model_seconds = 0.0
        self._queue: queue.Queue[LiveEvent | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="live-events", daemon=True)
        self._thread.start()

    def submit(self, event: LiveEvent) -> None:
        """Queue ``event`` for classification (raises the thread's error, if it stopped on one)."""
        self._raise()
        self._queue.put(event)

    def _work(self) -> None:
        try:
            while (event := self._queue.get()) is not None:
                interval = replace(event.interval, label=None, probability=None)
                if self.model is not None and event.onset_crop is not None:
                    started = time.perf_counter()
                    [(label, probability)] = label_pairs(self.model, [event.onset_crop], [event.apex_crop],
                                                         device=self.device)
                    self.model_seconds += time.perf_counter() - started
                    self.classified += 1
                    interval = replace(interval, label=label, probability=probability)
                self.on_event(interval)
        except BaseException as exc:  # noqa: BLE001 (said in the caller)
            self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self, timeout: float | None = 30.0) -> None:
        """Classify what is queued, stop the thread and raise its error, if any."""
        self._queue.put(None)
        self._thread.join(timeout)
        self._raise()
