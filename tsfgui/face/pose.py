"""Head pose per frame from the 68 landmarks, in OpenFace's convention.

``cv2.solvePnP`` fits a generic 3D face (:data:`FACE_3D`) to the 68 landmarks seen through an
approximate pinhole camera (focal length ``500 · width / 640`` px and the principal point at the frame
centre, as OpenFace assumes without calibration). The rotation is returned as OpenFace writes it in
``pose_Rx``, ``pose_Ry``, ``pose_Rz``: radians, camera coordinates (x to the image right, y down, z away
from the camera), ``R = Rx · Ry · Rz``; a frontal face is (0, 0, 0). Rx is pitch (positive: the chin goes
down), Ry is yaw (positive: the nose turns to the image left), Rz is roll (positive: clockwise in the
image).

The 3D face is :data:`~tsfgui.face.align.MEAN_SHAPE` (x, y, in eye distances) with a depth per landmark
from average facial anthropometry (nose tip in front, eye corners ≈ 0.4 and the jaw's ends ≈ 1 eye
distance behind it), scaled to millimetres by an average 63 mm between the eye centres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .align import MEAN_SHAPE

#: Depth of each landmark behind the nose tip, in eye distances (iBUG 68 order).
_DEPTH = np.array([
    1.00, 0.95, 0.85, 0.75, 0.60, 0.45, 0.32, 0.24, 0.20, 0.24, 0.32, 0.45, 0.60, 0.75, 0.85, 0.95, 1.00,  # jaw
    0.55, 0.42, 0.35, 0.32, 0.32, 0.32, 0.32, 0.35, 0.42, 0.55,  # brows
    0.35, 0.25, 0.12, 0.00, 0.25, 0.15, 0.12, 0.15, 0.25,  # nose
    0.45, 0.37, 0.37, 0.38, 0.38, 0.38, 0.38, 0.37, 0.37, 0.45, 0.38, 0.38,  # eyes
    0.39, 0.30, 0.22, 0.20, 0.22, 0.30, 0.39, 0.30, 0.24, 0.22, 0.24, 0.30,  # outer lips
    0.37, 0.26, 0.23, 0.26, 0.37, 0.26, 0.24, 0.26,  # inner lips
])

EYE_DISTANCE_MM = 63.0
#: The generic 3D face: (68, 3) millimetres, x right, y down, z away from the camera.
FACE_3D = np.column_stack([MEAN_SHAPE, _DEPTH]) * EYE_DISTANCE_MM
FACE_3D.setflags(write=False)


@dataclass(frozen=True)
class HeadPose:
    """Rotation (radians, OpenFace's ``pose_Rx/Ry/Rz``) and translation (mm, ``pose_Tx/Ty/Tz``)."""

    rx: float
    ry: float
    rz: float
    tx: float
    ty: float
    tz: float

    @property
    def rotation(self) -> tuple[float, float, float]:
        return (self.rx, self.ry, self.rz)


def camera_matrix(frame_size: tuple[int, int]) -> np.ndarray:
    """OpenFace's uncalibrated camera for a frame of ``(width, height)`` pixels."""
    width, height = frame_size
    focal = 500.0 * width / 640.0
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def euler_from_matrix(rotation: np.ndarray) -> tuple[float, float, float]:
    """(Rx, Ry, Rz) with ``R = Rx · Ry · Rz`` (radians)."""
    r = np.asarray(rotation, dtype=np.float64)
    ry = math.asin(max(-1.0, min(1.0, r[0, 2])))
    rx = math.atan2(-r[1, 2], r[2, 2])
    rz = math.atan2(-r[0, 1], r[0, 0])
    return rx, ry, rz


def matrix_from_euler(rx: float, ry: float, rz: float) -> np.ndarray:
    """The rotation ``Rx · Ry · Rz`` (inverse of :func:`euler_from_matrix`)."""
    cx, sx, cy, sy, cz, sz = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry), math.cos(rz), math.sin(rz)
    mx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    my = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    mz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return mx @ my @ mz


def head_pose(landmarks: np.ndarray, frame_size: tuple[int, int]) -> HeadPose | None:
    """The head pose of a face with 68 ``landmarks`` (frame pixels) in a ``(width, height)`` frame;
    None when the fit fails."""
    image_points = np.asarray(landmarks, dtype=np.float64).reshape(68, 2)
    if not np.all(np.isfinite(image_points)):
        return None
    camera = camera_matrix(frame_size)
    # start in front of the camera at the distance the face's size implies, then refine
    eye_px = float(np.linalg.norm(image_points[42:48].mean(0) - image_points[36:42].mean(0)))
    if eye_px <= 1e-6:
        return None
    centre = image_points[27:36].mean(0)
    depth = camera[0, 0] * EYE_DISTANCE_MM / eye_px
    tvec = np.array([[(centre[0] - camera[0, 2]) * depth / camera[0, 0]],
                     [(centre[1] - camera[1, 2]) * depth / camera[1, 1]], [depth]])
    rvec = np.zeros((3, 1))
    ok, rvec, tvec = cv2.solvePnP(FACE_3D, image_points, camera, None, rvec, tvec, useExtrinsicGuess=True,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    rx, ry, rz = euler_from_matrix(rotation)
    t = tvec.ravel()
    return HeadPose(rx, ry, rz, float(t[0]), float(t[1]), float(t[2]))
