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

The region means dilute a movement that only part of a region makes (an inner brow, a lip corner) with
the noise of the rest. So the flow is also pooled into patches (:class:`PatchMotion`: the residual flow
averaged as vectors over a grid of blocks and their 3×3 neighbourhoods, about 24 px at a 224-px face,
where noise cancels and a coherent movement adds up), each patch's length becomes a robust z-score
against that patch's own recent past (median and MAD over the last ``window_s``, causal, so live use
works alike), and a region's **motion** is the 90th percentile of its patches' z: high when a few
patches move well beyond their own noise. Spotting runs on it (``motion`` in the results).

Farnebäck runs on the crop halved to 112 px (:attr:`FlowSettings.side`): measured here on a planted
sub-pixel motion it is as accurate as at full size and four times cheaper, and more accurate than DIS
at the same cost (``tsfgui bench flow``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from tsfgui.face import invert_affine, similarity_lstsq, transform_points, warp_crop

from .results import DIFF_KEYS

#: Names of the flow magnitudes, in the order the exports write them (the difference's keys).
FLOW_KEYS: tuple[str, ...] = DIFF_KEYS

#: Bumped whenever what the per-frame motion signals measure changes: stored signals of another version
#: (``eval-spotting``'s, the benchmark's) are analysed again. 3: the reference cut with the frame's alignment;
#: 4: the patch motion (:class:`PatchMotion`), Farnebäck with 2 iterations; 5: the head's motion fitted above
#: the nose's bottom only; 6: the regions' mean flow vectors (``drift``); 7: the drift's horizontal part
#: mirrored about the face's midline (:meth:`RegionFlow.measure`).
SIGNALS_VERSION = 7

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
    iterations: int = 2
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


def moving_parts(masks: dict[str, np.ndarray], landmarks_crop: np.ndarray, scale: float) -> np.ndarray:
    """Where expressions and speech move the face (``side×side``, from working-size ``masks`` and the crop's
    landmarks times ``scale``): the brows, eyes and mouth, and everything below the nose, which the jaw
    moves as the mouth opens (a fit that counted the chin read speech as head motion and put its
    residual on the brows)."""
    side = next(iter(masks.values())).shape[0]
    out = np.zeros((side, side), bool)
    for key in ("brows", "eyes", "mouth"):
        if key in masks:
            out |= masks[key]
    nose_bottom = float(np.asarray(landmarks_crop, dtype=np.float64)[33, 1]) * scale
    out[max(0, int(np.ceil(nose_bottom))):] = True
    return out


class RegionFlow:
    """Measures the per-region residual flow of frame pairs (one instance per analysis; keeps the
    working grids)."""

    def __init__(self, settings: FlowSettings | None = None):
        self.settings = settings or FlowSettings()
        side = self.settings.side
        ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)
        self._grid = np.stack([xs, ys], -1)
        self.patches = PatchMotion()
        self.motion: dict[str, float] = {}
        self.drift: dict[str, tuple[float, float]] = {}

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
                masks: dict[str, np.ndarray], timestamp_ms: float | None = None) -> dict[str, float]:
        """Mean residual flow length (px at a 224-px face) in each region of ``masks`` (boolean masks on
        the crop, as :func:`~tsfgui.face.region_masks` gives) and over all of them (``global``).

        With ``timestamp_ms`` (frames in time order), the regions' patch motion (:class:`PatchMotion`)
        of the same pair is kept in :attr:`motion` (empty while the patches' baseline is too short).
        :attr:`drift` keeps each region's mean residual flow *vector* (dx, dy), px at a 224-px face, with
        the horizontal part mirrored about the face's midline (x of the nose's bridge, landmarks 27–30):
        + is away from the midline. Its direction tells the rise of a movement from its return; mirrored,
        the two corners of a lip stretcher or a smile add up instead of cancelling (an unmirrored mean
        of a symmetric movement is its noise)."""
        crop_side = current.shape[0]
        side = self.settings.side
        step = max(1, int(round(crop_side / side)))
        small = {name: mask[::step, ::step][:side, :side] for name, mask in masks.items()}
        exclude = moving_parts(small, landmarks_crop, side / float(crop_side))
        residual = self.residual(reference, current, landmarks_crop, crop_side, exclude)
        length = np.hypot(residual[..., 0], residual[..., 1])
        midline = float(np.asarray(landmarks_crop, dtype=np.float64)[27:31, 0].mean()) * side / float(crop_side)
        sideways = np.where(self._grid[..., 0] >= midline, residual[..., 0], -residual[..., 0])  # + = outward
        out: dict[str, float] = {}
        self.drift = {}
        union = None
        for name, region in small.items():
            union = region if union is None else union | region
            out[name] = float(length[region].mean()) if region.any() else float("nan")
            if region.any():
                self.drift[name] = (float(sideways[region].mean()), float(residual[..., 1][region].mean()))
        out["global"] = float(length[union].mean()) if union is not None and union.any() else float("nan")
        self.motion = self.patches.measure(residual, small, timestamp_ms) if timestamp_ms is not None else {}
        return out


