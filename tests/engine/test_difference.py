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
