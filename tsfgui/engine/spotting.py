"""Spotting: when do micro-expressions happen? Intervals from the per-region difference signals.

The signal is the engine's rolling-lag difference ``|frame(t) − frame(t − k)|`` per facial region
(brows, eyes, nose, mouth). A facial movement that rises and returns within about half a second shows
as one or two bursts of this difference. The steps:

1. **Robust z-score** of each region against a long local baseline (median and MAD over
   ``baseline_s``, evaluated every ``hop_s`` and interpolated). The window is long so that a talking
   bout or a macro-expression cannot become its own baseline; the median and MAD ignore them.
2. **Blinks**: a run of frames where the eyes' z exceeds the threshold and, at its peak, exceeds the
   brows' by ``blink_ratio`` is a blink; it and ``blink_pad_s`` around it are ignored (a blink also
   moves the brows and the nose a little).
3. The score of a frame is the largest z of brows, nose and mouth. Frames in the first ``warmup_s``
   after the references start (tracker settling) are ignored.
4. Runs of frames above ``threshold`` closer than ``merge_s`` form one candidate. A candidate of a
   single frame is noise unless its score reaches ``strong × threshold``.
5. **Talking**: candidates led by the mouth that follow each other within ``talk_gap_s`` and span at
   least ``talk_min_s`` are a talking bout, not expressions, and are dropped.
6. Edges: the difference rises a few frames after the movement starts and lasts until about one lag
   after it ends, so onset = first frame − ``onset_lead_s`` and offset = last frame − ``offset_lag_s``
   (fitted on synthetic interviews, see README). The apex is the frame of the highest score. Up to
   ``micro_max_s`` is a micro-expression, up to ``macro_max_s`` a macro-expression; longer ones (head
   turns) are dropped.

Evaluation follows MEGC: a spotted interval is a hit when its IoU with a ground-truth interval is at
least 0.5 (each ground-truth interval counted once).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from .results import DIFF_KEYS, FrameResult


@dataclass(frozen=True)
class SpotSettings:
    """Thresholds of the spotting steps (see the module docstring; defaults tuned on synthetic
    interviews with seeds 201–206, evaluated on others, see README)."""

    threshold: float = 3.0
    baseline_s: float = 20.0
    hop_s: float = 0.5
    merge_s: float = 0.3
    strong: float = 2.0
    blink_ratio: float = 1.5
    blink_pad_s: float = 0.1
    warmup_s: float = 0.3
    talk_gap_s: float = 1.0
    talk_min_s: float = 1.0
    talk_peaks: int = 3
    onset_lead_s: float = 0.1
    offset_lag_s: float = 0.067
    micro_max_s: float = 0.55  # 0.5 s and a frame or so of edge uncertainty
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


def robust_z(signal: np.ndarray, window: int, hop: int = 1) -> np.ndarray:
    """(x − local median) / (1.4826 · local MAD) over a centred ``window``; the median and MAD are
    computed every ``hop`` frames and interpolated between. NaN where x is NaN."""
    n = len(signal)
    out = np.full(n, np.nan)
    half = max(window // 2, 2)
    centres = np.arange(0, n, max(1, hop))
    medians = np.full(len(centres), np.nan)
    spreads = np.full(len(centres), np.nan)
    for j, c in enumerate(centres):
        w = signal[max(0, c - half):c + half + 1]
        w = w[~np.isnan(w)]
        if len(w) < 5:
            continue
        medians[j] = np.median(w)
        spreads[j] = 1.4826 * np.median(np.abs(w - medians[j])) + 1e-3
    known = ~np.isnan(medians)
    if not known.any():
        return out
    frames = np.arange(n)
    median = np.interp(frames, centres[known], medians[known])
    spread = np.interp(frames, centres[known], spreads[known])
    return (signal - median) / spread


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

    def signals(self) -> tuple[np.ndarray, np.ndarray]:
        """Frame indices and difference signals (frames × :data:`DIFF_KEYS`, float32, NaN where
        missing), from one pass over the blocks."""
        rec = self._records()
        return rec["index"], rec["values"]

    def labels(self, records: np.ndarray | None = None) -> Sequence[str | None]:
        """The label of each frame (None where not analysed), looked up from its class code on access."""
        names = self._label_names
        codes = (self._records() if records is None else records)["label"]
        return _LazyColumn(codes, lambda code: names[code] if code >= 0 else None)

    def spot(self, fps: float, settings: SpotSettings | None = None) -> list[SpottedInterval]:
        rec = self._records()
        labels = self.labels(rec)
        confidences = _LazyColumn(rec["confidence"], lambda value: None if np.isnan(value) else float(value))
        return spot_signals(rec["index"], rec["reference"], rec["values"], fps, settings or SpotSettings(),
                            labels, confidences)


class _LazyColumn(Sequence):
    """A recorder column converted item by item on access (spotting reads only the apexes)."""

    def __init__(self, values: np.ndarray, convert: Callable):
        self.values, self.convert = values, convert

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i):  # type: ignore[override]
        return self.convert(self.values[i].item())


def spot(results: Sequence[FrameResult], fps: float, settings: SpotSettings | None = None) -> list[SpottedInterval]:
    """Spotted intervals in a run of results (in frame order), with the model's label at the apex."""
    recorder = SignalRecorder()
    for r in results:
        recorder.add(r)
    return recorder.spot(fps, settings)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) of each run of True in ``mask``."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


