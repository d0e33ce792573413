"""The one-euro filter used to steady the alignment."""

from __future__ import annotations

import numpy as np
import pytest

from tsfgui.face import OneEuroFilter


def test_noise_at_rest_is_damped_and_motion_is_followed():
    rng = np.random.default_rng(1)
    f = OneEuroFilter(min_cutoff=1.0, beta=1.5, d_cutoff=1.0)
    t = np.arange(300) / 30.0
    noisy = rng.normal(0.0, 0.2, size=(300, 4))
    out = np.array([f(x, ti) for x, ti in zip(noisy, t)])
    assert np.diff(out[30:], axis=0).std() < 0.5 * np.diff(noisy[30:], axis=0).std()
    # a step of 20 units is followed within a few frames (speed raises the cut-off)
    f.reset(np.zeros(4), 0.0)
    outs = [f(np.full(4, 20.0), (k + 1) / 30.0) for k in range(10)]
    assert outs[-1][0] > 19.0


def test_reset_and_bad_timestamps():
    f = OneEuroFilter()
    assert f.value is None
    assert np.allclose(f(np.ones(2), 1.0), 1.0)
    assert np.allclose(f(np.full(2, 5.0), 1.0), 5.0)  # same timestamp: restart, no division by zero
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0)
