"""Optical-flow signals per facial region, with the head's own motion removed.

For each frame the dense optical flow (OpenCV's Farnebäck) runs from the reference (onset) frame to the
current (apex) frame, both cut with the *current* frame's alignment (:class:`FacePatches` keeps the
recent frames around the face for that): landmark jitter, a blink moving the eye-corner landmarks the
crop is aligned on, or a landmark fit that jumps when the tracker re-detects the face then moves both
crops alike and is no motion at all (with each frame cut by its own alignment, a jump of the fit read
as a flow of several pixels over the whole face). Where the reference frame is no longer kept, its own
crop is used. What remains of the head's own motion over the lag (a little rotation, translation or
scale) is a similarity motion of the whole face. It is fitted to the flow on a grid of
points over the face (the convex hull of the landmarks) outside the brows, eyes and mouth, which
expressions and blinks move most, by robust least squares (Tukey's biweight: what an expression still
moves there counts as outliers), and subtracted. The signal of a region is the mean length of the remaining flow inside it, in pixels at a
224-px face.

Farnebäck runs on the crop halved to 112 px (:attr:`FlowSettings.side`): measured here on a planted
sub-pixel motion it is as accurate as at full size and four times cheaper, and more accurate than DIS
at the same cost (``tsfgui bench flow``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tsfgui.face import invert_affine, similarity_lstsq, transform_points, warp_crop

from .results import DIFF_KEYS

#: Names of the flow magnitudes, in the order the exports write them (the difference's keys).
FLOW_KEYS: tuple[str, ...] = DIFF_KEYS

#: Bumped whenever what the per-frame motion signals measure changes: stored signals of another version
#: (``eval-spotting``'s, the benchmark's) are analysed again. 3: the reference cut with the frame's alignment.
SIGNALS_VERSION = 3

FACE_SIDE = 224.0
"""Magnitudes are stated in pixels at this face crop side."""


@dataclass(frozen=True)
class FlowSettings:
    """Farnebäck's parameters and the working size: ``side`` px square (the crop is resized to it),
    ``levels`` pyramid levels, ``window`` averaging window, ``iterations`` per level, ``poly_n`` and
    ``poly_sigma`` of the polynomial expansion."""

    side: int = 112
    levels: int = 3
    window: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2


def to_work_grey(crop: np.ndarray, side: int) -> np.ndarray:
    """A BGR (or grey) crop as a ``side×side`` grey uint8 image."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    if grey.shape[0] != side or grey.shape[1] != side:
        grey = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA)
    return grey


def dense_flow(reference: np.ndarray, current: np.ndarray, settings: FlowSettings = FlowSettings()) -> np.ndarray:
    """Farnebäck flow (``side×side×2``, float32, working pixels) from ``reference`` to ``current``."""
    a, b = to_work_grey(reference, settings.side), to_work_grey(current, settings.side)
    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, settings.levels, settings.window, settings.iterations,
                                        settings.poly_n, settings.poly_sigma, 0)


