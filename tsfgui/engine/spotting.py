"""Spotting: when do micro- and macro-expressions happen? Intervals from per-region motion signals.

The signal of each facial region (brows, eyes, nose, mouth) is by default the patch motion of the optical
flow between each frame and its reference 0.2 s earlier with the head's own motion removed (the 90th
percentile of the region's patches' robust z, :class:`tsfgui.engine.flow.PatchMotion`);
``signal="flow-mean"`` uses the regions' mean flow in px, ``signal="diff"`` the grey-level difference.
A movement that rises and returns shows as one or two bursts of it. The steps:

1. **Robust z-score** of each region against a long local baseline (median and MAD over
   ``baseline_s``, evaluated every ``hop_s`` and interpolated). The window is long so that a talking
   bout or a macro-expression cannot become its own baseline; the median and MAD ignore them.
2. **Blinks**: a run of frames where the eyes' z exceeds the threshold and their flow, in pixels,
   exceeds ``blink_ratio`` × the brows' is a blink; it and ``blink_pad_s`` around it are ignored. (In
   z the calm eyes' region often outscores the brows when a brow raise drags the skin above the eyes
   along; in pixels a blink moves the lids more than the brows, a brow movement the other way round.)
   Not where the nose's or the mouth's z exceeds ``blink_nose`` × the eyes' (a nose wrinkler or a smile
   drags the lower lids).
   **Whole face**: where brows, eyes, nose and mouth all exceed ``whole_face_z`` at once (a hand over
   the face, a lighting jump, the face lost), frames are ignored, with ``whole_face_pad_s`` around (a
   hand comes in over one part of the face first). What moves every region a little at
   once (noise, flicker) is removed first: each region's signal minus ``common`` × the smallest of the
   others'.
3. The score of a frame is the largest z of ``regions`` (brows, nose, mouth). Frames in the first
   ``warmup_s`` after the references start (tracker settling, a face coming back) are ignored.
4. Runs of frames above ``threshold`` closer than ``merge_s`` form one candidate, which then grows on
   both sides while the score stays above ``edge`` (hysteresis: the edges of a movement are weaker than
   its middle). A candidate of a single frame is noise unless its score reaches ``strong × threshold``.
   With the patch motion and the regions' mean flow both at hand, candidates are found on the two
   together: per region (z of the patch motion + ``flow_weight`` × z of the mean flow) / √(1 +
   ``flow_weight``²) above ``joint_threshold`` (``joint_talk_threshold`` during speech). A weak movement
   both read stands out of their joint noise; a stray patch, or jitter of a whole region, moves one of
   them. Everything else (edges, pairs, blinks) stays on the patch motion's z.
5. **Talking** (found before step 3): bursts of the mouth's mean flow beyond the rest of the face's
   (the ``common`` removal) above ``talk_px`` px that follow each other within ``talk_gap_s``, span at
   least ``talk_min_s`` and show ``talk_peaks`` peaks standing out by ``talk_prominence`` of their
   height and by ``talk_px`` (syllables; the rise and the return of a mouth macro-expression are two) are
   speech (in pixels, not z: where people talk
   most of the time the baseline of any z-score is speech itself; without the flow, the mouth's z above
   ``talk_z``). There, and ``talk_pad_s`` around, the mouth and the nose (the jaw pulls the nostrils) do
   not count and a candidate must reach ``talk_threshold``, while a clear movement of the brows during
   speech is still spotted. A candidate led by the mouth or nose with ``talk_around`` or more other
   mouth peaks within ``talk_gap_s`` before and after it is a syllable, not a transient, and is dropped.
6. **Macro pairs**: the rise and the return of a longer movement are two bursts. With the regions' mean
   flow vectors (``drift``), two candidates led by the same region are one movement when each moves one
   way (the sum of its vectors at least ``pair_turn`` of their summed lengths and ``pair_net`` px long)
   and either the second turns back (their sums' cosine at most −``pair_cos``) within
   ``pair_turn_gap_s``, or both peaks exceed ``pair_z`` within ``pair_gap_s``; a micro-expression
   rises and returns within its own burst, so two neighbours do not pair. With ``pair_across`` the
   face's vector (brows', nose's and mouth's side by side) is read as well, and a turn back in it pairs
   two candidates whether or not one region leads both (a smile's rise led by the cheeks, its return by
   the mouth). The drift's horizontal part is mirrored about the face's midline, so a symmetric movement
   (lip corners apart) adds up. A pair is one rise and one return: a third burst starts anew. A lone
   burst that moves one way (net at least ``lone_net`` px) is half of a longer movement whose other half
   stayed under every bar: its region's vectors projected on its direction and summed frame by frame
   follow the position, and where that sum comes back by ``lone_back`` of the burst's net within
   ``pair_turn_gap_s`` after it (its return) or before it (its rise), the interval takes that half in.
   Without vectors (older results, the difference) strength and timing alone decide.
7. **Edges and apex** from the curve: a movement shows as one or two bumps of the score (its rise and
   its return; the runs above ``edge_fraction`` of its top, or above ``bump_z`` where that is lower: the
   return of a strong rise can stay under a fraction of it; of a pair, the rise's and the return's
   bursts are each read at their own height). The apex is the top of the first bump,
   never the offset unless the interval is one frame. From the first bump's start the curve is followed
   back while it stays above ``edge_fraction`` of that bump's top and does not climb again (at most
   ``edge_reach_s``), from the last bump's end forward alike: the feet. Each frame is compared with a
   reference one lag earlier, so the return's signal outlasts the movement by that lag (read from the
   references). A lone bump with a weaker burst of its region just before it (above ``partner_z`` for
   ``partner_min_s`` or more, ending within ``partner_gap_s``) is a return whose rise stayed under the
   threshold: the interval starts from that rise, and its apex is the rise's top (a lone rise is held
   open by ``min_fall_s``; a lone return put the interval a rise late). Onset = first foot −
   ``onset_lead_s``, offset = last foot − lag + ``offset_tail_s``,
   at least ``min_fall_s`` after the apex (``edge_fraction=0``: the span above ``edge`` instead, the
   earlier rule). Up to ``micro_max_s`` is a micro-expression (MEGC: at most 0.5 s), up to
   ``macro_max_s`` a macro-expression; longer ones are dropped.
8. **Head motion**: an interval during which the head turns faster than ``head_speed`` rad/s (from the
   per-frame pose, smoothed over ``pose_smooth_s`` first: the pose of jittery landmarks jumps by
   several degrees from frame to frame while a head turns smoothly) is kept and flagged ``head
   motion``: a coder must see the confound.

Evaluation follows MEGC: a spotted interval is a hit when its IoU with a ground-truth interval is at
least 0.5 (each ground-truth interval counted once); :mod:`tsfgui.engine.megc` pools it over videos.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from .pairing import RollingLag
from .results import DIFF_KEYS, FrameResult


@dataclass(frozen=True)
class SpotSettings:
    """Thresholds of the spotting steps (see the module docstring; defaults tuned on the tuning seeds
    of ``bench/spotting.py``, evaluated on others, see README)."""

    signal: str = "flow"
    common: float = 1.0
    threshold: float = 3.5
    edge: float = 2.5
    baseline_s: float = 20.0
    hop_s: float = 0.5
    merge_s: float = 0.33
    strong: float = 2.0
    blink_ratio: float = 1.0
    blink_pad_s: float = 0.1
    blink_nose: float = 2.0
    warmup_s: float = 0.3
    talk_gap_s: float = 0.5
    talk_min_s: float = 1.0
    talk_peaks: int = 3
    talk_z: float = 2.5
    talk_px: float = 0.08
    talk_around: int = 0
    talk_prominence: float = 0.5
    onset_lead_s: float = 0.1
    offset_tail_s: float = 0.1
    edge_fraction: float = 0.3
    edge_reach_s: float = 0.5
    bump_z: float = 8.0
    partner_z: float = 1.5
    partner_gap_s: float = 0.2
    partner_min_s: float = 0.067
    micro_max_s: float = 0.6  # 0.5 s and the spread of the edges (see README)
    macro_max_s: float = 4.0
    pair_gap_s: float = 1.0
    pair_z: float = 10.0
    pair_turn: float = 0.5
    pair_cos: float = 0.2
    pair_net: float = 1.0
    pair_turn_gap_s: float = 1.5
    pair_across: int = 1
    lone_net: float = 1.0
    lone_back: float = 0.4
    min_fall_s: float = 0.2
    whole_face_z: float = 5.0
    whole_face_pad_s: float = 0.2
    head_speed: float = 0.5
    pose_smooth_s: float = 0.5
    talk_pad_s: float = 0.3
    talk_threshold: float = 5.0
    flow_weight: float = 1.0
    joint_threshold: float = 4.0
    joint_talk_threshold: float = 6.5
    regions: tuple[str, ...] = ("brows", "nose", "mouth")

    @property
    def offset_lag_s(self) -> float:
        """The most an offset lies before the last frame its movement shows in, in s, with the default
        reference one :class:`~tsfgui.engine.pairing.RollingLag` back (offset = last foot − lag +
        ``offset_tail_s``): what a consumer waiting for intervals to settle (live spotting) allows for."""
        return max(0.0, RollingLag.lag_s - min(self.offset_tail_s, 0.0))


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
    flags: tuple[str, ...] = ()

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
                    ("flow", np.float32, (len(DIFF_KEYS),)), ("motion", np.float32, (len(DIFF_KEYS),)),
                    ("drift", np.float32, (len(DIFF_KEYS), 2)), ("pose", np.float32, (3,)),
                    ("label", np.int16), ("confidence", np.float32)])


class SignalRecorder:
    """Collects what spotting needs, frame by frame, in 134 bytes per frame (an hour of video at
    30 fps is 14 MB) in fixed-size numpy blocks, so long videos are spotted without keeping
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
        row["flow"] = [r.flow.get(k, np.nan) for k in DIFF_KEYS]
        row["motion"] = [r.motion.get(k, np.nan) for k in DIFF_KEYS]
        row["drift"] = [r.drift.get(k, (np.nan, np.nan)) for k in DIFF_KEYS]
        row["pose"] = r.pose if r.pose is not None else (np.nan, np.nan, np.nan)
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

    def arrays(self, records: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The signals as plain arrays (``index``, ``reference``, ``diff``, ``flow``, ``motion``, ``drift``, ``pose``), as
        :func:`spot_arrays` takes them and ``np.savez`` stores them."""
        rec = self._records() if records is None else records
        return {"index": rec["index"], "reference": rec["reference"], "diff": rec["values"], "flow": rec["flow"],
                "motion": rec["motion"], "drift": rec["drift"], "pose": rec["pose"]}

    def labels(self, records: np.ndarray | None = None) -> Sequence[str | None]:
        """The label of each frame (None where not analysed), looked up from its class code on access."""
        names = self._label_names
        codes = (self._records() if records is None else records)["label"]
        return _LazyColumn(codes, lambda code: names[code] if code >= 0 else None)

    def spot(self, fps: float, settings: SpotSettings | None = None) -> list[SpottedInterval]:
        rec = self._records()
        labels = self.labels(rec)
        confidences = _LazyColumn(rec["confidence"], lambda value: None if np.isnan(value) else float(value))
        return spot_arrays(self.arrays(rec), fps, settings, labels, confidences)


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


def _blink_mask(z: dict[str, np.ndarray], raw: np.ndarray, settings: SpotSettings, pad: int) -> np.ndarray:
    """True on blinks: runs where the eyes' z exceeds the threshold and their flow, in pixels, exceeds
    ``blink_ratio`` × the brows' (a blink moves the lids more than the brows; a brow movement, which
    drags the skin above the eyes along, the other way round), with ``pad`` frames around; not where
    the nose's or the mouth's z exceeds ``blink_nose`` × the eyes' (a nose wrinkler or a smile drags the
    lower lids along)."""
    eyes = np.nan_to_num(z["eyes"], nan=-np.inf)
    eyes_px = np.nan_to_num(raw[:, DIFF_KEYS.index("eyes")], nan=0.0)
    brows_px = np.nan_to_num(raw[:, DIFF_KEYS.index("brows")], nan=0.0)
    mask = np.zeros(len(eyes), bool)
    lower = np.fmax(np.nan_to_num(z["nose"], nan=-np.inf), np.nan_to_num(z["mouth"], nan=-np.inf))
    for first, last in _runs(eyes > settings.threshold):
        if settings.blink_nose > 0 and lower[first:last + 1].max() > settings.blink_nose * eyes[first:last + 1].max():
            continue  # a nose wrinkler or a smile moves the lower lids along; a blink leaves nose and mouth still
        if eyes_px[first:last + 1].max() > settings.blink_ratio * brows_px[first:last + 1].max():
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


def _peaks_above(signal: np.ndarray, threshold: float, prominence: float = 0.0) -> int:
    """Local maxima of ``signal`` above ``threshold``; with ``prominence`` only those that stand out by
    that fraction of their height and by ``threshold`` at least: the higher of the lowest points between
    a peak and the nearest higher value on each side (or the end) lies that far below it. (A syllable
    opens and closes the mouth: the signal falls between peaks; a wiggle on one long movement, or noise
    just over the threshold, does not.)"""
    x = np.nan_to_num(signal, nan=-np.inf)
    inner = x[1:-1]
    peaks = np.flatnonzero((inner > threshold) & (inner >= x[:-2]) & (inner > x[2:])) + 1
    if prominence <= 0:
        return len(peaks)
    count = 0
    for i in peaks:
        bases = []
        for side in (x[i::-1], x[i:]):
            higher = np.flatnonzero(side > x[i])
            bases.append(side[:higher[0] if len(higher) else len(side)].min())
        count += x[i] - max(bases) >= max(prominence * x[i], threshold)
    return count


def _talk_mask(mouth: np.ndarray, cut: float, settings: SpotSettings, fps: float) -> np.ndarray:
    """True on talking bouts: bursts of the ``mouth`` signal above ``cut`` chaining within ``talk_gap_s``
    over at least ``talk_min_s`` with ``talk_peaks`` peaks or more (speech opens and closes the mouth).
    The cut is below what spotting needs: its quieter syllables must still hold the bout together."""
    mouth = np.nan_to_num(mouth, nan=-np.inf)
    mask = np.zeros(len(mouth), bool)
    runs = _runs(mouth > cut)
    gap = settings.talk_gap_s * fps
    i = 0
    while i < len(runs):
        j = i
        while j + 1 < len(runs) and runs[j + 1][0] - runs[j][1] <= gap:
            j += 1
        first, last = runs[i][0], runs[j][1]
        if ((last - first) / fps >= settings.talk_min_s
                and _peaks_above(mouth[max(0, first - 1):last + 2], cut, settings.talk_prominence)
                >= settings.talk_peaks):
            mask[first:last + 1] = True
        i = j + 1
    return mask


def spot_arrays(arrays: dict[str, np.ndarray], fps: float, settings: SpotSettings | None = None,
                labels: Sequence[str | None] | None = None,
                confidences: Sequence[float | None] | None = None) -> list[SpottedInterval]:
    """Spotting on the arrays of :meth:`SignalRecorder.arrays` (``index``, ``reference``, ``diff``,
    ``flow``, ``motion``, ``pose``), on the signal ``settings.signal`` names: ``flow``, the flow's patch
    motion (falling back to the regions' mean flow, then to the difference, for results of older
    versions that lack them), ``flow-mean`` the regions' mean flow, ``diff`` the grey-level difference."""
    settings = settings or SpotSettings()
    if settings.signal not in SIGNALS:
        raise ValueError(f"unknown spotting signal {settings.signal!r}; choose {', '.join(SIGNALS)}")
    present = lambda key: arrays.get(key) is not None and np.isfinite(arrays[key]).any()  # noqa: E731
    order = {"flow": ("motion", "flow", "diff"), "flow-mean": ("flow", "diff"), "diff": ("diff",)}[settings.signal]
    key = next((k for k in order if present(k)), "diff")
    values = arrays[key]
    ignore = whole_face_mask(values, fps, settings)
    raw = arrays["flow"] if key == "motion" else values  # blinks are told in pixels
    speech = None
    if key == "motion":  # speech is told on the mouth's mean flow: where people talk most of the time, the
        speech = raw[:, DIFF_KEYS.index("mouth")]  # patches' own baseline is speech, and syllables vanish in it
        if settings.common > 0:
            speech = common_removed(raw, settings.common)[:, DIFF_KEYS.index("mouth")]
    if settings.common > 0:
        values = common_removed(values, settings.common)
    return spot_signals(arrays["index"], arrays["reference"], values, fps, settings,
                        labels, confidences, pose=arrays.get("pose"), ignore=ignore, raw=raw, speech=speech,
                        drift=arrays.get("drift") if key != "diff" else None,
                        mean_flow=(common_removed(raw, settings.common) if settings.common > 0 else raw)
                        if key == "motion" else None)


