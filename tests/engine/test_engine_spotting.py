"""Spotting on the bundled sample against its ground truth, and the MEGC spotting score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsfgui.engine import Analyzer
from tsfgui.engine.spotting import SpotScore, evaluate_spotting, iou, spot
from tsfgui.face import FaceTracker
from tsfgui.io import VideoFileSource

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_interview.mp4"


def test_iou_and_megc_score_by_hand():
    assert iou((10, 19), (15, 24)) == pytest.approx(5 / 15)
    assert iou((0, 4), (10, 20)) == 0.0
    # one hit (IoU 0.8), one spotted interval overlapping too little, one truth missed
    score = evaluate_spotting([(10, 19), (40, 49)], [(10, 17), (45, 60), (100, 110)])
    assert (score.hits, score.spotted, score.truth) == (1, 2, 3)
    assert score.precision == 0.5 and score.recall == pytest.approx(1 / 3) and score.f1 == pytest.approx(0.4)
    # a truth interval is matched once only
    assert evaluate_spotting([(10, 19), (10, 19)], [(10, 19)]).hits == 1
    assert SpotScore(0, 0, 0).f1 == 0.0


def test_spotting_finds_the_planted_events_on_the_sample_and_ignores_blinks():
    truth = json.loads(SAMPLE.with_suffix(".json").read_text())
    with VideoFileSource(SAMPLE) as source:
        results = list(Analyzer(None, tracker=FaceTracker()).analyze(source))
    intervals = spot(results, 30.0)
    planted = [(e["onset"], e["offset"]) for e in truth["events"]]
    score = evaluate_spotting([(i.onset, i.offset) for i in intervals], planted)
    assert score.recall >= 0.66 and score.precision >= 0.8, score
    blinks = [(b["onset"], b["offset"]) for b in truth["distractors"]["blinks"]]
    assert evaluate_spotting([(i.onset, i.offset) for i in intervals], blinks, min_iou=0.3).hits == 0
    assert all(i.onset <= i.apex <= i.offset for i in intervals)


def test_signal_recorder_keeps_labels_and_signals_across_blocks_compactly():
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS, FrameResult
    from tsfgui.engine.spotting import SignalRecorder

    recorder = SignalRecorder()
    names = ("negative", "positive")
    n = SignalRecorder.BLOCK * 2 + 5
    for i in range(n):
        probs = None if i % 3 == 0 else np.array([0.2, 0.8] if i % 2 else [0.9, 0.1], np.float32)
        recorder.add(FrameResult(i, i * 33.3, None, reference_index=i - 6 if i >= 6 else None,
                                 diff={"global": float(i), "mouth": 0.5}, probabilities=probs, class_names=names))
    assert len(recorder) == n
    index, values = recorder.signals()
    assert index.tolist() == list(range(n))
    assert values.shape == (n, len(DIFF_KEYS))
    assert values[n - 1, 0] == n - 1 and values[3, DIFF_KEYS.index("mouth")] == 0.5
    assert np.isnan(values[3, DIFF_KEYS.index("brows")])
    rec = recorder._records()
    assert rec.itemsize <= 140  # bytes per frame: an hour at 30 fps stays under 16 MB
    labels = [recorder.labels()[i] for i in range(4)]
    assert labels == [None, "positive", "negative", None]


def _quiet_signals(seconds: float = 60.0, fps: float = 30.0, seed: int = 0):
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS

    rng = np.random.default_rng(seed)
    n = int(seconds * fps)
    index = np.arange(n)
    reference = np.where(index >= 6, index - 6, -1)
    values = 1.0 + 0.1 * rng.standard_normal((n, len(DIFF_KEYS)))
    values[:6] = np.nan
    return index, reference, values


def _as_pixels(values):
    """Constructed signals (1 ± 0.1) at the scale of a quiet face's mean flow: 0.1 ± 0.01 px."""
    return 0.1 + 0.1 * (values - 1.0)


def _bump(values, region: str, first: int, heights) -> None:
    from tsfgui.engine.results import DIFF_KEYS

    values[first:first + len(heights), DIFF_KEYS.index(region)] += heights


def _spotted(index, reference, values, **settings):
    from tsfgui.engine.spotting import SpotSettings, spot_signals

    return spot_signals(index, reference, values, 30.0, SpotSettings(**settings))


