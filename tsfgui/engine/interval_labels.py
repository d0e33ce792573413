"""Classify spotted intervals as TSFmicro is trained: the face is found and aligned on the interval's
onset frame, that one alignment cuts the apex frame too, and the model compares the two crops.

During the analysis every frame is compared with the frame one lag before it (what the live view
and the per-frame CSV need); a spotted interval has its own onset and apex, so its class is computed
again from exactly that pair, cut by :func:`tsfgui.face.align_pair` as the training crops are
(``tsfgui.train.preprocess``), so that the difference shows facial motion and not re-alignment jitter.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
import torch

from tsfgui.face import AlignTemplate, FaceDetector, FaceTracker, LandmarkPredictor, align_pair
from tsfgui.io import FrameSource
from tsfgui.model import select_device

from .spotting import SpottedInterval


def _pair_crops(source: FrameSource, interval: SpottedInterval, template: AlignTemplate, detector: FaceDetector,
                predictor: LandmarkPredictor) -> tuple[np.ndarray, np.ndarray] | None:
    if interval.apex <= interval.onset:
        return None
    pair = align_pair(source.read(interval.onset).image, [source.read(interval.apex).image], template=template,
                      detector=detector, predictor=predictor)
    return None if pair is None else (pair.onset, pair.apexes[0])


def classify_intervals(model, source: FrameSource, intervals: Sequence[SpottedInterval], *,
                       device: str | torch.device | None = None, batch_size: int = 8,
                       tracker: FaceTracker | None = None,
                       should_stop: Callable[[], bool] | None = None) -> list[SpottedInterval]:
    """Copies of ``intervals`` with ``label`` and ``probability`` from TSFmicro on (onset, apex).

    The source must be seekable (a file or a frame folder). An interval whose onset frame shows no
    face, or whose apex is its onset, gets no label (None) rather than a guess. Without a model the
    intervals are returned unchanged. ``tracker``: the analysis' tracker, whose detector, landmark
    model and crop template are reused (default: new ones). ``should_stop`` is polled between intervals.
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
        with torch.inference_mode():
            onset = model.preprocess([p[1] for p in pending]).to(target)
            apex = model.preprocess([p[2] for p in pending]).to(target)
            probabilities = model(onset, apex).float().softmax(dim=1).cpu().numpy()
        for (i, _, _), probs in zip(pending, probabilities):
            best = int(np.argmax(probs))
            labelled[i] = replace(labelled[i], label=model.class_names[best], probability=float(probs[best]))
        pending.clear()

    for i, interval in enumerate(intervals):
        if should_stop is not None and should_stop():
            break
        crops = _pair_crops(source, interval, template, detector, predictor)
        if crops is not None:
            pending.append((i, *crops))
        if len(pending) >= batch_size:
            flush()
    flush()
    return labelled
