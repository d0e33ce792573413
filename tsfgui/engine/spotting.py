"""Spotting: when do micro-expressions happen? Intervals from the per-region difference signals.

The signal is the engine's rolling-lag difference ``|frame(t) − frame(t − k)|`` per facial region
(brows, eyes, nose, mouth). A facial movement that rises and returns within about half a second shows
as one or two bursts of this difference. Each region's signal is turned into a robust z-score against
its own local baseline (median and MAD over a sliding window of ``baseline_s``), so slow lighting
drift and each person's noise level do not matter. Frames where the eyes dominate the brows by a
factor (``blink_ratio``) are blinks and are ignored. The score of a frame is the largest z-score of
brows, nose and mouth; runs of frames above ``threshold`` closer than ``merge_s`` are one interval,
from the reference of its first frame (onset) to its last frame (offset), with the apex at the
highest score. Intervals up to ``micro_max_s`` are micro-expressions, longer ones (up to
``macro_max_s``) macro-expressions; longer still (talking, head turns) are dropped.

Evaluation follows MEGC: a spotted interval is a hit when its IoU with a ground-truth interval is at
least 0.5 (each ground-truth interval counted once).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from .results import DIFF_KEYS, FrameResult


@dataclass(frozen=True)
class SpotSettings:
    """Thresholds of :func:`spot` (defaults tuned on the synthetic sample, see README)."""

    threshold: float = 3.0
    baseline_s: float = 2.0
    merge_s: float = 0.3
    blink_ratio: float = 1.5
    micro_max_s: float = 0.6  # 0.5 s of movement plus the frames the lag adds at the edges
    macro_max_s: float = 4.0
    regions: tuple[str, ...] = ("brows", "nose", "mouth")


@dataclass
class SpottedInterval:
    """One spotted movement: frames ``onset``…``offset`` with its ``apex``, kind ``micro``/``macro``,
    the peak ``score`` (robust z) and the region that moved most."""

    onset: int
    apex: int
    offset: int
    kind: str
    score: float
    region: str
    label: str | None = None
    probability: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def robust_z(signal: np.ndarray, window: int) -> np.ndarray:
    """(x − local median) / (1.4826 · local MAD) over a centred window; NaN where x is NaN."""
    n = len(signal)
    out = np.full(n, np.nan)
    half = max(window // 2, 2)
    for i in np.flatnonzero(~np.isnan(signal)):
        w = signal[max(0, i - half):i + half + 1]
        w = w[~np.isnan(w)]
        if len(w) < 5:
            continue
        med = np.median(w)
        mad = 1.4826 * np.median(np.abs(w - med)) + 1e-3
        out[i] = (signal[i] - med) / mad
    return out


_RECORD = np.dtype([("index", np.int64), ("reference", np.int64), ("values", np.float32, (len(DIFF_KEYS),)),
                    ("label", np.int16), ("confidence", np.float32)])


class SignalRecorder:
    """Collects what spotting needs, frame by frame, in 42 bytes per frame (an hour of video at
    30 fps is under 5 MB) in fixed-size numpy blocks, so long videos are spotted without keeping
    their results and without per-frame Python objects."""

    BLOCK = 8192

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self._block = np.empty(self.BLOCK, _RECORD)
        self._used = 0
        self._label_names: list[str] = []
        self._label_codes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._blocks) * self.BLOCK + self._used

    def add(self, r: FrameResult) -> None:
        if self._used == self.BLOCK:
            self._blocks.append(self._block)
            self._block = np.empty(self.BLOCK, _RECORD)
            self._used = 0
        row = self._block[self._used]
        row["index"] = r.index
        row["reference"] = -1 if r.reference_index is None else r.reference_index
        row["values"] = [r.diff.get(k, np.nan) for k in DIFF_KEYS]
        label = r.label
        if label is None:
            row["label"] = -1
        else:
            code = self._label_codes.get(label)
            if code is None:
                code = self._label_codes[label] = len(self._label_names)
                self._label_names.append(label)
            row["label"] = code
        confidence = r.confidence
        row["confidence"] = np.nan if confidence is None else confidence
        self._used += 1

    def _records(self) -> np.ndarray:
        return np.concatenate([*self._blocks, self._block[:self._used]])

    @property
    def index(self) -> np.ndarray:
        """Frame indices in the order added."""
        return self._records()["index"]

    @property
    def values(self) -> np.ndarray:
        """Difference signals, frames × :data:`DIFF_KEYS` (float64, NaN where missing)."""
        return self._records()["values"].astype(np.float64)

    def spot(self, fps: float, settings: SpotSettings | None = None) -> list[SpottedInterval]:
        rec = self._records()
        names = self._label_names
        labels = [names[c] if c >= 0 else None for c in rec["label"].tolist()]
        confidences = [None if np.isnan(c) else c for c in rec["confidence"].tolist()]
        return spot_signals(rec["index"], rec["reference"], rec["values"].astype(np.float64), fps,
                            settings or SpotSettings(), labels, confidences)


def spot(results: Sequence[FrameResult], fps: float, settings: SpotSettings | None = None) -> list[SpottedInterval]:
    """Spotted intervals in a run of results (in frame order), with the model's label at the apex."""
    recorder = SignalRecorder()
    for r in results:
        recorder.add(r)
    return recorder.spot(fps, settings)


