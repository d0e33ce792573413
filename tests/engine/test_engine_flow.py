"""Optical-flow region signals: sub-pixel local motion measured, the head's similarity motion removed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tsfgui.engine.flow import RegionFlow, dense_flow
from tsfgui.face import detect_and_align, region_masks


@pytest.fixture(scope="module")
def face(astronaut_bgr):
    return detect_and_align(astronaut_bgr).primary


def _warp(image: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The image moved by the displacement field (dx, dy) (backward map, sub-pixel accurate)."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xs - dx.astype(np.float32), ys - dy.astype(np.float32), cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT)


def _mouth_motion(face, amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """A smooth upward bump of ``amplitude`` px centred on the mouth (like a lip raiser)."""
    size = face.size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = face.landmarks_crop[48:60].mean(0)
    bump = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (0.05 * size) ** 2))
    return np.zeros_like(bump), -amplitude * bump


def test_a_sub_pixel_mouth_movement_is_measured_in_the_mouth_not_the_brows(face):
    flow = RegionFlow()
    masks = region_masks(face.landmarks_crop, face.size)
    still = flow.measure(face.crop, face.crop.copy(), face.landmarks_crop, masks)
    moved = flow.measure(face.crop, _warp(face.crop, *_mouth_motion(face, 0.8)), face.landmarks_crop, masks)
    assert max(still.values()) < 0.02
    assert moved["mouth"] > 0.2 and moved["mouth"] > 4 * moved["brows"]
    stronger = flow.measure(face.crop, _warp(face.crop, *_mouth_motion(face, 1.6)), face.landmarks_crop, masks)
    assert stronger["mouth"] > 1.5 * moved["mouth"]


def _lip_stretch(face, amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """Both lip corners pulled sideways, away from the midline by ``amplitude`` px (a lip stretcher)."""
    size = face.size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    dx = np.zeros((size, size), np.float32)
    for corner, sign in ((48, -1.0), (54, 1.0)):
        cx, cy = face.landmarks_crop[corner]
        dx += sign * amplitude * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (0.04 * size) ** 2))
    return dx, np.zeros_like(dx)


def test_the_drift_mirrors_sideways_motion_so_a_symmetric_movement_and_its_return_read_opposite(face):
    """A lip stretcher moves the corners apart: an unmirrored mean cancels, the mirrored drift points
    outward (+x), and the return (corners back together) points inward."""
    flow = RegionFlow()
    masks = region_masks(face.landmarks_crop, face.size)
    stretched = _warp(face.crop, *_lip_stretch(face, 1.2))
    flow.measure(face.crop, stretched, face.landmarks_crop, masks)
    out_x, out_y = flow.drift["mouth"]
    flow.measure(stretched, face.crop, face.landmarks_crop, masks)
    back_x, back_y = flow.drift["mouth"]
    assert out_x > 0.1 and back_x < -0.1
    assert abs(out_y) < 0.5 * out_x and abs(back_y) < 0.5 * abs(back_x)
    assert abs(flow.drift["brows"][0]) < 0.5 * out_x  # the brows did not move


def test_the_heads_similarity_motion_is_removed(face):
    """The whole crop shifted by 1.5 px and turned by 1°: raw flow everywhere, residual almost none;
    a mouth movement on top of it still stands out."""
    size = face.size
    m = cv2.getRotationMatrix2D((size / 2, size / 2), 1.0, 1.0)
    m[:, 2] += (1.5, -1.0)
    moved_head = cv2.warpAffine(face.crop, m, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    masks = region_masks(face.landmarks_crop, size)
    raw = np.hypot(*np.moveaxis(dense_flow(face.crop, moved_head), -1, 0))
    assert raw.mean() > 0.5  # working pixels: the head motion is there before removal
    flow = RegionFlow()
    head_only = flow.measure(face.crop, moved_head, face.landmarks_crop, masks)
    assert head_only["brows"] < 0.25 and head_only["mouth"] < 0.25
    both = flow.measure(face.crop, _warp(moved_head, *_mouth_motion(face, 1.2)), face.landmarks_crop, masks)
    assert both["mouth"] > 2 * head_only["mouth"] + 0.15


def _jumped(matrix: np.ndarray, scale: float, shift: tuple[float, float]) -> np.ndarray:
    """``matrix`` followed by a zoom about the crop centre and a shift: a landmark fit that jumped."""
    c = 112.0
    zoom = np.array([[scale, 0, c - scale * c + shift[0]], [0, scale, c - scale * c + shift[1]], [0, 0, 1]])
    return (zoom @ np.vstack([matrix, [0, 0, 1]]))[:2]


def test_a_jump_of_the_landmark_fit_is_no_motion_when_the_reference_is_cut_like_the_frame(face, astronaut_bgr):
    """The same still frame aligned twice, the second time by a fit 15 % larger and 5 px off (as when
    the tracker re-detects a grainy face): each cut by its own alignment, the crops differ by a zoom the
    flow cannot follow; the reference cut from the kept frame with the current alignment shows no motion."""
    from tsfgui.engine.flow import FacePatches
    from tsfgui.face import transform_points, warp_crop

    jumped = _jumped(face.matrix, 1.15, (5.0, -4.0))
    current = warp_crop(astronaut_bgr, jumped, face.size)
    landmarks = transform_points(face.landmarks, jumped)
    masks = region_masks(landmarks, face.size)
    flow = RegionFlow()
    own_alignment = flow.measure(face.crop, current, landmarks, masks)
    patches = FacePatches()
    patches.add(7, astronaut_bgr, face.matrix, face.size)
    reference = patches.cut(7, jumped, face.size)
    assert reference is not None and reference.ndim == 2
    same_cut = flow.measure(reference, current, landmarks, masks)
    assert max(same_cut.values()) < 0.05
    assert own_alignment["global"] > 10 * same_cut["global"] + 0.3


def test_face_patches_cut_like_the_crop_and_only_what_they_keep(face, astronaut_bgr):
    from tsfgui.engine.flow import FacePatches

    patches = FacePatches(keep=3, margin=0.1)
    for index in range(5):
        patches.add(index, astronaut_bgr, face.matrix, face.size)
    assert len(patches) == 3 and patches.cut(0, face.matrix, face.size) is None  # the oldest went first
    grey = cv2.cvtColor(face.crop, cv2.COLOR_BGR2GRAY).astype(int)
    assert np.abs(patches.cut(4, face.matrix, face.size).astype(int) - grey).max() <= 1
    far = face.matrix.copy()
    far[:, 2] += (60.0, 0.0)  # the face 60 px away: beyond the patch's 10 % margin
    assert patches.cut(4, far, face.size) is None


def test_patch_motion_finds_a_small_movement_that_a_region_mean_dilutes():
    """A movement of one small patch of the brows (an inner brow) stands far above the patches' own
    noise, while the brows' mean flow hardly changes; noise alone stays near zero."""
    from tsfgui.engine.flow import PatchMotion

    rng = np.random.default_rng(0)
    side = 112
    masks = {"brows": np.zeros((side, side), bool), "mouth": np.zeros((side, side), bool)}
    masks["brows"][20:44, 16:96] = True
    masks["mouth"][70:96, 30:82] = True
    patches = PatchMotion()
    noise = lambda: rng.normal(0, 0.3, (side, side, 2)).astype(np.float32)  # noqa: E731
    assert patches.measure(noise(), masks, 0.0) == {}  # no baseline yet
    quiet = [patches.measure(noise(), masks, 33.3 * i) for i in range(1, 300)]
    moved_flow = noise()
    moved_flow[24:36, 40:52, 1] += 1.0  # 12×12 px of the brows move 1 px down
    moved = patches.measure(moved_flow, masks, 33.3 * 300)
    assert max(abs(q["brows"]) for q in quiet[100:]) < 3.0
    assert moved["brows"] > 8.0 and moved["mouth"] < 3.0
    mean_before = np.hypot(*np.moveaxis(noise()[masks["brows"]], -1, 0)).mean()
    mean_after = np.hypot(*np.moveaxis(moved_flow[masks["brows"]], -1, 0)).mean()
    assert mean_after < 1.2 * mean_before  # what a region mean would have seen


