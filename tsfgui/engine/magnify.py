"""Eulerian motion magnification of an event's aligned face crops (Wu et al., SIGGRAPH 2012), Qt-free.

A micro-expression moves the skin by a fraction of a pixel; magnification makes that movement big
enough to see. Linear Eulerian magnification does it without tracking anything: each frame's luma
is split into a Laplacian pyramid, every pyramid level is filtered *in time* at each pixel, the
filtered change is multiplied by ``factor − 1`` and added back, and the pyramid is collapsed. For a
small displacement ``δ(t)`` the intensity change is ``≈ δ(t)·∂I/∂x``, so adding ``(factor − 1)`` times
it moves the pattern by ``factor·δ(t)``: ``factor`` is the motion magnification the user sees.

The temporal band suits a transient event rather than a periodic one (a pulse, not a heartbeat):

* lower edge: the change is taken relative to the *baseline*, the mean of the calm frames before
  the onset (the looped window starts 0.5 s before it), so the still lead-in stays still instead
  of moving against the event, as a zero-mean band-pass over the window would make it;
* upper edge: a zero-phase Gaussian low-pass in time with its −3 dB point at ``high_hz``, which
  keeps frame-to-frame sensor noise from being amplified.

Fine spatial bands can only carry a small magnified motion before the linear approximation breaks
(Wu et al.: ``(1 + α)·δ < λ/8``), and they hold most of the noise: a level whose wavelength ``λ`` is
under ``wavelength_cutoff`` gets its amplification scaled by ``λ / wavelength_cutoff``.

Chroma is left as it is (only luma is magnified), as Wu et al. do for motion.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Hashable

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

#: Gaussian σ (in seconds) times the −3 dB frequency (Hz): exp(−2π²σ²f²) = 1/√2.
_SIGMA_TIMES_CUTOFF = math.sqrt(math.log(math.sqrt(2.0)) / (2.0 * math.pi**2))


@dataclass(frozen=True)
class MagnifySettings:
    """How to magnify.

    ``factor``: output motion = ``factor`` × input motion (1 = unchanged; the app offers 5–30).
    ``high_hz``: upper edge of the temporal band (changes faster than this are not amplified).
    ``levels``: Laplacian pyramid levels (including the low-pass residual).
    ``wavelength_cutoff``: spatial wavelength in pixels below which the amplification is reduced.
    """

    factor: float = 10.0
    high_hz: float = 8.0
    levels: int = 4
    wavelength_cutoff: float = 16.0

    def __post_init__(self) -> None:
        if not self.factor >= 1.0:
            raise ValueError(f"magnification factor must be ≥ 1, not {self.factor}")
        if not self.high_hz > 0:
            raise ValueError(f"the temporal band's upper edge must be > 0 Hz, not {self.high_hz}")
        if not 1 <= self.levels <= 8:
            raise ValueError(f"pyramid levels must be 1…8, not {self.levels}")

    def with_factor(self, factor: float) -> "MagnifySettings":
        """The same settings with another magnification factor."""
        return replace(self, factor=float(factor))


def laplacian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """Split a float32 image into ``levels`` band-pass images, finest first, the last one low-pass."""
    bands: list[np.ndarray] = []
    current = image
    for _ in range(levels - 1):
        if min(current.shape[:2]) < 2:
            break
        down = cv2.pyrDown(current)
        up = cv2.pyrUp(down, dstsize=(current.shape[1], current.shape[0]))
        bands.append(current - up)
        current = down
    bands.append(current)
    return bands


def collapse_pyramid(bands: list[np.ndarray]) -> np.ndarray:
    """Inverse of :func:`laplacian_pyramid`: exact reconstruction of the image."""
    image = bands[-1]
    for band in reversed(bands[:-1]):
        image = cv2.pyrUp(image, dstsize=(band.shape[1], band.shape[0])) + band
    return image


def level_gains(settings: MagnifySettings, n_levels: int) -> list[float]:
    """Amplification ``α`` per pyramid level (finest first), attenuated below the wavelength cut-off.

    Level ``l`` holds wavelengths of about ``2^(l+1)`` to ``2^(l+2)`` pixels; its representative
    wavelength is taken as ``2^(l+2)``. The low-pass residual always gets the full ``α``.
    """
    alpha = settings.factor - 1.0
    gains = []
    for level in range(n_levels):
        wavelength = 2.0 ** (level + 2)
        full = level == n_levels - 1 or wavelength >= settings.wavelength_cutoff
        gains.append(alpha if full else alpha * wavelength / settings.wavelength_cutoff)
    return gains


def magnify_motion(
    frames: np.ndarray,
    fps: float,
    settings: MagnifySettings = MagnifySettings(),
    baseline_frames: int | None = None,
) -> np.ndarray:
    """Magnify the motion in ``frames`` (``T×H×W×3`` BGR or ``T×H×W`` grey, ``uint8``); same shape back.

    ``fps``: the frames' rate (sets the temporal filter). ``baseline_frames``: how many leading
    frames are calm and define the reference (default: the first quarter of the window, at least
    one frame). With ``factor == 1`` the frames come back unchanged.
    """
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or frames.shape[0] == 0:
        raise ValueError(f"expected T×H×W or T×H×W×3 frames, got shape {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames, got {frames.dtype}")
    if not fps > 0:
        raise ValueError(f"frame rate must be > 0, not {fps}")
    if settings.factor == 1.0:
        return frames.copy()
    colour = frames.ndim == 4
    if colour:
        ycc = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2YCrCb) for f in frames])
        luma = ycc[..., 0].astype(np.float32)
    else:
        luma = frames.astype(np.float32)
    n = luma.shape[0]
    base = max(1, n // 4) if baseline_frames is None else int(np.clip(baseline_frames, 1, n))
    sigma = _SIGMA_TIMES_CUTOFF * fps / settings.high_hz

    pyramids = [laplacian_pyramid(f, settings.levels) for f in luma]
    n_levels = len(pyramids[0])
    gains = level_gains(settings, n_levels)
    for level in range(n_levels):
        stack = np.stack([p[level] for p in pyramids])  # T×h×w
        change = stack - stack[:base].mean(axis=0, keepdims=True)
        if n > 1 and sigma > 0.05:
            change = gaussian_filter1d(change, sigma, axis=0, mode="nearest")
        stack += gains[level] * change
        for t in range(n):
            pyramids[t][level] = stack[t]
    out_luma = np.stack([collapse_pyramid(p) for p in pyramids])
    out_luma = np.clip(np.rint(out_luma), 0, 255).astype(np.uint8)
    if not colour:
        return out_luma
    ycc[..., 0] = out_luma
    return np.stack([cv2.cvtColor(f, cv2.COLOR_YCrCb2BGR) for f in ycc])


class MagnificationCache:
    """Magnified windows kept per event and settings, least recently used dropped past ``max_bytes``.

    Thread-safe: workers put, the UI thread gets. Keys are any hashable naming the event (e.g.
    recording, onset, offset, face size); the settings are part of the key.
    """

    def __init__(self, max_bytes: int = 512 * 1024 * 1024):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, event_key: Hashable, settings: MagnifySettings) -> np.ndarray | None:
        """The cached magnified frames, or None."""
        with self._lock:
            frames = self._items.get((event_key, settings))
            if frames is not None:
                self._items.move_to_end((event_key, settings))
            return frames

    def put(self, event_key: Hashable, settings: MagnifySettings, frames: np.ndarray) -> None:
        """Keep ``frames`` (read-only from now on) for this event and settings."""
        frames.setflags(write=False)
        key = (event_key, settings)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[key] = frames
            self._bytes += frames.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        with self._lock:
            return self._bytes
