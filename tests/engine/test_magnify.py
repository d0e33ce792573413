"""Motion magnification: a planted sub-pixel motion comes out multiplied by the factor; still stays still."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from tsfgui.engine.magnify import (
    MagnificationCache,
    MagnifySettings,
    collapse_pyramid,
    laplacian_pyramid,
    magnify_motion,
)

H, W, SPLIT = 128, 288, 150
FPS, T, PEAK = 30.0, 45, 25
_yy, _xx = np.mgrid[0:H, 0:W].astype(np.float64)
MOVING_BLOBS = [(40, 40, 7, 60), (70, 80, 9, -50), (100, 50, 6, 40), (55, 100, 8, 45)]
STILL_BLOBS = [(200, 40, 7, 60), (240, 80, 9, -50), (260, 50, 6, 40)]


def _blobs(blobs, shift: float = 0.0) -> np.ndarray:
    image = np.full((H, W), 100.0)
    for cx, cy, sigma, amplitude in blobs:
        image += amplitude * np.exp(-((_xx - cx - shift) ** 2 + (_yy - cy) ** 2) / (2 * sigma**2))
    return image


def _planted(peak_shift: float) -> tuple[np.ndarray, np.ndarray]:
    """45 frames at 30 fps: left half moves right by a Gaussian pulse (calm for the first 12 frames)."""
    t = np.arange(T)
    shifts = peak_shift * np.exp(-(((t - PEAK) / 5.0) ** 2)) * (t >= 12)
    still = _blobs(STILL_BLOBS)
    frames = []
    for shift in shifts:
        image = _blobs(MOVING_BLOBS, shift)
        image[:, SPLIT:] = still[:, SPLIT:]
        frames.append(np.clip(np.rint(image), 0, 255).astype(np.uint8))
    return np.stack(frames), shifts


def _measured_shift(image: np.ndarray) -> float:
    """Horizontal displacement of the moving pattern, by least squares against the exact pattern."""
    left = image[:, : SPLIT - 10].astype(np.float64)
    cost = lambda d: ((left - _blobs(MOVING_BLOBS, d)[:, : SPLIT - 10]) ** 2).sum()  # noqa: E731
    return float(minimize_scalar(cost, bounds=(-10, 10), method="bounded").x)


@pytest.mark.parametrize("factor", [4.0, 8.0])
def test_planted_subpixel_motion_is_amplified_by_the_factor(factor):
    frames, shifts = _planted(peak_shift=0.3)
    assert _measured_shift(frames[PEAK]) == pytest.approx(0.3, abs=0.02)  # the measure itself
    out = magnify_motion(frames, FPS, MagnifySettings(factor=factor), baseline_frames=10)
    assert out.shape == frames.shape and out.dtype == np.uint8
    for index in (22, PEAK, 28):  # 0.21, 0.30, 0.21 px
        assert _measured_shift(out[index]) == pytest.approx(factor * shifts[index], rel=0.2)
    assert abs(_measured_shift(out[5])) < 0.05  # the calm lead-in stays calm


def test_still_region_stays_still():
    frames, _ = _planted(peak_shift=0.15)
    out = magnify_motion(frames, FPS, MagnifySettings(factor=20.0), baseline_frames=10)
    region = (slice(None), slice(16, 112), slice(190, 272))
    assert np.abs(out[region].astype(int) - frames[region].astype(int)).max() <= 1
    assert np.abs(out[:, :, : SPLIT - 10].astype(int) - frames[:, :, : SPLIT - 10]).max() > 5  # it did act


def test_colour_frames_keep_their_chroma_and_factor_one_is_identity():
    grey, _ = _planted(peak_shift=0.15)
    bgr = np.stack([np.dstack([g, g, g]) for g in grey])
    assert np.array_equal(magnify_motion(bgr, FPS, MagnifySettings(factor=1.0)), bgr)
    out = magnify_motion(bgr, FPS, MagnifySettings(factor=10.0), baseline_frames=10)
    assert out.shape == bgr.shape
    spread = out.astype(int).max(axis=3) - out.astype(int).min(axis=3)
    assert spread.max() <= 2  # grey in, grey out: only luma moved
    assert _measured_shift(out[PEAK, :, :, 1]) == pytest.approx(1.5, rel=0.2)


def test_pyramid_round_trip_is_exact():
    image = np.random.default_rng(0).uniform(0, 255, (97, 131)).astype(np.float32)
    assert np.allclose(collapse_pyramid(laplacian_pyramid(image, 5)), image, atol=1e-3)


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="factor"):
        MagnifySettings(factor=0.5)
    with pytest.raises(ValueError, match="uint8"):
        magnify_motion(np.zeros((3, 8, 8), np.float32), FPS)
    with pytest.raises(ValueError, match="shape"):
        magnify_motion(np.zeros((8, 8), np.uint8), FPS)


def test_cache_keeps_per_event_and_settings_and_drops_least_recent():
    block = np.zeros((10, 32, 32, 3), np.uint8)
    cache = MagnificationCache(max_bytes=int(block.nbytes * 2.5))
    s10, s20 = MagnifySettings(factor=10), MagnifySettings(factor=20)
    cache.put("a", s10, block.copy())
    cache.put("a", s20, block.copy())
    assert cache.get("a", s10) is not None and cache.get("b", s10) is None
    cache.put("b", s10, block.copy())  # over budget: drops ("a", s20), the least recently used
    assert cache.get("a", s20) is None and cache.get("a", s10) is not None and len(cache) == 2
    with pytest.raises(ValueError):
        cache.get("a", s10)[0, 0, 0, 0] = 1  # cached frames are read-only