def test_patch_motion_starts_its_baseline_again_for_another_video():
    from tsfgui.engine.flow import PatchMotion

    side, masks = 56, {"mouth": np.ones((56, 56), bool)}
    patches = PatchMotion(min_samples=5)
    for i in range(20):
        patches.measure(np.zeros((side, side, 2), np.float32), masks, 1000.0 + 33.3 * i)
    assert np.isfinite(patches.measure(np.zeros((side, side, 2), np.float32), masks, 2000.0)["mouth"])
    assert patches.measure(np.zeros((side, side, 2), np.float32), masks, 0.0) == {}  # time went back


def test_region_flow_gives_the_patch_motion_of_frames_in_time_order(face):
    flow = RegionFlow()
    masks = region_masks(face.landmarks_crop, face.size)
    flow.measure(face.crop, face.crop.copy(), face.landmarks_crop, masks)
    assert flow.motion == {}  # without a timestamp: no baseline to measure against
    for i in range(20):
        flow.measure(face.crop, face.crop.copy(), face.landmarks_crop, masks, timestamp_ms=33.3 * i)
    still = dict(flow.motion)
    flow.measure(face.crop, _warp(face.crop, *_mouth_motion(face, 0.8)), face.landmarks_crop, masks, timestamp_ms=700.0)
    assert set(still) == {"brows", "eyes", "nose", "mouth", "global"}
    assert flow.motion["mouth"] > 10.0 and flow.motion["mouth"] > 3 * max(flow.motion["brows"], 1.0)
