"""FaceTracker on synthetic videos built from the astronaut photo with cv2 warps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tsfgui.face import FaceTracker, Quality, TrackerSettings, eye_distance, region_masks

N_SMOOTH = 90


@pytest.fixture(scope="module")
def centre(photo_landmarks):
    return photo_landmarks[27:36].mean(0)


@pytest.fixture(scope="module")
def smooth_video(photo, synth, centre):
    """640×480 frames, sub-pixel head motion (±3 px, ±2 px, ±1°), with the known warps."""
    warps = [synth.head_motion(t, centre) for t in range(N_SMOOTH)]
    return [synth.render(photo, w) for w in warps], warps


@pytest.fixture(scope="module")
def smooth_run(smooth_video, detector, predictor):
    frames, _ = smooth_video
    tracker = FaceTracker(detector=detector, predictor=predictor)
    return [tracker.update(f) for f in frames]


def _gray(crop: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32), (0, 0), 1.0)


def test_face_on_every_frame_found_on_detection_frames_tracked_between(smooth_run):
    every = TrackerSettings().detect_every
    ids = set()
    for t, ff in enumerate(smooth_run):
        assert ff.index == t and len(ff.faces) == 1 and not ff.lost
        face = ff.primary
        ids.add(face.track_id)
        expected = Quality.FOUND if t % every == 0 else Quality.TRACKED
        assert face.quality is expected, t
        assert ff.detected == (t % every == 0)
        assert face.crop.shape == (224, 224, 3) and face.landmarks.shape == (68, 2)
        assert np.allclose(
            np.vstack([face.matrix, [0, 0, 1]]) @ np.vstack([face.inverse, [0, 0, 1]]), np.eye(3)
        )
    assert len(ids) == 1


def test_crop_jitter_is_far_below_a_pixel(smooth_run, smooth_video, photo_landmarks, synth, detector, predictor):
    _, warps = smooth_video
    stable = photo_landmarks[list(synth.STABLE)]
    jitter = synth.crop_jitter(stable, warps, [ff.primary.matrix for ff in smooth_run])
    assert jitter < 0.3
    # the smoothing is what gets it there: without it the crop shakes more
    raw_tracker = FaceTracker(TrackerSettings(smooth=False), detector=detector, predictor=predictor)
    raw = [raw_tracker.update(f).primary.matrix for f in smooth_video[0]]
    assert jitter < synth.crop_jitter(stable, warps, raw)


def test_crop_follows_the_head(smooth_run, smooth_video, photo_landmarks, synth):
    """Smoothing must not freeze or drag the crop: the face stays put in the crop while the head
    moves ±3 px (±4 crop px)."""
    _, warps = smooth_video
    stable = photo_landmarks[list(synth.STABLE)]
    q = np.array([synth.apply(synth.apply(stable, w), ff.primary.matrix) for w, ff in zip(warps, smooth_run)])
    spread = np.linalg.norm(q - q.mean(0), axis=-1)
    assert spread.max() < 1.0
    moved = np.array([synth.apply(stable, w) for w in warps])
    assert np.linalg.norm(moved - moved.mean(0), axis=-1).max() > 3.0


def test_planted_mouth_movement_shows_at_the_right_place_and_time(
    photo, photo_landmarks, synth, centre, detector, predictor
):
    """The mouth corners are pulled 3 px (1 px per frame over frames 20–22) while the head moves."""
    variants = {a: synth.plant_mouth_motion(photo, photo_landmarks, a, sigma=8.0) for a in range(4)}

    def amount(t):
        return 0 if t < 20 else min(3, t - 19)

    tracker = FaceTracker(detector=detector, predictor=predictor)
    obs = [tracker.update(synth.render(variants[amount(t)], synth.head_motion(t, centre))).primary for t in range(30)]
    assert all(o is not None for o in obs)
    masks = region_masks(obs[19].landmarks_crop, 224)

    def p95(a, b):
        d = np.abs(_gray(obs[a].crop) - _gray(obs[b].crop))
        return {k: float(np.percentile(d[m], 95)) for k, m in masks.items()}, d

    # place: onset (19) vs apex (29)
    change, diff = p95(29, 19)
    assert change["mouth"] > 3.0 * max(change["brows"], change["eyes"], change["nose"])
    y, x = np.unravel_index(np.argmax(diff), diff.shape)
    corners = obs[19].landmarks_crop[[48, 54]]
    assert np.min(np.hypot(corners[:, 0] - x, corners[:, 1] - y)) < 8.0
    # time: frame-to-frame mouth change stands out exactly on frames 20, 21, 22
    steps = {t: p95(t, t - 1)[0] for t in range(2, 30)}
    typical = np.median([s["mouth"] for s in steps.values()])
    moving = {
        t for t, s in steps.items() if s["mouth"] > 2.0 * typical and s["mouth"] > 2.0 * max(s["brows"], s["eyes"])
    }
    assert moving == {20, 21, 22}
    # and the landmarks (not smoothed) report it: mouth corners move, eye corners stay
    before, after = obs[19].landmarks_crop, obs[29].landmarks_crop
    assert np.linalg.norm(after[[48, 54]] - before[[48, 54]], axis=1).min() > 1.0
    assert np.linalg.norm(after[[36, 39, 42, 45]] - before[[36, 39, 42, 45]], axis=1).max() < 0.8


def test_blank_frames_are_lost_and_tracking_resumes(photo, synth, centre, detector, predictor):
    grey = np.full((480, 640, 3), 128, np.uint8)
    face = [synth.render(photo, synth.head_motion(t, centre)) for t in range(12)]
    frames = face[:5] + [grey] * 3 + face[8:12]
    tracker = FaceTracker(detector=detector, predictor=predictor)
    out = [tracker.update(f) for f in frames]
    first_id = out[0].primary.track_id
    for ff in out[5:8]:
        assert ff.empty and ff.primary is None and ff.quality is Quality.LOST
        assert [o.quality for o in ff.lost] == [Quality.LOST] and ff.lost[0].crop is None
        assert ff.lost[0].track_id == first_id
    assert out[8].primary.quality is Quality.FOUND and out[8].primary.track_id == first_id
    assert all(ff.primary.quality is Quality.TRACKED for ff in out[9:])


def test_video_starting_without_a_face(photo, synth, centre, detector, predictor):
    tracker = FaceTracker(detector=detector, predictor=predictor)
    assert tracker.update(np.zeros((480, 640, 3), np.uint8)).quality is Quality.LOST
    assert tracker.update(synth.render(photo, synth.head_motion(1, centre))).quality is Quality.FOUND


def test_a_jump_triggers_detection_at_once(photo, synth, centre, detector, predictor):
    """A cut that moves the face 150 px between scheduled detections is re-detected on that frame."""
    tracker = FaceTracker(detector=detector, predictor=predictor)
    for t in range(5):
        tracker.update(synth.render(photo, synth.head_motion(t, centre)))
    shifted = synth.head_motion(5, centre)
    shifted[0, 2] -= 150
    ff = tracker.update(synth.render(photo, shifted))
    assert ff.detected and ff.primary.quality is Quality.FOUND
    true_nose = synth.apply(centre, shifted)[0]
    assert np.linalg.norm(ff.primary.landmarks[27:36].mean(0) - true_nose) < 3.0


def test_a_face_leaving_the_frame_is_lost_without_error(photo, synth, centre, detector, predictor):
    tracker = FaceTracker(detector=detector, predictor=predictor)
    qualities = []
    for t in range(40):
        w = synth.head_motion(0, centre)
        w[0, 2] += 10 * t  # slides out to the right
        qualities.append(tracker.update(synth.render(photo, w)).quality)
    assert qualities[0] is Quality.FOUND
    assert qualities[-1] is Quality.LOST
    assert Quality.TRACKED in qualities


@pytest.fixture(scope="module")
def two_face_run(photo, synth, centre, detector, predictor):
    """Two copies side by side on a 1024×512 canvas; the right one grows from 0.85× to 1.4×."""
    out, boxes = [], []
    tracker = FaceTracker(detector=detector, predictor=predictor)
    for t in range(20):
        canvas = np.full((512, 1024, 3), 90, np.uint8)
        left = synth.render(photo, synth.head_motion(t, centre, offset=(0, 0)), size=(512, 512))
        scale = 0.85 + 0.55 * t / 19
        right = synth.render(photo, synth.similarity(0.0, scale, centre, (0, 0)), size=(512, 512))
        canvas[:, :512] = left
        canvas[:, 512:] = right
        out.append(tracker.update(canvas))
    return out


def test_two_faces_keep_their_ids_and_the_primary(two_face_run):
    first = two_face_run[0]
    assert len(first.faces) == 2
    side = {f.track_id: f.bbox[0] < 512 for f in first.faces}
    assert set(side.values()) == {True, False}
    primary = first.primary_id
    assert side[primary]  # the larger face at the start (left)
    for ff in two_face_run:
        assert len(ff.faces) == 2 and {f.track_id for f in ff.faces} == set(side)
        for f in ff.faces:
            assert (f.bbox[0] < 512) == side[f.track_id]
        assert ff.primary_id == primary
    # by the end the right face is clearly larger, yet the primary did not switch
    last = two_face_run[-1]
    right = next(f for f in last.faces if not side[f.track_id])
    left = next(f for f in last.faces if side[f.track_id])
    assert eye_distance(right.landmarks) > 1.25 * eye_distance(left.landmarks)


def test_primary_switches_only_when_lost(photo, synth, centre, detector, predictor):
    tracker = FaceTracker(detector=detector, predictor=predictor)
    canvas = np.full((512, 1024, 3), 90, np.uint8)
    canvas[:, :512] = photo
    canvas[:, 512:] = synth.render(photo, synth.similarity(0.0, 0.9, centre, (0, 0)), size=(512, 512))
    ff = tracker.update(canvas)
    primary = ff.primary_id
    assert ff.primary.bbox[0] < 512
    only_right = canvas.copy()
    only_right[:, :512] = 90
    ff = tracker.update(only_right)
    assert len(ff.faces) == 1 and ff.primary_id != primary and ff.primary.bbox[0] > 512
    assert [o.track_id for o in ff.lost] == [primary]


def test_max_faces_limits_tracks(photo, detector, predictor):
    canvas = np.concatenate([photo, photo], axis=1)
    tracker = FaceTracker(TrackerSettings(max_faces=1), detector=detector, predictor=predictor)
    assert len(tracker.update(canvas).faces) == 1


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY),
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)[:, :, None],
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2BGRA),
    ],
    ids=["gray", "gray-HxWx1", "bgra"],
)
def test_tracking_gray_and_bgra_frames(smooth_video, detector, predictor, convert):
    tracker = FaceTracker(detector=detector, predictor=predictor)
    out = [tracker.update(convert(f)) for f in smooth_video[0][:6]]
    assert [ff.primary.quality for ff in out] == [Quality.FOUND] + [Quality.TRACKED] * 5
    assert all(ff.primary.crop.shape == (224, 224, 3) for ff in out)


@pytest.mark.parametrize("side", [160, 2400])
def test_tracking_tiny_and_huge_frames(smooth_video, detector, predictor, side):
    tracker = FaceTracker(detector=detector, predictor=predictor)
    out = []
    for f in smooth_video[0][:5]:
        square = f[:, 80:560]  # 480×480 around the face
        interp = cv2.INTER_AREA if side < 480 else cv2.INTER_CUBIC
        out.append(tracker.update(cv2.resize(square, (side, side), interpolation=interp)))
    assert [ff.primary.quality for ff in out] == [Quality.FOUND] + [Quality.TRACKED] * 4
    assert out[-1].frame_shape == (side, side)
    crop = out[-1].primary.crop
    assert crop.shape == (224, 224, 3) and crop.std() > 20


def test_run_with_indices_and_timestamps(smooth_video, detector, predictor):
    tracker = FaceTracker(TrackerSettings(detect_every=3), detector=detector, predictor=predictor)
    items = [(100 + i, 1000.0 + 40.0 * i, f) for i, f in enumerate(smooth_video[0][:6])]
    out = list(tracker.run(items))
    assert [ff.index for ff in out] == list(range(100, 106))
    assert [ff.timestamp_ms for ff in out] == [it[1] for it in items]
    assert [ff.detected for ff in out] == [True, False, False, True, False, False]
    tracker.reset()
    assert tracker.update(smooth_video[0][0]).primary.quality is Quality.FOUND


def test_tracker_settings_are_checked():
    with pytest.raises(ValueError, match="detect_every"):
        TrackerSettings(detect_every=0)
    with pytest.raises(ValueError, match="search_every"):
        TrackerSettings(search_every=0)


def _two_faces(photo) -> np.ndarray:
    small = cv2.resize(np.ascontiguousarray(photo), (320, 320), interpolation=cv2.INTER_AREA)
    return np.hstack([small, small])


def test_a_face_that_comes_back_is_found_within_a_few_frames_while_another_is_followed(photo, detector, predictor):
    """Two faces; the left one is away for six frames. With the other still followed, the tracker must
    not wait for its 15-frame schedule to find the returning face."""
    both = _two_faces(photo)
    covered = both.copy()
    covered[:, :320] = 128
    frames = [both] * 5 + [covered] * 6 + [both] * 12
    tracker = FaceTracker(detector=detector, predictor=predictor)
    left = [any(o.bbox[2] <= 320 for o in tracker.update(f).faces) for f in frames]
    assert left[:5] == [True] * 5 and not any(left[5:11])
    back = left.index(True, 11)
    assert back - 11 < TrackerSettings().lost_detect_every, f"the face came back at frame 11, found at {back}"
    assert all(left[back:])


def test_a_turned_face_the_detector_misses_is_kept_by_the_search_around_it(photo, photo_landmarks, detector,
                                                                           predictor):
    """The head turns away (up to 55°) and back: dlib's frontal detector loses it on the whole frame,
    the tracker keeps it in every frame."""
    from tsfgui.samples.head_turn import moved_point, turn_head, turn_homography

    centre = photo_landmarks[27:36].mean(0)
    yaws = [0, 15, 30, 45] + [55] * 10 + [45, 30, 15, 0]
    warps = [turn_homography(yaw, centre) for yaw in yaws]
    frames = [turn_head(np.ascontiguousarray(photo), h) for h in warps]
    truth = [moved_point(centre, h) for h in warps]

    def covers(box, p):
        return box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]

    alone = [any(covers(d.bbox, p) for d in detector.detect(f)) for f, p in zip(frames, truth)]
    assert not all(alone), "the clip must turn the head beyond what the frontal detector finds"
    tracker = FaceTracker(TrackerSettings(detect_every=3), detector=detector, predictor=predictor)
    kept = [any(covers(o.bbox, p) for o in tracker.update(f).faces) for f, p in zip(frames, truth)]
    assert all(kept), f"lost in frames {[i for i, k in enumerate(kept) if not k]}"


def test_detect_near_finds_the_face_at_its_box_and_nothing_where_there_is_none(photo, detector):
    from tsfgui.face.tracker import iou

    whole = detector.detect(photo)
    assert whole
    for face_px in (None, 120):  # the wide search, and the cheap confirmation at the face's own scale
        near = detector.detect_near(photo, whole[0].bbox, face_px=face_px)
        assert near and iou(near[0].bbox, whole[0].bbox) > 0.6
    x0, y0, x1, y1 = whole[0].bbox
    blank = photo.copy()
    blank[int(y0):int(y1), int(x0):int(x1)] = 90
    assert detector.detect_near(blank, whole[0].bbox, widen=1.2, face_px=120) == []


def test_a_face_entering_while_another_is_followed_is_found_by_the_next_search(photo, synth, centre, detector,
                                                                               predictor):
    settings = TrackerSettings(detect_every=5, search_every=12)
    tracker = FaceTracker(settings, detector=detector, predictor=predictor)
    counts = []
    for t in range(30):
        canvas = np.full((512, 1024, 3), 90, np.uint8)
        canvas[:, :512] = synth.render(photo, synth.head_motion(t, centre, offset=(0, 0)), size=(512, 512))
        if t >= 3:  # the second face enters after the first search; checks on the first keep passing
            canvas[:, 512:] = photo
        ff = tracker.update(canvas)
        assert ff.primary is not None and ff.primary.bbox[0] < 512
        counts.append(len(ff.faces))
    first_seen = counts.index(2)
    assert 3 < first_seen <= 3 + settings.search_every  # not at once: the faces followed are only confirmed
    assert counts[first_seen:] == [2] * (30 - first_seen)


def test_crops_left_out_are_cut_later_the_same(smooth_video, smooth_run, detector, predictor):
    """update(crops=False) hands on the geometry only; cut_crop gives the crop the tracker would have cut."""
    frames, _ = smooth_video
    tracker = FaceTracker(detector=detector, predictor=predictor)
    for frame, with_crops in list(zip(frames, smooth_run))[:20]:
        faces = tracker.update(frame, crops=False)
        face = faces.primary
        assert face.crop is None and face.found
        assert np.array_equal(face.matrix, with_crops.primary.matrix)
        assert np.array_equal(face.cut_crop(frame), with_crops.primary.crop)
        assert face.cut_crop(frame) is face.crop  # cut once
