"""Synthetic micro-expression videos on real face photos (no Qt).

Landmark-driven local warps imitate FACS action units at micro amplitude (1–4 px at a 224-px face width)
and micro duration (onset → apex ≤ 0.25 s, onset → offset ≤ 0.5 s), with distractors (head motion,
blinks, sensor noise, lighting drift, talking). Everything is deterministic from a seed.

- :func:`generate_sample` writes a video and its JSON ground truth and returns a :class:`SampleTruth`.
- :class:`SampleRenderer` plans a sample and renders any frame on demand.
- :func:`render_clip` renders one event from onset to offset (for building training sets).
- One AU vocabulary (:data:`EVENT_TYPES`), two motion back ends: landmark displacement patterns
  (:mod:`tsfgui.samples.aus`) or the ICT-FaceKit face rig (:mod:`tsfgui.samples.rig`, ``motion="rig"``),
  on any of the shipped public-domain photographs (:mod:`tsfgui.samples.faces`), optionally morphed
  towards a rig identity (``identity=``).
- :func:`main` / :func:`build_parser`: the command line (``python -m tsfgui.samples --help``).
"""

from tsfgui.samples.aus import CLASSES, EVENT_TYPES, EventType, event_type
from tsfgui.samples.cli import build_parser, main
from tsfgui.samples.generator import (
    FACE_SCALE,
    MICRO_AMPLITUDE,
    MICRO_MAX_RISE_S,
    MICRO_MAX_TOTAL_S,
    Clip,
    Distractors,
    EventSpec,
    EventTruth,
    SampleRenderer,
    SampleTruth,
    generate_sample,
    render_clip,
    write_frames,
    write_video,
)
from tsfgui.samples.source import SampleError

__all__ = [
    "CLASSES", "EVENT_TYPES", "EventType", "event_type", "build_parser", "main", "FACE_SCALE", "MICRO_AMPLITUDE",
    "MICRO_MAX_RISE_S", "MICRO_MAX_TOTAL_S", "Clip", "Distractors", "EventSpec", "EventTruth", "SampleRenderer",
    "SampleTruth", "generate_sample", "render_clip", "write_frames", "write_video", "SampleError",
]
