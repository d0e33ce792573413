"""Smooth, local image warps driven by landmark displacements.

The dense displacement field is a Gaussian radial-basis interpolation of the control-point displacements:
the 68 landmarks (each with its own displacement, zero for those that do not move) plus a ring of anchors
around the face that are held at zero. A Gaussian kernel decays to nothing a few widths away, so the field
is local: the background and the parts of the face whose landmarks stay put do not move.

Fields here are *forward* displacements ``F`` in output-pixel coordinates: the content at base position
``p`` appears at ``p + F(p)`` in the warped frame. :func:`warp` inverts that with a few fixed-point steps
(``p = y - F(p)``) and samples the base image with :func:`cv2.remap`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Roi:
    """A rectangle of the frame: columns ``x0:x1`` and rows ``y0:y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @staticmethod
    def around(points: np.ndarray, margin: float, size: tuple[int, int]) -> "Roi":
        """Bounding box of ``points`` grown by ``margin`` px, clipped to a ``(width, height)`` frame."""
        w, h = size
        lo = np.floor(points.min(0) - margin).astype(int)
        hi = np.ceil(points.max(0) + margin).astype(int) + 1
        return Roi(max(0, int(lo[0])), max(0, int(lo[1])), min(w, int(hi[0])), min(h, int(hi[1])))

    def union(self, other: "Roi") -> "Roi":
        return Roi(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))


def anchor_ring(landmarks: np.ndarray, *, scale: float = 1.3, count: int = 28) -> np.ndarray:
    """Points on an ellipse around the landmarks (``scale`` × their half extents) held at zero motion."""
    pts = np.asarray(landmarks, np.float64)
    lo, hi = pts.min(0), pts.max(0)
    center = (lo + hi) / 2
    radii = (hi - lo) / 2 * scale
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return center + np.stack([np.cos(angles), np.sin(angles)], 1) * radii


def _gauss(a: np.ndarray, b: np.ndarray, sigma: float) -> np.ndarray:
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / (2.0 * sigma * sigma))


class LandmarkField:
    """Linear map from the 68 landmark displacements to a dense, smooth displacement field.

    ``field(disp)`` gives the (h, w, 2) forward field over :attr:`roi`; ``at_landmarks(disp)`` gives the
    displacement the field really applies at each landmark (the interpolation is slightly regularised, so
    this is what the rendered frame shows and what the ground truth records).
    """

    def __init__(self, landmarks: np.ndarray, frame_size: tuple[int, int], *, sigma: float,
                 anchors: np.ndarray | None = None, regularization: float = 0.02):
        self.landmarks = np.asarray(landmarks, np.float64)
        self.sigma = float(sigma)
        self.anchors = anchor_ring(self.landmarks) if anchors is None else np.asarray(anchors, np.float64)
        centers = np.concatenate([self.landmarks, self.anchors])
        n = len(self.landmarks)
        phi = _gauss(centers, centers, self.sigma)
        # Weights per unit displacement of each landmark: (M, 68); anchors have zero displacement.
        rhs = np.zeros((len(centers), n))
        rhs[:n, :n] = np.eye(n)
        weights = np.linalg.solve(phi + regularization * np.eye(len(centers)), rhs)
        self._weights = weights
        self._at_landmarks = phi[:n] @ weights  # (68, 68)
        self.roi = Roi.around(centers, 3.5 * self.sigma, frame_size)
        # The Gaussian kernel is separable: k(x, y; c) = gx(x; c) * gy(y; c), so the dense field is two
        # small matrix products per frame, (h × M) @ (M × w), with no per-pixel kernel table.
        xs = np.arange(self.roi.x0, self.roi.x1, dtype=np.float64)
        ys = np.arange(self.roi.y0, self.roi.y1, dtype=np.float64)
        self._gx_t = np.ascontiguousarray(
            np.exp(-((xs[:, None] - centers[None, :, 0]) ** 2) / (2 * self.sigma ** 2)).T)  # (M, w)
        self._gy = np.exp(-((ys[:, None] - centers[None, :, 1]) ** 2) / (2 * self.sigma ** 2))  # (h, M)

    @property
    def landmark_matrix(self) -> np.ndarray:
        """(68, 68) matrix mapping requested landmark displacements to the applied ones."""
        return self._at_landmarks

    def at_landmarks(self, disp: np.ndarray) -> np.ndarray:
        """(68, 2) displacement that the dense field applies at the landmarks."""
        return self._at_landmarks @ np.asarray(disp, np.float64)

    def field(self, disp: np.ndarray) -> np.ndarray:
        """(h, w, 2) float32 forward displacement over :attr:`roi`."""
        wd = self._weights @ np.asarray(disp, np.float64)  # (M, 2) kernel weights
        fx = (self._gy * wd[:, 0]) @ self._gx_t
        fy = (self._gy * wd[:, 1]) @ self._gx_t
        return np.stack([fx, fy], -1).astype(np.float32)


def head_mask(landmarks: np.ndarray, frame_size: tuple[int, int], *, face_width: float) -> tuple[Roi, np.ndarray]:
    """Soft mask of the head (1 over face and hair, smooth fall to 0 around it) and its ROI.

    Rigid head motion is multiplied by this mask, so the background away from the head stays still and
    the transition is smooth (a slight stretch, never a tear).
    """
    pts = np.asarray(landmarks, np.float64)
    center = (pts.min(0) + pts.max(0)) / 2 - np.array([0.0, 0.15 * face_width])
    radii = np.array([0.7, 0.9]) * face_width
    outer = 1.6
    roi = Roi.around(np.stack([center - radii * outer, center + radii * outer]), 2, frame_size)
    ys, xs = np.mgrid[roi.y0:roi.y1, roi.x0:roi.x1].astype(np.float64)
    r = np.sqrt(((xs - center[0]) / radii[0]) ** 2 + ((ys - center[1]) / radii[1]) ** 2)
    t = np.clip((outer - r) / (outer - 1.0), 0.0, 1.0)
    return roi, (t * t * (3 - 2 * t)).astype(np.float32)


def rigid_displacement(points: np.ndarray, center: np.ndarray, shift: np.ndarray, angle_rad: float) -> np.ndarray:
    """Displacement of ``points`` (…, 2) by a rotation about ``center`` followed by a shift."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    rel = points - center
    rotated = np.stack([c * rel[..., 0] - s * rel[..., 1], s * rel[..., 0] + c * rel[..., 1]], -1)
    return rotated - rel + shift


def warp(image: np.ndarray, field: np.ndarray, roi: Roi, *, iterations: int = 4) -> np.ndarray:
    """Return a copy of ``image`` with the ROI warped by the forward displacement ``field`` (h, w, 2).

    Pixels outside the ROI are copied unchanged. The backward map is found by fixed-point iteration
    ``p ← y − F(p)``, which converges in a few steps for the small, smooth fields used here.
    """
    h, w = roi.shape
    ys, xs = np.mgrid[roi.y0:roi.y1, roi.x0:roi.x1].astype(np.float32)
    fx = np.ascontiguousarray(field[..., 0])
    fy = np.ascontiguousarray(field[..., 1])
    px, py = xs - fx, ys - fy
    for _ in range(iterations - 1):
        # Sample F at the current estimate p (ROI-relative coordinates for the field).
        mx, my = px - roi.x0, py - roi.y0
        sx = cv2.remap(fx, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        sy = cv2.remap(fy, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        px, py = xs - sx, ys - sy
    out = image.copy()
    out[roi.slices] = cv2.remap(image, px, py, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE).reshape(
        out[roi.slices].shape)
    return out
