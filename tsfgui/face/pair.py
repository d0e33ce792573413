"""One onset/apex pair cut with one alignment, and the one rule for which face is the primary.

TSFmicro compares an apex crop with its onset crop; if each frame were aligned on its own, the
difference would show re-alignment jitter instead of facial motion. So the face is detected and
landmarked on the onset frame only, and that one matrix cuts the apex frame(s) too. Training
(``tsfgui.train.preprocess``) and the classification of spotted intervals
(``tsfgui.engine.interval_labels``) both cut their pairs here; the tracker picks its primary face
with the same :func:`primary_key`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tsfgui.io.pixels import to_bgr, to_gray

from .align import AlignTemplate, alignment_matrix, warp_crop
from .detector import BBox, FaceDetector
from .landmarks import LandmarkPredictor, square_box


def primary_key(box: BBox, shape: tuple[int, ...]) -> float:
    """How much a face is the primary one in a frame of ``shape``: larger and more central is better."""
    h, w = shape[:2]
    cx, cy, side = square_box(box)
    dist = math.hypot(cx - w / 2.0, cy - h / 2.0) / max(math.hypot(w / 2.0, h / 2.0), 1.0)
    return side * (1.0 - 0.5 * min(dist, 1.0))


def stretch_matrix(landmarks: np.ndarray, size: int) -> np.ndarray:
    """2×3 matrix that stretches the face box to ``size`` × ``size`` (aspect not kept), as the datasets'
    ``Cropped`` folders are made: landmarks' box, raised by a fifth of its height to take in the forehead."""
    pts = np.asarray(landmarks, np.float64)
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    y0 -= 0.2 * (y1 - y0)
    sx, sy = size / max(x1 - x0, 1.0), size / max(y1 - y0, 1.0)
    return np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy]])


@dataclass
class AlignedPair:
    """The onset frame's primary face (box, landmarks), the matrix that cut every crop, the onset crop
    and one crop per apex image."""

    bbox: BBox
    landmarks: np.ndarray
    matrix: np.ndarray
    onset: np.ndarray
    apexes: list[np.ndarray]


def align_pair(onset_image: np.ndarray, apex_images: Sequence[np.ndarray], *, template: AlignTemplate,
               detector: FaceDetector, predictor: LandmarkPredictor, crop: str = "align",
               box: BBox | None = None) -> AlignedPair | None:
    """Detect on ``onset_image``, take the primary face (:func:`primary_key`), landmark it, and cut the
    onset and every apex image with that one matrix: ``crop="align"`` the template alignment,
    ``"stretch"`` the landmarks' box stretched to the square (:func:`stretch_matrix`). None when the
    onset frame shows no face. ``box``: the face's box on the onset frame where it is known already
    (the tracker's, from the analysis): it is landmarked there and the detector does not run."""
    if box is None:
        found = detector.detect(onset_image)
        if not found:
            return None
        box = max(found, key=lambda d: primary_key(d.bbox, onset_image.shape)).bbox
    box = tuple(float(v) for v in box)
    landmarks = predictor.predict(to_gray(onset_image), box)
    if crop == "align":
        matrix = alignment_matrix(landmarks, template)
    elif crop == "stretch":
        matrix = stretch_matrix(landmarks, template.size)
    else:
        raise ValueError(f"crop must be 'align' or 'stretch', not {crop!r}")
    return AlignedPair(box, landmarks, matrix, warp_crop(to_bgr(onset_image), matrix, template.size),
                       [warp_crop(to_bgr(image), matrix, template.size) for image in apex_images])
