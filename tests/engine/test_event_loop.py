"""The event looper: its window, its clock, and the clip (frames, onset-aligned crops, magnified crops)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tsfgui.engine.event_loop import LoopClock, event_window, magnified_crops, read_event_clip
from tsfgui.engine.magnify import MagnificationCache, MagnifySettings
from tsfgui.io import open_source
from tsfgui.resources import SAMPLE_VIDEO


def test_window_spans_half_a_second_either_side_clipped_to_the_recording():
    w = event_window(onset=40, offset=52, fps=30.0, frame_count=300, apex=47)
    assert (w.start, w.stop, w.lead_in, len(w)) == (25, 68, 15, 43)
    assert event_window(5, 10, 30.0, 300).start == 0
    assert event_window(290, 299, 30.0, 300).stop == 300
    with pytest.raises(ValueError, match="before its onset"):
        event_window(10, 5, 30.0, 300)
    with pytest.raises(ValueError, match="outside"):
        event_window(400, 410, 30.0, 300)


def test_clock_plays_the_window_at_the_chosen_speed_and_wraps():
    w = event_window(onset=40, offset=52, fps=30.0, frame_count=300)
    clock = LoopClock(w)  # 0.25× by default: 7.5 frames per second of wall time
    assert clock.speed == 0.25
    assert [clock.frame_at(t) for t in (0.0, 0.99, 1.0, 2.0)] == [25, 32, 32, 40]
    assert clock.period_s == pytest.approx(43 / 7.5)
    assert clock.frame_at(clock.period_s) == 25  # back to the start
    clock.speed = 1.0
    assert clock.frame_at(0.5) == 40
    with pytest.raises(ValueError, match="speed"):
        clock.speed = 0


def test_clip_of_a_sample_event_has_onset_aligned_crops_and_a_magnified_movement():
    truth = json.loads(SAMPLE_VIDEO.with_suffix(".json").read_text())["events"][0]
    with open_source(str(SAMPLE_VIDEO)) as source:
        w = event_window(truth["onset"], truth["offset"], source.info.fps, source.info.frame_count, truth["apex"])
        clip = read_event_clip(source, w)
    assert clip is not None and clip.crops is not None
    assert clip.frames.shape[0] == clip.crops.shape[0] == len(w)
    assert clip.crops.shape[1:] == (224, 224, 3)
    cache = MagnificationCache()
    settings = MagnifySettings(factor=10)
    magnified = magnified_crops(clip, settings, cache, event_key=("sample", w.onset, w.offset))
    assert magnified.shape == clip.crops.shape
    assert magnified_crops(clip, settings, cache, event_key=("sample", w.onset, w.offset)) is magnified  # cached
    onset, apex = w.onset - w.start, w.apex - w.start

    def moved(frames):
        return np.abs(frames[apex].astype(float) - frames[onset].astype(float)).mean()

    assert moved(magnified) > 3 * moved(clip.crops)  # the event's movement is visibly bigger
    lead_in_change = np.abs(magnified[: w.lead_in].astype(float) - clip.crops[: w.lead_in]).mean()
    assert moved(magnified) > 2 * lead_in_change  # the event stands out of the calmer lead-in


def test_a_newer_request_stops_reading():
    with open_source(str(SAMPLE_VIDEO)) as source:
        w = event_window(40, 52, source.info.fps, source.info.frame_count)
        assert read_event_clip(source, w, should_stop=lambda: True) is None