def test_spotting_rules_on_constructed_signals():
    index, reference, values = _quiet_signals()
    _bump(values, "mouth", 300, [0.3, 0.8, 1.0, 0.8, 0.4])    # a short mouth burst: a micro-expression
    _bump(values, "brows", 600, [0.5])                         # one noisy frame: not enough
    _bump(values, "eyes", 900, [2.0, 5.0, 5.0, 2.0])           # a blink, leaking into the brows
    _bump(values, "brows", 899, [0.2, 0.6, 1.5, 1.5, 0.6, 0.2])
    _bump(values, "brows", 1200, [0.4, 1.0, 1.2, 0.9, 0.4])    # a brow raise moves the eyes a little
    _bump(values, "eyes", 1200, [0.2, 0.5, 0.6, 0.4, 0.2])
    for start in range(1500, 1560, 8):                         # two seconds of talking
        _bump(values, "mouth", start, [0.6, 1.2, 0.6])
    _bump(values, "nose", 8, [1.0, 1.5, 1.0])                  # while the tracker settles
    spotted = _spotted(index, reference, values)
    assert [(s.region, s.kind) for s in spotted] == [("mouth", "micro"), ("brows", "micro")]
    mouth, brows = spotted
    assert mouth.onset <= 300 <= mouth.apex <= 305 <= mouth.offset + 3 and mouth.offset - mouth.onset <= 12
    assert 1200 <= brows.apex <= 1204 and brows.score > 3.0


def test_spotting_keeps_a_strong_single_frame_and_honours_the_threshold():
    index, reference, values = _quiet_signals()
    _bump(values, "nose", 600, [3.0])
    assert [s.apex for s in _spotted(index, reference, values)] == [600]
    assert _spotted(index, reference, values, threshold=80.0) == []


def test_spotting_over_a_long_movement_is_macro_and_a_head_turn_is_dropped():
    import numpy as np

    index, reference, values = _quiet_signals(seconds=60.0)
    _bump(values, "brows", 300, np.full(45, 1.0))       # 1.5 s: a macro-expression
    _bump(values, "nose", 900, np.full(200, 1.5))       # 6.7 s of movement: not an expression
    _bump(values, "brows", 900, np.full(200, 1.5))
    spotted = _spotted(index, reference, values)
    assert [s.kind for s in spotted] == ["macro"] and spotted[0].apex < 400


def test_an_interval_a_little_over_half_a_second_is_still_micro():
    """MEGC calls a movement of at most 0.5 s micro; a spotted interval's edges spread about it (on the
    tuning seeds 95 % of the intervals that matched a micro-expression were at most 0.1 s longer than it),
    so up to ``micro_max_s`` 0.6 s is micro."""
    import numpy as np

    index, reference, values = _quiet_signals()
    _bump(values, "brows", 600, np.r_[np.linspace(0.3, 1.0, 8), np.linspace(1.0, 0.3, 8)])
    (spotted,) = _spotted(index, reference, values)
    assert 0.55 < (spotted.offset - spotted.onset + 1) / 30.0 <= 0.6 and spotted.kind == "micro"
    assert [s.kind for s in _spotted(index, reference, values, micro_max_s=0.55)] == ["macro"]


def test_apex_is_the_top_of_the_rise_and_never_the_offset():
    """Against a reference 0.2 s back a movement shows twice: as it rises and as it returns. The apex is
    the first burst's top; the offset lies after it."""
    index, reference, values = _quiet_signals()
    _bump(values, "mouth", 300, [0.4, 1.0, 1.4, 1.0, 0.5, 0.3, 0.6, 1.2, 1.6, 1.1, 0.4])
    (event,) = _spotted(index, reference, values)
    assert 301 <= event.apex <= 303 and event.onset < event.apex < event.offset


def test_events_during_fast_head_rotation_are_kept_and_flagged():
    import numpy as np

    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, values = _quiet_signals()
    _bump(values, "brows", 300, [0.4, 1.0, 1.2, 0.9, 0.4])
    _bump(values, "mouth", 900, [0.4, 1.0, 1.2, 0.9, 0.4])
    pose = np.zeros((len(index), 3), np.float32)
    pose[880:930, 1] = np.linspace(0.0, 0.9, 50)  # the head turns 0.9 rad in 1.7 s: 0.54 rad/s
    pose[930:, 1] = 0.9
    arrays = {"index": index, "reference": reference, "diff": values, "flow": np.full_like(values, np.nan),
              "pose": pose}
    calm, turning = spot_arrays(arrays, 30.0, SpotSettings())
    assert calm.flags == () and turning.flags == ("head motion",) and turning.region == "mouth"
    assert spot_arrays(arrays, 30.0, SpotSettings(head_speed=1.0))[1].flags == ()