class PatchMotion:
    """Per-region motion from patches of the residual flow, each against its own recent past.

    The flow (``side×side×2``) is averaged as vectors over ``grid×grid`` blocks, then over each block's
    3×3 neighbourhood (a patch); a patch's length is turned into a robust z-score against its own
    baseline: the median and MAD (×1.4826) of its lengths over the last ``window_s`` seconds (at most
    ``samples`` frames, evenly spaced in time), recomputed every ``hop_s``. A region's motion is the
    ``quantile`` of the z of the patches whose blocks lie mostly inside it. The baseline starts again
    when time goes backwards (another video)."""

    def __init__(self, grid: int = 28, window_s: float = 20.0, hop_s: float = 0.5, quantile: float = 0.9,
                 samples: int = 600, min_samples: int = 15):
        self.grid, self.window_s, self.hop_s, self.quantile = grid, window_s, hop_s, quantile
        self.samples, self.min_samples = samples, min_samples
        self.reset()

    def reset(self) -> None:
        """Forget the baseline."""
        self._history: deque[tuple[float, np.ndarray]] = deque()
        self._median: np.ndarray | None = None
        self._spread: np.ndarray | None = None
        self._computed_ms: float | None = None

    def lengths(self, flow: np.ndarray) -> np.ndarray:
        """Patch lengths (``grid×grid``) of a flow field: block means of the vectors, 3×3 neighbourhoods."""
        g = self.grid
        h, w = flow.shape[:2]
        blocks = cv2.resize(flow.astype(np.float32), (g, g), interpolation=cv2.INTER_AREA) if (h, w) != (g, g) else flow
        patches = cv2.blur(blocks, (3, 3), borderType=cv2.BORDER_REPLICATE)
        return np.hypot(patches[..., 0], patches[..., 1])

    def measure(self, flow: np.ndarray, masks: dict[str, np.ndarray], timestamp_ms: float) -> dict[str, float]:
        """The motion of each region of ``masks`` (boolean, the flow's size) and of all (``global``)
        for the flow of the frame at ``timestamp_ms``; empty while the baseline has under
        ``min_samples`` frames."""
        lengths = self.lengths(flow)
        self._remember(lengths, float(timestamp_ms))
        if self._median is None:
            return {}
        z = (lengths - self._median) / self._spread
        g = self.grid
        out: dict[str, float] = {}
        union = np.zeros((g, g), bool)
        for name, mask in masks.items():
            inside = cv2.resize(mask.astype(np.float32), (g, g), interpolation=cv2.INTER_AREA) >= 0.5
            union |= inside
            if inside.any():
                out[name] = float(np.quantile(z[inside], self.quantile))
        if union.any():
            out["global"] = float(np.quantile(z[union], self.quantile))
        return out

    def _remember(self, lengths: np.ndarray, t: float) -> None:
        history = self._history
        if history and t < history[-1][0]:
            self.reset()
            history = self._history
        window_ms = self.window_s * 1000.0
        if not history or t - history[-1][0] >= 0.999 * window_ms / self.samples:
            history.append((t, lengths))
        while history and history[0][0] < t - window_ms:
            history.popleft()
        if len(history) < self.min_samples:
            return
        due = self._computed_ms is None or t - self._computed_ms >= self.hop_s * 1000.0
        if due or len(history) < 4 * self.min_samples:
            stack = np.stack([h for _, h in history])
            median = np.median(stack, axis=0)
            self._median = median
            self._spread = 1.4826 * np.median(np.abs(stack - median), axis=0) + 1e-3
            self._computed_ms = t


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
