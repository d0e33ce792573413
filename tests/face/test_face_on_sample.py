"""The face pipeline on the shipped sample video, checked against the generator's ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tsfgui.face import ALIGNMENT_POINTS, FaceTracker, Quality, TrackerSettings, region_masks, transform_points
from tsfgui.io import VideoFileSource
from tsfgui.samples import SampleRenderer

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_interview.mp4"


@pytest.fixture(scope="module")
def tracked():
    truth = json.loads(SAMPLE.with_suffix(".json").read_text())
    renderer = SampleRenderer.from_settings(truth["generator"])
    with VideoFileSource(SAMPLE) as source:
        results = list(FaceTracker(TrackerSettings(fps=source.info.fps)).run(source))
    return truth, renderer.truth.landmarks, results


def test_face_found_on_every_frame(tracked):
    truth, _, results = tracked
    assert len(results) == truth["video"]["frame_count"]
    assert all(r.primary is not None and r.primary.quality in (Quality.FOUND, Quality.TRACKED) for r in results)
    assert len({r.primary.track_id for r in results}) == 1, "one person, one id"
    assert sum(r.primary.quality is Quality.TRACKED for r in results) > len(results) // 2  # tracking, not detecting


def quiet_frames(truth, n):
    """Frames with no planted event or blink in them or next to them."""
    busy = np.zeros(n, bool)
    for e in truth["events"] + truth["distractors"].get("blinks", []):
        busy[max(0, e["onset"] - 1):e["offset"] + 2] = True
    return np.flatnonzero(~busy)


def test_crop_jitter_is_far_below_micro_motion(tracked):
    truth, gt_landmarks, results = tracked
    stable = list(ALIGNMENT_POINTS)
    in_crop = np.stack([transform_points(gt_landmarks[i][stable], r.primary.matrix) for i, r in enumerate(results)])
    quiet = quiet_frames(truth, len(results))
    pairs = [i for i in quiet if i - 1 in set(quiet)]
    steps = in_crop[pairs] - in_crop[[i - 1 for i in pairs]]
    jitter = float(np.sqrt((steps ** 2).sum(-1).mean()))
    assert len(pairs) > 100
    print(f"crop jitter on the sample: {jitter:.3f} px RMS over {len(pairs)} quiet frame pairs")
    assert jitter < 0.3, f"crop jitter {jitter:.3f} px RMS"


def test_planted_motion_is_visible_at_the_right_place_and_time(tracked):
    truth, _, results = tracked
    size = results[0].primary.crop.shape[0]
    masks = region_masks(results[0].primary.landmarks_crop, size)
    crops = [r.primary.crop.astype(np.float32).mean(axis=2) for r in results]

    def region_change(a, b, region):
        return float(np.abs(crops[b] - crops[a])[masks[region]].mean())

    quiet = quiet_frames(truth, len(results))
    quiet_set = set(quiet)
    for event in truth["events"]:
        lag = event["apex"] - event["onset"]
        region = event["regions"][0]
        planted = region_change(event["onset"], event["apex"], region)
        baseline = np.median([region_change(i - lag, i, region) for i in quiet if i - lag in quiet_set])
        others = [r for r in ("brows", "mouth") if r not in event["regions"]]
        print(f"{event['type']:<12} {region:<6} planted {planted:.2f} vs quiet {baseline:.2f}")
        assert planted > 1.3 * baseline, f"{event['type']}: {region} change {planted:.2f} vs quiet {baseline:.2f}"
        for other in others:  # the motion is where it was planted, not elsewhere
            assert planted > region_change(event["onset"], event["apex"], other), event["type"]
