"""Normalise frames to the two layouts the rest of the code works on (BGR and gray, uint8).

Frames follow OpenCV's convention (BGR, ``uint8``) but sources also hand over grayscale images
(``H×W`` or ``H×W×1``) and 4-channel BGRA images. :func:`to_bgr` gives a contiguous ``H×W×3`` BGR
image (used for aligned crops), :func:`to_gray` a contiguous ``H×W`` image (used for detection and
landmarks, which dlib computes on intensities).
"""

from __future__ import annotations

import cv2
import numpy as np


class FrameError(ValueError):
    """A frame has a shape or pixel type the face code cannot use; the message says what to pass."""


def _check(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"A frame must be a numpy array, got {type(frame).__name__}.")
    if frame.dtype != np.uint8:
        raise FrameError(
            f"A frame must hold uint8 pixels (0..255), got dtype {frame.dtype}; "
            "convert it first, e.g. with cv2.convertScaleAbs or np.clip(...).astype(np.uint8)."
        )
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (3, 4)):
        if frame.shape[0] < 1 or frame.shape[1] < 1:
            raise FrameError(f"A frame must not be empty, got shape {frame.shape}.")
        return frame
    raise FrameError(
        f"A frame must be H×W (gray), H×W×1, H×W×3 (BGR) or H×W×4 (BGRA); got shape {frame.shape}."
    )


def to_bgr(frame: np.ndarray) -> np.ndarray:
    """Return ``frame`` as a contiguous ``H×W×3`` BGR ``uint8`` image (no copy when it already is)."""
    frame = _check(frame)
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(frame)


def to_gray(frame: np.ndarray) -> np.ndarray:
    """Return ``frame`` as a contiguous ``H×W`` grayscale ``uint8`` image."""
    frame = _check(frame)
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