#: The signals spotting can run on (``SpotSettings.signal``).
SIGNALS: tuple[str, ...] = ("flow", "flow-mean", "diff")


def whole_face_mask(values: np.ndarray, fps: float, settings: SpotSettings) -> np.ndarray:
    """True where every region moves far beyond its baseline at once (z above ``whole_face_z`` in brows,
    eyes, nose and mouth: a hand over the face, a lighting jump, the face lost), with
    ``whole_face_pad_s`` around: no expression moves the whole face that much."""
    n = len(values)
    if n == 0 or settings.whole_face_z <= 0:
        return np.zeros(n, bool)
    window, hop = max(5, int(round(settings.baseline_s * fps))), max(1, int(round(settings.hop_s * fps)))
    low = np.full(n, np.inf, np.float32)
    for key in ("brows", "eyes", "nose", "mouth"):
        z = robust_z(values[:, DIFF_KEYS.index(key)].astype(np.float32), window, hop)
        np.fmin(low, np.nan_to_num(z, nan=-np.inf), out=low)
    mask = low > settings.whole_face_z
    pad = int(round(settings.whole_face_pad_s * fps))
    out = mask.copy()
    for first, last in _runs(mask):
        out[max(0, first - pad):last + 1 + pad] = True
    return out


def common_removed(values: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """Each region's signal minus ``weight`` × the smallest of the other regions' on the same frame:
    what moves the whole face at once (image noise, a lighting flicker, leftover head motion) is not an
    expression, while a movement of one or two regions stays whole."""
    regions = [DIFF_KEYS.index(k) for k in ("brows", "eyes", "nose", "mouth")]
    out = values.astype(np.float32).copy()
    part = np.nan_to_num(values[:, regions].astype(np.float32), nan=np.inf)
    for j, column in enumerate(regions):
        others = np.delete(part, j, axis=1).min(axis=1)
        out[:, column] -= weight * np.where(np.isfinite(others), others, 0.0)
    return out


def smooth_pose(pose: np.ndarray, fps: float, span_s: float = 0.5) -> np.ndarray:
    """The pose (frames × 3) smoothed within each run of known frames: a running median over a third of
    ``span_s`` (single-frame landmark slips), then a running mean over ``span_s`` (jitter). A head turns
    far more slowly than landmarks jitter, so its speed survives; NaN stays NaN."""
    pose = np.asarray(pose, dtype=np.float64)
    out = np.full(pose.shape, np.nan)
    known = np.isfinite(pose).all(axis=1) if len(pose) else np.zeros(0, bool)
    for first, last in _runs(known):
        seg = pose[first:last + 1]
        out[first:last + 1] = _running(_running(seg, max(1, int(round(span_s * fps / 3))), np.median),
                                       max(1, int(round(span_s * fps))), np.mean)
    return out


def _running(values: np.ndarray, width: int, reduce) -> np.ndarray:
    """``reduce`` over a centred window of ``width`` rows (odd; clipped to the data, edges repeated)."""
    width = min(width | 1, len(values) if len(values) % 2 else len(values) - 1)
    if width <= 1:
        return values.copy()
    half = width // 2
    padded = np.concatenate([np.repeat(values[:1], half, 0), values, np.repeat(values[-1:], half, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=0)
    return reduce(windows, axis=-1)


def head_speed(pose: np.ndarray, fps: float, span_s: float = 0.2, smooth_s: float = 0.5) -> np.ndarray:
    """Angular speed of the head (rad/s) per frame: the largest change of Rx, Ry, Rz over ``span_s``
    around each frame, divided by that time, on the pose smoothed over ``smooth_s`` (:func:`smooth_pose`;
    0: not smoothed). NaN where the pose is unknown."""
    pose = np.asarray(pose, dtype=np.float64)
    if smooth_s > 0:
        pose = smooth_pose(pose, fps, smooth_s)
    k = max(1, int(round(span_s * fps / 2)))
    speed = np.full(len(pose), np.nan)
    if len(pose) > 2 * k:
        change = np.abs(pose[2 * k:] - pose[:-2 * k]).max(axis=1)
        speed[k:len(pose) - k] = change * fps / (2 * k)
    speed[~np.isfinite(pose).all(axis=1)] = np.nan
    return speed


def _first_peak(score: np.ndarray, first: int, last: int, fraction: float = 0.6) -> int:
    """The first local maximum of ``score[first:last+1]`` reaching ``fraction`` of its maximum."""
    seg = np.nan_to_num(score[first:last + 1], nan=-np.inf, neginf=-np.inf)
    top = seg.max()
    floor = top - (1 - fraction) * abs(top)
    for i in range(len(seg)):
        if seg[i] >= floor and (i + 1 == len(seg) or seg[i] >= seg[i + 1]):
            return first + i
    return first + int(np.argmax(seg))


def _bumps(score: np.ndarray, first: int, last: int, fraction: float, level: float = 0.0) -> list[tuple[int, int]]:
    """The bumps of ``score[first:last+1]``: runs above ``fraction`` of its maximum, or above ``level`` where
    that is lower (the rise and the return of a movement, separated by the dip where the reference catches
    up; a strong rise's return can stay under a fraction of it and still stand well out of the noise)."""
    seg = np.nan_to_num(score[first:last + 1], nan=-np.inf)
    floor = fraction * seg.max()
    runs = _runs(seg > (min(floor, level) if level > 0 else floor))
    return [(first + a, first + b) for a, b in runs] or [(first, last)]


def _foot(score: np.ndarray, start: int, step: int, floor: float, stop: int) -> int:
    """Where a bump of ``score`` ends: walking from ``start`` by ``step`` (−1 or 1) while the score stays
    above ``floor`` and climbs no more than ``floor`` above the lowest point passed (a wiggle is crossed,
    a neighbouring movement is not), up to frame ``stop``; the lowest frame reached (the farthest of
    equals)."""
    t = low = start
    while t != stop:
        nxt = score[t + step]
        if not np.isfinite(nxt) or nxt <= floor or nxt > score[low] + floor:
            break
        t += step
        if score[t] <= score[low]:
            low = t
    return low


def _rise_before(z: dict[str, np.ndarray], settings: SpotSettings, group: list[int], score: np.ndarray,
                 first: int, gap: int, min_frames: int) -> tuple[int, int] | None:
    """A weaker burst of the candidate's region ending at most ``gap`` frames before frame ``first``, above
    ``partner_z``: (its first, its last frame), or None. Against a reference 0.2 s back a movement shows
    as its rise and its return, and either may stay under the threshold; a lone rise is held open by
    ``min_fall_s``, a lone return would put the interval a rise late."""
    if settings.partner_z <= 0 or gap <= 0:
        return None
    region = _leading_region(z, settings.regions, group)
    level = np.where(np.isfinite(score), np.nan_to_num(z[region], nan=-np.inf), -np.inf)
    hits = np.flatnonzero(level[max(0, first - gap):first] > settings.partner_z)
    if not len(hits):
        return None
    end = start = max(0, first - gap) + int(hits[-1])
    while start > 0 and level[start - 1] > settings.partner_z:
        start -= 1
    return (start, end) if end - start + 1 >= min_frames else None


def spot_signals(index: np.ndarray, reference: np.ndarray, values: np.ndarray, fps: float,
                 settings: SpotSettings, labels: Sequence[str | None] | None = None,
                 confidences: Sequence[float | None] | None = None,
                 pose: np.ndarray | None = None, ignore: np.ndarray | None = None,
                 raw: np.ndarray | None = None, speech: np.ndarray | None = None,
                 drift: np.ndarray | None = None, mean_flow: np.ndarray | None = None) -> list[SpottedInterval]:
    """:func:`spot` on arrays: frame indices, reference indices (−1: none), region signals (frames ×
    :data:`DIFF_KEYS`: flow or difference), for the head-motion flag the pose (frames × 3), frames
    to ``ignore``, the signals before the common part was removed (``raw``, for blinks; default
    ``values``), the mouth signal speech is told on (``speech``; default the mouth's in ``values``) and
    the regions' mean flow vectors (``drift``, frames × :data:`DIFF_KEYS` × 2) that pair a movement's
    rise with its return; with the regions' mean flow (``mean_flow``, beside a patch-motion ``values``)
    candidates are found on both (:func:`_joint_score`)."""
    if len(index) == 0:
        return []
    frames = lambda seconds: int(round(seconds * fps))  # noqa: E731
    window, hop = max(5, frames(settings.baseline_s)), max(1, frames(settings.hop_s))
    # float32 throughout: an hour of video costs a few MB here, not tens
    z = {key: robust_z(values[:, i].astype(np.float32), window, hop).astype(np.float32)
         for i, key in enumerate(DIFF_KEYS)}
    # speech: the mouth's mean flow beyond the rest of the face's, in px, above talk_px (a z-score against a
    # baseline fails where people talk most of the time: the baseline is speech); else the mouth's z
    mouth, cut = (z["mouth"], settings.talk_z) if speech is None else (speech.astype(np.float32), settings.talk_px)
    talking = _talk_mask(mouth, cut, settings, fps) if "mouth" in settings.regions else np.zeros(len(index), bool)
    if talking.any():  # during speech the mouth (and the nose the jaw pulls) is not an expression's;
        pad = frames(settings.talk_pad_s)  # the brows still count
        for first, last in _runs(talking):
            talking[max(0, first - pad):last + 1 + pad] = True
        for key in ("mouth", "nose"):
            z[key] = np.where(talking, np.nan, z[key]).astype(np.float32)
    score = np.full(len(index), -np.inf, np.float32)
    for region in settings.regions:
        np.fmax(score, z[region], out=score)  # NaN (no face, no reference) never wins
    raw = values if raw is None else raw
    ignored = _blink_mask(z, raw, settings, frames(settings.blink_pad_s)) | _warmup_mask(reference, frames(settings.warmup_s))
    if ignore is not None:
        ignored |= ignore
    score = np.where(ignored, -np.inf, score)
    threshold, talk_threshold = settings.threshold, settings.talk_threshold
    detect, lead = score, z  # what candidates are found on, and the region that moved most read on
    if mean_flow is not None and settings.flow_weight > 0:
        lead = _joint_z(z, mean_flow, settings, window, hop)
        detect = np.full(len(index), -np.inf, np.float32)
        for region in settings.regions:
            np.fmax(detect, lead[region], out=detect)
        detect = np.where(ignored, -np.inf, detect)
        threshold, talk_threshold = settings.joint_threshold, settings.joint_talk_threshold
    above = np.flatnonzero(detect > np.where(talking, max(talk_threshold, threshold), threshold))
    if len(above) == 0:
        return []
    merge = max(1, frames(settings.merge_s))
    spans: list[list[int]] = [[int(above[0]), int(above[0])]]
    for i in above[1:]:
        if i - spans[-1][1] <= merge:
            spans[-1][1] = int(i)
        else:
            spans.append([int(i), int(i)])
    spans = [s for s in spans if s[1] > s[0] or detect[s[0]] >= settings.strong * threshold]
    for s in spans:  # hysteresis: grow while the score stays above the edge level
        while s[0] > 0 and score[s[0] - 1] > settings.edge:
            s[0] -= 1
        while s[1] + 1 < len(score) and score[s[1] + 1] > settings.edge:
            s[1] += 1
    groups = [list(range(a, b + 1)) for a, b in _merged(spans)]
    if settings.talk_around > 0:  # a mouth or nose burst among other mouth bursts is speech, not a transient
        mouth = np.nan_to_num(mouth, nan=-np.inf)
        gap = frames(settings.talk_gap_s)
        groups = [g for g in groups if _leading_region(z, settings.regions, g) not in ("mouth", "nose")
                  or _peaks_above(mouth[max(0, g[0] - gap):g[0]], cut)
                  + _peaks_above(mouth[g[-1] + 1:g[-1] + 1 + gap], cut) < settings.talk_around]
    groups, returns = _pair_macro(groups, z, score, settings, fps, drift)
    if drift is not None and settings.lone_net > 0:
        groups, returns = _complete_lone(groups, returns, z, drift, ignored, settings, fps)
    speed = head_speed(pose, fps, smooth_s=settings.pose_smooth_s) if pose is not None else None
    lags = np.where(reference >= 0, index - reference, 0)
    intervals = []
    for g, back in zip(groups, returns):
        first, last = g[0], g[-1]
        if settings.edge_fraction > 0:  # the edges from the curve: where the rise and the return fall off
            if back is None:
                bumps = _bumps(score, first, last, settings.edge_fraction, settings.bump_z)
            else:  # a joined pair: the rise's first bump and the return's last, each read at its own height
                bumps = [_bumps(score, first, back - 1, settings.edge_fraction, settings.bump_z)[0],
                         _bumps(score, back, last, settings.edge_fraction, settings.bump_z)[-1]]
            (a, b), (c, d) = bumps[0], bumps[-1]
            peak = a + int(np.argmax(score[a:b + 1]))
            reach = frames(settings.edge_reach_s)
            first = _foot(score, a, -1, settings.edge_fraction * score[peak], max(0, first - reach))
            last = _foot(score, d, 1, settings.edge_fraction * np.max(score[c:d + 1]),
                         min(len(score) - 1, last + reach))
            rise = _rise_before(z, settings, g, score, first, frames(settings.partner_gap_s),
                                frames(settings.partner_min_s)) \
                if len(bumps) == 1 else None
            if rise is not None:  # a lone bump with a weaker one just before: the rise of which it is the return
                peak = rise[0] + int(np.argmax(score[rise[0]:rise[1] + 1]))
                first = _foot(score, rise[0], -1, settings.edge_fraction * score[peak], max(0, rise[0] - reach))
        else:
            peak = _first_peak(score, first, last)
        apex = int(index[peak])
        known = lags[first:last + 1][lags[first:last + 1] > 0]
        lag = int(np.median(known)) if len(known) else 0
        onset = min(int(index[first]) - frames(settings.onset_lead_s), apex)
        offset = max(int(index[last]) - lag + frames(settings.offset_tail_s),
                     apex + (max(1, frames(settings.min_fall_s)) if last > first else 0))
        onset = max(onset, 0)
        duration = (offset - onset + 1) / fps
        if duration > settings.macro_max_s:
            continue
        kind = "micro" if duration <= settings.micro_max_s + 1e-9 else "macro"
        flags: tuple[str, ...] = ()
        if speed is not None:
            window = speed[max(0, first - frames(settings.onset_lead_s)):last + 1]
            if np.isfinite(window).any() and np.nanmax(window) > settings.head_speed:
                flags = ("head motion",)
        intervals.append(SpottedInterval(onset, apex, offset, kind, float(np.max(score[g])),
                                         _leading_region(lead, settings.regions, [int(np.argmax(detect[g])) + g[0]]),
                                         labels[peak] if labels is not None else None,
                                         confidences[peak] if confidences is not None else None, flags))
    return intervals


def _joint_z(z: dict[str, np.ndarray], mean_flow: np.ndarray, settings: SpotSettings, window: int,
             hop: int) -> dict[str, np.ndarray]:
    """Per region of ``regions``, (z of the patch motion + ``flow_weight`` × z of the region's mean flow)
    / √(1 + ``flow_weight``²): the two read one movement in two ways and their noise differs (a stray
    patch, the whole region's jitter), so a weak movement both see stands out where either alone stays in
    its noise. NaN where the patch motion's z is (speech masks mouth and nose)."""
    w = settings.flow_weight
    out = {}
    for region in settings.regions:
        zf = robust_z(mean_flow[:, DIFF_KEYS.index(region)].astype(np.float32), window, hop)
        out[region] = ((z[region] + w * zf) / np.sqrt(1.0 + w * w)).astype(np.float32)
    return out


def _merged(spans: list[list[int]]) -> list[tuple[int, int]]:
    """Overlapping or touching (first, last) spans joined, in order."""
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _pair_macro(groups: list[list[int]], z: dict[str, np.ndarray], score: np.ndarray, settings: SpotSettings,
                fps: float, drift: np.ndarray | None = None) -> tuple[list[list[int]], list[int | None]]:
    """Join the rise and return bursts of one longer movement (see the module docstring, step 6): the
    groups, and for each the first frame of its return burst where one was joined to it (else None)."""
    if not groups or settings.pair_gap_s <= 0:
        return groups, [None] * len(groups)
    directed = drift is not None and settings.pair_turn > 0 and np.isfinite(drift).any()
    face = drift[:, [DIFF_KEYS.index(r) for r in settings.regions]].reshape(len(drift), -1) \
        if directed and settings.pair_across > 0 else None
    out, returns = [groups[0]], [None]
    for g in groups[1:]:
        prev = out[-1]
        region = _leading_region(z, settings.regions, prev)
        same = region == _leading_region(z, settings.regions, g)
        gap = (g[0] - prev[-1]) / fps
        strong = (gap <= settings.pair_gap_s and np.max(score[prev]) >= settings.pair_z
                  and np.max(score[g]) >= settings.pair_z)
        turning = False
        if directed:
            # the region's vector; and with pair_across, the face's (the regions' vectors side by side):
            # a smile raises the cheeks, then the mouth leads the return, and a region's mean can be small
            # where the face's pattern plainly turns back
            checks = ([drift[:, DIFF_KEYS.index(region)]] if same else []) + ([face] if face is not None else [])
            verdicts = [_turns_back(v, prev, g, settings.pair_turn, settings.pair_net, settings.pair_cos)
                        for v in checks]
            # two micro-expressions each rise and return within their burst: neither moves one way
            strong = strong and same and verdicts[0][0]
            turning = gap <= settings.pair_turn_gap_s and any(opposite for _, opposite in verdicts)
        join = (same and strong) or turning
        if join and returns[-1] is None and (g[-1] - prev[0]) / fps <= settings.macro_max_s:
            out[-1], returns[-1] = list(range(prev[0], g[-1] + 1)), g[0]
        else:
            out.append(g)
            returns.append(None)
    return out, returns


def _complete_lone(groups: list[list[int]], returns: list[int | None], z: dict[str, np.ndarray],
                   drift: np.ndarray, ignored: np.ndarray, settings: SpotSettings,
                   fps: float) -> tuple[list[list[int]], list[int | None]]:
    """Each lone group (no return joined to it) taken together with its quiet other half where
    :func:`_other_half` finds one; the groups and their returns' first frames, as :func:`_pair_macro`."""
    out, backs = [], []
    for g, back in zip(groups, returns):
        if back is None:
            v = drift[:, DIFF_KEYS.index(_leading_region(z, settings.regions, g))]
            g, back = _other_half(v, g, ignored, settings, fps) or (g, None)
        out.append(g)
        backs.append(back)
    return out, backs


def _other_half(drift: np.ndarray, g: list[int], ignored: np.ndarray, settings: SpotSettings,
                fps: float) -> tuple[list[int], int] | None:
    """A burst that moves one way (straightness at least ``pair_turn``, net at least ``lone_net`` px) is
    half of a longer movement whose other half stayed under the threshold. Summed frame by frame, the
    region's flow vectors (``drift``) projected on the burst's net direction follow the face's position:
    the other half is where that sum moves back by ``lone_back`` of the net, after the burst (its return)
    or before it (its rise), within ``pair_turn_gap_s`` of it and ``macro_max_s`` in all, through no
    ignored frame. The frames of both halves and the return's first frame, or None."""
    net, straight = _net(drift, g)
    size = float(np.linalg.norm(net))
    if straight < settings.pair_turn or size < settings.lone_net:
        return None
    reach, tail = int(round(settings.pair_turn_gap_s * fps)), int(round(0.2 * fps))
    longest = int(round(settings.macro_max_s * fps))
    lo = max(0, g[0] - reach)  # only the frames within reach: an hour holds thousands of bursts
    along = np.nan_to_num(drift[lo:g[-1] + 1 + reach].astype(np.float64)) @ (net / size)
    goal = -settings.lone_back * size
    after = np.cumsum(along[g[-1] + 1 - lo:])
    hits = np.flatnonzero(after <= goal)
    if len(hits) and not ignored[g[-1] + 1:g[-1] + 2 + hits[0]].any():
        # the return: from where the sum starts down to its lowest, a little past the goal
        end = g[-1] + 1 + int(np.argmin(after[:hits[0] + 1 + tail]))
        start = g[-1] + 1 + int(np.argmax(after[:hits[0] + 1]))
        return (list(range(g[0], end + 1)), start) if end - g[0] < longest else None
    before = np.cumsum(along[:g[0] - lo][::-1])
    hits = np.flatnonzero(before <= goal)
    if not len(hits) or ignored[g[0] - 1 - hits[0]:g[0]].any():
        return None
    first = g[0] - 1 - int(np.argmin(before[:hits[0] + 1 + tail]))  # the rise: this burst is its return
    return (list(range(first, g[-1] + 1)), g[0]) if g[-1] - first < longest else None


def _net(drift: np.ndarray, frames: Sequence[int]) -> tuple[np.ndarray, float]:
    """The sum of a region's flow vectors over ``frames`` and its straightness (|sum| / sum of |v|)."""
    v = np.nan_to_num(drift[frames[0]:frames[-1] + 1].astype(np.float64))
    total = v.sum(axis=0)
    path = float(np.linalg.norm(v, axis=1).sum())
    return total, (float(np.linalg.norm(total)) / path if path > 0 else 0.0)


def _turns_back(drift: np.ndarray, first: Sequence[int], second: Sequence[int], turn: float,
                least: float, back: float) -> tuple[bool, bool]:
    """Whether both bursts move one way (straightness at least ``turn``, each moving at least ``least``:
    the length of the sum of its flow vectors, px at a 224-px face), and whether ``second`` then moves
    back the way ``first`` went (the cosine of their net vectors at most −``back``). A
    micro-expression's burst holds its own rise and return: its net vector is small."""
    a, straight_a = _net(drift, first)
    b, straight_b = _net(drift, second)
    la, lb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    one_way = straight_a >= turn and straight_b >= turn and min(la, lb) >= least
    return one_way, one_way and float(a @ b) / (la * lb) <= -back


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
