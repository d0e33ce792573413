"""Similarity alignment of a face to a canonical square crop, and the maps between crop and frame.

The crop is produced by one similarity transform (rotation, uniform scale, translation) fitted by
least squares from *stable* landmarks of the frame to the same landmarks of a canonical template:

* which landmarks: the four eye corners (36, 39, 42, 45), the nose bridge and tip (27–30) and the
  outer nostrils (31, 35) — :data:`ALIGNMENT_POINTS`. Brows, lids and mouth are left out on purpose:
  they carry the expression, and an alignment that followed them would move the whole crop and hide
  the very movement we want to measure.
* the template: :data:`MEAN_SHAPE` is a left/right symmetric 68-point face in units of the distance
  between the eye centres, origin midway between the eyes (measured once on a frontal face and
  mirrored). :class:`AlignTemplate` places it in a ``size×size`` crop with the eye centres at
  ``eye_y`` of the height (default 38 %) and ``eye_distance`` of the width apart (default 25 %), which
  leaves the brows, jaw and chin inside the crop with a margin.

Every map is a 2×3 ``float64`` matrix in pixel-centre coordinates (OpenCV's convention): ``matrix``
sends frame points to crop points, ``inverse`` (:func:`invert_affine`, exact) sends them back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Landmarks that drive the alignment: eye corners, nose bridge and tip, outer nostrils.
ALIGNMENT_POINTS: tuple[int, ...] = (27, 28, 29, 30, 31, 35, 36, 39, 42, 45)

#: Symmetric mean 68-point face, unit = distance between eye centres, origin midway between them,
#: x to the image right, y down.
_MEAN_SHAPE_ROUNDED = np.array(
    [
        (-1.069, 0.080), (-1.046, 0.348), (-1.006, 0.612), (-0.960, 0.883),
        (-0.871, 1.147), (-0.716, 1.378), (-0.498, 1.560), (-0.264, 1.712),
        (0.000, 1.755), (0.264, 1.712), (0.498, 1.560), (0.716, 1.378),
        (0.871, 1.147), (0.960, 0.883), (1.006, 0.612), (1.046, 0.348),
        (1.069, 0.080), (-0.914, -0.150), (-0.786, -0.289), (-0.598, -0.322),
        (-0.406, -0.296), (-0.228, -0.224), (0.228, -0.224), (0.406, -0.296),
        (0.598, -0.322), (0.786, -0.289), (0.914, -0.150), (0.000, -0.009),
        (0.000, 0.182), (0.000, 0.373), (0.000, 0.571), (-0.237, 0.671),
        (-0.119, 0.704), (0.000, 0.737), (0.119, 0.704), (0.237, 0.671),
        (-0.696, 0.002), (-0.574, -0.081), (-0.422, -0.074), (-0.294, 0.041),
        (-0.432, 0.058), (-0.581, 0.055), (0.294, 0.041), (0.422, -0.074),
        (0.574, -0.081), (0.696, 0.002), (0.581, 0.055), (0.432, 0.058),
        (-0.528, 0.867), (-0.330, 0.860), (-0.135, 0.859), (0.000, 0.889),
        (0.135, 0.859), (0.330, 0.860), (0.528, 0.867), (0.346, 1.104),
        (0.152, 1.210), (0.000, 1.233), (-0.152, 1.210), (-0.346, 1.104),
        (-0.458, 0.893), (-0.138, 0.939), (0.000, 0.962), (0.138, 0.939),
        (0.458, 0.893), (0.142, 1.094), (0.000, 1.114), (-0.142, 1.094),
    ],
    dtype=np.float64,
)


def _normalised(shape: np.ndarray) -> np.ndarray:
    # undo the rounding to 3 decimals: eye centres exactly at (∓0.5, 0)
    left, right = shape[36:42].mean(0), shape[42:48].mean(0)
    return (shape - (left + right) / 2) / np.linalg.norm(right - left)


MEAN_SHAPE = _normalised(_MEAN_SHAPE_ROUNDED)
MEAN_SHAPE.setflags(write=False)


@dataclass(frozen=True)
class AlignTemplate:
    """Where the canonical face sits in the square crop.

    ``size``: crop side in pixels. ``eye_y``: height of the eye centres as a fraction of ``size``.
    ``eye_distance``: distance between the eye centres as a fraction of ``size``.
    ``points``: landmark indices that drive the least-squares fit.
    """

    size: int = 224
    eye_y: float = 0.38
    eye_distance: float = 0.25
    points: tuple[int, ...] = ALIGNMENT_POINTS

    def __post_init__(self) -> None:
        if self.size < 16:
            raise ValueError(f"crop size must be at least 16 pixels, got {self.size}")
        if not 0.0 < self.eye_distance < 0.6:
            raise ValueError(f"eye_distance must lie in (0, 0.6), got {self.eye_distance}")
        if not 0.1 < self.eye_y < 0.7:
            raise ValueError(f"eye_y must lie in (0.1, 0.7), got {self.eye_y}")
        if len(self.points) < 2 or any(not 0 <= i < 68 for i in self.points):
            raise ValueError("points must name at least two landmark indices in 0..67")

    def landmarks(self) -> np.ndarray:
        """The 68 template landmarks in crop pixel coordinates, ``(68, 2) float64``."""
        scale = self.eye_distance * self.size
        origin = np.array([self.size / 2.0, self.eye_y * self.size])
        return MEAN_SHAPE * scale + origin


def similarity_lstsq(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares similarity (no reflection) sending ``src`` points onto ``dst``; a 2×3 matrix.

    Closed form (Umeyama in 2-D): with centred coordinates the map ``a·x − b·y, b·x + a·y`` that
    minimises the weighted squared error has ``a + ib = Σ w·conj(p)·q / Σ w·|p|²``.
    """
    p = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    q = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if p.shape != q.shape or len(p) < 2:
        raise ValueError("similarity_lstsq needs two equal-length lists of at least two points")
    w = np.ones(len(p)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    w = w / w.sum()
    pm = (w[:, None] * p).sum(0)
    qm = (w[:, None] * q).sum(0)
    pc = p - pm
    qc = q - qm
    denom = float((w * (pc**2).sum(1)).sum())
    if denom <= 1e-12:
        raise ValueError("similarity_lstsq: source points coincide")
    a = float((w * (pc[:, 0] * qc[:, 0] + pc[:, 1] * qc[:, 1])).sum()) / denom
    b = float((w * (pc[:, 0] * qc[:, 1] - pc[:, 1] * qc[:, 0])).sum()) / denom
    lin = np.array([[a, -b], [b, a]])
    t = qm - lin @ pm
    return np.hstack([lin, t[:, None]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Exact inverse of a 2×3 affine matrix (``float64``)."""
    m = np.asarray(matrix, dtype=np.float64)
    lin_inv = np.linalg.inv(m[:, :2])
    return np.hstack([lin_inv, (-lin_inv @ m[:, 2])[:, None]])


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2×3 matrix of ``outer ∘ inner`` (apply ``inner`` first)."""
    o = np.asarray(outer, dtype=np.float64)
    i = np.asarray(inner, dtype=np.float64)
    return np.hstack([o[:, :2] @ i[:, :2], (o[:, :2] @ i[:, 2] + o[:, 2])[:, None]])


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2×3 matrix to ``(N, 2)`` points; returns ``float64``."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    m = np.asarray(matrix, dtype=np.float64)
    return p @ m[:, :2].T + m[:, 2]


def alignment_matrix(landmarks: np.ndarray, template: AlignTemplate = AlignTemplate()) -> np.ndarray:
    """Frame→crop similarity for 68 frame landmarks (least squares on ``template.points``)."""
    lm = np.asarray(landmarks, dtype=np.float64).reshape(68, 2)
    idx = list(template.points)
    return similarity_lstsq(lm[idx], template.landmarks()[idx])


@dataclass(frozen=True)
class SimilarityParams:
    """A frame→crop similarity as (centre, scale, angle) — the quantities the tracker smooths.

    ``cx, cy``: the frame point that lands on the crop centre. ``scale``: crop pixels per frame
    pixel. ``angle``: rotation (radians) from frame to crop.
    """

    cx: float
    cy: float
    scale: float
    angle: float

    @staticmethod
    def from_matrix(matrix: np.ndarray, size: int) -> "SimilarityParams":
        m = np.asarray(matrix, dtype=np.float64)
        scale = math.hypot(m[0, 0], m[1, 0])
        angle = math.atan2(m[1, 0], m[0, 0])
        centre = transform_points(np.array([[size / 2.0, size / 2.0]]), invert_affine(m))[0]
        return SimilarityParams(float(centre[0]), float(centre[1]), scale, angle)

    def to_matrix(self, size: int) -> np.ndarray:
        c, s = math.cos(self.angle) * self.scale, math.sin(self.angle) * self.scale
        lin = np.array([[c, -s], [s, c]])
        t = np.array([size / 2.0, size / 2.0]) - lin @ np.array([self.cx, self.cy])
        return np.hstack([lin, t[:, None]])


def warp_crop(
    image: np.ndarray,
    matrix: np.ndarray,
    size: int,
    border_mode: int = cv2.BORDER_CONSTANT,
) -> np.ndarray:
    """Cut the ``size×size`` crop that ``matrix`` (frame→crop) describes out of ``image``.

    Bilinear sampling; when the crop shrinks the face by more than 1.25× the covered part of the
    frame is first reduced with area averaging (``cv2.INTER_AREA``) so fine texture does not alias
    into flicker between frames.
    """
    m = np.asarray(matrix, dtype=np.float64)
    scale = math.hypot(m[0, 0], m[1, 0])
    if scale < 0.8:
        h, w = image.shape[:2]
        corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64) - 0.5
        fc = transform_points(corners, invert_affine(m))
        x0 = max(int(math.floor(fc[:, 0].min())) - 2, 0)
        y0 = max(int(math.floor(fc[:, 1].min())) - 2, 0)
        x1 = min(int(math.ceil(fc[:, 0].max())) + 3, w)
        y1 = min(int(math.ceil(fc[:, 1].max())) + 3, h)
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            roi = image[y0:y1, x0:x1]
            rw = max(int(round((x1 - x0) * scale)), 1)
            rh = max(int(round((y1 - y0) * scale)), 1)
            small = cv2.resize(roi, (rw, rh), interpolation=cv2.INTER_AREA)
            gx, gy = rw / (x1 - x0), rh / (y1 - y0)
            # small pixel u ↔ frame pixel x = (u + 0.5) / g − 0.5 + x0 (pixel centres)
            back = np.array([[1 / gx, 0, 0.5 / gx - 0.5 + x0], [0, 1 / gy, 0.5 / gy - 0.5 + y0]])
            return cv2.warpAffine(
                small, compose_affine(m, back), (size, size), flags=cv2.INTER_LINEAR,
                borderMode=border_mode,
            )
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=border_mode)


def heatmap_to_frame(
    heatmap: np.ndarray,
    inverse: np.ndarray,
    frame_shape: tuple[int, ...],
    crop_size: int | None = None,
    fill: float = 0.0,
) -> np.ndarray:
    """Warp a heatmap defined over the aligned crop back onto the frame; ``float32 H×W``.

    ``heatmap`` may be coarser than the crop (e.g. a 14×14 attention map over a 224 crop): it is
    taken to cover the whole crop (``crop_size``, default: the heatmap's own size when square).
    Frame pixels outside the crop get ``fill``.
    """
    hm = np.asarray(heatmap, dtype=np.float32)
    if hm.ndim != 2:
        raise ValueError(f"heatmap must be 2-D, got shape {hm.shape}")
    hh, hw = hm.shape
    size = float(crop_size if crop_size is not None else hw)
    # heatmap pixel u ↔ crop pixel x = (u + 0.5)·size/hw − 0.5
    sx, sy = size / hw, size / hh
    to_crop = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]])
    to_frame = compose_affine(inverse, to_crop)
    height, width = int(frame_shape[0]), int(frame_shape[1])
    return cv2.warpAffine(
        hm, to_frame, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
        borderValue=float(fill),
    )
