"""The shipped demo video ``resources/sample_interview.mp4`` agrees with its ground truth JSON."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tsfgui.samples import CLASSES, MICRO_MAX_RISE_S, MICRO_MAX_TOTAL_S, SampleRenderer, SampleTruth

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
VIDEO = RESOURCES / "sample_interview.mp4"
TRUTH = RESOURCES / "sample_interview.json"


@pytest.fixture(scope="module")
def decoded() -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(VIDEO))
    assert cap.isOpened(), f"cannot open {VIDEO}"
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames, fps


def test_json_matches_video_count_fps_and_size(decoded):
    frames, fps = decoded
    data = json.loads(TRUTH.read_text())
    video = data["video"]
    assert video["file"] == VIDEO.name
    assert len(frames) == video["frame_count"]
    assert fps == pytest.approx(video["fps"])
    assert frames[0].shape == (video["height"], video["width"], 3)
    assert (video["width"], video["height"], video["fps"]) == (640, 480, 30.0)
    assert 8.0 <= video["duration_s"] <= 12.0
    assert VIDEO.stat().st_size < 5_000_000


def test_planted_events_are_varied_micro_and_separated():
    truth = SampleTruth.load_json(TRUTH)
    assert 5 <= len(truth.events) <= 6
    assert {e.label for e in truth.events} == set(CLASSES)
    assert len(truth.blinks) >= 2
    assert 200 <= truth.face_width_px <= 260
    for e in truth.events:
        assert (e.apex - e.onset) / truth.fps <= MICRO_MAX_RISE_S
        assert (e.offset - e.onset) / truth.fps <= MICRO_MAX_TOTAL_S
        assert 1.0 <= e.amplitude_224 <= 4.0
    spans = sorted((e.onset, e.offset) for e in truth.events)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert (start - end) / truth.fps >= 1.0


def test_video_content_is_the_recorded_sample(decoded):
    """Re-rendering from the recorded generator settings reproduces the JSON and (up to the codec) the frames."""
    frames, _ = decoded
    data = json.loads(TRUTH.read_text())
    renderer = SampleRenderer.from_settings(data["generator"])
    again = renderer.truth.to_dict()
    again["video"].update(file=data["video"]["file"], codec=data["video"]["codec"])
    assert again == data
    apexes = [e.apex for e in renderer.truth.events]
    for i in [0, *apexes[:3]]:
        mse = np.mean((frames[i].astype(float) - renderer.frame(i)) ** 2)
        assert 10 * np.log10(255 ** 2 / mse) > 33, i


def test_face_is_found_by_dlib_hog_detector(decoded):
    import dlib

    frames, _ = decoded
    detector = dlib.get_frontal_face_detector()
    for frame in frames[::30]:
        rects = detector(np.ascontiguousarray(frame[:, :, ::-1]), 0)
        assert len(rects) == 1
        assert 180 <= rects[0].width() <= 280


def test_an_excerpt_longer_than_the_sample_cycles_its_frames(tmp_path):
    """Benches' long inputs: the sample's frames repeated from the start, as many as asked for."""
    from tsfgui.io import VideoFileSource
    from tsfgui.resources import SAMPLE_VIDEO
    from tsfgui.samples.excerpt import write_sample_excerpt

    with VideoFileSource(SAMPLE_VIDEO) as sample:
        length = sample.info.frame_count
    path = write_sample_excerpt(tmp_path / "long.avi", length + 5)
    with VideoFileSource(path) as source:
        frames = [frame.image for frame in source]
    assert len(frames) == length + 5
    def apart(a, b) -> float:
        return float(np.abs(a.astype(np.int16) - b).mean())

    for i in range(5):  # the same source image (the encoder treats a video's first frame a little apart)
        assert apart(frames[length + i], frames[i]) < 1.0
    assert apart(frames[length], frames[length - 1]) > 3 * apart(frames[length], frames[0])
