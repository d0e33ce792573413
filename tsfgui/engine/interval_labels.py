"""Classify spotted intervals as TSFmicro is trained: the face is found and aligned on the interval's
onset frame, that one alignment cuts the apex frame too, and the model compares the two crops.

During the analysis every frame is compared with the frame one lag before it (what the live view
and the per-frame CSV need); a spotted interval has its own onset and apex, so its class is computed
again from exactly that pair, cut by :func:`tsfgui.face.align_pair` as the training crops are
(``tsfgui.train.preprocess``), so that the difference shows facial motion and not re-alignment jitter.
Where the analysis followed the face, its box on the onset frame (:class:`FaceBoxes`) is landmarked
directly: no detection on the whole frame per interval.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
import torch

from tsfgui.face import AlignTemplate, FaceDetector, FaceTracker, LandmarkPredictor, align_pair
from tsfgui.face.detector import BBox
from tsfgui.io import FrameSource
from tsfgui.model import select_device

from .results import FrameResult
from .spotting import SpottedInterval


class FaceBoxes:
    """The primary face's box on each analysed frame, recorded from the analysis' results (4 floats,
    32 bytes, a frame, in blocks: an hour at 30 fps takes 3.5 MB), for stage 2 to landmark without detecting."""

    BLOCK = 4096

    def __init__(self) -> None:
        self._blocks: dict[int, np.ndarray] = {}

    def add(self, result: FrameResult) -> None:
        """Record ``result``'s primary face box (nothing when it shows no face)."""
        face = result.face
        if face is None or not face.found:
            return
        block = self._blocks.get(result.index // self.BLOCK)
        if block is None:
            block = self._blocks[result.index // self.BLOCK] = np.full((self.BLOCK, 4), np.nan, np.float64)
        block[result.index % self.BLOCK] = face.bbox

    def get(self, index: int) -> BBox | None:
        """The box recorded for frame ``index``, None when none was."""
        block = self._blocks.get(index // self.BLOCK)
        if block is None or np.isnan(block[index % self.BLOCK, 0]):
            return None
        return tuple(float(v) for v in block[index % self.BLOCK])  # type: ignore[return-value]


def _pair_crops(source: FrameSource, interval: SpottedInterval, template: AlignTemplate, detector: FaceDetector,
                predictor: LandmarkPredictor, boxes: FaceBoxes | None) -> tuple[np.ndarray, np.ndarray] | None:
    if interval.apex <= interval.onset:
        return None
    box = boxes.get(interval.onset) if boxes is not None else None
    pair = align_pair(source.read(interval.onset).image, [source.read(interval.apex).image], template=template,
                      detector=detector, predictor=predictor, box=box)
    return None if pair is None else (pair.onset, pair.apexes[0])


def label_pairs(model, onsets: Sequence[np.ndarray], apexes: Sequence[np.ndarray], *,
                device: str | torch.device | None = None) -> list[tuple[str, float]]:
    """The class TSFmicro gives each (onset, apex) pair of aligned BGR crops, with its probability, in
    one batch on ``device`` (default: the model's own)."""
    target = next(model.parameters()).device if device is None else torch.device(device)
    with torch.inference_mode():
        onset = model.preprocess(list(onsets)).to(target)
        apex = model.preprocess(list(apexes)).to(target)
        probabilities = model(onset, apex).float().softmax(dim=1).cpu().numpy()
    best = probabilities.argmax(axis=1)
    return [(model.class_names[int(b)], float(p[b])) for b, p in zip(best, probabilities)]


def classify_intervals(model, source: FrameSource, intervals: Sequence[SpottedInterval], *,
                       device: str | torch.device | None = None, batch_size: int = 8,
                       tracker: FaceTracker | None = None, boxes: FaceBoxes | None = None,
                       should_stop: Callable[[], bool] | None = None) -> list[SpottedInterval]:
    """Copies of ``intervals`` with ``label`` and ``probability`` from TSFmicro on (onset, apex).

    The source must be seekable (a file or a frame folder). An interval whose onset frame shows no
    face, or whose apex is its onset, gets no label (None) rather than a guess. Without a model the
    intervals are returned unchanged. ``tracker``: the analysis' tracker, whose detector, landmark
    model and crop template are reused (default: new ones). ``boxes``: the face boxes the analysis
    recorded; an onset frame with a box is landmarked in it instead of detected on (frames without
    one are detected on). ``should_stop`` is polled between intervals.
    """
    if model is None or not intervals:
        return list(intervals)
    if not source.info.seekable:
        raise ValueError(f"{source.info.name} cannot seek; intervals are classified on files and frame folders")
    tracker = tracker or FaceTracker()
    template, detector, predictor = tracker.settings.template, tracker.detector, tracker.predictor
    target = select_device(device)
    model = model.eval().to(target)
    labelled = [replace(interval, label=None, probability=None) for interval in intervals]
    pending: list[tuple[int, np.ndarray, np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        labels = label_pairs(model, [p[1] for p in pending], [p[2] for p in pending], device=target)
        for (i, _, _), (label, probability) in zip(pending, labels):
            labelled[i] = replace(labelled[i], label=label, probability=probability)
        pending.clear()

    for i, interval in enumerate(intervals):
        if should_stop is not None and should_stop():
            break
        crops = _pair_crops(source, interval, template, detector, predictor, boxes)
        if crops is not None:
            pending.append((i, *crops))
        if len(pending) >= batch_size:
            flush()
    flush()
    return labelled
