"""What the engine hands to the UI, the CLI and exporters: one :class:`FrameResult` per frame."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tsfgui.face import FaceObservation

#: Names of the difference magnitudes, in the order the exports write them.
DIFF_KEYS: tuple[str, ...] = ("global", "brows", "eyes", "nose", "mouth")

#: Names of the head pose angles (radians), as OpenFace names its columns.
POSE_KEYS: tuple[str, ...] = ("pose_Rx", "pose_Ry", "pose_Rz")


@dataclass(eq=False)
class FrameResult:
    """The analysis of one frame (plain data: numpy arrays, floats, strings).

    ``face`` is the primary face (None when the frame has none). ``reference_index`` is the onset
    frame the model compared with (None when no usable reference existed yet: the first frames, or
    after a stretch without a face). ``diff`` holds the mean absolute difference apex − onset in grey
    levels over the whole aligned face (``global``) and per region; ``probabilities`` the class
    probabilities in the order of ``class_names``. ``flow`` holds the optical flow
    reference → frame with the head's motion removed, mean length in px at a 224-px face, with the
    same keys (:mod:`tsfgui.engine.flow`); ``pose`` the head pose (Rx, Ry, Rz) in radians as OpenFace
    writes it (:mod:`tsfgui.face.pose`), None without a face. ``motion`` (same keys) is what spotting
    runs on: the flow's patches as robust z-scores against their own recent past, per region the 90th
    percentile (:class:`tsfgui.engine.flow.PatchMotion`); ``drift`` each region's mean flow vector (dx, dy)
    in px at a 224-px face. ``heatmaps`` (on request) maps a name
    (``attention``, ``rollout``, ``gradcam``) to a crop-space map in [0, 1].
    """

    index: int
    timestamp_ms: float
    face: FaceObservation | None
    faces_in_frame: int = 0
    reference_index: int | None = None
    diff: dict[str, float] = field(default_factory=dict)
    probabilities: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    heatmaps: dict[str, np.ndarray] | None = None
    flow: dict[str, float] = field(default_factory=dict)
    pose: tuple[float, float, float] | None = None
    motion: dict[str, float] = field(default_factory=dict)
    drift: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def has_face(self) -> bool:
        return self.face is not None

    @property
    def analysed(self) -> bool:
        """True when the model ran on this frame (a face and a reference were available)."""
        return self.probabilities is not None

    @property
    def label(self) -> str | None:
        """The most probable class, or None when the frame was not analysed."""
        if self.probabilities is None:
            return None
        return self.class_names[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float | None:
        """Probability of the predicted class."""
        return None if self.probabilities is None else float(np.max(self.probabilities))

    @property
    def status(self) -> str:
        """``analysed``, ``no face`` or ``no reference`` — why a frame has or lacks a prediction."""
        if self.analysed:
            return "analysed"
        return "no face" if self.face is None else "no reference"

    def compact(self) -> "FrameResult":
        """A copy without the pixel data (crop, heatmaps), for keeping many results in memory."""
        face = None if self.face is None else replace(self.face, crop=None)
        return replace(self, face=face, heatmaps=None)
