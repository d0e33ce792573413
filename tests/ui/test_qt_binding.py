"""The installed Qt binding must not corrupt Python's reference counts when signals are emitted.

PySide6 6.12.0 decrements the refcount of ``True`` on every emission of a signal to a Python slot;
the app emits thousands of signals an hour and aborted with "Fatal Python error: bool_dealloc".
pyproject.toml excludes that release; this test fails if a binding with that bug is installed.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, Signal  # noqa: E402


class _Emitter(QObject):
    payload = Signal(object)
    number = Signal(int)


def test_signal_emission_keeps_reference_counts(qapp):
    emitter = _Emitter()
    received = []
    emitter.payload.connect(received.append)
    emitter.number.connect(lambda value: None)
    before_true, before_false = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(500):
        emitter.payload.emit(("results", [i], i))
        emitter.number.emit(i)
    assert len(received) == 500
    assert abs(sys.getrefcount(True) - before_true) < 50
    assert abs(sys.getrefcount(False) - before_false) < 50


def test_plot_updates_keep_reference_counts(qapp):
    import pyqtgraph as pg

    curve = pg.PlotDataItem()
    t = np.arange(300.0)
    before = sys.getrefcount(True)
    for _ in range(300):
        curve.setData(t, np.sin(t))
    assert abs(sys.getrefcount(True) - before) < 50
