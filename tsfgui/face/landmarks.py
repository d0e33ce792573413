"""68-point landmarks with dlib's shape predictor, at sub-pixel precision on the full-resolution frame.

dlib returns integer pixel positions and takes an integer box. Both quantisations would show up as
jitter of a pixel in the aligned crop, far above the 1–4 px micro-movements we measure. So a face
whose box is smaller than ``work_size`` pixels is first resampled (bilinear, ``cv2.warpAffine``) into
a patch where its box is exactly ``work_size`` pixels wide and starts on an integer pixel; the
predictor runs there and its points are mapped back with float precision. Faces at least that large
run on the frame itself (one pixel is then a small fraction of the face). The frame is never shrunk.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import cv2
import dlib
import numpy as np

from tsfgui.io.pixels import to_gray
from .model_files import ModelFileError, landmarks_68_path

_LOCK = threading.Lock()


@lru_cache(maxsize=2)
def _load(path: str) -> dlib.shape_predictor:
    try:
        return dlib.shape_predictor(path)
    except RuntimeError as exc:  # truncated download, wrong file
        raise ModelFileError(
            f"dlib could not read the landmark model '{path}' ({exc}); reinstall the package "
            "'face_recognition_models': pip install --force-reinstall face_recognition_models"
        ) from exc


def square_box(bbox: tuple[float, float, float, float]) -> tuple[float, float, float]:
    """Centre x, centre y and side of the square with the box's centre and mean side."""
    x0, y0, x1, y1 = bbox
    return (x0 + x1) / 2.0, (y0 + y1) / 2.0, ((x1 - x0) + (y1 - y0)) / 2.0


class LandmarkPredictor:
    """dlib's 68-point shape predictor; :meth:`predict` gives ``(68, 2) float32`` frame coordinates.

    ``model_path``: the ``.dat`` file (default: from ``face_recognition_models``, or from
    ``model_dir`` when given). Loading takes about a second and is done once per file per process.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        model_dir: str | Path | None = None,
        work_size: int = 480,
        margin: float = 0.3,
    ) -> None:
        if model_path is None:
            model_path = landmarks_68_path(model_dir)
        elif not Path(model_path).is_file():
            raise ModelFileError(
                f"dlib landmark model '{model_path}' does not exist; the default one ships with the "
                "Python package 'face_recognition_models' (pip install face_recognition_models)"
            )
        self.model_path = Path(model_path).resolve()
        self._sp = _load(str(self.model_path))
        self.work_size = int(work_size)
        self.margin = float(margin)

    def predict(self, frame: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Landmarks of the face in ``bbox`` (x0, y0, x1, y1 frame pixels, any float values)."""
        gray = to_gray(frame)
        cx, cy, side = square_box(bbox)
        if side <= 1.0:
            raise ValueError(f"face box too small: {bbox}")
        if side >= self.work_size:
            x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
            n = int(round(side))
            rect = dlib.rectangle(x0, y0, x0 + n - 1, y0 + n - 1)
            with _LOCK:
                shape = self._sp(gray, rect)
            return _points(shape).astype(np.float32)
        p = self.work_size
        k = p / side
        m = int(round(self.margin * p))
        n = p + 2 * m
        ox, oy = cx - side / 2.0, cy - side / 2.0
        # frame → patch: u = k·(x − ox) + m; the box's corner lands exactly on patch pixel (m, m)
        a = np.array([[k, 0.0, m - k * ox], [0.0, k, m - k * oy]])
        patch = cv2.warpAffine(gray, a, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        with _LOCK:
            shape = self._sp(patch, dlib.rectangle(m, m, m + p - 1, m + p - 1))
        pts = (_points(shape) - m) / k + np.array([ox, oy])
        return pts.astype(np.float32)


def _points(shape: "dlib.full_object_detection") -> np.ndarray:
    return np.array([(pt.x, pt.y) for pt in shape.parts()], dtype=np.float64)
