"""The per-frame figures a plot draws, indexed by frame: optical flow (head motion removed) and
grey-level difference per region, head pose (degrees) and class probabilities, in float32 numpy arrays with NaN where a frame is not analysed yet. The
session fills them as results arrive; the plots read them (they keep no copy)."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from tsfgui.engine import DIFF_KEYS, FrameResult


class FrameTraces:
    """``flow`` and ``diff`` (frames × :data:`~tsfgui.engine.DIFF_KEYS`), ``pose`` (frames × 3, degrees) and
    ``probabilities`` (frames × classes); they grow when a frame beyond their length arrives."""

    def __init__(self, frame_count: int = 0, classes: int = 0) -> None:
        self.reset(frame_count, classes)

    def reset(self, frame_count: int, classes: int) -> None:
        """Empty traces for ``frame_count`` frames and ``classes`` classes."""
        self.diff = np.full((frame_count, len(DIFF_KEYS)), np.nan, np.float32)
        self.flow = np.full((frame_count, len(DIFF_KEYS)), np.nan, np.float32)
        self.pose = np.full((frame_count, 3), np.nan, np.float32)
        self.probabilities = np.full((frame_count, classes), np.nan, np.float32)

    def set_classes(self, classes: int, results: Iterable[FrameResult] = ()) -> None:
        """Another number of classes: the probability trace starts again, refilled from ``results``."""
        if classes != self.probabilities.shape[1]:
            self.probabilities = np.full((len(self.diff), classes), np.nan, np.float32)
            self.add(results)

    def __len__(self) -> int:
        return len(self.diff)

    def add(self, results: Iterable[FrameResult]) -> None:
        """Copy the figures of analysed frames in."""
        for r in results:
            if r.index >= len(self.diff):
                self._grow(r.index + 1)
            if r.diff:
                self.diff[r.index] = [r.diff.get(k, np.nan) for k in DIFF_KEYS]
            if r.flow:
                self.flow[r.index] = [r.flow.get(k, np.nan) for k in DIFF_KEYS]
            if r.pose is not None:
                self.pose[r.index] = np.degrees(r.pose)
            if r.probabilities is not None and self.probabilities.shape[1] == len(r.probabilities):
                self.probabilities[r.index] = r.probabilities

    def _grow(self, n: int) -> None:
        extra = max(n - len(self.diff), 256)

        def grown(a: np.ndarray) -> np.ndarray:
            return np.vstack([a, np.full((extra, a.shape[1]), np.nan, np.float32)])

        self.diff, self.flow = grown(self.diff), grown(self.flow)
        self.pose, self.probabilities = grown(self.pose), grown(self.probabilities)
