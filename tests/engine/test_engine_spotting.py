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
