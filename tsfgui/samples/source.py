"""The face photograph a sample is made from, its 68 landmarks, and the composed base frame."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tsfgui.samples.aus import face_size

ASTRONAUT = "skimage.data.astronaut"
ASTRONAUT_NOTE = ("Eileen Collins, NASA portrait (public domain), shipped with scikit-image as "
                  "skimage.data.astronaut()")


class SampleError(RuntimeError):
    """The sample cannot be made: the message names the input and what to do."""


@dataclass(frozen=True)
class FacePhoto:
    """A BGR photograph with the 68 landmarks of its face."""

    image: np.ndarray
    landmarks: np.ndarray  # (68, 2) float64, image pixels
    name: str

    @property
    def face_width(self) -> float:
        return face_size(self.landmarks)


@functools.lru_cache(maxsize=1)
def _face_models():
    from tsfgui.face import DetectorSettings, FaceDetector, LandmarkPredictor

    # Threshold 0.5: on the astronaut photo a lower one also fires on the mission patch.
    return FaceDetector(DetectorSettings(upsample=1, threshold=0.5)), LandmarkPredictor()


def _landmarks_68(image_bgr: np.ndarray, name: str) -> np.ndarray:
    """68 landmarks (sub-pixel, from the face pipeline) of the most confident face in ``image_bgr``."""
    detector, predictor = _face_models()
    detections = detector.detect(image_bgr)
    if not detections:
        raise SampleError(f"No face found in the source photo '{name}' by dlib's HOG detector; "
                          "use a frontal, well-lit portrait where the face is at least ~80 px wide.")
    best = max(detections, key=lambda d: d.score)
    return predictor.predict(image_bgr, best.bbox).astype(np.float64)


def astronaut_path() -> Path:
    """``skimage/data/astronaut.png`` in the installed scikit-image (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise SampleError("scikit-image is not installed; it carries the default face photo "
                          "(pip install scikit-image), or pass a portrait with --face-image.")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "astronaut.png"


@functools.lru_cache(maxsize=1)
def _astronaut() -> FacePhoto:
    path = astronaut_path()
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # read directly: same pixels, no optional loaders
    if image is None:
        raise SampleError(f"The default face photo '{path}' is missing or unreadable; reinstall scikit-image "
                          f"or pass a portrait with --face-image.")
    image.setflags(write=False)
    return FacePhoto(image, _landmarks_68(image, ASTRONAUT), ASTRONAUT)


def load_face_photo(face_image: str | Path | np.ndarray | FacePhoto | None = None) -> FacePhoto:
    """The source photo: ``None`` for the astronaut, a path to an image file, or a BGR array."""
    if face_image is None or (isinstance(face_image, str) and face_image == ASTRONAUT):
        return _astronaut()
    if isinstance(face_image, FacePhoto):
        return face_image
    if isinstance(face_image, np.ndarray):
        image = face_image
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise SampleError("The source photo array must be a uint8 BGR image of shape (h, w, 3); "
                              f"got {image.dtype} {image.shape}.")
        return FacePhoto(image, _landmarks_68(image, "array"), "array")
    path = Path(face_image)
    if not path.is_file():
        raise SampleError(f"Source photo '{path}' does not exist; give the path of a portrait image file.")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SampleError(f"Source photo '{path}' cannot be read as an image; use a PNG or JPEG file.")
    return FacePhoto(image, _landmarks_68(image, str(path)), str(path))


def compose(photo: FacePhoto, size: tuple[int, int], *, face_width: float,
            center: tuple[float, float] = (0.5, 0.47)) -> tuple[np.ndarray, np.ndarray]:
    """Scale and place the photo so its face is ``face_width`` px wide at ``center`` (fractions of the frame).

    Returns the base frame (uint8 BGR, ``size`` = (width, height)) and the landmarks in its coordinates.
    Areas beyond the photo are filled by replicating its edge.
    """
    w, h = size
    pts = photo.landmarks
    scale = face_width / photo.face_width
    face_center = (pts.min(0) + pts.max(0)) / 2
    shift = np.array([center[0] * w, center[1] * h]) - scale * face_center
    matrix = np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]]])
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    if interp == cv2.INTER_AREA:
        # warpAffine has no area filter: pre-shrink, then place with a small residual scale.
        small = cv2.resize(photo.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # A small-image pixel centre x_s sits at (x_s + 0.5) * r - 0.5 in the photo, r = photo / small size.
        r = np.array([photo.image.shape[1] / small.shape[1], photo.image.shape[0] / small.shape[0]])
        offset = shift + scale * (0.5 * r - 0.5)
        residual = np.array([[scale * r[0], 0.0, offset[0]], [0.0, scale * r[1], offset[1]]])
        base = cv2.warpAffine(small, residual, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    else:
        base = cv2.warpAffine(photo.image, matrix, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    landmarks = pts * scale + shift
    return base, landmarks
