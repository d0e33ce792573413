"""One-euro filter (Casiraghi, Roussel & Vogel 2012) for a small parameter vector.

An exponential moving average whose cut-off frequency rises with the signal's speed: at rest it
smooths hard (little jitter), in motion it follows closely (little lag). Here it runs on the four
similarity parameters of a face's alignment, expressed in crop-pixel units so one pair of settings
fits every face size (see :class:`tsfgui.face.tracker.FaceTracker`).
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(dt: float, cutoff: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filter a vector signal sampled at irregular times.

    ``min_cutoff`` (Hz): cut-off at rest — lower means smoother. ``beta`` (1/unit): how fast the
    cut-off rises with speed (speed = norm of the smoothed derivative, units per second).
    ``d_cutoff`` (Hz): cut-off of the derivative estimate.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("one-euro filter needs min_cutoff > 0, d_cutoff > 0 and beta >= 0")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t = 0.0

    @property
    def value(self) -> np.ndarray | None:
        """The current filtered value (``None`` before the first sample)."""
        return None if self._x is None else self._x.copy()

    def reset(self, x: np.ndarray, t: float) -> np.ndarray:
        """Start again from ``x`` at time ``t`` (seconds); returns ``x``."""
        self._x = np.asarray(x, dtype=np.float64).copy()
        self._dx = np.zeros_like(self._x)
        self._t = float(t)
        return self._x.copy()

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """Feed the sample ``x`` taken at ``t`` seconds; returns the filtered value."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._dx is None:
            return self.reset(x, t)
        dt = float(t) - self._t
        if dt <= 0.0:  # repeated or out-of-order timestamp: nothing sensible to filter against
            return self.reset(x, t)
        a_d = _alpha(dt, self.d_cutoff)
        self._dx = a_d * (x - self._x) / dt + (1.0 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * float(np.linalg.norm(self._dx))
        a = _alpha(dt, cutoff)
        self._x = a * x + (1.0 - a) * self._x
        self._t = float(t)
        return self._x.copy()
