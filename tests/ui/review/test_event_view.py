"""The event looper widget on the bundled sample: frames arrive from a worker, loop, magnify, step."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tsfgui.engine.event_loop import event_window
from tsfgui.resources import SAMPLE_VIDEO
from tsfgui.ui.review.event_view import EventView

EVENTS = json.loads(SAMPLE_VIDEO.with_suffix(".json").read_text())["events"]


@pytest.fixture
def view(qtbot):
    widget = EventView(tick_ms=5)
    qtbot.addWidget(widget)
    widget.open_recording(str(SAMPLE_VIDEO))
    yield widget
    widget.close_recording()


def _window(event):
    return event_window(event["onset"], event["offset"], 30.0, 300, event["apex"])


def test_event_loops_its_window_with_the_aligned_face(view, qtbot):
    window = _window(EVENTS[0])
    with qtbot.waitSignal(view.clipShown, timeout=20_000):
        view.show_event("e0", window)
    assert view.clip.crops is not None and len(view.clip.frames) == len(window)
    assert view.current_frame == window.onset  # a new event starts at its onset
    seen = set()
    view.frameShown.connect(seen.add)
    view.set_speed(1.0)
    qtbot.waitUntil(lambda: len(seen) >= 5, timeout=10_000)
    assert seen <= set(window.frames)
    shown = view.frame_item.image
    assert np.array_equal(shown, view.clip.frames[view.position][..., ::-1])


def test_magnification_arrives_from_the_worker_and_follows_the_factor(view, qtbot):
    window = _window(EVENTS[1])
    with qtbot.waitSignal(view.clipShown, timeout=20_000):
        view.show_event("e1", window)
    with qtbot.waitSignal(view.magnifiedShown, timeout=20_000) as blocker:
        view.set_magnification(True, 10)
    assert blocker.args == [10.0]
    first = view.magnified
    assert first.shape == view.clip.crops.shape and not np.array_equal(first, view.clip.crops)
    with qtbot.waitSignal(view.magnifiedShown, timeout=20_000) as blocker:
        view.factor_slider.setValue(25)
    assert blocker.args == [25.0]
    apex = window.apex - window.start
    onset = window.onset - window.start

    def moved(frames):
        return np.abs(frames[apex].astype(float) - frames[onset].astype(float)).mean()

    assert moved(view.magnified) > moved(first) > moved(view.clip.crops)
    assert view.cache.get(view._event_key, view.settings) is view.magnified  # cached per event


def test_stepping_pauses_and_stays_in_the_window(view, qtbot):
    window = _window(EVENTS[2])
    with qtbot.waitSignal(view.clipShown, timeout=20_000):
        view.show_event("e2", window)
    view.step(+1)
    assert not view.playing and view.current_frame == window.onset + 1
    view.step(-(window.onset + 1 - window.start) - 1)  # one before the first frame wraps to the last
    assert view.current_frame == window.stop - 1
    assert "frame" in view.position_label.text()


def test_an_unreadable_recording_is_reported(qtbot, tmp_path):
    widget = EventView()
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.failed, timeout=10_000) as blocker:
        widget.open_recording(str(tmp_path / "missing.mp4"))
    assert "missing.mp4" in blocker.args[0]
    widget.close_recording()