def test_spotting_uses_the_flow_and_falls_back_to_the_difference():
    import numpy as np

    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, flow = _quiet_signals(seed=1)
    _bump(flow, "brows", 300, [0.4, 1.0, 1.2, 0.9, 0.4])
    _, _, diff = _quiet_signals(seed=2)
    _bump(diff, "mouth", 900, [0.4, 1.0, 1.2, 0.9, 0.4])
    arrays = {"index": index, "reference": reference, "diff": diff, "flow": flow}
    assert [s.region for s in spot_arrays(arrays, 30.0)] == ["brows"]
    assert [s.region for s in spot_arrays(arrays, 30.0, SpotSettings(signal="diff"))] == ["mouth"]
    arrays["flow"] = np.full_like(flow, np.nan)  # results of a version without flow
    assert [s.region for s in spot_arrays(arrays, 30.0)] == ["mouth"]


def test_a_brow_movement_during_speech_is_kept_while_the_speech_is_dropped():
    index, reference, values = _quiet_signals()
    for start in range(600, 720, 8):                           # four seconds of talking
        _bump(values, "mouth", start, [0.6, 1.2, 0.6])
    _bump(values, "brows", 650, [0.4, 1.0, 1.2, 0.9, 0.4])
    spotted = _spotted(index, reference, values)
    assert [(s.region, s.kind) for s in spotted] == [("brows", "micro")] and 650 <= spotted[0].apex <= 654


def test_a_brow_raise_dragging_the_eyes_along_is_not_a_blink_but_a_blink_is():
    """Blinks are told apart in pixels, not in z: the eyes' region is calmer than the brows', so a brow
    raise that drags the skin above the eyes along can score a higher z there; but a blink moves the
    lids more than the brows, and a brow raise the brows more than the eyes."""
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS

    index, reference, values = _quiet_signals()
    eyes = DIFF_KEYS.index("eyes")
    values[6:, eyes] = 1.0 + 0.03 * np.random.default_rng(5).standard_normal(len(index) - 6)  # calm eyes
    _bump(values, "brows", 300, [0.4, 1.0, 1.2, 0.9, 0.4])      # the brow raise …
    _bump(values, "eyes", 300, [0.3, 0.8, 1.0, 0.7, 0.3])       # … and the eyes' region it drags along
    _bump(values, "eyes", 900, [1.0, 3.0, 3.0, 1.0])            # a blink …
    _bump(values, "brows", 900, [0.1, 0.5, 0.5, 0.1])           # … leaking into the brows
    spotted = _spotted(index, reference, values)
    assert [(s.region, 300 <= s.apex <= 304) for s in spotted] == [("brows", True)]


def test_the_nose_the_jaw_pulls_while_talking_is_ignored_with_a_pad_around_speech():
    index, reference, values = _quiet_signals()
    for start in range(600, 720, 8):                            # four seconds of talking
        _bump(values, "mouth", start, [0.6, 1.2, 0.6])
    _bump(values, "nose", 680, [0.4, 1.0, 0.8])                 # nostrils pulled by the jaw while talking
    _bump(values, "nose", 721, [0.4, 1.0, 0.8])                 # and as it closes after the last word
    _bump(values, "brows", 650, [0.4, 1.0, 1.2, 0.9, 0.4])      # a brow movement during speech counts
    assert [s.region for s in _spotted(index, reference, values)] == ["brows"]
    unpadded = _spotted(index, reference, values, talk_pad_s=0.0, talk_around=0)
    assert [(s.region, s.apex) for s in unpadded if s.region == "nose"] == [("nose", 722)]


def test_the_rise_and_return_of_a_macro_expression_with_a_hold_between_are_one_interval():
    """A brow raise held for half a second shows as two bursts against the 0.2-s reference."""
    index, reference, values = _quiet_signals()
    _bump(values, "brows", 300, [0.2, 0.5, 0.8, 1.0, 1.0, 0.8, 0.5, 0.3, 0.1])   # the rise …
    _bump(values, "brows", 326, [0.2, 0.5, 0.8, 1.0, 1.0, 0.8, 0.5, 0.3, 0.1])   # … the return, 0.9 s later
    (event,) = _spotted(index, reference, values)
    assert event.kind == "macro" and event.onset <= 300 and event.offset >= 326 and 300 <= event.apex <= 308
    assert len(_spotted(index, reference, values, pair_gap_s=0.3)) == 2


def test_a_mouth_burst_among_short_syllables_is_speech_and_an_isolated_one_is_not():
    """Too short a stretch to be a talking bout, but the burst has two more syllables (single-frame
    peaks: noise on their own) within a second before it. (The rule is off by default: with speech
    told in pixels it only cost real events on the tuning seeds.)"""
    index, reference, values = _quiet_signals()
    _bump(values, "mouth", 1011, [0.45])                       # two short syllables …
    _bump(values, "mouth", 1022, [0.45])
    _bump(values, "mouth", 1036, [0.4, 0.9, 1.0, 0.5])         # … and a longer one
    _bump(values, "mouth", 300, [0.4, 0.9, 1.0, 0.5])          # the same burst alone
    assert [s.apex for s in _spotted(index, reference, values, talk_around=2, talk_gap_s=1.0)] == [302]
    assert [s.apex for s in _spotted(index, reference, values)] == [302, 1038]


