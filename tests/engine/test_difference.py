"""The difference signal between aligned onset and apex crops, per facial region."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tsfgui.engine.difference import difference_map, temporal_signal


def test_temporal_signal_per_region():
    onset = np.full((224, 224, 3), 100, np.uint8)
    apex = onset.copy()
    apex[150:190, 70:150] = 151  # the mouth moves: +51 grey levels = 0.2 of the range
    masks = {name: np.zeros((224, 224), bool) for name in ("brows", "eyes", "nose", "mouth")}
    masks["brows"][40:60, 40:180] = True
    masks["eyes"][70:95, 40:180] = True
    masks["nose"][95:140, 90:130] = True
    masks["mouth"][150:190, 70:150] = True
    sig = temporal_signal(onset, apex, masks)
    assert sig.regions["mouth"] == pytest.approx(0.2)
    assert sig.regions["brows"] == sig.regions["eyes"] == sig.regions["nose"] == 0.0
    assert sig.magnitude == pytest.approx(0.2 * 40 * 80 / 224 ** 2)
    d = difference_map(onset, apex)
    assert d.shape == (224, 224) and d.max() == pytest.approx(0.2)
    assert difference_map(np.stack([onset, onset]), np.stack([apex, onset])).shape == (2, 224, 224)
    assert math.isnan(temporal_signal(onset, apex, {"empty": np.zeros((224, 224), bool)}).regions["empty"])
    with pytest.raises(ValueError, match="mask shape"):
        temporal_signal(onset, apex, {"bad": np.zeros((10, 10), bool)})


def test_byte_crops_and_float_crops_give_the_same_signal():
    """Two uint8 crops take OpenCV's path; the figures are those of the float images."""
    rng = np.random.default_rng(0)
    onset = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    apex = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    masks = {"a": rng.random((224, 224)) < 0.3, "b": np.zeros((224, 224), bool)}
    fast = temporal_signal(onset, apex, masks)
    slow = temporal_signal(onset.astype(np.float32) / 255.0, apex.astype(np.float32) / 255.0, masks)
    assert fast.magnitude == pytest.approx(slow.magnitude, rel=1e-6)
    assert fast.regions["a"] == pytest.approx(slow.regions["a"], rel=1e-6) and math.isnan(fast.regions["b"])
