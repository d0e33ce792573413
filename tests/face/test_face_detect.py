"""Detection, landmarks and frame formats on the real astronaut photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tsfgui.face import (
    DetectorSettings,
    FaceDetector,
    FrameError,
    LandmarkPredictor,
    ModelFileError,
    Quality,
    detect_and_align,
    landmarks_68_path,
    to_bgr,
    to_gray,
)
from tsfgui.face.model_files import cnn_detector_path


def test_exactly_one_face_on_the_astronaut_with_defaults(photo_faces):
    assert len(photo_faces.faces) == 1
    face = photo_faces.primary
    assert face is not None and face.quality is Quality.FOUND
    assert face.score >= DetectorSettings().threshold
    x0, y0, x1, y1 = face.bbox
    # the face, not the mission patch on the suit (lower left of the photo)
    assert 150 < (x0 + x1) / 2 < 290 and 60 < (y0 + y1) / 2 < 190


def test_a_lower_threshold_also_fires_on_the_mission_patch(photo):
    """Why the default threshold is 0.5: at 0 the patch on the suit is taken for a face."""
    loose = FaceDetector(DetectorSettings(upsample=1, threshold=0.0)).detect(photo)
    strict = FaceDetector().detect(photo)
    assert len(loose) == 2 and len(strict) == 1
    assert max(d.bbox[1] for d in loose) > 300  # the patch, far below the face


def test_landmarks_are_anatomically_ordered(photo_faces):
    lm = photo_faces.primary.landmarks
    assert lm.shape == (68, 2) and lm.dtype == np.float32
    brows, eyes, nose_tip, mouth = lm[17:27], lm[36:48], lm[30], lm[48:68]
    assert brows[:, 1].mean() < eyes[:, 1].mean() < nose_tip[1] < mouth[:, 1].mean()
    # image-left parts are left of image-right parts
    assert lm[36:42, 0].mean() < lm[27:36, 0].mean() < lm[42:48, 0].mean()
    assert lm[48, 0] < lm[51, 0] < lm[54, 0]
    # the jaw outlines the face: it runs left → chin → right, and the chin is the lowest point
    jaw = lm[0:17]
    assert np.all(np.diff(jaw[:, 0]) > 0)
    assert np.argmax(lm[:, 1]) in (7, 8, 9)
    assert jaw[0, 0] < lm[36, 0] and jaw[16, 0] > lm[45, 0]
    # everything inside the detector box grown by a third
    x0, y0, x1, y1 = photo_faces.primary.bbox
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 1.35 * max(x1 - x0, y1 - y0) / 2
    assert np.all(np.abs(lm[:, 0] - cx) < half) and np.all(np.abs(lm[:, 1] - cy) < half)


def test_landmarks_are_sub_pixel(photo_faces):
    frac = np.modf(photo_faces.primary.landmarks)[0]
    assert np.count_nonzero(np.abs(frac) > 1e-3) > 68  # not dlib's integer grid


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY),
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)[:, :, None],
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2BGRA),
    ],
    ids=["gray", "gray-HxWx1", "bgra"],
)
def test_gray_single_channel_and_bgra_frames(photo, photo_faces, detector, predictor, convert):
    frame = convert(photo)
    faces = detect_and_align(frame, detector=detector, predictor=predictor)
    assert len(faces.faces) == 1
    face = faces.primary
    assert face.crop.shape == (224, 224, 3) and face.crop.dtype == np.uint8
    err = np.linalg.norm(face.landmarks - photo_faces.primary.landmarks, axis=1)
    assert np.median(err) < 1.0


def test_frame_normalisation():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert to_bgr(gray).shape == (3, 4, 3)
    assert to_gray(gray[:, :, None]).shape == (3, 4)
    bgra = np.zeros((3, 4, 4), np.uint8)
    assert to_bgr(bgra).shape == (3, 4, 3) and to_gray(bgra).shape == (3, 4)
    with pytest.raises(FrameError, match="uint8"):
        to_bgr(np.zeros((3, 4, 3), np.float32))
    with pytest.raises(FrameError, match="shape"):
        to_gray(np.zeros((3, 4, 2), np.uint8))


@pytest.mark.parametrize("side", [160, 2400])
def test_tiny_and_huge_frames(photo, photo_faces, detector, predictor, synth, side):
    frame = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA if side < 512 else cv2.INTER_CUBIC)
    faces = detect_and_align(frame, detector=detector, predictor=predictor)
    assert len(faces.faces) == 1
    f = side / 512
    ref = photo_faces.primary
    err = np.linalg.norm(faces.primary.landmarks / f - ref.landmarks, axis=1)
    assert np.median(err) < (3.0 if side < 512 else 1.5)  # photo px; the tiny face is 28 px wide
    assert synth.gray_corr(faces.primary.crop, ref.crop) > (0.9 if side < 512 else 0.97)


def test_missing_model_files_name_the_package(tmp_path):
    with pytest.raises(ModelFileError, match="face_recognition_models"):
        landmarks_68_path(tmp_path)
    with pytest.raises(ModelFileError, match="face_recognition_models"):
        LandmarkPredictor(model_dir=tmp_path)
    with pytest.raises(ModelFileError, match="face_recognition_models"):
        FaceDetector(DetectorSettings(method="cnn", model_dir=str(tmp_path)))
    with pytest.raises(ModelFileError, match="face_recognition_models"):
        LandmarkPredictor(tmp_path / "nowhere.dat")


def test_a_damaged_model_file_is_reported(tmp_path):
    bad = tmp_path / "shape_predictor_68_face_landmarks.dat"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="face_recognition_models"):
        LandmarkPredictor(model_dir=tmp_path)


def test_cnn_detector_finds_the_face(photo, photo_faces, predictor):
    assert cnn_detector_path().is_file()
    detector = FaceDetector(DetectorSettings(method="cnn", upsample=0, max_side=512))
    faces = detect_and_align(photo, detector=detector, predictor=predictor)
    assert len(faces.faces) == 1
    err = np.linalg.norm(faces.primary.landmarks - photo_faces.primary.landmarks, axis=1)
    assert np.median(err) < 3.0


def test_settings_are_checked():
    with pytest.raises(ValueError, match="method"):
        DetectorSettings(method="haar")
    with pytest.raises(ValueError, match="upsample"):
        DetectorSettings(upsample=7)