def test_head_pose_jitter_is_no_head_motion_but_a_turn_is():
    """Landmarks that jitter make the pose jump by degrees from frame to frame; the speed is taken on
    the smoothed pose, so only a real turn flags an interval."""
    import numpy as np

    from tsfgui.engine.spotting import SpotSettings, head_speed, spot_arrays

    rng = np.random.default_rng(3)
    index, reference, values = _quiet_signals()
    _bump(values, "brows", 300, [0.4, 1.0, 1.2, 0.9, 0.4])
    _bump(values, "mouth", 900, [0.4, 1.0, 1.2, 0.9, 0.4])
    pose = rng.normal(0, 0.05, (len(index), 3)).astype(np.float32)  # ±3° of jitter, no turn
    pose[880:930, 1] += np.linspace(0.0, 0.9, 50)                   # then a 0.54 rad/s turn
    pose[930:, 1] += 0.9
    pose[100] = np.nan
    assert np.nanmax(head_speed(pose[:800], 30.0, smooth_s=0)) > 1.0  # what the raw pose said
    assert np.nanmax(head_speed(pose[:800], 30.0)) < 0.35 and np.isnan(head_speed(pose, 30.0)[100])
    arrays = {"index": index, "reference": reference, "diff": values, "pose": pose}
    calm, turning = spot_arrays(arrays, 30.0, SpotSettings())
    assert calm.flags == () and turning.flags == ("head motion",)
    assert spot_arrays(arrays, 30.0, SpotSettings(pose_smooth_s=0))[0].flags == ("head motion",)


def test_spotting_runs_on_the_patch_motion_and_falls_back_to_the_region_means():
    import numpy as np

    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, motion = _quiet_signals(seed=1)
    _bump(motion, "nose", 300, [0.4, 1.0, 1.2, 0.9, 0.4])
    _, _, flow = _quiet_signals(seed=2)
    flow = _as_pixels(flow)
    _bump(flow, "mouth", 900, [0.04, 0.1, 0.12, 0.09, 0.04])
    _, _, diff = _quiet_signals(seed=3)
    arrays = {"index": index, "reference": reference, "diff": diff, "flow": flow, "motion": motion}
    assert [s.region for s in spot_arrays(arrays, 30.0, SpotSettings(flow_weight=0.0))] == ["nose"]
    assert [s.region for s in spot_arrays(arrays, 30.0, SpotSettings(signal="flow-mean"))] == ["mouth"]
    arrays["motion"] = np.full_like(motion, np.nan)  # results of a version without the patch motion
    assert [s.region for s in spot_arrays(arrays, 30.0)] == ["mouth"]