def head_motion(flow: np.ndarray, points: np.ndarray, iterations: int = 4) -> np.ndarray:
    """The similarity motion (2×3 matrix, working pixels) that best explains ``flow`` at ``points``
    (``N×2`` working pixels), fitted robustly: iteratively reweighted least squares with Tukey's
    biweight, so points an expression moves count as outliers."""
    h, w = flow.shape[:2]
    pts = np.asarray(points, dtype=np.float64)
    xi = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
    uv = flow[yi, xi].astype(np.float64)
    if len(pts) < 3:
        return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    x, y = pts[:, 0], pts[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    # u = α·x − β·y + tx,  v = β·x + α·y + ty  (α = scale·cos − 1, β = scale·sin)
    design = np.concatenate([np.stack([x, -y, one, zero], 1), np.stack([y, x, zero, one], 1)])
    target = np.concatenate([uv[:, 0], uv[:, 1]])
    weight = np.ones(len(pts))
    params = np.zeros(4)
    for _ in range(iterations):
        sw = np.sqrt(np.concatenate([weight, weight]))
        params = np.linalg.lstsq(design * sw[:, None], target * sw, rcond=None)[0]
        residual = np.hypot(*(target - design @ params).reshape(2, -1))
        k = 4.685 * (1.4826 * np.median(residual) + 0.02)
        weight = np.clip(1.0 - (residual / k) ** 2, 0.0, None) ** 2
    alpha, beta, tx, ty = params
    return np.array([[1.0 + alpha, -beta, tx], [beta, 1.0 + alpha, ty]])


def face_points(landmarks: np.ndarray, side: int, exclude: np.ndarray | None = None, step: int = 5) -> np.ndarray:
    """A grid of points (every ``step`` working px) inside the convex hull of the 68 landmarks and outside
    ``exclude`` (a ``side×side`` boolean mask), in working pixels: where the head's own motion is measured."""
    hull = cv2.convexHull(np.round(np.asarray(landmarks, dtype=np.float64) * 16).astype(np.int32))
    mask = np.zeros((side, side), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1, cv2.LINE_8, 4)
    if exclude is not None:
        mask[exclude] = 0
    ys, xs = np.nonzero(mask[step // 2::step, step // 2::step])
    return np.stack([xs * step + step // 2, ys * step + step // 2], 1).astype(np.float64)


class RegionFlow:
    """Measures the per-region residual flow of frame pairs (one instance per analysis; keeps the
    working grids)."""

    def __init__(self, settings: FlowSettings | None = None):
        self.settings = settings or FlowSettings()
        side = self.settings.side
        ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)
        self._grid = np.stack([xs, ys], -1)

    def residual(self, reference: np.ndarray, current: np.ndarray, landmarks_crop: np.ndarray,
                 crop_side: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """The flow from ``reference`` to ``current`` minus the head's similarity motion, measured on the
        face outside ``exclude`` (a working-size mask of the parts expressions move most)
        (``side×side×2``, pixels at a 224-px face)."""
        s = self.settings
        flow = dense_flow(reference, current, s)
        scale = s.side / float(crop_side)
        points = face_points(np.asarray(landmarks_crop, dtype=np.float64) * scale, s.side, exclude)
        m = head_motion(flow, points).astype(np.float32)
        rigid = self._grid @ m[:, :2].T + m[:, 2] - self._grid
        return (flow - rigid) * np.float32(FACE_SIDE / s.side)

    def measure(self, reference: np.ndarray, current: np.ndarray, landmarks_crop: np.ndarray,
                masks: dict[str, np.ndarray]) -> dict[str, float]:
        """Mean residual flow length (px at a 224-px face) in each region of ``masks`` (boolean masks on
        the crop, as :func:`~tsfgui.face.region_masks` gives) and over all of them (``global``)."""
        crop_side = current.shape[0]
        side = self.settings.side
        step = max(1, int(round(crop_side / side)))
        small = {name: mask[::step, ::step][:side, :side] for name, mask in masks.items()}
        moving = [small[k] for k in ("brows", "eyes", "mouth") if k in small]
        exclude = np.logical_or.reduce(moving) if moving else None
        residual = self.residual(reference, current, landmarks_crop, crop_side, exclude)
        length = np.hypot(residual[..., 0], residual[..., 1])
        out: dict[str, float] = {}
        union = None
        for name, region in small.items():
            union = region if union is None else union | region
            out[name] = float(length[region].mean()) if region.any() else float("nan")
        out["global"] = float(length[union].mean()) if union is not None and union.any() else float("nan")
        return out


class FacePatches:
    """Grey patches of recent frames around the face, so that a reference frame can be cut with another
    frame's alignment matrix (:meth:`cut`). A patch is the frame under the face crop's footprint grown by
    ``margin`` of its size on each side (the head may move that much between the two frames); at most
    ``keep`` frames are kept (the oldest go first), whatever the video's size."""

    def __init__(self, keep: int = 96, margin: float = 0.25):
        self.keep, self.margin = keep, margin
        # index → (x0, y0, grey patch, the region it stands for: the patch, and beyond it where it ends at
        # the frame's border, since a crop reaching out of the frame is black there either way)
        self._patches: dict[int, tuple[int, int, np.ndarray, tuple[float, float, float, float]]] = {}

    def __len__(self) -> int:
        return len(self._patches)

    def add(self, index: int, image: np.ndarray, matrix: np.ndarray, size: int) -> None:
        """Keep the patch of frame ``index`` (BGR or grey) around the crop ``matrix`` (frame → crop) cuts."""
        box = self._footprint(matrix, size)
        h, w = image.shape[:2]
        grow = self.margin * max(box[2] - box[0], box[3] - box[1])
        x0, y0 = max(int(box[0] - grow), 0), max(int(box[1] - grow), 0)
        x1, y1 = min(int(np.ceil(box[2] + grow)) + 1, w), min(int(np.ceil(box[3] + grow)) + 1, h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        patch = image[y0:y1, x0:x1]
        patch = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch.copy()
        inf = float("inf")
        covers = (-inf if x0 == 0 else x0, -inf if y0 == 0 else y0, inf if x1 == w else x1 - 1, inf if y1 == h else y1 - 1)
        self._patches[index] = (x0, y0, patch, covers)
        while len(self._patches) > self.keep:
            del self._patches[next(iter(self._patches))]

    def cut(self, index: int, matrix: np.ndarray, size: int) -> np.ndarray | None:
        """Frame ``index`` cut with ``matrix`` (frame → ``size×size`` crop) as a grey crop, or None when
        the frame is not kept or the crop would reach outside its patch."""
        entry = self._patches.get(index)
        if entry is None:
            return None
        x0, y0, patch, covers = entry
        box = self._footprint(matrix, size)
        if box[0] < covers[0] or box[1] < covers[1] or box[2] > covers[2] or box[3] > covers[3]:
            return None
        m = np.asarray(matrix, dtype=np.float64).copy()
        m[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)  # patch pixel (u, v) = frame (u + x0, v + y0)
        return warp_crop(patch, m, size)

    @staticmethod
    def _footprint(matrix: np.ndarray, size: int) -> tuple[float, float, float, float]:
        """Bounding box (x0, y0, x1, y1) in the frame of the crop ``matrix`` cuts."""
        corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64) - 0.5
        frame = transform_points(corners, invert_affine(matrix))
        return float(frame[:, 0].min()), float(frame[:, 1].min()), float(frame[:, 0].max()), float(frame[:, 1].max())
