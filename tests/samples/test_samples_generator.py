"""The synthetic micro-expression generator: determinism, micro limits, locality of the planted motion,
ground truth that matches the pixels."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tsfgui.samples import (
    CLASSES,
    EVENT_TYPES,
    MICRO_MAX_RISE_S,
    MICRO_MAX_TOTAL_S,
    Distractors,
    EventSpec,
    SampleError,
    SampleRenderer,
    SampleTruth,
    generate_sample,
    render_clip,
)
from tsfgui.face.regions import REGIONS

SMALL = (320, 240)


def region_box(landmarks: np.ndarray, region: str, margin: float) -> tuple[slice, slice]:
    """Row/column slices of the bounding box of a landmark region grown by ``margin`` px."""
    pts = landmarks[list(REGIONS[region])]
    x0, y0 = np.floor(pts.min(0) - margin).astype(int)
    x1, y1 = np.ceil(pts.max(0) + margin).astype(int)
    return slice(max(0, y0), y1), slice(max(0, x0), x1)


def _energy(diff: np.ndarray, box: tuple[slice, slice]) -> float:
    return float((diff[box] ** 2).sum())


def _absdiff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.float64) - b.astype(np.float64)).sum(axis=2)


# ---------------------------------------------------------------------------------------- determinism

def test_same_seed_gives_identical_frames_and_json():
    kwargs = dict(duration_s=2.0, fps=30, size=(256, 192), events=1)
    a = SampleRenderer(seed=3, **kwargs)
    b = SampleRenderer(seed=3, **kwargs)
    assert a.truth.to_json() == b.truth.to_json()
    np.testing.assert_array_equal(a.truth.landmarks, b.truth.landmarks)
    for i in range(len(a)):
        np.testing.assert_array_equal(a.frame(i), b.frame(i))


def test_different_seed_gives_different_sample():
    kwargs = dict(duration_s=2.0, fps=30, size=(256, 192), events=1)
    a = SampleRenderer(seed=3, **kwargs)
    b = SampleRenderer(seed=4, **kwargs)
    assert a.truth.to_dict()["events"] != b.truth.to_dict()["events"]
    assert not np.array_equal(a.frame(10), b.frame(10))


def test_frames_render_in_any_order(quiet_renderer):
    """Random access: a frame does not depend on which frames were rendered before."""
    r = quiet_renderer
    e = r.truth.events[0]
    first = r.frame(e.apex)
    r.frame(0)
    r.frame(len(r) - 1)
    np.testing.assert_array_equal(first, r.frame(e.apex))


# ---------------------------------------------------------------------------------------- video file

def test_written_video_decodes_with_right_count_fps_and_size(tmp_path):
    out = tmp_path / "clip.mp4"
    truth = generate_sample(out, seed=2, duration_s=2.0, fps=25, size=SMALL, events=1)
    cap = cv2.VideoCapture(str(out))
    assert cap.isOpened()
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)
    count = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (SMALL[1], SMALL[0], 3)
        count += 1
    cap.release()
    assert count == truth.frame_count == 50

    data = json.loads(out.with_suffix(".json").read_text())
    assert data["video"] == {"file": "clip.mp4", "codec": "mp4v", "fps": 25.0, "width": SMALL[0],
                             "height": SMALL[1], "frame_count": 50, "duration_s": 2.0}
    assert data == truth.to_dict()
    # No temporary files are left next to the outputs.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.json", "clip.mp4"]


def test_avi_gets_mjpg_and_decodes(tmp_path):
    out = tmp_path / "clip.avi"
    truth = generate_sample(out, seed=2, duration_s=1.0, fps=30, size=(256, 192), events=0,
                            distractors=Distractors.none())
    assert truth.codec == "MJPG"
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 30
    renderer = SampleRenderer.from_settings(truth.settings)
    mse = np.mean((frames[5].astype(float) - renderer.frame(5)) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 33


# ---------------------------------------------------------------------------------------- micro limits

def test_events_respect_micro_limits_and_spacing(busy_renderer):
    r = busy_renderer
    t = r.truth
    assert {e.type for e in t.events} == set(EVENT_TYPES)
    for e in t.events:
        assert e.onset < e.apex < e.offset
        assert (e.apex - e.onset) / t.fps <= MICRO_MAX_RISE_S + 1e-9
        assert (e.offset - e.onset) / t.fps <= MICRO_MAX_TOTAL_S + 1e-9
        assert 1.0 <= e.amplitude_224 <= 4.0
        assert e.amplitude_px == pytest.approx(e.amplitude_224 * t.face_width_px / 224)
        assert 0.5 * e.amplitude_px <= e.landmark_px <= e.amplitude_px * 1.01  # max over the pixel grid vs sub-pixel landmarks
        assert e.label == EVENT_TYPES[e.type].label in CLASSES
    spans = sorted([(e.onset, e.offset) for e in t.events + t.talk])
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert (start - end) / t.fps >= 1.0 - 1e-9
    for b in t.blinks:  # blinks keep clear of the events
        assert all(b.offset < s or b.onset > e for s, e in spans)


@pytest.mark.parametrize("fps", [25, 60, 200])
def test_micro_limits_hold_at_other_frame_rates(fps):
    r = SampleRenderer(seed=1, duration_s=6.0, fps=fps, size=(256, 192), events=3, distractors=Distractors.none())
    for e in r.truth.events:
        assert (e.apex - e.onset) / fps <= MICRO_MAX_RISE_S + 1e-9
        assert (e.offset - e.onset) / fps <= MICRO_MAX_TOTAL_S + 1e-9


def test_talking_is_longer_and_larger_than_micro_events(busy_renderer):
    (talk,) = busy_renderer.truth.talk
    assert (talk.offset - talk.onset) / talk.fps > 1.0
    assert talk.amplitude_224 > 4.0
    assert talk.label is None


def test_ground_truth_landmarks_follow_the_event_profile():
    """With no head motion, landmarks sit at the base outside events and peak at the apex."""
    r = SampleRenderer(seed=4, duration_s=5.0, fps=30, size=SMALL, events=2,
                       distractors=Distractors(head_motion_px=0, head_rotation_deg=0))
    t = r.truth
    moving = np.zeros(len(r), bool)
    for e in t.events + t.blinks:
        moving[e.onset + 1:e.offset] = True
        disp = np.linalg.norm(t.landmarks[e.onset:e.offset + 1] - t.base_landmarks, axis=2).max(axis=1)
        assert disp[0] == 0 and disp[-1] == 0
        assert disp.argmax() == e.apex - e.onset
        assert disp.max() == pytest.approx(e.landmark_px)
    np.testing.assert_array_equal(t.landmarks[~moving], np.broadcast_to(t.base_landmarks, t.landmarks[~moving].shape))


def test_ground_truth_landmarks_match_the_rendered_pixels(busy_renderer):
    """Warp an image of dots at the base landmarks with a frame's motion: the dots land on the truth."""
    r = busy_renderer
    h, w = r.base_frame.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dots = np.zeros((h, w), np.float32)
    for x, y in r.base_landmarks:
        dots += np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 0.8 ** 2))
    for e in (r.truth.events[0], r.truth.events[5], r.truth.blinks[0]):
        warped = r.warp_image(dots, e.apex)
        for k in range(48, 68) if e.kind == "micro" else range(36, 48):
            x, y = r.truth.landmarks[e.apex, k]
            xi, yi = int(round(x)), int(round(y))
            win = warped[yi - 2:yi + 3, xi - 2:xi + 3]
            gy, gx = np.mgrid[yi - 2:yi + 3, xi - 2:xi + 3]
            cx, cy = (win * gx).sum() / win.sum(), (win * gy).sum() / win.sum()
            assert np.hypot(cx - x, cy - y) < 0.35, (e.type, k)