def test_speech_is_told_in_pixels_where_people_talk_most_of_the_time_and_raises_the_bar():
    """Talking 70 % of the time makes speech the baseline of any z-score, so speech is told on the mouth's
    mean flow beyond the rest of the face, in px (``talk_px``). During speech the mouth and nose do not
    count and a brow movement must reach ``talk_threshold``: a strong one is kept, a faint one is not."""
    import numpy as np

    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, motion = _quiet_signals(seed=4)
    _, _, flow = _quiet_signals(seed=5)
    flow = _as_pixels(flow)
    rng = np.random.default_rng(6)
    for bout in range(60, 1800 - 90, 130):                # 3-s bouts, 1.3 s apart: 70 % talking
        for start in range(bout, bout + 85, 7):            # syllables every 0.23 s
            _bump(flow, "mouth", start, 0.2 * rng.uniform(0.5, 1.0) * np.array([0.4, 1.0, 1.0, 0.4]))
            _bump(motion, "mouth", start, rng.uniform(0.5, 1.0) * np.array([0.4, 1.0, 1.0, 0.4]))
    _bump(motion, "brows", 400, [0.27, 0.43, 0.55, 0.55, 0.43, 0.27])  # faint brows during speech (z ≈ 4.5)
    _bump(motion, "brows", 930, [0.5, 1.5, 2.0, 1.5, 0.5])  # a clear brow raise during speech
    arrays = {"index": index, "reference": reference, "diff": motion, "flow": flow, "motion": motion}
    spotted = spot_arrays(arrays, 30.0, SpotSettings(common=0.0))
    assert [(s.region, 925 <= s.apex <= 936) for s in spotted] == [("brows", True)]
    loose = spot_arrays(arrays, 30.0, SpotSettings(common=0.0, talk_threshold=0.0, flow_weight=0.0))
    assert sorted(s.apex // 100 for s in loose if s.region == "brows") == [4, 9]
    deaf = spot_arrays(arrays, 30.0, SpotSettings(common=0.0, talk_px=10.0))  # no speech found: syllables spotted
    assert sum(s.region == "mouth" for s in deaf) > 10


def test_a_movement_that_turns_back_is_one_macro_and_two_micro_expressions_are_not():
    """The flow's direction pairs bursts: a brow lowered and held (one-way down), then raised back
    (one-way up) 1.3 s later is one macro-expression though its bursts are weaker than ``pair_z`` and
    further apart than ``pair_gap_s``; two strong brow micro-expressions 1.2 s apart, each rising and
    returning within its own burst, stay two."""
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS
    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, motion = _quiet_signals(seed=7)
    _, _, flow = _quiet_signals(seed=8)
    flow = _as_pixels(flow)
    rng = np.random.default_rng(9)
    drift = rng.normal(0, 0.01, (len(index), len(DIFF_KEYS), 2))
    brows = DIFF_KEYS.index("brows")
    burst = np.array([0.2, 0.5, 0.8, 1.0, 1.0, 0.8, 0.5, 0.3, 0.1])
    for start, sign in ((300, 1.0), (339, -1.0)):           # the macro: down, hold, back up
        _bump(motion, "brows", start, 0.6 * burst)
        _bump(flow, "brows", start, 0.06 * burst)           # the region's mean flow moves with its patches
        drift[start:start + 9, brows, 1] += sign * 0.3 * burst
    for start in (900, 935):                                # two micro-expressions: down and up in each burst
        _bump(motion, "brows", start, 2.0 * burst)
        _bump(flow, "brows", start, 0.2 * burst)
        drift[start:start + 9, brows, 1] += 0.3 * np.array([1, 1, 1, 0.5, 0, -0.5, -1, -1, -1])
    arrays = {"index": index, "reference": reference, "diff": motion, "flow": flow, "motion": motion,
              "drift": drift}
    spotted = spot_arrays(arrays, 30.0)
    assert [(s.kind, s.onset <= 300 and s.offset >= 339) for s in spotted if s.apex < 600] == [("macro", True)]
    assert [s.kind for s in spotted if s.apex > 600] == ["micro", "micro"]
    undirected = spot_arrays(arrays, 30.0, SpotSettings(pair_turn=0.0))
    assert [s.kind for s in undirected if s.apex > 600] == ["macro"]  # strength and timing alone pair them
    assert len([s for s in spot_arrays(arrays, 30.0, SpotSettings(pair_turn=0.0)) if s.apex < 600]) == 2


def test_edges_come_from_the_curve_whatever_the_strength_and_the_offset_follows_the_reference_lag():
    """Against a reference 0.2 s back a micro-expression shows as a rise and a return. Its edges are
    where the first bump starts and the last one ends, at ``edge_fraction`` of their own height: a faint
    and a strong movement of the same shape get the same interval (a fixed z level, ``edge_fraction=0``,
    widens the strong one). The return's signal outlasts the movement by the reference lag, measured
    from the references: with a reference half as far back the offset comes 3 frames earlier."""
    import numpy as np

    shape = np.array([0.05, 0.1, 0.2, 0.5, 0.9, 1.0, 1.0, 0.9, 0.5, 0.2, 0.05, 0.2, 0.6, 1.0, 0.9, 0.6, 0.3, 0.1,
                      0.05])
    index, reference, values = _quiet_signals()
    _bump(values, "brows", 300, 0.8 * shape)     # faint: z about 8
    _bump(values, "brows", 900, 4.0 * shape)     # strong: z about 40
    faint, strong = _spotted(index, reference, values)
    assert abs((faint.onset - 300) - (strong.onset - 900)) <= 1 >= abs((faint.offset - 300) - (strong.offset - 900))
    assert faint.onset <= 303 and 303 <= faint.apex <= 307 and faint.offset - faint.onset <= 16
    assert faint.kind == strong.kind == "micro"
    faint0, strong0 = _spotted(index, reference, values, edge_fraction=0.0)
    assert (strong0.offset - strong0.onset) - (faint0.offset - faint0.onset) >= 3
    near = np.where(index >= 3, index - 3, -1)
    (near_faint, _) = _spotted(index, near, values)
    assert near_faint.offset == faint.offset + 3 and near_faint.onset == faint.onset


def test_a_mouth_macro_expression_is_not_speech_though_its_rise_and_return_chain():
    """Speech opens and closes the mouth again and again; a macro-expression of the mouth rises once and
    returns once: against the 0.2-s reference, two bursts of the mouth's flow, close enough to
    chain like syllables. Counted as local maxima over ``talk_px``, the wiggles of its bursts and a flicker
    of noise just over ``talk_px`` after it made it speech (the mouth masked, the expression lost); counted
    as peaks that stand out (``talk_prominence``) it is two, and it is spotted."""
    import numpy as np

    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, motion = _quiet_signals(seed=4)
    _, _, flow = _quiet_signals(seed=5)
    flow = _as_pixels(flow)
    hump = np.hanning(22)[1:-1]
    ripple = 1.0 + 0.12 * np.sin(np.arange(20) * np.pi / 2)   # wiggles on each burst
    for start, height in ((600, 0.30), (626, 0.25)):            # rise, a short hold, return
        _bump(flow, "mouth", start, height * hump * ripple)
        _bump(motion, "mouth", start, 2.0 * hump)
    _bump(flow, "mouth", 660, [0.08])                           # noise just over talk_px
    arrays = {"index": index, "reference": reference, "diff": motion, "flow": flow, "motion": motion}
    spotted = spot_arrays(arrays, 30.0)
    assert [(s.region, s.kind) for s in spotted] == [("mouth", "macro")]
    assert spotted[0].onset <= 603 and spotted[0].offset >= 636
    assert spot_arrays(arrays, 30.0, SpotSettings(talk_prominence=0.0)) == []


def test_a_weak_rise_before_a_lone_return_starts_the_interval():
    """A micro-expression's rise can stay under the threshold while its return crosses it. The weaker
    burst of the same region just before the lone return (above ``partner_z``) is its rise: the interval
    starts there and its apex is the rise's top; without it the interval came a rise late."""
    index, reference, values = _quiet_signals()
    _bump(values, "brows", 300, [0.1, 0.2, 0.25, 0.25, 0.25, 0.2, 0.1])        # the rise: z about 2.5
    _bump(values, "brows", 309, [0.2, 0.5, 0.8, 0.8, 0.6, 0.3, 0.1])           # the return: z about 8
    _bump(values, "brows", 900, [0.2, 0.5, 0.8, 0.8, 0.6, 0.3, 0.1])           # a lone burst
    paired, lone = _spotted(index, reference, values)
    assert paired.onset <= 300 and 301 <= paired.apex <= 305 and paired.kind == "micro"
    assert lone.onset >= 896 and lone.apex >= 901
    late, _ = _spotted(index, reference, values, partner_z=0.0)
    assert late.onset >= 305 and late.apex >= 310


def test_a_return_that_turns_back_only_partly_still_closes_the_movement():
    """The return of a brow lowered and held turns its vertical motion back but, as measured, not always
    the sideways part (on the tuning seeds some brow-lowerer pairs' cosines were −0.28 to −0.47): an
    obtuse turn (cosine at most −``pair_cos``) pairs the bursts."""
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS
    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, motion = _quiet_signals(seed=7)
    _, _, flow = _quiet_signals(seed=8)
    flow = _as_pixels(flow)
    drift = np.random.default_rng(9).normal(0, 0.01, (len(index), len(DIFF_KEYS), 2))
    brows = DIFF_KEYS.index("brows")
    burst = np.array([0.2, 0.5, 0.8, 1.0, 1.0, 0.8, 0.5, 0.3, 0.1])
    for start, (dx, dy) in ((300, (-0.2, 0.3)), (339, (-0.2, -0.3))):   # down and in, then up and still in
        _bump(motion, "brows", start, 0.6 * burst)
        _bump(flow, "brows", start, 0.06 * burst)
        drift[start:start + 9, brows] += np.outer(burst, (dx, dy))
    arrays = {"index": index, "reference": reference, "diff": motion, "flow": flow, "motion": motion,
              "drift": drift}
    assert [s.kind for s in spot_arrays(arrays, 30.0)] == ["macro"]
    # pair_cos alone (a lone burst's summed vectors, lone_net, would still find the other half here)
    assert [s.kind for s in spot_arrays(arrays, 30.0, SpotSettings(pair_cos=0.5, lone_net=0.0))] == ["micro", "micro"]


def test_a_hand_entering_the_face_is_ignored_before_it_covers_every_region():
    """A hand passing over the face moves every region at once (ignored), but it enters over one part
    first: the brows move some frames before all regions do. ``whole_face_pad_s`` around the whole-face
    frames covers the entry; 0.1 s (the blinks' pad, used before) did not."""
    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, values = _quiet_signals()
    _bump(values, "brows", 600, [0.5, 1.0, 1.5, 2.0, 2.5])                      # the hand comes in over the brows …
    for region in ("brows", "eyes", "nose", "mouth"):
        _bump(values, region, 605, [3.0] * 20)                                  # … then covers the face
    _bump(values, "mouth", 900, [0.4, 1.0, 1.2, 0.9, 0.4])                      # a movement elsewhere
    arrays = {"index": index, "reference": reference, "diff": values}
    assert [s.apex // 100 for s in spot_arrays(arrays, 30.0)] == [9]
    assert [s.apex // 100 for s in spot_arrays(arrays, 30.0, SpotSettings(whole_face_pad_s=0.1))] == [6, 9]


def test_a_nose_wrinkler_or_a_smile_dragging_the_lower_lids_is_not_a_blink():
    """A nose wrinkler (AU9) or a smile pulls the lower lids along: the eyes' region moves more than the
    brows', as in a blink, but the nose or the mouth moves far more than the eyes (``blink_nose``); a blink
    leaves them still."""
    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, values = _quiet_signals()
    _bump(values, "nose", 600, [1.0, 2.5, 3.0, 2.5, 1.0])      # the wrinkler: nose z about 30 …
    _bump(values, "eyes", 600, [0.3, 0.8, 1.0, 0.8, 0.3])      # … the lids it drags: eyes z about 10
    _bump(values, "eyes", 900, [1.0, 3.0, 3.0, 1.0])           # a blink
    _bump(values, "nose", 900, [0.1, 0.2, 0.2, 0.1])           # with a little leak into the nose
    _bump(values, "mouth", 1200, [1.0, 2.5, 3.0, 2.5, 1.0])    # a smile, raising the cheeks and lower lids
    _bump(values, "eyes", 1200, [0.3, 0.8, 1.0, 0.8, 0.3])
    arrays = {"index": index, "reference": reference, "diff": values}
    assert [(s.region, s.apex // 100) for s in spot_arrays(arrays, 30.0)] == [("nose", 6), ("mouth", 12)]
    assert spot_arrays(arrays, 30.0, SpotSettings(blink_nose=0.0)) == []


def test_a_weak_movement_both_signals_see_is_spotted_and_one_stray_patch_is_not():
    """Candidates are found on the patch motion's z and the region's mean flow's z together
    (``flow_weight``, ``joint_threshold``): a weak movement both read, under ``threshold`` in either
    alone, stands out of their joint noise; a burst of the patch motion alone, the region's mean flow
    calm (a stray patch), does not. On the patch motion alone (``flow_weight=0``) it is the other way."""
    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, motion = _quiet_signals(seed=10)
    _, _, flow = _quiet_signals(seed=11)
    flow = _as_pixels(flow)
    for at in (600, 1200):  # calm frames around each event: its z is its height over the noise (0.1, 0.01 px)
        motion[at - 10:at + 20] = 1.0
        flow[at - 10:at + 20] = 0.1
    weak = [0.1, 0.2, 0.3, 0.3, 0.2, 0.1]
    _bump(motion, "brows", 600, weak)                             # a faint brow raise: z 3 in each, 4.2 joint
    _bump(flow, "brows", 600, [0.1 * h for h in weak])
    _bump(motion, "nose", 1200, [0.2, 0.35, 0.45, 0.35, 0.2])     # one patch's noise: z 4.5, 3.2 joint
    arrays = {"index": index, "reference": reference, "diff": motion, "flow": flow, "motion": motion}
    joint = spot_arrays(arrays, 30.0, SpotSettings(common=0.0))
    assert [(s.region, s.apex // 100) for s in joint] == [("brows", 6)]
    alone = spot_arrays(arrays, 30.0, SpotSettings(common=0.0, flow_weight=0.0))
    assert [(s.region, s.apex // 100) for s in alone] == [("nose", 12)]


def _directed(seed: int = 7):
    """Quiet patch motion, mean flow (px) and drift vectors to plant directed bursts in."""
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS

    index, reference, motion = _quiet_signals(seed=seed)
    _, _, flow = _quiet_signals(seed=seed + 1)
    drift = np.random.default_rng(seed + 2).normal(0, 0.01, (len(index), len(DIFF_KEYS), 2))
    return index, reference, motion, _as_pixels(flow), drift


def test_a_rise_and_a_return_led_by_different_regions_pair_on_the_faces_vectors():
    """A smile raises the cheeks (the nose region leads its rise) and the mouth leads its return: the
    two bursts lead in different regions, yet the face's vectors (the regions' side by side) turn back,
    so they are one macro-expression (``pair_across``); region by region they stay two."""
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS
    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, motion, flow, drift = _directed()
    nose, mouth = DIFF_KEYS.index("nose"), DIFF_KEYS.index("mouth")
    burst = np.array([0.2, 0.5, 0.8, 1.0, 1.0, 0.8, 0.5, 0.3, 0.1])
    for start, lead, sign in ((300, "nose", -1.0), (339, "mouth", 1.0)):   # up, hold, back down
        _bump(motion, lead, start, 0.7 * burst)
        _bump(motion, "mouth" if lead == "nose" else "nose", start, 0.4 * burst)
        _bump(flow, lead, start, 0.06 * burst)
        strong, weak = (nose, mouth) if lead == "nose" else (mouth, nose)
        drift[start:start + 9, strong, 1] += sign * 0.3 * burst
        drift[start:start + 9, weak, 1] += sign * 0.1 * burst
    arrays = {"index": index, "reference": reference, "diff": motion, "flow": flow, "motion": motion,
              "drift": drift}
    spotted = spot_arrays(arrays, 30.0)
    assert [(s.kind, s.onset <= 300 and s.offset >= 339) for s in spotted] == [("macro", True)]
    assert [s.kind for s in spot_arrays(arrays, 30.0, SpotSettings(pair_across=0))] == ["micro", "micro"]


def test_a_paired_movement_ends_with_its_return_though_the_rise_was_far_stronger():
    """A brow raised fast and far, held, and let down slowly: the return's burst is a fraction of the
    rise's. Each burst's edges are read at a fraction of its own height, so the macro-expression ends
    where the return does; and within one burst, a bump that clears ``bump_z`` is a bump though it stays
    under a fraction of a much stronger one."""
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS
    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, motion, flow, drift = _directed()
    brows = DIFF_KEYS.index("brows")
    burst = np.array([0.2, 0.5, 0.8, 1.0, 1.0, 0.8, 0.5, 0.3, 0.1])
    for start, height, way in ((300, 4.0, 1.2), (339, 0.7, -0.4)):   # net 6 px up, then 2 px down
        _bump(motion, "brows", start, height * burst)
        _bump(flow, "brows", start, 0.1 * height * burst)
        drift[start:start + 9, brows, 1] += way * burst
    arrays = {"index": index, "reference": reference, "diff": motion, "flow": flow, "motion": motion,
              "drift": drift}
    (paired,) = spot_arrays(arrays, 30.0)
    assert paired.kind == "macro" and paired.onset <= 300 and paired.offset >= 339 and paired.apex < 312
    index, reference, motion = _quiet_signals()
    _bump(motion, "brows", 900, 4.0 * burst)     # a strong rise, z about 40 …
    _bump(motion, "brows", 911, 1.1 * burst)     # … its return right after, z about 11: under 0.3 of the rise
    (whole,) = _spotted(index, reference, motion)
    (cut,) = _spotted(index, reference, motion, bump_z=0.0)
    assert whole.offset >= 913 >= cut.offset + 3 and whole.onset == cut.onset  # the return ends at 919 − lag 6


def test_a_lone_one_way_burst_finds_its_quiet_return_in_the_summed_flow_vectors():
    """A brow lowered fast (a burst over the threshold, all one way) and let back up slowly, the return
    too faint to clear any bar: summed frame by frame, the brows' flow vectors come back, so the
    interval runs to the return and is a macro-expression; without it (``lone_net=0``) it is a micro-
    expression ending at the rise. A micro-expression's burst rises and returns within itself (its
    net is small) and is left as it is."""
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS
    from tsfgui.engine.spotting import SpotSettings, spot_arrays

    index, reference, motion, flow, drift = _directed()
    brows = DIFF_KEYS.index("brows")
    burst = np.array([0.2, 0.5, 0.8, 1.0, 1.0, 0.8, 0.5, 0.3, 0.1])
    _bump(motion, "brows", 300, 0.8 * burst)
    _bump(flow, "brows", 300, 0.08 * burst)
    drift[300:309, brows, 1] += 0.4 * burst                   # 2 px down in 0.3 s
    drift[330:360, brows, 1] -= 0.075                         # 2.25 px back up over a second, unseen by z
    _bump(motion, "brows", 900, 0.8 * burst)                  # a micro-expression: down and up in its burst
    _bump(flow, "brows", 900, 0.08 * burst)
    drift[900:909, brows, 1] += 0.4 * np.array([1, 1, 1, 0.5, 0, -0.5, -1, -1, -1])
    arrays = {"index": index, "reference": reference, "diff": motion, "flow": flow, "motion": motion,
              "drift": drift}
    slow, micro = spot_arrays(arrays, 30.0)
    assert slow.kind == "macro" and slow.onset <= 300 and slow.offset >= 345 and slow.apex < 312
    assert micro.kind == "micro" and micro.offset < 920
    cut, micro_too = spot_arrays(arrays, 30.0, SpotSettings(lone_net=0.0))
    assert cut.kind == "micro" and cut.offset < 320 and micro_too == micro
