"""What the face stage hands on: one :class:`FaceObservation` per face per frame, grouped in
:class:`FrameFaces`. Plain data: numpy arrays and floats, no dlib or Qt objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from tsfgui.io.pixels import to_bgr

from .align import heatmap_to_frame, transform_points, warp_crop


class Quality(enum.Enum):
    """How a face's geometry was obtained on this frame."""

    FOUND = "found"  #: the detector found it on this frame
    TRACKED = "tracked"  #: placed from the previous frame's landmarks, no detection this frame
    LOST = "lost"  #: no face: geometry is the last known one, there is no crop


@dataclass(eq=False)
class FaceObservation:
    """One face on one frame.

    ``bbox``: (x0, y0, x1, y1) frame pixels (detector box, or the box placed from landmarks).
    ``score``: detector score of the latest detection of this face (HOG margin or CNN confidence).
    ``landmarks``: ``(68, 2) float32`` frame pixels, unsmoothed. ``crop``: aligned ``size×size×3``
    BGR ``uint8`` image (``None`` when LOST). ``matrix``: 2×3 ``float64`` frame→crop, ``inverse``
    its exact inverse (crop→frame). ``size``: side of the aligned crop in pixels.
    """

    track_id: int
    quality: Quality
    bbox: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray
    crop: np.ndarray | None
    matrix: np.ndarray
    inverse: np.ndarray
    size: int

    @property
    def found(self) -> bool:
        """True when the face is present on this frame (FOUND or TRACKED)."""
        return self.quality is not Quality.LOST

    @property
    def landmarks_crop(self) -> np.ndarray:
        """The landmarks in aligned-crop coordinates, ``(68, 2) float32``."""
        return self.to_crop(self.landmarks).astype(np.float32)

    def cut_crop(self, frame: np.ndarray) -> np.ndarray | None:
        """Cut (once) and return this face's aligned crop from its ``frame`` (BGR), where the tracker
        left it out (``FaceTracker.update(crops=False)``); None for a LOST face."""
        if self.crop is None and self.found:
            self.crop = warp_crop(to_bgr(frame), self.matrix, self.size)
        return self.crop

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Map ``(N, 2)`` frame points into the crop (``float64``)."""
        return transform_points(points, self.matrix)

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Map ``(N, 2)`` crop points back onto the frame (``float64``)."""
        return transform_points(points, self.inverse)

    def heatmap_to_frame(
        self, heatmap: np.ndarray, frame_shape: tuple[int, ...], fill: float = 0.0
    ) -> np.ndarray:
        """Warp a heatmap over this face's crop (any resolution) onto a frame of ``frame_shape``."""
        return heatmap_to_frame(heatmap, self.inverse, frame_shape, crop_size=self.size, fill=fill)


@dataclass(eq=False)
class FrameFaces:
    """All faces of one frame.

    ``faces``: present faces (FOUND or TRACKED), largest first. ``lost``: LOST observations of
    tracks that vanished recently and may come back (last known geometry). ``primary_id``: track id
    of the face the analysis follows, ``None`` when no face is present. ``detected``: whether the
    detector ran on this frame.
    """

    index: int
    timestamp_ms: float | None
    frame_shape: tuple[int, int]
    faces: list[FaceObservation] = field(default_factory=list)
    lost: list[FaceObservation] = field(default_factory=list)
    primary_id: int | None = None
    detected: bool = False

    @property
    def primary(self) -> FaceObservation | None:
        """The primary face's observation, ``None`` when no face is present."""
        return self.get(self.primary_id) if self.primary_id is not None else None

    @property
    def quality(self) -> Quality:
        """The primary face's quality, LOST when there is none."""
        p = self.primary
        return p.quality if p is not None else Quality.LOST

    @property
    def empty(self) -> bool:
        """True when no face is present on this frame."""
        return not self.faces

    def get(self, track_id: int) -> FaceObservation | None:
        """The present face with ``track_id``, if any."""
        for f in self.faces:
            if f.track_id == track_id:
                return f
        return None