def test_warp_is_smooth_without_folds(busy_renderer):
    r = busy_renderer
    for e in r.truth.events + r.truth.blinks + r.truth.talk:
        field, _ = r.displacement_field(e.apex)
        fx, fy = field[..., 0].astype(float), field[..., 1].astype(float)
        jac = (1 + np.gradient(fx, axis=1)) * (1 + np.gradient(fy, axis=0)) - \
            np.gradient(fx, axis=0) * np.gradient(fy, axis=1)
        assert jac.min() > 0.2, e.type


def test_json_round_trip_matches_the_renderer(busy_renderer, tmp_path):
    t = busy_renderer.truth
    path = t.save_json(tmp_path / "truth.json")
    loaded = SampleTruth.load_json(path)
    assert loaded.to_dict()["events"] == t.to_dict()["events"]
    assert [(e.type, e.onset, e.apex, e.offset) for e in loaded.events] == \
        [(e.type, e.onset, e.apex, e.offset) for e in t.events]
    again = SampleRenderer.from_settings(loaded.settings)
    assert again.truth.to_dict() == t.to_dict()


# ---------------------------------------------------------------------------------------- locality

def test_au12_motion_is_at_the_mouth_corners(quiet_renderer):
    r = quiet_renderer
    e = next(e for e in r.truth.events if e.type == "AU12")
    diff = _absdiff(r.frame(e.apex), r.frame(e.onset))
    lm = r.base_landmarks
    margin = 0.06 * r.face_width
    mouth, brows = region_box(lm, "mouth", margin), region_box(lm, "brows", margin)
    corners = np.zeros_like(diff, bool)
    for k in (48, 54):
        x, y = lm[k]
        corners[int(y - margin):int(y + margin), int(x - margin):int(x + margin)] = True
    assert _energy(diff, mouth) > 50 * _energy(diff, brows)
    assert (diff[corners] ** 2).sum() > 0.3 * (diff ** 2).sum()  # corners hold a good share of all change
    assert _energy(diff, region_box(lm, "mouth", 2 * margin)) > 0.95 * (diff ** 2).sum()