def spot_signals(index: np.ndarray, reference: np.ndarray, values: np.ndarray, fps: float,
                 settings: SpotSettings, labels: Sequence[str | None] | None = None,
                 confidences: Sequence[float | None] | None = None) -> list[SpottedInterval]:
    """:func:`spot` on arrays: frame indices, reference indices (−1: none), difference signals
    (frames × :data:`DIFF_KEYS`)."""
    if len(index) == 0:
        return []
    window = max(5, int(round(settings.baseline_s * fps)))
    z = {key: robust_z(values[:, i], window) for i, key in enumerate(DIFF_KEYS)}
    stacked = np.stack([z[r] for r in settings.regions], axis=1)
    with np.errstate(invalid="ignore"):
        score = np.where(np.isnan(stacked).all(axis=1), np.nan, np.nanmax(np.nan_to_num(stacked, nan=-np.inf), axis=1))
        blink = (z["eyes"] > settings.threshold) & (z["eyes"] > settings.blink_ratio * np.nan_to_num(z["brows"]))
    score = np.where(blink | np.isnan(score), -np.inf, score)
    above = np.flatnonzero(score > settings.threshold)
    if len(above) == 0:
        return []
    merge = max(1, int(round(settings.merge_s * fps)))
    groups: list[list[int]] = [[above[0]]]
    for i in above[1:]:
        if i - groups[-1][-1] <= merge:
            groups[-1].append(i)
        else:
            groups.append([i])
    intervals = []
    for g in groups:
        first, last = g[0], g[-1]
        peak = g[int(np.argmax(score[g]))]
        onset = int(reference[first]) if reference[first] >= 0 else int(index[first])
        lag = int(index[first]) - onset
        # the return to rest shows as a second burst one lag after the apex; when it stayed below
        # the threshold, the movement still lasted until then
        offset = max(int(index[last]), int(index[peak]) + lag)
        duration = (offset - onset) / fps
        if duration > settings.macro_max_s:
            continue
        kind = "micro" if duration <= settings.micro_max_s + 1e-9 else "macro"
        region = max(settings.regions, key=lambda r: np.nan_to_num(z[r][peak], nan=-np.inf))
        intervals.append(SpottedInterval(onset, int(index[peak]), offset, kind, float(score[peak]), region,
                                         labels[peak] if labels is not None else None,
                                         confidences[peak] if confidences is not None else None))
    return intervals


@dataclass
class SpotScore:
    hits: int
    spotted: int
    truth: int

    @property
    def precision(self) -> float:
        return self.hits / self.spotted if self.spotted else 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.truth if self.truth else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    union = max(a[1], b[1]) - min(a[0], b[0]) + 1
    return max(inter, 0) / union if union > 0 else 0.0


def evaluate_spotting(spotted: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]],
                      min_iou: float = 0.5) -> SpotScore:
    """MEGC spotting score: hits = spotted intervals with IoU ≥ ``min_iou`` to a not-yet-matched truth."""
    used: set[int] = set()
    hits = 0
    for s in spotted:
        best = max(((iou(s, t), j) for j, t in enumerate(truth) if j not in used), default=(0.0, -1))
        if best[0] >= min_iou:
            used.add(best[1])
            hits += 1
    return SpotScore(hits, len(spotted), len(truth))
