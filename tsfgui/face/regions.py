"""Facial regions from the 68 landmarks, and their masks in aligned-crop coordinates.

Index sets follow the iBUG 68-point scheme (0-based). :func:`region_masks` rasterises each region
as the convex hull of its landmarks (per part: the two eyes separately, the two brows together so
the glabella — where the brows are drawn together — belongs to them), grown by a margin proportional
to the eye distance so the moving skin around a feature is included. The jaw is a band along the
jaw line.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Landmark indices of each region.
REGIONS: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "brows": tuple(range(17, 27)),
    "nose": tuple(range(27, 36)),
    "eyes": tuple(range(36, 48)),
    "mouth": tuple(range(48, 68)),
}

#: The regions whose temporal change is measured per frame.
MEASURED_REGIONS: tuple[str, ...] = ("brows", "eyes", "nose", "mouth")

#: Left/right parts ("left" = image left, which is the subject's right side).
PARTS: dict[str, tuple[tuple[int, ...], ...]] = {
    "jaw": (REGIONS["jaw"],),
    "brows": (REGIONS["brows"],),
    "nose": (REGIONS["nose"],),
    "eyes": (tuple(range(36, 42)), tuple(range(42, 48))),
    "mouth": (tuple(range(48, 60)),),
}

_SHIFT = 4  # sub-pixel bits for OpenCV's polygon filling


def eye_distance(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres (means of landmarks 36–41 and 42–47)."""
    lm = np.asarray(landmarks, dtype=np.float64).reshape(68, 2)
    return float(np.linalg.norm(lm[42:48].mean(0) - lm[36:42].mean(0)))


def region_masks(
    landmarks: np.ndarray,
    size: int | tuple[int, int],
    regions: tuple[str, ...] = MEASURED_REGIONS,
    margin: float = 0.12,
) -> dict[str, np.ndarray]:
    """Boolean masks (``H×W``) of ``regions`` for 68 landmarks given in the image's coordinates.

    Use crop landmarks (``FaceObservation.landmarks_crop``) and the crop size to get masks on the
    aligned crop. ``margin`` grows each hull by that fraction of the eye distance (0 = bare hull).
    """
    lm = np.asarray(landmarks, dtype=np.float64).reshape(68, 2)
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    grow = max(margin * eye_distance(lm), 0.0)
    radius = int(round(grow))
    kernel = (
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)) if radius else None
    )
    out: dict[str, np.ndarray] = {}
    for name in regions:
        if name not in PARTS:
            raise KeyError(f"unknown face region {name!r}; known: {', '.join(PARTS)}")
        canvas = np.zeros((h, w), np.uint8)
        for part in PARTS[name]:
            pts = np.round(lm[list(part)] * (1 << _SHIFT)).astype(np.int32)
            if name == "jaw":
                thickness = max(int(round(0.2 * eye_distance(lm))), 1)
                cv2.polylines(canvas, [pts], False, 1, thickness, cv2.LINE_8, _SHIFT)
            else:
                hull = cv2.convexHull(pts)
                cv2.fillConvexPoly(canvas, hull, 1, cv2.LINE_8, _SHIFT)
        if kernel is not None:
            _dilate_around(canvas, kernel, radius)
        out[name] = canvas.view(bool)
    return out


def _dilate_around(canvas: np.ndarray, kernel: np.ndarray, radius: int) -> None:
    """Dilate ``canvas`` in place, only in the box around what is drawn (the result is the same as
    dilating the whole image: nothing grows further than ``radius``; several times cheaper)."""
    x, y, w, h = cv2.boundingRect(canvas)
    if w == 0 or h == 0:
        return
    y0, x0 = max(y - radius, 0), max(x - radius, 0)
    y1, x1 = min(y + h + radius, canvas.shape[0]), min(x + w + radius, canvas.shape[1])
    canvas[y0:y1, x0:x1] = cv2.dilate(canvas[y0:y1, x0:x1], kernel)


def region_means(values: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean of ``values`` (``H×W`` or ``H×W×C``; channels are averaged) inside each mask."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 3:
        v = v.mean(axis=2)
    return {name: float(v[m].mean()) if m.any() else float("nan") for name, m in masks.items()}