def test_brow_raise_motion_is_at_the_brows(quiet_renderer):
    r = quiet_renderer
    e = next(e for e in r.truth.events if e.type == "AU1+AU2")
    diff = _absdiff(r.frame(e.apex), r.frame(e.onset))
    lm = r.base_landmarks
    margin = 0.06 * r.face_width
    assert _energy(diff, region_box(lm, "brows", margin)) > 50 * _energy(diff, region_box(lm, "mouth", margin))


def test_background_and_frames_outside_events_are_untouched(quiet_renderer):
    r = quiet_renderer
    inside = np.zeros(len(r), bool)
    for e in r.truth.events:
        inside[e.onset + 1:e.offset] = True
        # Far from the face nothing moves even at the apex.
        diff = _absdiff(r.frame(e.apex), r.base_frame)
        face = region_box(r.base_landmarks, "jaw", 0.5 * r.face_width)
        outside = np.ones_like(diff, bool)
        outside[face] = False
        assert diff[outside].max() == 0
    for i in np.flatnonzero(~inside)[::4]:
        np.testing.assert_array_equal(r.frame(int(i)), r.base_frame)


def test_frames_outside_events_differ_from_base_only_by_noise():
    r = SampleRenderer(seed=6, duration_s=2.0, fps=30, size=SMALL, events=[EventSpec("AU4", onset_s=0.5)],
                       distractors=Distractors(head_motion_px=0, head_rotation_deg=0, blinks_per_min=0,
                                               noise_sigma=1.5, lighting_gain=0, lighting_offset=0))
    e = r.truth.events[0]
    for i in (0, e.onset, e.offset, len(r) - 1):
        noise = r.frame(i).astype(float) - r.base_frame
        assert abs(noise.mean()) < 0.05
        assert noise.std() == pytest.approx(1.5, abs=0.1)


