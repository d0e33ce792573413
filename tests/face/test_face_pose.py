"""Head pose from the 68 landmarks, in OpenFace's pose_Rx/Ry/Rz convention."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from tsfgui.face import detect_and_align
from tsfgui.face.pose import FACE_3D, camera_matrix, euler_from_matrix, head_pose, matrix_from_euler


@pytest.mark.parametrize("angles", [(0.0, 0.0, 0.0), (0.2, 0.0, 0.0), (0.0, -0.35, 0.0), (0.0, 0.0, 0.3),
                                    (-0.15, 0.3, -0.1)])
def test_pose_recovers_the_rotation_of_a_projected_face(angles):
    rvec, _ = cv2.Rodrigues(matrix_from_euler(*angles))
    points, _ = cv2.projectPoints(FACE_3D, rvec, np.array([30.0, -10.0, 650.0]), camera_matrix((640, 480)), None)
    pose = head_pose(points.reshape(68, 2), (640, 480))
    assert pose.rotation == pytest.approx(angles, abs=2e-3)
    assert pose.tz == pytest.approx(650.0, rel=0.01)


def test_euler_angles_follow_openface_order_and_signs():
    rx, ry, rz = 0.1, -0.2, 0.3
    assert euler_from_matrix(matrix_from_euler(rx, ry, rz)) == pytest.approx((rx, ry, rz))
    # positive yaw turns the nose (in front of the eyes) towards the image left
    rvec, _ = cv2.Rodrigues(matrix_from_euler(0.0, 0.3, 0.0))
    points, _ = cv2.projectPoints(FACE_3D, rvec, np.array([0.0, 0.0, 600.0]), camera_matrix((640, 480)), None)
    nose_tip, nose_root = points[30, 0], points[27, 0]
    assert nose_tip[0] < nose_root[0] - 3


def test_roll_of_a_real_face_follows_an_image_rotation(photo, detector, predictor):
    """The photo rotated clockwise by 12° on screen: Rz grows by 12° (0.209 rad), the rest stays."""
    h, w = photo.shape[:2]
    base = head_pose(detect_and_align(photo, detector=detector, predictor=predictor).primary.landmarks, (w, h))
    centre = detect_and_align(photo, detector=detector, predictor=predictor).primary.landmarks.mean(0)
    # OpenCV's positive angle is counter-clockwise on screen; −12° turns the face clockwise
    rotated = cv2.warpAffine(photo, cv2.getRotationMatrix2D(tuple(map(float, centre)), -12.0, 1.0), (w, h))
    turned = head_pose(detect_and_align(rotated, detector=detector, predictor=predictor).primary.landmarks, (w, h))
    assert abs(base.rz) < 0.1 and abs(base.ry) < 0.25
    assert turned.rz - base.rz == pytest.approx(math.radians(12.0), abs=0.03)
    assert turned.ry == pytest.approx(base.ry, abs=0.05)


def test_pose_is_none_for_degenerate_landmarks():
    assert head_pose(np.zeros((68, 2)), (640, 480)) is None
    assert head_pose(np.full((68, 2), np.nan), (640, 480)) is None
