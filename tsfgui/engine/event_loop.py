"""Looping an event slowly (Qt-free): its window of frames, the loop's clock, and the clip a reviewer sees.

A reviewer looks at one event again and again: the frames from 0.5 s before the onset to 0.5 s after
the offset, played at a slow speed (0.25× by default), with the aligned face crop beside the frame
and, optionally, that crop with its motion magnified (:mod:`tsfgui.engine.magnify`). Every crop of
the window is cut with the *onset* frame's alignment (the rule of ``align_pair``: detect on the
onset, warp the rest with the same matrix), so landmark jitter is not mistaken for movement and the
magnification shows what moved relative to the onset face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Hashable

import numpy as np

from tsfgui.face import AlignTemplate, FaceDetector, LandmarkPredictor, align_pair, warp_crop
from tsfgui.io import FrameSource

from .magnify import MagnificationCache, MagnifySettings, magnify_motion

#: Seconds shown before the onset and after the offset.
DEFAULT_MARGIN_S = 0.5
#: Default loop speed (a fraction of real time).
DEFAULT_SPEED = 0.25


@dataclass(frozen=True)
class EventWindow:
    """Frames ``start`` … ``stop − 1`` around an event with onset/apex/offset frames, at ``fps``."""

    start: int
    stop: int
    onset: int
    apex: int
    offset: int
    fps: float

    def __len__(self) -> int:
        return self.stop - self.start

    @property
    def frames(self) -> range:
        """The frame indices of the window."""
        return range(self.start, self.stop)

    @property
    def lead_in(self) -> int:
        """How many frames come before the onset (the calm baseline of the magnification)."""
        return self.onset - self.start


def event_window(
    onset: int,
    offset: int,
    fps: float,
    frame_count: int | None,
    apex: int | None = None,
    margin_s: float = DEFAULT_MARGIN_S,
) -> EventWindow:
    """The window from ``onset − margin_s`` to ``offset + margin_s``, clipped to the recording."""
    if not fps > 0:
        raise ValueError(f"frame rate must be > 0, not {fps}")
    if offset < onset:
        raise ValueError(f"event offset {offset} comes before its onset {onset}")
    margin = int(round(margin_s * fps))
    start = max(0, onset - margin)
    stop = offset + margin + 1
    if frame_count is not None:
        stop = min(stop, frame_count)
    if stop <= start:
        raise ValueError(f"event {onset}…{offset} lies outside the recording's {frame_count} frames")
    apex = onset if apex is None else int(np.clip(apex, onset, offset))
    return EventWindow(start, stop, int(onset), apex, int(offset), float(fps))


class LoopClock:
    """Which frame of a window to show after ``elapsed_s`` seconds of looping at ``speed``× real time."""

    def __init__(self, window: EventWindow, speed: float = DEFAULT_SPEED):
        self.window = window
        self.speed = speed

    @property
    def speed(self) -> float:
        """Playback speed as a fraction of real time."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if not 0 < value <= 4:
            raise ValueError(f"loop speed must be in (0, 4]×, not {value}")
        self._speed = float(value)

    @property
    def period_s(self) -> float:
        """Seconds one pass of the loop takes on screen."""
        return len(self.window) / (self.window.fps * self._speed)

    def position(self, elapsed_s: float) -> int:
        """Offset into the window (0 … len − 1) at ``elapsed_s``."""
        step = math.floor(max(elapsed_s, 0.0) * self.window.fps * self._speed + 1e-9)
        return step % len(self.window)

    def frame_at(self, elapsed_s: float) -> int:
        """Frame index of the recording at ``elapsed_s``."""
        return self.window.start + self.position(elapsed_s)


@dataclass
class EventClip:
    """The decoded window: frames (BGR), aligned crops (BGR, onset alignment), magnified crops or None."""

    window: EventWindow
    frames: np.ndarray
    crops: np.ndarray | None
    matrix: np.ndarray | None
    magnified: np.ndarray | None = None
    settings: MagnifySettings | None = None


def read_event_clip(
    source: FrameSource,
    window: EventWindow,
    template: AlignTemplate = AlignTemplate(),
    align: Callable[[np.ndarray], np.ndarray | None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> EventClip | None:
    """Decode the window and cut every frame's face crop with the onset frame's alignment.

    ``align(bgr) -> 2×3 matrix or None`` finds the face on the onset frame (default: detect and
    align the primary face). No face on the onset frame → ``crops`` is None. Returns None when
    ``should_stop()`` turns true (a newer request replaced this one).
    """
    frames = []
    for index in window.frames:
        if should_stop():
            return None
        frames.append(source.read(index).image)
    stack = np.stack(frames)
    onset_image = stack[window.onset - window.start]
    matrix = (align or OnsetAligner(template))(onset_image)
    if matrix is None:
        return EventClip(window, stack, None, None)
    crops = np.stack([warp_crop(f, matrix, template.size) for f in stack])
    return EventClip(window, stack, crops, matrix)


class OnsetAligner:
    """Finds the primary face of an onset frame and returns its frame→crop matrix (None: no face), by
    :func:`~tsfgui.face.align_pair` (the one rule of training and interval classification).

    The detector and the landmark model are loaded on first use and kept, so a worker that reviews
    many events loads them once.
    """

    def __init__(self, template: AlignTemplate = AlignTemplate()):
        self.template = template
        self._detector: FaceDetector | None = None
        self._predictor: LandmarkPredictor | None = None

    def load(self) -> None:
        """Load the detector and landmark model now (dlib holds Python's GIL for about a second)."""
        if self._detector is None:
            self._detector, self._predictor = FaceDetector(), LandmarkPredictor()

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        self.load()
        pair = align_pair(image, [], template=self.template, detector=self._detector, predictor=self._predictor)
        return None if pair is None else pair.matrix


def event_heatmap(model, clip: EventClip) -> tuple[np.ndarray, str] | None:
    """Grad-CAM of the model on the event's own onset and apex crops (onset-aligned, as in training):
    a ``size×size`` map in [0, 1] over the aligned face, and the class it explains. None without a face."""
    import torch

    from tsfgui.model.explain import explain, upsample_heatmap

    if clip.crops is None:
        return None
    w = clip.window
    with torch.inference_mode():
        onset = model.preprocess([clip.crops[w.onset - w.start]])
        apex = model.preprocess([clip.crops[w.apex - w.start]])
        features = model.forward_features(onset, apex)
        top = int(model.forward_head(features).argmax(dim=1)[0])  # the predicted class is the one explained
        heat = explain(model, onset, apex, ("gradcam",), features=features, target=top)["gradcam"][0]
    names = list(getattr(model, "class_names", []))
    return upsample_heatmap(heat, clip.crops.shape[1]), names[top] if names else str(top)


def magnified_crops(
    clip: EventClip,
    settings: MagnifySettings,
    cache: MagnificationCache | None = None,
    event_key: Hashable | None = None,
) -> np.ndarray | None:
    """The clip's crops with their motion magnified (cached per event and settings when given a cache)."""
    if clip.crops is None:
        return None
    if cache is not None and event_key is not None:
        hit = cache.get(event_key, settings)
        if hit is not None:
            return hit
    out = magnify_motion(clip.crops, clip.window.fps, settings, baseline_frames=max(1, clip.window.lead_in))
    if cache is not None and event_key is not None:
        cache.put(event_key, settings, out)
    return out