def _blink_mask(z: dict[str, np.ndarray], settings: SpotSettings, pad: int) -> np.ndarray:
    eyes = np.nan_to_num(z["eyes"], nan=-np.inf)
    brows = np.maximum(np.nan_to_num(z["brows"], nan=0.0), 0.0)
    mask = np.zeros(len(eyes), bool)
    for first, last in _runs(eyes > settings.threshold):
        peak = first + int(np.argmax(eyes[first:last + 1]))
        if eyes[peak] > settings.blink_ratio * brows[peak]:
            mask[max(0, first - pad):last + 1 + pad] = True
    return mask


def _warmup_mask(reference: np.ndarray, frames: int) -> np.ndarray:
    """True where there is no reference, and for ``frames`` frames after references (re)start."""
    has = reference >= 0
    mask = ~has
    for first, _ in _runs(has):
        mask[first:first + frames] = True
    return mask


def _leading_region(z: dict[str, np.ndarray], regions: Sequence[str], frames: Sequence[int]) -> str:
    return max(regions, key=lambda r: np.nanmax(np.nan_to_num(z[r][frames], nan=-np.inf)))


def _peaks_above(signal: np.ndarray, threshold: float) -> int:
    """Local maxima of ``signal`` above ``threshold``."""
    x = np.nan_to_num(signal, nan=-np.inf)
    inner = x[1:-1]
    return int(np.sum((inner > threshold) & (inner >= x[:-2]) & (inner > x[2:])))


def _drop_talking(groups: list[list[int]], z: dict[str, np.ndarray], settings: SpotSettings,
                  fps: float) -> list[list[int]]:
    """Candidates led by the mouth that chain within ``talk_gap_s``, span at least ``talk_min_s`` and
    open and close the mouth repeatedly (``talk_peaks`` peaks or more) are talking, not expressions."""
    mouth = [_leading_region(z, settings.regions, g) == "mouth" for g in groups]
    gap = settings.talk_gap_s * fps
    keep = [True] * len(groups)
    i = 0
    while i < len(groups):
        j = i
        while mouth[i] and j + 1 < len(groups) and mouth[j + 1] and groups[j + 1][0] - groups[j][-1] <= gap:
            j += 1
        first, last = groups[i][0], groups[j][-1]
        if (mouth[i] and (last - first) / fps >= settings.talk_min_s
                and _peaks_above(z["mouth"][max(0, first - 1):last + 2], settings.threshold) >= settings.talk_peaks):
            keep[i:j + 1] = [False] * (j - i + 1)
        i = j + 1
    return [g for g, k in zip(groups, keep) if k]


def spot_signals(index: np.ndarray, reference: np.ndarray, values: np.ndarray, fps: float,
                 settings: SpotSettings, labels: Sequence[str | None] | None = None,
                 confidences: Sequence[float | None] | None = None) -> list[SpottedInterval]:
    """:func:`spot` on arrays: frame indices, reference indices (−1: none), difference signals
    (frames × :data:`DIFF_KEYS`)."""
    if len(index) == 0:
        return []
    frames = lambda seconds: int(round(seconds * fps))  # noqa: E731
    window, hop = max(5, frames(settings.baseline_s)), max(1, frames(settings.hop_s))
    # float32 throughout: an hour of video costs a few MB here, not tens
    z = {key: robust_z(values[:, i].astype(np.float32), window, hop).astype(np.float32)
         for i, key in enumerate(DIFF_KEYS)}
    score = np.full(len(index), -np.inf, np.float32)
    for region in settings.regions:
        np.fmax(score, z[region], out=score)  # NaN (no face, no reference) never wins
    ignored = _blink_mask(z, settings, frames(settings.blink_pad_s)) | _warmup_mask(reference, frames(settings.warmup_s))
    score = np.where(ignored, -np.inf, score)
    above = np.flatnonzero(score > settings.threshold)
    if len(above) == 0:
        return []
    merge = max(1, frames(settings.merge_s))
    groups: list[list[int]] = [[int(above[0])]]
    for i in above[1:]:
        if i - groups[-1][-1] <= merge:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    groups = [g for g in groups if len(g) > 1 or score[g[0]] >= settings.strong * settings.threshold]
    groups = _drop_talking(groups, z, settings, fps)
    intervals = []
    for g in groups:
        peak = g[int(np.argmax(score[g]))]
        apex = int(index[peak])
        onset = min(int(index[g[0]]) - frames(settings.onset_lead_s), apex)
        offset = max(int(index[g[-1]]) - frames(settings.offset_lag_s), apex)
        duration = (offset - onset) / fps
        if duration > settings.macro_max_s:
            continue
        kind = "micro" if duration <= settings.micro_max_s + 1e-9 else "macro"
        intervals.append(SpottedInterval(max(onset, 0), apex, offset, kind, float(score[peak]),
                                         _leading_region(z, settings.regions, [peak]),
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
