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


def test_boris_sheet_has_a_start_and_a_stop_row_per_interval_and_the_summary_plot(tmp_path):
    import cv2
    import numpy as np
    from openpyxl import load_workbook

    from tsfgui.engine.reports import write_boris_sheet, write_summary_plot
    from tsfgui.engine.results import FrameResult
    from tsfgui.engine.spotting import SignalRecorder, SpottedInterval

    events = [SpottedInterval(60, 66, 75, "micro", 4.2, "mouth", "positive", 0.81),
              SpottedInterval(10, 16, 22, "micro", 3.5, "brows", "surprise", 0.64)]
    path = write_boris_sheet(tmp_path / "events_boris.xlsx", events, fps=30.0, subject="P07")
    rows = list(load_workbook(path).active.values)
    assert rows[0] == ("time", "subject", "code", "modifier", "comment")
    assert [r[:4] for r in rows[1:]] == [
        (0.333, "P07", "micro-expression", "surprise"), (0.733, "P07", "micro-expression", "surprise"),
        (2.0, "P07", "micro-expression", "positive"), (2.5, "P07", "micro-expression", "positive")]
    recorder = SignalRecorder()
    for i in range(100):
        recorder.add(FrameResult(i, i * 33.3, None, diff={"global": 1.0 + np.sin(i / 5), "mouth": 2.0}))
    png = write_summary_plot(tmp_path / "summary.png", recorder, events, 30.0, ("negative", "positive", "surprise"))
    image = cv2.imread(str(png))
    assert image is not None and image.shape == (400, 1400, 3)


def test_eaf_is_valid_eaf_3_0_has_the_tiers_and_links_the_media(tmp_path, eaf_schema):
    import xml.etree.ElementTree as ET

    from tsfgui.engine.reports import write_eaf
    from tsfgui.engine.spotting import SpottedInterval

    media = tmp_path / "videos" / "interview.mp4"
    media.parent.mkdir()
    media.write_bytes(b"\0")
    events = [SpottedInterval(60, 66, 75, "micro", 4.2, "mouth", "positive", 0.81),
              SpottedInterval(300, 320, 400, "macro", 5.0, "brows", None, None)]
    path = write_eaf(tmp_path / "out" / "interview.eaf", events, fps=30.0, media=media)
    eaf_schema.validate(str(path))  # ELAN's published EAFv3.0.xsd
    root = ET.parse(path).getroot()
    assert root.tag == "ANNOTATION_DOCUMENT" and root.get("FORMAT") == "3.0" and root.get("VERSION") == "3.0"
    # the element order EAF 3.0 prescribes
    order = [child.tag for child in root]
    assert order[:2] == ["HEADER", "TIME_ORDER"] and order.index("LINGUISTIC_TYPE") > max(
        i for i, tag in enumerate(order) if tag == "TIER") and order[-1] == "CONSTRAINT"
    descriptor = root.find("HEADER/MEDIA_DESCRIPTOR")
    assert descriptor.get("MEDIA_URL") == media.resolve().as_uri() and descriptor.get("MIME_TYPE") == "video/mp4"
    assert descriptor.get("RELATIVE_MEDIA_URL") == "../videos/interview.mp4"
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    tiers = {t.get("TIER_ID"): t for t in root.iter("TIER")}
    assert all(t.get("LINGUISTIC_TYPE_REF") == "tsfgui-event" for t in tiers.values())
    micro = tiers["micro-expressions"].find("ANNOTATION/ALIGNABLE_ANNOTATION")
    assert (slots[micro.get("TIME_SLOT_REF1")], slots[micro.get("TIME_SLOT_REF2")]) == (2000, 2500)
    assert micro.find("ANNOTATION_VALUE").text == "positive (0.81)"
    macro = tiers["macro-expressions"].find("ANNOTATION/ALIGNABLE_ANNOTATION")
    assert macro.find("ANNOTATION_VALUE").text == "brows movement"
    assert len(tiers["apex"].findall("ANNOTATION")) == 2
    ids = [a.get("ANNOTATION_ID") for a in root.iter("ALIGNABLE_ANNOTATION")]
    assert len(set(ids)) == 4 and root.find("HEADER/PROPERTY").text == "4"
    assert all(slots[a.get("TIME_SLOT_REF1")] < slots[a.get("TIME_SLOT_REF2")] for a in root.iter("ALIGNABLE_ANNOTATION"))


def test_eaf_without_media_without_events_and_with_odd_names_is_valid(tmp_path, eaf_schema):
    import xml.etree.ElementTree as ET

    from tsfgui.engine.reports import write_eaf
    from tsfgui.engine.spotting import SpottedInterval

    assert eaf_schema.is_valid(str(write_eaf(tmp_path / "empty.eaf", [], fps=25.0)))
    media = tmp_path / "Interviews & <notes>" / "Séance 3 (1h).MOV"
    media.parent.mkdir()
    media.write_bytes(b"\0")
    events = [SpottedInterval(0, 0, 0, "micro", 3.1, "nose", "a<b & \"c\"", 0.5)]
    path = write_eaf(tmp_path / "odd.eaf", events, fps=29.97, media=media)
    eaf_schema.validate(str(path))
    root = ET.parse(path).getroot()
    assert root.find("HEADER/MEDIA_DESCRIPTOR").get("MIME_TYPE") == "video/quicktime"
    assert root.find(".//ANNOTATION_VALUE").text == 'a<b & "c" (0.50)'


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
    assert rec.itemsize <= 48  # bytes per frame: an hour at 30 fps stays under 5 MB
    labels = [recorder.labels()[i] for i in range(4)]
    assert labels == [None, "positive", "negative", None]


def test_summary_envelope_keeps_a_one_frame_burst_in_an_hour():
    import numpy as np

    from tsfgui.engine.reports import _peak_envelope

    n = 108_000
    values = np.zeros((n, 2))
    values[54_321, 1] = 9.0
    values[1000:1200, 0] = np.nan
    t, env = _peak_envelope(np.arange(n) / 30.0, values, max_points=20000)
    assert len(t) <= 20000 and env.shape == (len(t), 2)
    assert env[:, 1].max() == 9.0
    assert np.isnan(env[:, 0]).any() and np.nanmax(env[:, 0]) == 0.0


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
