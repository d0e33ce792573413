"""Alignment: template, least-squares similarity, crop↔frame maps, heatmaps back onto the frame."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsfgui.face import (
    ALIGNMENT_POINTS,
    AlignTemplate,
    SimilarityParams,
    alignment_matrix,
    detect_and_align,
    heatmap_to_frame,
    invert_affine,
    similarity_lstsq,
    transform_points,
)


def test_template_places_the_face_with_margins():
    t = AlignTemplate()
    lm = t.landmarks()
    left, right = lm[36:42].mean(0), lm[42:48].mean(0)
    assert left[1] == pytest.approx(0.38 * 224) and right[1] == pytest.approx(0.38 * 224)
    assert (left[0] + right[0]) / 2 == pytest.approx(112)
    # brows, jaw and chin inside the crop with at least 8 % margin
    assert lm.min() > 0.08 * 224 and lm.max() < 0.92 * 224
    # symmetric: mirrored template equals itself
    assert np.allclose(np.sort(224 - lm[:, 0]), np.sort(lm[:, 0]), atol=1e-9)
    with pytest.raises(ValueError):
        AlignTemplate(size=8)


@settings(max_examples=60, deadline=None)
@given(
    angle=st.floats(-math.pi, math.pi),
    scale=st.floats(0.05, 20.0),
    tx=st.floats(-1e3, 1e3),
    ty=st.floats(-1e3, 1e3),
    seed=st.integers(0, 2**16),
)
def test_similarity_lstsq_recovers_a_known_similarity(angle, scale, tx, ty, seed):
    pts = np.random.default_rng(seed).uniform(-100, 100, size=(10, 2))
    true = np.array(
        [
            [scale * math.cos(angle), -scale * math.sin(angle), tx],
            [scale * math.sin(angle), scale * math.cos(angle), ty],
        ]
    )
    est = similarity_lstsq(pts, transform_points(pts, true))
    assert np.allclose(est, true, atol=1e-6 * max(1.0, scale, abs(tx), abs(ty)))
    inv = invert_affine(est)
    assert np.allclose(transform_points(transform_points(pts, est), inv), pts, atol=1e-6)
    p = SimilarityParams.from_matrix(est, 224)
    assert np.allclose(p.to_matrix(224), est, atol=1e-6 * max(1.0, scale, abs(tx), abs(ty)))


def test_crop_and_frame_maps_are_exact_inverses(photo_faces):
    face = photo_faces.primary
    assert face.matrix.shape == (2, 3) and face.matrix.dtype == np.float64
    assert np.allclose(np.vstack([face.matrix, [0, 0, 1]]) @ np.vstack([face.inverse, [0, 0, 1]]), np.eye(3))
    crop_pts = np.random.default_rng(0).uniform(0, 224, size=(200, 2))
    back = face.to_crop(face.to_frame(crop_pts))
    assert np.abs(back - crop_pts).max() < 0.5
    assert np.abs(face.to_frame(face.to_crop(face.landmarks)) - face.landmarks).max() < 0.5
    # the stable landmarks land on the template
    lmc = face.landmarks_crop
    tmpl = AlignTemplate().landmarks()
    idx = list(ALIGNMENT_POINTS)
    assert np.sqrt(((lmc[idx] - tmpl[idx]) ** 2).sum(1).mean()) < 4.0


def test_crop_pixels_come_from_the_mapped_frame_pixels(photo, photo_faces):
    face = photo_faces.primary
    for crop_pt in [(60.0, 80.0), (112.0, 112.0), (150.0, 170.0)]:
        fx, fy = face.to_frame(np.array([crop_pt]))[0]
        expect = photo[int(round(fy)), int(round(fx))].astype(float)
        got = face.crop[int(crop_pt[1]), int(crop_pt[0])].astype(float)
        assert np.abs(expect - got).max() < 40  # neighbouring pixels of a smooth photo


def test_a_rotated_and_scaled_copy_gives_the_same_crop(photo, photo_faces, detector, predictor, synth):
    centre = photo_faces.primary.landmarks[27:36].mean(0)
    moved = synth.render(photo, synth.similarity(10.0, 0.8, centre, (0, 0)), size=(512, 512))
    faces = detect_and_align(moved, detector=detector, predictor=predictor)
    assert len(faces.faces) == 1
    assert synth.gray_corr(faces.primary.crop, photo_faces.primary.crop) > 0.95
    # and the maps agree: a frame point of the copy maps back to the same crop point
    w = synth.similarity(10.0, 0.8, centre, (0, 0))
    p = photo_faces.primary.landmarks[list(ALIGNMENT_POINTS)]
    a = photo_faces.primary.to_crop(p)
    b = faces.primary.to_crop(synth.apply(p, w))
    assert np.sqrt(((a - b) ** 2).sum(1).mean()) < 1.5


def test_heatmap_goes_back_to_the_right_frame_place(photo, photo_faces):
    face = photo_faces.primary
    nose_crop = face.landmarks_crop[30]
    ys, xs = np.mgrid[0:224, 0:224]
    heat = np.exp(-((xs - nose_crop[0]) ** 2 + (ys - nose_crop[1]) ** 2) / (2 * 6.0**2)).astype(np.float32)
    on_frame = face.heatmap_to_frame(heat, photo.shape)
    assert on_frame.shape == photo.shape[:2] and on_frame.dtype == np.float32
    peak = np.unravel_index(np.argmax(on_frame), on_frame.shape)
    assert np.hypot(peak[1] - face.landmarks[30, 0], peak[0] - face.landmarks[30, 1]) < 1.5
    # outside the crop there is nothing
    assert on_frame[500, 500] == 0 and on_frame[5, 5] == 0


def test_coarse_heatmap_covers_the_crop(photo, photo_faces):
    face = photo_faces.primary
    heat = np.zeros((14, 14), np.float32)
    heat[3, 10] = 1.0  # one cell of a 14×14 attention map
    on_frame = face.heatmap_to_frame(heat, photo.shape)
    cell_centre_crop = np.array([[(10 + 0.5) * 16 - 0.5, (3 + 0.5) * 16 - 0.5]])
    expect = face.to_frame(cell_centre_crop)[0]
    peak = np.unravel_index(np.argmax(on_frame), on_frame.shape)
    cell_frame_px = 16 / math.hypot(face.matrix[0, 0], face.matrix[1, 0])
    assert np.hypot(peak[1] - expect[0], peak[0] - expect[1]) < 0.5 * cell_frame_px
    # the crop covers a square of side 224/scale on the frame; the map's support is about that
    assert np.count_nonzero(heatmap_to_frame(np.ones((14, 14)), face.inverse, photo.shape, 224) > 0.5) == (
        pytest.approx((224 / math.hypot(face.matrix[0, 0], face.matrix[1, 0])) ** 2, rel=0.05)
    )


def test_alignment_ignores_the_mouth(photo_landmarks):
    """Moving only mouth landmarks leaves the alignment unchanged (the mouth carries expression)."""
    moved = photo_landmarks.copy()
    moved[48:68] += (0.0, 4.0)
    assert np.allclose(alignment_matrix(moved), alignment_matrix(photo_landmarks))