def test_blink_closes_the_eyes_only(busy_renderer):
    r = busy_renderer
    b = r.truth.blinks[0]
    lm = r.truth.landmarks
    opening = lambda i: np.linalg.norm(lm[i, [41, 40, 47, 46]] - lm[i, [37, 38, 43, 44]], axis=1).mean()  # noqa: E731
    assert opening(b.apex) < 0.75 * opening(b.onset)
    assert (b.offset - b.onset) / b.fps <= 0.4
    # Pixels: the change sits in the eyes, not the mouth (both frames share the same head pose nearly).
    geo = r.warp_image(r._eyelid_source(b.apex), b.apex) - r.warp_image(r._base, b.apex)
    diff = np.abs(geo).sum(axis=2)
    margin = 0.06 * r.face_width
    assert _energy(diff, region_box(r.base_landmarks, "eyes", margin)) > 0.99 * (diff ** 2).sum()


def test_head_motion_moves_the_head_not_the_background():
    r = SampleRenderer(seed=8, duration_s=10.0, fps=30, size=SMALL, events=0,
                       distractors=Distractors(head_motion_px=3, head_rotation_deg=0.5, blinks_per_min=0,
                                               noise_sigma=0, lighting_gain=0, lighting_offset=0))
    pose = r.truth.head_pose
    i = int(np.argmax(np.hypot(pose[:, 0], pose[:, 1])))
    assert np.hypot(*pose[i, :2]) > 0.5
    diff = _absdiff(r.frame(i), r.base_frame)
    assert diff[region_box(r.base_landmarks, "mouth", 5)].mean() > 1.0
    assert diff[:10, :10].max() == 0 and diff[:10, -10:].max() == 0
    # The landmarks move rigidly with the head.
    shift = r.truth.landmarks[i] - r.truth.base_landmarks
    assert np.linalg.norm(shift, axis=1).min() > 0.5


# ---------------------------------------------------------------------------------------- clips

def test_render_clip_covers_onset_to_offset(tmp_path):
    clip = render_clip("AU12", seed=1, size=(192, 192), pad_frames=2, out_dir=tmp_path / "clip")
    e = clip.event
    assert e.type == "AU12" and e.label == "positive"
    assert e.onset == 2 and len(clip.frames) == e.offset + 3
    assert clip.landmarks.shape == (len(clip.frames), 68, 2)
    files = sorted((tmp_path / "clip").iterdir(), key=lambda p: int(p.stem[3:]))
    assert [p.name for p in files] == [f"img{k}.png" for k in range(1, len(clip.frames) + 1)]
    np.testing.assert_array_equal(cv2.imread(str(files[e.apex])), clip.frames[e.apex])


# ---------------------------------------------------------------------------------------- table, errors

def test_event_table_maps_aus_to_megc_classes():
    assert EVENT_TYPES["AU1+AU2"].label == "surprise"
    assert EVENT_TYPES["AU4"].label == "negative"
    assert EVENT_TYPES["AU12"].label == "positive"
    assert EVENT_TYPES["AU15"].label == "negative"
    assert {e.label for e in EVENT_TYPES.values()} == set(CLASSES)
    for needed in ("AU14", "AU17"):
        assert needed in EVENT_TYPES


def test_default_events_balance_classes():
    r = SampleRenderer(seed=2, duration_s=12.0, fps=30, size=(256, 192), events=6)
    labels = [e.label for e in r.truth.events]
    assert sorted(labels) == sorted(list(CLASSES) * 2)


def test_bad_requests_are_explained(tmp_path):
    with pytest.raises(ValueError, match="Known types"):
        SampleRenderer(duration_s=3, size=(256, 192), events=["AU99"])
    with pytest.raises(ValueError, match="do not fit"):
        SampleRenderer(duration_s=2, size=(256, 192), events=5)
    with pytest.raises(ValueError, match="micro range"):
        SampleRenderer(duration_s=3, size=(256, 192), events=[EventSpec("AU12", amplitude=6)])
    with pytest.raises(ValueError, match="micro limit"):
        SampleRenderer(duration_s=3, size=(256, 192), events=[EventSpec("AU12", rise_s=0.4)])
    missing = tmp_path / "nobody.jpg"
    with pytest.raises(SampleError, match="nobody.jpg"):
        SampleRenderer(duration_s=3, size=(256, 192), face_image=missing)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(SampleError, match="No face"):
        SampleRenderer(duration_s=3, size=(256, 192), face_image=blank)
