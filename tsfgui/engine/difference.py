"""How much the face moved between the onset and the apex crop: the difference signal the analysis
measures per frame, globally and per facial region, and the inspector shows as an image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

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
    e.g. ``tsfgui.face.region_masks(obs.landmarks_crop, obs.size)``). An empty mask gives NaN."""
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
