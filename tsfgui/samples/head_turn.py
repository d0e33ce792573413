"""Head turns on a real face video or photo: each frame warped as if the (planar) head turned.

A pinhole camera looks at the face's plane; turning that plane by ``yaw`` about the vertical axis
through the face centre foreshortens and skews it (a homography), as a head turning to the side
does at first order. Used to measure and test face tracking through turns, where dlib's frontal
detector gives up.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def turn_homography(yaw_deg: float, centre: np.ndarray, *, roll_deg: float = 0.0,
                    shift: tuple[float, float] = (0.0, 0.0), focal: float = 700.0) -> np.ndarray:
    """3×3 matrix: the frame after the head turns by ``yaw_deg`` about the vertical axis through
    ``centre`` (frame px), rolls by ``roll_deg`` and drifts by ``shift`` pixels."""
    cx, cy = float(centre[0]), float(centre[1])
    to_centre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1.0]])
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    turn = np.array([[focal * c, 0, 0], [0, focal, 0], [s, 0, focal]]) / focal
    cr, sr = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    rolled = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1.0]])
    back = np.array([[1, 0, cx + shift[0]], [0, 1, cy + shift[1]], [0, 0, 1.0]])
    return back @ rolled @ turn @ to_centre


def turn_head(image: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """``image`` seen through :func:`turn_homography` (same size, edges replicated)."""
    return cv2.warpPerspective(image, homography, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def moved_point(point: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """Where ``point`` (x, y) lands after the turn."""
    p = homography @ np.array([point[0], point[1], 1.0])
    return p[:2] / p[2]
