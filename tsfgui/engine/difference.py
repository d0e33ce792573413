"""How much the face moved between the onset and the apex crop: the difference signal the analysis
measures per frame, globally and per facial region, and the inspector shows as an image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import cv2
import numpy as np
import torch


def _as_float_image(img: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    a = np.asarray(img)
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    return a.astype(np.float32)


def difference_map(onset: np.ndarray | torch.Tensor, apex: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-pixel magnitude of ``apex − onset``: mean absolute difference over colour channels.

    Crops are ``H×W×3`` (or ``H×W``), ``uint8`` (scaled to 0…1) or float; batches ``N×H×W×3`` give
    ``N×H×W``. Returns ``float32``.
    """
    a, b = _as_float_image(onset), _as_float_image(apex)
    if a.shape != b.shape:
        raise ValueError(f"onset {a.shape} and apex {b.shape} differ in shape")
    d = np.abs(b - a)
    if d.ndim >= 3 and d.shape[-1] in (1, 3, 4):
        d = d.mean(axis=-1)
    return d.astype(np.float32)


@dataclass
class TemporalSignal:
    """Movement between onset and apex: ``magnitude`` over the whole crop, and per region."""

    magnitude: float
    regions: dict[str, float] = field(default_factory=dict)


def temporal_signal(onset: np.ndarray | torch.Tensor, apex: np.ndarray | torch.Tensor,
                    region_masks: Mapping[str, np.ndarray] | None = None) -> TemporalSignal:
    """Mean difference magnitude over the crop and inside each boolean region mask (crop coordinates,
    e.g. ``tsfgui.face.region_masks(obs.landmarks_crop, obs.size)``). An empty mask gives NaN.

    Two ``uint8`` crops of one shape (what the analysis hands over on every frame) take a path
    without float images: OpenCV's absolute difference and masked means, the same figures."""
    if _both_uint8_images(onset, apex):
        return _temporal_signal_uint8(onset, apex, region_masks or {})
    d = difference_map(onset, apex)
    if d.ndim != 2:
        raise ValueError(f"temporal_signal takes one pair of crops, got difference map of shape {d.shape}")
    regions: dict[str, float] = {}
    for name, mask in (region_masks or {}).items():
        m = np.asarray(mask, dtype=bool)
        if m.shape != d.shape:
            raise ValueError(f"region {name!r}: mask shape {m.shape} differs from crop shape {d.shape}")
        regions[name] = float(d[m].mean()) if m.any() else float("nan")
    return TemporalSignal(float(d.mean()), regions)


def _both_uint8_images(a, b) -> bool:
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == np.uint8
            and b.dtype == np.uint8 and a.shape == b.shape and a.ndim in (2, 3)
            and (a.ndim == 2 or a.shape[2] <= 4))


def _temporal_signal_uint8(onset: np.ndarray, apex: np.ndarray,
                           region_masks: Mapping[str, np.ndarray]) -> TemporalSignal:
    """:func:`temporal_signal` of two ``uint8`` crops: |apex − onset| stays ``uint8`` (exact), and the
    mean over the channels of a region is the mean of its per-channel means (each has the same count)."""
    d = cv2.absdiff(np.ascontiguousarray(apex), np.ascontiguousarray(onset))
    channels = 1 if d.ndim == 2 else d.shape[2]

    def mean(mask: np.ndarray | None) -> float:
        return sum(cv2.mean(d, mask=mask)[:channels]) / (255.0 * channels)

    regions: dict[str, float] = {}
    for name, mask in region_masks.items():
        m = np.asarray(mask, dtype=bool)
        if m.shape != d.shape[:2]:
            raise ValueError(f"region {name!r}: mask shape {m.shape} differs from crop shape {d.shape[:2]}")
        m8 = np.ascontiguousarray(m).view(np.uint8)
        regions[name] = mean(m8) if cv2.countNonZero(m8) else float("nan")
    return TemporalSignal(mean(None), regions)
