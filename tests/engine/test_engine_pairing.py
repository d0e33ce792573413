"""Reference-frame policies on recorded frame histories."""

from __future__ import annotations

import pytest

from tsfgui.engine import FixedOnset, FrameHistory, FrameRecord, NeutralBaseline, RollingLag


def feed(policy, records):
    history = FrameHistory(policy.horizon_ms)
    chosen = []
    for r in records:
        history.add(r)
        chosen.append(policy.choose(history, r))
    return chosen


def frames(n, fps=30.0, faceless=(), motion=None):
    return [FrameRecord(i, i * 1000.0 / fps, i not in faceless, (motion or {}).get(i, 1.0)) for i in range(n)]


def test_rolling_lag_picks_the_frame_lag_seconds_back():
    chosen = feed(RollingLag(lag_s=0.2), frames(20))
    assert chosen[:6] == [None] * 6  # nothing 0.2 s back yet
    assert chosen[6:] == list(range(0, 14))


def test_rolling_lag_at_200_fps_and_with_dropped_frames():
    assert feed(RollingLag(lag_s=0.2), frames(60, fps=200))[50] == 10
    # a live stream that delivered only every third frame keeps the lag in seconds
    sparse = [FrameRecord(i, i * 1000.0 / 30, True) for i in range(0, 60, 3)]
    chosen = feed(RollingLag(lag_s=0.2), sparse)
    assert chosen[-1] == 51 and sparse[-1].index == 57


def test_rolling_lag_skips_frames_without_a_face_within_tolerance():
    chosen = feed(RollingLag(lag_s=0.2, tolerance_s=0.1), frames(30, faceless={10, 11}))
    assert chosen[16] == 9  # frame 10 had no face: the nearest earlier one with a face
    chosen = feed(RollingLag(lag_s=0.2, tolerance_s=0.05), frames(30, faceless=set(range(5, 15))))
    assert chosen[16] is None  # nothing usable close enough: no reference rather than a stale one


def test_fixed_onset():
    chosen = feed(FixedOnset(onset_index=3), frames(8))
    assert chosen == [3, 3, 3, None, 3, 3, 3, 3]


def test_neutral_baseline_takes_the_calmest_recent_frame():
    motion = {i: 5.0 for i in range(50)}
    motion[12] = 0.1
    motion[30] = 0.2
    chosen = feed(NeutralBaseline(window_s=1.0, min_lag_s=0.1), frames(50, motion=motion))
    assert chosen[20] == 12
    assert chosen[49] == 30  # frame 12 is now older than the window
    assert chosen[0] is None


def test_bad_settings():
    with pytest.raises(ValueError):
        RollingLag(lag_s=0)
    with pytest.raises(ValueError):
        NeutralBaseline(window_s=0.1, min_lag_s=0.2)
