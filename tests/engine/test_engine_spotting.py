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
