"""Synthetic face videos for the face tests: the astronaut photo moved with cv2 warps."""

from __future__ import annotations

import math

import cv2
import numpy as np
import skimage.data

STABLE = (27, 28, 29, 30, 31, 35, 36, 39, 42, 45)


def astronaut_bgr() -> np.ndarray:
    return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)


def similarity(angle_deg: float, scale: float, centre, shift) -> np.ndarray:
    """2×3 matrix: rotate/scale about ``centre`` (photo px), then move by ``shift``."""
    a = math.radians(angle_deg)
    lin = scale * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    c = np.asarray(centre, dtype=np.float64)
    t = c - lin @ c + np.asarray(shift, dtype=np.float64)
    return np.hstack([lin, t[:, None]])


def head_motion(t: int, centre, offset=(64.0, -16.0)) -> np.ndarray:
    """Small smooth head motion: ±3 px, ±2 px, ±1° sinusoids (≤ 0.21 px per frame)."""
    dx = 3.0 * math.sin(2 * math.pi * t / 90)
    dy = 2.0 * math.sin(2 * math.pi * t / 70)
    ang = 1.0 * math.sin(2 * math.pi * t / 110)
    return similarity(ang, 1.0, centre, (offset[0] + dx, offset[1] + dy))


def render(photo: np.ndarray, matrix: np.ndarray, size=(640, 480)) -> np.ndarray:
    return cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def apply(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return p @ matrix[:, :2].T + matrix[:, 2]


def plant_mouth_motion(photo: np.ndarray, landmarks: np.ndarray, amount: float, sigma: float = 6.0) -> np.ndarray:
    """Pull both mouth corners (landmarks 48, 54) outward and up by ``amount`` px (a tiny smile),
    with a Gaussian fall-off, using cv2.remap; the rest of the face is untouched."""
    if amount == 0:
        return photo.copy()
    h, w = photo.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x, map_y = xs.copy(), ys.copy()
    for idx, sign in ((48, -1.0), (54, 1.0)):
        cx, cy = landmarks[idx]
        g = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
        d = np.array([sign, -0.5]) / math.hypot(1.0, 0.5) * amount
        # dst(x) = src(x − d·g): content moves by +d near the corner
        map_x -= (d[0] * g).astype(np.float32)
        map_y -= (d[1] * g).astype(np.float32)
    return cv2.remap(photo, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def gray_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two images' gray values."""
    ga = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY).astype(np.float64).ravel()
    gb = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY).astype(np.float64).ravel()
    return float(np.corrcoef(ga, gb)[0, 1])


def crop_jitter(ref_points: np.ndarray, warps: list[np.ndarray], crop_matrices: list[np.ndarray]) -> float:
    """RMS frame-to-frame motion (crop px) of the true positions of ``ref_points`` (photo px),
    moved by the known per-frame ``warps`` and mapped into each frame's crop."""
    q = np.array([apply(apply(ref_points, w), m) for w, m in zip(warps, crop_matrices)])
    d = np.diff(q, axis=0)
    return float(np.sqrt((d**2).sum(-1).mean()))
