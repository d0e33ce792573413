"""Synthetic micro-expression videos on a real face photo, deterministic from a seed.

A :class:`SampleRenderer` plans a video (micro events, blinks, talking, head motion, lighting) from its
arguments and seed, then renders any frame on demand: landmark displacements of the active events → a
smooth local displacement field (:mod:`tsfgui.samples.warp`) → remapped base frame → lighting drift and
sensor noise. :func:`generate_sample` writes the frames to a video file and the ground truth to JSON;
:func:`render_clip` renders one event from onset to offset for building training sets.

Amplitudes are given in pixels at a 224-px face scale (the face width, jaw end to jaw end, of an aligned
224² crop) and scaled by the real face width in the output frame.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np

from tsfgui.samples import aus
from tsfgui.samples.source import ASTRONAUT, ASTRONAUT_NOTE, SampleError, load_face_photo, compose
from tsfgui.samples.warp import LandmarkField, Roi, head_mask, rigid_displacement, warp

FORMAT = "tsfgui-sample/1"
FACE_SCALE = 224.0
"""Reference face width (px) at which amplitudes are stated."""
MICRO_MAX_RISE_S = 0.25
"""Longest onset → apex of a micro event, in seconds."""
MICRO_MAX_TOTAL_S = 0.5
"""Longest onset → offset of a micro event, in seconds."""
MICRO_AMPLITUDE = (1.0, 4.0)
"""Allowed amplitude of a micro event (largest pixel displacement at the apex), px at the 224-px face scale."""

MOTIONS = ("landmarks", "rig")
"""Back ends that turn an event's AUs into motion (one AU vocabulary: :data:`tsfgui.samples.aus.EVENT_TYPES`)."""

_LEAD_S = 0.5    # no event starts before this
_TAIL_S = 0.3    # nor ends after duration - this
_BLINK_MARGIN_S = 0.3   # blinks keep this far from micro events and talk
_BLINK_GAP_S = 0.6


@dataclass(frozen=True)
class EventSpec:
    """A requested micro event. Unset fields are drawn from the seed.

    ``type`` is a key of :data:`tsfgui.samples.aus.EVENT_TYPES` ("AU12", "AU1+AU2", ...);
    ``amplitude`` is the largest displacement of any pixel at the apex, in px at the 224-px face scale
    (1–4; the largest landmark displacement is slightly smaller and recorded as ``landmark_px``);
    ``onset_s`` places the event (give it for all events or for none).
    """

    type: str
    onset_s: float | None = None
    amplitude: float | None = None
    rise_s: float | None = None
    fall_s: float | None = None


@dataclass(frozen=True)
class Distractors:
    """Nuisance motion and image changes added on top of the micro events.

    Pixel values are at the 224-px face scale like the event amplitudes.
    """

    head_motion_px: float = 2.0       # peak head translation (slow, smooth)
    head_rotation_deg: float = 0.5    # peak in-plane head rotation
    blinks_per_min: float = 18.0
    noise_sigma: float = 1.5          # Gaussian sensor noise, grey levels
    lighting_gain: float = 0.03       # peak relative gain drift
    lighting_offset: float = 2.0      # peak offset drift, grey levels
    talk_segments: int = 0            # talking-like mouth motion (longer and larger than micro events)
    talk_amplitude_px: float = 8.0
    talk_duration_s: float = 2.0
    hand_passes: int = 0              # a hand sweeping across the face (0.5–1 s each), away from events
    flicker_depth: float = 0.0        # relative gain of a lighting flicker (e.g. 0.04)
    flicker_hz: float = 0.0           # its frequency (beats of mains lighting against the frame rate)

    @classmethod
    def none(cls) -> "Distractors":
        """No distractors at all: frames outside events equal the base frame exactly."""
        return cls(head_motion_px=0.0, head_rotation_deg=0.0, blinks_per_min=0.0, noise_sigma=0.0,
                   lighting_gain=0.0, lighting_offset=0.0, talk_segments=0, talk_amplitude_px=0.0,
                   talk_duration_s=0.0)

    @classmethod
    def from_dict(cls, data: dict) -> "Distractors":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown distractor settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


@dataclass
class EventTruth:
    """One planted movement: a micro event, a blink or a talking segment, with its frames."""

    kind: str                   # "micro", "blink" or "talk"
    type: str                   # event type name ("AU12"), "blink" or "talk"
    onset: int                  # frame where the movement starts (still neutral)
    apex: int                   # frame of the peak
    offset: int                 # frame where it is back to neutral
    amplitude_px: float         # peak displacement of any pixel at the apex, output pixels
    amplitude_224: float        # the same at the 224-px face scale
    fps: float
    aus: tuple[int, ...] = ()
    label: str | None = None    # class in the 3-class scheme (micro events only)
    regions: tuple[str, ...] = ()
    landmark_px: float = 0.0    # peak landmark displacement at the apex, output pixels

    @property
    def class_index(self) -> int | None:
        return None if self.label is None else aus.CLASSES.index(self.label)

    def to_dict(self) -> dict:
        d = {
            "kind": self.kind,
            "type": self.type,
            "onset": self.onset,
            "apex": self.apex,
            "offset": self.offset,
            "onset_s": round(self.onset / self.fps, 4),
            "apex_s": round(self.apex / self.fps, 4),
            "offset_s": round(self.offset / self.fps, 4),
            "amplitude_px": round(self.amplitude_px, 4),
            "amplitude_224": round(self.amplitude_224, 4),
            "landmark_px": round(self.landmark_px, 4),
        }
        if self.kind in ("micro", "macro"):
            d.update(aus=list(self.aus), label=self.label, class_index=self.class_index,
                     regions=list(self.regions))
        return d

    @classmethod
    def from_dict(cls, d: dict, fps: float) -> "EventTruth":
        return cls(d["kind"], d["type"], d["onset"], d["apex"], d["offset"], d["amplitude_px"],
                   d["amplitude_224"], fps, tuple(d.get("aus", ())), d.get("label"), tuple(d.get("regions", ())),
                   d.get("landmark_px", 0.0))


@dataclass
class SampleTruth:
    """Ground truth of a generated sample. Per-frame arrays are ``None`` when loaded from JSON."""

    fps: float
    width: int
    height: int
    frame_count: int
    seed: int
    source: str
    face_width_px: float
    events: list[EventTruth]
    blinks: list[EventTruth]
    talk: list[EventTruth]
    settings: dict
    video_file: str | None = None
    codec: str | None = None
    macro: list[EventTruth] = field(default_factory=list)  # planted macro-expressions (longer, larger)
    hands: list[tuple[int, int]] = field(default_factory=list)  # (first, last) frame of each hand pass
    landmarks: np.ndarray | None = field(default=None, repr=False)       # (n, 68, 2) per frame
    base_landmarks: np.ndarray | None = field(default=None, repr=False)  # (68, 2) of the base frame
    head_pose: np.ndarray | None = field(default=None, repr=False)       # (n, 3): dx, dy px, angle deg
    lighting: np.ndarray | None = field(default=None, repr=False)        # (n, 2): gain, offset

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    @property
    def px_per_224(self) -> float:
        return self.face_width_px / FACE_SCALE

    def to_dict(self) -> dict:
        pose = self.head_pose
        head_px = None if pose is None else _max_or_zero(np.hypot(pose[:, 0], pose[:, 1]))
        head_deg = None if pose is None else _max_or_zero(np.abs(pose[:, 2]))
        source = {"name": self.source}
        if self.source in (ASTRONAUT, "astronaut"):
            source["note"] = ASTRONAUT_NOTE
        return {
            "format": FORMAT,
            "video": {"file": self.video_file, "codec": self.codec, "fps": self.fps, "width": self.width,
                      "height": self.height, "frame_count": self.frame_count,
                      "duration_s": round(self.duration_s, 4)},
            "seed": self.seed,
            "source": source,
            "face_width_px": round(self.face_width_px, 3),
            "face_scale_px": FACE_SCALE,
            "classes": list(aus.CLASSES),
            "events": [e.to_dict() for e in self.events],
            **({"macro_events": [e.to_dict() for e in self.macro]} if self.macro else {}),
            "distractors": {
                "blinks": [e.to_dict() for e in self.blinks],
                "talk": [e.to_dict() for e in self.talk],
                **({"hands": [list(h) for h in self.hands]} if self.hands else {}),
                "head_motion_max_px": head_px,
                "head_rotation_max_deg": head_deg,
            },
            "generator": self.settings,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save_json(self, path: str | Path) -> Path:
        """Write the JSON ground truth (temp file + rename)."""
        path = Path(path)
        _atomic_write_text(path, self.to_json() + "\n")
        return path

    @classmethod
    def from_dict(cls, d: dict) -> "SampleTruth":
        if d.get("format") != FORMAT:
            raise SampleError(f"Not a tsfgui sample ground truth (format {d.get('format')!r}, expected {FORMAT!r}).")
        v = d["video"]
        fps = float(v["fps"])
        return cls(fps, v["width"], v["height"], v["frame_count"], d["seed"], d["source"]["name"],
                   d["face_width_px"], [EventTruth.from_dict(e, fps) for e in d["events"]],
                   [EventTruth.from_dict(e, fps) for e in d["distractors"]["blinks"]],
                   [EventTruth.from_dict(e, fps) for e in d["distractors"]["talk"]],
                   d["generator"], v.get("file"), v.get("codec"),
                   [EventTruth.from_dict(e, fps) for e in d.get("macro_events", [])],
                   [tuple(h) for h in d["distractors"].get("hands", [])])

    @classmethod
    def load_json(cls, path: str | Path) -> "SampleTruth":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SampleError(f"Cannot read the sample ground truth '{path}': {exc}") from exc
        return cls.from_dict(data)


_LATER_DISTRACTORS = ("hand_passes", "flicker_depth", "flicker_hz")


def _distractor_settings(d: Distractors) -> dict:
    """The distractors as recorded settings; those added later are written only when used, so the
    settings (and JSON) of earlier samples stay as they were."""
    return {k: v for k, v in asdict(d).items() if v or k not in _LATER_DISTRACTORS}


def _max_or_zero(values: np.ndarray) -> float:
    return round(float(values.max()), 4) if len(values) else 0.0


@dataclass
class _Motion:
    """A planned movement: (target landmark displacement at weight 1, per-frame weights) components."""

    truth: EventTruth
    components: list[tuple[np.ndarray, np.ndarray]]  # (68,2) px, (n_frames,) weights
    eyelid: np.ndarray | None = None                 # blinks: (n_frames,) lid closure 0..1
    dense: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    # rig back end: (field over the landmark field's ROI (h, w, 2), its landmarks' displacement (68, 2), weights)


def raised_cosine(onset: int, apex: int, offset: int, n_frames: int) -> np.ndarray:
    """Per-frame weight: 0 at ``onset``, rising to 1 at ``apex``, back to 0 at ``offset`` (cosine ramps)."""
    t = np.arange(n_frames, dtype=np.float64)
    w = np.zeros(n_frames)
    rise = (t > onset) & (t <= apex)
    w[rise] = 0.5 - 0.5 * np.cos(np.pi * (t[rise] - onset) / max(apex - onset, 1))
    fall = (t > apex) & (t < offset)
    w[fall] = 0.5 + 0.5 * np.cos(np.pi * (t[fall] - apex) / max(offset - apex, 1))
    return w


def _smooth_signal(rng: np.random.Generator, t: np.ndarray, f_lo: float, f_hi: float, n: int = 3) -> np.ndarray:
    """Sum of slow sinusoids with random frequency and phase, bounded by 1 in magnitude."""
    freqs = rng.uniform(f_lo, f_hi, n)
    phases = rng.uniform(0, 2 * np.pi, n)
    weights = rng.uniform(0.5, 1.0, n)
    s = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])).sum(0)
    return s / weights.sum()


def _frames(seconds: float, fps: float) -> int:
    return int(round(seconds * fps))


class SampleRenderer:
    """Plans a synthetic sample from its arguments and seed and renders its frames on demand.

    ``events``: ``None`` (about one per 2 s of video, classes balanced), a count, or a sequence of event
    type names / :class:`EventSpec`. ``distractors``: a :class:`Distractors` (``None`` for the defaults).
    ``face_image``: ``None`` for the astronaut photo, a path or a BGR array. ``face_width``: face width in
    output px (default 0.48 × the smaller frame side).

    ``motion``: the back end that turns the AUs of micro events into motion — ``"landmarks"`` (the
    displacement patterns of :mod:`tsfgui.samples.aus`, interpolated between landmarks) or ``"rig"`` (the
    ICT-FaceKit expression shapes, :mod:`tsfgui.samples.rig`). ``identity``: rig identity coefficients; the
    photo's face is morphed towards that shape (``identity_px``: largest shift at the 224-px scale). (The
    rig's expression shapes are the same for every identity, so the AU motion changes little with it.)
    """

    def __init__(self, *, seed: int = 0, duration_s: float = 10.0, fps: float = 30.0,
                 size: tuple[int, int] = (640, 480),
                 events: int | Sequence[str | EventSpec] | None = None,
                 distractors: Distractors | None = None,
                 face_image=None, face_width: float | None = None, min_gap_s: float = 1.0,
                 motion: str = "landmarks", identity: Sequence[float] | None = None, identity_px: float = 5.0,
                 macro_events: int = 0):
        seed = int(seed)
        if motion not in MOTIONS:
            raise ValueError(f"motion must be one of {', '.join(MOTIONS)}, got {motion!r}")
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be positive, got {fps}")
        if _frames(MICRO_MAX_RISE_S, fps) < 1 or int(MICRO_MAX_RISE_S * fps + 1e-9) < 1:
            raise ValueError(f"fps {fps} is too low for micro events; use at least {1 / MICRO_MAX_RISE_S:g} fps")
        if not duration_s > 0:
            raise ValueError(f"duration_s must be positive, got {duration_s}")
        width, height = (int(size[0]), int(size[1]))
        if width < 64 or height < 64:
            raise ValueError(f"size must be at least 64×64, got {width}×{height}")
        distractors = Distractors() if distractors is None else distractors
        if isinstance(distractors, dict):
            distractors = Distractors.from_dict(distractors)
        photo = load_face_photo(face_image)
        face_width = float(face_width) if face_width else 0.48 * min(width, height)
        if not 32 <= face_width <= 0.9 * min(width, height):
            raise ValueError(f"face_width {face_width:g} px must lie between 32 and 90% of the smaller frame side")

        self.seed, self.fps, self.size = seed, float(fps), (width, height)
        self.distractors = distractors
        self.n_frames = max(1, _frames(duration_s, fps))
        self.photo = photo
        base_u8, self.base_landmarks = compose(photo, self.size, face_width=face_width)
        self.base_frame = base_u8
        self._base = base_u8.astype(np.float32)
        self.face_width = aus.face_size(self.base_landmarks)
        self.scale = self.face_width / FACE_SCALE
        self.field = LandmarkField(self.base_landmarks, self.size, sigma=0.05 * self.face_width)
        self.motion = motion
        self.identity = None if identity is None else [float(c) for c in identity]
        self.identity_px = float(identity_px)
        self.rig = None
        if self.identity is not None or motion == "rig":
            from tsfgui.samples.rig import RigFace

            r = self.field.roi
            roi = (r.x0, r.y0, r.x1, r.y1)
            if self.identity is not None and self.identity_px > 0:
                morph, moved = RigFace(self.base_landmarks, roi, self.identity).identity_field(
                    self.identity_px * self.scale)
                base_u8 = warp(base_u8, morph, r)
                self.base_frame, self._base = base_u8, base_u8.astype(np.float32)
                self.base_landmarks = self.base_landmarks + moved
                self.face_width = aus.face_size(self.base_landmarks)
                self.scale = self.face_width / FACE_SCALE
                self.field = LandmarkField(self.base_landmarks, self.size, sigma=0.05 * self.face_width)
                r = self.field.roi
                roi = (r.x0, r.y0, r.x1, r.y1)
            if motion == "rig":
                self.rig = RigFace(self.base_landmarks, roi, self.identity)

        ss = np.random.SeedSequence(seed)
        rng_plan, rng_blink, rng_head, rng_light, rng_talk = (np.random.default_rng(s) for s in ss.spawn(5))
        t = np.arange(self.n_frames) / self.fps

        if not min_gap_s >= 0:
            raise ValueError(f"min_gap_s must be ≥ 0, got {min_gap_s}")
        self._gap = max(1, int(math.ceil(min_gap_s * self.fps - 1e-9)))
        motions = self._plan_items(rng_plan, rng_talk, events, min_gap_s)
        micro = sorted((m for m in motions if m.truth.kind == "micro"), key=lambda m: m.truth.onset)
        talk = sorted((m for m in motions if m.truth.kind == "talk"), key=lambda m: m.truth.onset)
        # Macro events, hand passes and flicker draw from their own streams: older samples stay the same.
        rng_macro, rng_hand, rng_flicker = (np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1]).spawn(3))
        macro = self._plan_macro(rng_macro, motions, int(macro_events))
        motions += macro
        self._hands = self._plan_hands(rng_hand, motions, int(distractors.hand_passes))
        blinks = self._plan_blinks(rng_blink, motions)
        self._motions = sorted(micro + talk + macro + blinks, key=lambda m: m.truth.onset)

        # Per-frame target landmark displacement and what the field really applies at the landmarks.
        disp = np.zeros((self.n_frames, aus.N_LANDMARKS, 2))
        for m in self._motions:
            for target, weights in m.components:
                disp += weights[:, None, None] * target[None]
        self._disp = disp
        self._eyelid = np.zeros(self.n_frames)
        for m in self._motions:
            if m.eyelid is not None:
                self._eyelid += m.eyelid
        self._lid_layer: tuple[np.ndarray, np.ndarray] | None = None
        local = np.einsum("ij,njk->nik", self.field.landmark_matrix, disp)
        self._dense = [(f, w) for m in self._motions for f, _, w in m.dense]
        for m in self._motions:
            for _, lm, w in m.dense:
                local += w[:, None, None] * lm[None]

        d = distractors
        head = np.zeros((self.n_frames, 3))
        if d.head_motion_px > 0 or d.head_rotation_deg > 0:
            head[:, 0] = d.head_motion_px * self.scale * _smooth_signal(rng_head, t, 0.05, 0.3)
            head[:, 1] = 0.6 * d.head_motion_px * self.scale * _smooth_signal(rng_head, t, 0.05, 0.3)
            head[:, 2] = d.head_rotation_deg * _smooth_signal(rng_head, t, 0.03, 0.2)
        self._head = head
        self._head_center = (self.base_landmarks.min(0) + self.base_landmarks.max(0)) / 2
        self._head_roi, self._head_mask = head_mask(self.base_landmarks, self.size, face_width=self.face_width)
        self._head_grid: np.ndarray | None = None
        self._moving_head = bool(np.any(head != 0))
        self._roi = self.field.roi.union(self._head_roi) if self._moving_head else self.field.roi

        light = np.zeros((self.n_frames, 2))
        light[:, 0] = 1.0 + d.lighting_gain * _smooth_signal(rng_light, t, 0.03, 0.12)
        light[:, 1] = d.lighting_offset * _smooth_signal(rng_light, t, 0.03, 0.12)
        if d.flicker_depth > 0 and d.flicker_hz > 0:
            phase = rng_flicker.uniform(0, 2 * np.pi)
            light[:, 0] *= 1.0 + d.flicker_depth * np.sin(2 * np.pi * d.flicker_hz * t + phase)
        self._light = light

        landmarks = self.base_landmarks[None] + local
        for i in np.flatnonzero(np.any(head != 0, axis=1)):
            landmarks[i] += rigid_displacement(self.base_landmarks, self._head_center, head[i, :2],
                                               math.radians(head[i, 2]))
        self.truth = SampleTruth(
            fps=self.fps, width=width, height=height, frame_count=self.n_frames, seed=seed,
            source=photo.name, face_width_px=self.face_width,
            events=[m.truth for m in micro], blinks=[m.truth for m in blinks], talk=[m.truth for m in talk],
            settings=self._settings(duration_s, events, face_width, min_gap_s, macro_events),
            landmarks=landmarks, base_landmarks=self.base_landmarks.copy(), head_pose=head, lighting=light,
            macro=[m.truth for m in macro], hands=[(h[0], h[1]) for h in self._hands])

    @classmethod
    def from_settings(cls, settings: dict) -> "SampleRenderer":
        """Rebuild the renderer of a sample from its recorded ``settings`` (``SampleTruth.settings``)."""
        return cls(**settings)

    # ------------------------------------------------------------------ planning

    def _settings(self, duration_s, events, face_width, min_gap_s, macro_events=0) -> dict:
        if events is None or isinstance(events, (int, np.integer)):
            ev = None if events is None else int(events)
        else:
            ev = [asdict(e) if isinstance(e, EventSpec) else dict(e) if isinstance(e, dict) else str(e)
                  for e in events]
        return {"seed": self.seed, "duration_s": duration_s, "fps": self.fps, "size": list(self.size),
                "events": ev, "distractors": _distractor_settings(self.distractors),
                "face_image": self.photo.name, "face_width": face_width, "min_gap_s": min_gap_s,
                "motion": self.motion, "identity": self.identity, "identity_px": self.identity_px,
                **({"macro_events": macro_events} if macro_events else {})}

    def _event_specs(self, rng: np.random.Generator, events) -> list[EventSpec]:
        if events is None:
            # About one event per 2 s, as many as fit with the gaps (none in a very short video).
            events = max(1, int(self.n_frames / self.fps / 2))
            while events and not self._fits(events):
                events -= 1
        if isinstance(events, (int, np.integer)):
            n = int(events)
            if n < 0:
                raise ValueError(f"events must be a count ≥ 0 or a list of event types, got {n}")
            by_class = {c: [e.name for e in aus.EVENT_TYPES.values() if e.label == c and self._renders(e)]
                        for c in aus.CLASSES}
            order = [aus.CLASSES[i] for i in rng.permutation(len(aus.CLASSES))]
            pools: dict[str, list[str]] = {c: [] for c in aus.CLASSES}
            specs = []
            for k in range(n):
                label = order[k % len(order)]
                if not pools[label]:
                    pools[label] = [by_class[label][j] for j in rng.permutation(len(by_class[label]))]
                specs.append(EventSpec(pools[label].pop()))
            return [specs[j] for j in rng.permutation(n)]
        specs = []
        for e in events:
            if isinstance(e, EventSpec):
                specs.append(e)
            elif isinstance(e, dict):
                specs.append(EventSpec(**e))
            else:
                specs.append(EventSpec(str(e)))
        return specs

    def _renders(self, etype: aus.EventType) -> bool:
        """Whether the motion back end has every AU of the event type."""
        if self.motion != "rig":
            return True
        from tsfgui.samples.rig import rig_supports

        return rig_supports(etype.aus)

    def _fits(self, n_events: int) -> bool:
        """Whether ``n_events`` of the longest micro duration (plus talking segments) fit with the gaps."""
        d = self.distractors
        lengths = [int(MICRO_MAX_TOTAL_S * self.fps + 1e-9)] * n_events
        lengths += [max(2, _frames(d.talk_duration_s, self.fps))] * int(d.talk_segments)
        return self._slack(lengths) >= 0

    def _slack(self, lengths: list[int]) -> int:
        """Free frames left when items of these lengths are laid out with the lead, tail and gaps."""
        lead, tail = _frames(_LEAD_S, self.fps), _frames(_TAIL_S, self.fps)
        needed = lead + sum(lengths) + self._gap * (len(lengths) - 1) + tail
        return (self.n_frames - 1) - needed

    def _micro(self, rng: np.random.Generator, spec: EventSpec) -> tuple[EventSpec, int, int, float]:
        """Validate a spec and draw what it leaves open: (spec, rise frames, fall frames, amplitude)."""
        etype = aus.event_type(spec.type)
        max_rise = int(MICRO_MAX_RISE_S * self.fps + 1e-9)
        max_total = int(MICRO_MAX_TOTAL_S * self.fps + 1e-9)
        rise_s = rng.uniform(0.10, MICRO_MAX_RISE_S) if spec.rise_s is None else spec.rise_s
        rise = min(max(1, _frames(rise_s, self.fps)), max_rise)
        if spec.rise_s is not None and spec.rise_s > MICRO_MAX_RISE_S + 1e-9:
            raise ValueError(f"{etype.name}: rise_s {spec.rise_s} exceeds the micro limit {MICRO_MAX_RISE_S} s")
        fall_s = rng.uniform(0.10, MICRO_MAX_TOTAL_S - rise / self.fps) if spec.fall_s is None else spec.fall_s
        fall = max(1, _frames(fall_s, self.fps))
        if spec.fall_s is not None and rise + fall > max_total:
            raise ValueError(f"{etype.name}: rise + fall exceeds the micro limit {MICRO_MAX_TOTAL_S} s")
        fall = min(fall, max_total - rise)
        if fall < 1:
            raise ValueError(f"fps {self.fps} is too low to fit a micro event in {MICRO_MAX_TOTAL_S} s")
        amp = rng.uniform(1.5, 3.5) if spec.amplitude is None else float(spec.amplitude)
        lo, hi = MICRO_AMPLITUDE
        if not lo <= amp <= hi:
            raise ValueError(f"{etype.name}: amplitude {amp} px is outside the micro range {lo}–{hi} px "
                             "(at the 224-px face scale)")
        return EventSpec(etype.name, spec.onset_s, amp, rise / self.fps, fall / self.fps), rise, fall, amp

    def _plan_items(self, rng: np.random.Generator, rng_talk: np.random.Generator, events,
                    min_gap_s: float) -> list[_Motion]:
        specs = [self._micro(rng, s) for s in self._event_specs(rng, events)]
        d = self.distractors
        talk_len = max(2, _frames(d.talk_duration_s, self.fps))
        n_talk = int(d.talk_segments)
        # Items to place: ("micro", index) of length rise + fall, ("talk", k) of length talk_len.
        items = [("micro", k, r + f) for k, (_, r, f, _) in enumerate(specs)]
        items += [("talk", k, talk_len) for k in range(n_talk)]
        explicit = [s.onset_s is not None for s, *_ in specs]
        onsets: dict[tuple[str, int], int] = {}
        if specs and all(explicit):
            if n_talk:
                raise ValueError("Talking segments are placed automatically; give no event onsets with them")
            for k, (s, r, f, _) in enumerate(specs):
                on = _frames(s.onset_s, self.fps)
                if on < 0 or on + r + f > self.n_frames - 1:
                    raise ValueError(f"{s.type} at {s.onset_s} s does not fit in the "
                                     f"{self.n_frames / self.fps:g} s video")
                onsets[("micro", k)] = on
            spans = sorted((onsets[("micro", k)], onsets[("micro", k)] + r + f) for k, (_, r, f, _) in enumerate(specs))
            for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
                if b0 <= a1:
                    raise ValueError(f"Micro events overlap (frames {a0}–{a1} and {b0}–{b1}); space them apart")
        elif any(explicit):
            raise ValueError("Give onset_s for every event or for none (then they are placed from the seed)")
        elif items:
            order = [items[j] for j in rng.permutation(len(items))]
            lead = _frames(_LEAD_S, self.fps)
            gap = self._gap
            slack = self._slack([n for *_, n in order])
            if slack < 0:
                needed = (self.n_frames - 1) - slack
                raise ValueError(
                    f"{len(specs)} micro events and {n_talk} talking segments do not fit in "
                    f"{self.n_frames / self.fps:g} s with {min_gap_s:g} s between them; "
                    f"use a longer duration (≥ {(needed + 1) / self.fps:.1f} s) or fewer events")
            extra = np.floor(rng.dirichlet(np.ones(len(order) + 1)) * slack).astype(int)
            pos = lead + extra[0]
            for k, (kind, idx, n) in enumerate(order):
                onsets[(kind, idx)] = int(pos)
                pos += n + gap + extra[k + 1]

        motions = []
        for k, (spec, rise, fall, amp) in enumerate(specs):
            motions.append(self._micro_motion(spec, onsets[("micro", k)], rise, fall, amp))
        for k in range(n_talk):
            motions.append(self._talk_motion(rng_talk, onsets[("talk", k)], talk_len))
        return motions

    def _free_onset(self, rng: np.random.Generator, busy: list[tuple[int, int]], length: int,
                    margin: int) -> int | None:
        """A random onset where ``length`` frames fit ``margin`` frames away from every busy span."""
        lead, tail = _frames(_LEAD_S, self.fps), _frames(_TAIL_S, self.fps)
        for _attempt in range(200):
            onset = int(rng.integers(lead, max(lead + 1, self.n_frames - tail - length)))
            offset = onset + length
            if offset <= self.n_frames - 1 - tail and all(offset + margin < a or onset - margin > b for a, b in busy):
                return onset
        return None

    def _plan_macro(self, rng: np.random.Generator, motions: list[_Motion], count: int) -> list[_Motion]:
        """Macro-expressions: 0.6–3 s long, 4–10 px at the 224-px scale, placed between the other items."""
        busy = [(m.truth.onset, m.truth.offset) for m in motions]
        out = []
        types = sorted(aus.EVENT_TYPES)
        for _ in range(count):
            etype = aus.EVENT_TYPES[types[int(rng.integers(len(types)))]]
            rise = max(2, _frames(rng.uniform(0.25, 1.0), self.fps))
            hold = _frames(rng.uniform(0.0, 1.0), self.fps)
            fall = max(2, _frames(rng.uniform(0.3, 1.0), self.fps))
            onset = self._free_onset(rng, busy, rise + hold + fall, self._gap)
            if onset is None:
                continue
            busy.append((onset, onset + rise + hold + fall))
            amp = rng.uniform(4.0, 10.0)
            unit = aus.pattern_displacements(aus.combined_pattern(etype.aus), self.base_landmarks)
            amp_px = amp * self.scale
            target = unit * (amp_px / self._field_peak(unit))
            apex, offset = onset + rise, onset + rise + hold + fall
            weights = np.maximum(raised_cosine(onset, apex, apex + 1, self.n_frames),
                                 raised_cosine(apex + hold - 1, apex + hold, offset, self.n_frames))
            weights[apex:apex + hold + 1] = 1.0
            truth = EventTruth("macro", etype.name, onset, apex, offset, amp_px, amp, self.fps, etype.aus,
                               etype.label, etype.regions,
                               float(np.linalg.norm(self.field.at_landmarks(target), axis=1).max()))
            out.append(_Motion(truth, [(target, weights)]))
        return sorted(out, key=lambda m: m.truth.onset)

    def _plan_hands(self, rng: np.random.Generator, motions: list[_Motion], count: int) -> list[tuple[int, int, int]]:
        """Hand passes (first frame, last frame, direction ±1), away from the planted events."""
        busy = [(m.truth.onset, m.truth.offset) for m in motions if m.truth.kind != "talk"]
        out = []
        for _ in range(count):
            length = _frames(rng.uniform(0.5, 1.0), self.fps)
            onset = self._free_onset(rng, busy, length, self._gap)
            if onset is None:
                continue
            busy.append((onset, onset + length))
            out.append((onset, onset + length, 1 if rng.random() < 0.5 else -1))
        return sorted(out)

    def _draw_hand(self, img: np.ndarray, index: int) -> np.ndarray:
        """A skin-coloured hand (palm and four fingers, soft edges) sweeping across the face."""
        for first, last, direction in self._hands:
            if not first <= index <= last:
                continue
            w, h = self.size
            progress = (index - first) / max(last - first, 1)
            lm = self.base_landmarks
            fw = self.face_width
            cx = lm[:, 0].mean() + direction * (progress - 0.5) * 2.4 * fw
            cy = lm[:, 1].mean() + 0.15 * fw
            mask = np.zeros((h, w), np.float32)
            palm = (int(cx), int(cy))
            cv2.ellipse(mask, palm, (int(0.42 * fw), int(0.5 * fw)), 0, 0, 360, 1.0, -1)
            for k in range(4):
                x = int(cx + (k - 1.5) * 0.2 * fw)
                cv2.ellipse(mask, (x, int(cy - 0.75 * fw)), (int(0.08 * fw), int(0.33 * fw)), 0, 0, 360, 1.0, -1)
            mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.03 * fw))[..., None]
            shade = np.float32([120, 150, 205]) * (0.85 + 0.15 * cv2.GaussianBlur(mask, (0, 0), 0.2 * fw)[..., None])
            img = img * (1 - mask) + shade * mask
        return img

    def _field_peak(self, disp: np.ndarray) -> float:
        return float(np.linalg.norm(self.field.field(disp), axis=2).max())

    def _micro_motion(self, spec: EventSpec, onset: int, rise: int, fall: int, amp: float) -> _Motion:
        etype = aus.EVENT_TYPES[spec.type]
        apex, offset = onset + rise, onset + rise + fall
        weights = raised_cosine(onset, apex, offset, self.n_frames)
        amp_px = amp * self.scale
        if self.rig is not None:
            dense, lm = self.rig.au_field(etype.aus)
            s = amp_px / float(np.linalg.norm(dense, axis=2).max())
            truth = EventTruth("micro", etype.name, onset, apex, offset, amp_px, amp, self.fps, etype.aus,
                               etype.label, etype.regions, float(np.linalg.norm(lm * s, axis=1).max()))
            return _Motion(truth, [], dense=[(dense * s, lm * s, weights)])
        unit = aus.pattern_displacements(aus.combined_pattern(etype.aus), self.base_landmarks)
        # The amplitude is the largest displacement of any pixel (the field's peak, slightly above the
        # largest landmark displacement).
        target = unit * (amp_px / self._field_peak(unit))
        landmark_px = float(np.linalg.norm(self.field.at_landmarks(target), axis=1).max())
        truth = EventTruth("micro", etype.name, onset, apex, offset, amp_px, amp, self.fps,
                           etype.aus, etype.label, etype.regions, landmark_px)
        return _Motion(truth, [(target, weights)])

    def _talk_motion(self, rng: np.random.Generator, onset: int, length: int) -> _Motion:
        d = self.distractors
        offset = onset + length
        t = np.arange(self.n_frames, dtype=np.float64)
        jaw = np.zeros(self.n_frames)
        # Syllables: open-close bumps of 0.15–0.3 s with random depth.
        pos = float(onset)
        while True:
            dur = rng.uniform(0.15, 0.3) * self.fps
            if pos + dur > offset:
                break
            inside = (t > pos) & (t < pos + dur)
            jaw[inside] += rng.uniform(0.4, 1.0) * (0.5 - 0.5 * np.cos(2 * np.pi * (t[inside] - pos) / dur))
            pos += dur
        pucker = np.zeros(self.n_frames)
        inside = (t > onset) & (t < offset)
        phase = rng.uniform(0, 2 * np.pi)
        pucker[inside] = 0.3 * (0.5 - 0.5 * np.cos(2 * np.pi * (t[inside] - onset) / length)) * \
            (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * (t[inside] - onset) / self.fps + phase))
        jaw_unit = aus.pattern_displacements(aus.AU_PATTERNS[26], self.base_landmarks)
        pucker_unit = aus.pattern_displacements(aus.AU_PATTERNS[18], self.base_landmarks)
        amp_px = d.talk_amplitude_px * self.scale
        s = amp_px / np.linalg.norm(self.field.at_landmarks(jaw_unit), axis=1).max()
        components = [(jaw_unit * s, jaw), (pucker_unit * s, pucker)]
        disp = sum(w[:, None, None] * c[None] for c, w in components)
        peak = np.linalg.norm(np.einsum("ij,njk->nik", self.field.landmark_matrix, disp), axis=2).max(1)
        apex = int(np.argmax(peak))
        amp_px = self._field_peak(disp[apex])
        truth = EventTruth("talk", "talk", onset, apex, offset, amp_px, amp_px / self.scale,
                           self.fps, (25, 26, 18), landmark_px=float(peak.max()))
        return _Motion(truth, components)

    def _plan_blinks(self, rng: np.random.Generator, motions: list[_Motion]) -> list[_Motion]:
        rate = self.distractors.blinks_per_min
        count = int(round(rate * self.n_frames / self.fps / 60.0))
        if count <= 0:
            return []
        margin = _frames(_BLINK_MARGIN_S, self.fps)
        gap = _frames(_BLINK_GAP_S, self.fps)
        busy = [(m.truth.onset - margin, m.truth.offset + margin) for m in motions]
        busy += [(a - margin, b + margin) for a, b, _ in self._hands]
        lm = self.base_landmarks
        upper, lower = [37, 38, 43, 44], [41, 40, 47, 46]
        gap_vec = lm[lower] - lm[upper]
        # Geometry: the upper lid comes down about half the opening and the lower lid rises a little
        # (more would fold the warp); the closed look comes from the eyelid layer (see _eyelid_source).
        unit = np.zeros((aus.N_LANDMARKS, 2))
        unit[upper] = 0.45 * gap_vec
        unit[lower] = -0.1 * gap_vec
        at_lm = self.field.at_landmarks(unit)
        field_peak = self._field_peak(unit)
        blinks = []
        for _ in range(count):
            rise = max(1, _frames(rng.uniform(0.06, 0.1), self.fps))
            fall = max(1, _frames(rng.uniform(0.1, 0.16), self.fps))
            closure = rng.uniform(0.75, 0.95)
            for _attempt in range(60):
                onset = int(rng.integers(0, max(1, self.n_frames - rise - fall)))
                offset = onset + rise + fall
                if offset > self.n_frames - 1:
                    continue
                if all(offset < a or onset > b for a, b in busy):
                    break
            else:
                continue
            busy.append((onset - gap, offset + gap))
            amp_px = field_peak * closure
            truth = EventTruth("blink", "blink", onset, onset + rise, offset, amp_px, amp_px / self.scale,
                               self.fps, (45,), landmark_px=float(np.linalg.norm(at_lm * closure, axis=1).max()))
            weights = raised_cosine(onset, onset + rise, offset, self.n_frames)
            blinks.append(_Motion(truth, [(unit * closure, weights)], eyelid=closure * weights))
        return sorted(blinks, key=lambda m: m.truth.onset)

    # ------------------------------------------------------------------ rendering

    def __len__(self) -> int:
        return self.n_frames

    def displacement_field(self, index: int) -> tuple[np.ndarray, Roi] | None:
        """Forward displacement field (h, w, 2) of frame ``index`` over its ROI, or ``None`` if no motion."""
        disp = self._disp[index]
        head = self._head[index]
        dense = [(f, w[index]) for f, w in self._dense if w[index] != 0]
        has_landmark_motion = bool(np.any(disp != 0))
        has_local = has_landmark_motion or bool(dense)
        has_head = bool(np.any(head != 0))
        if not (has_local or has_head):
            return None
        roi = self._roi
        total = np.zeros((*roi.shape, 2), np.float32)
        if has_local:
            f = self.field.roi
            local = total[f.y0 - roi.y0:f.y1 - roi.y0, f.x0 - roi.x0:f.x1 - roi.x0]
            if has_landmark_motion:
                local += self.field.field(disp)
            for unit, w in dense:
                local += np.float32(w) * unit
        if has_head:
            hr = self._head_roi
            if self._head_grid is None:
                ys, xs = np.mgrid[hr.y0:hr.y1, hr.x0:hr.x1].astype(np.float32)
                self._head_grid = np.stack([xs, ys], -1)
            rigid = rigid_displacement(self._head_grid, self._head_center.astype(np.float32),
                                       head[:2].astype(np.float32), math.radians(head[2]))
            total[hr.y0 - roi.y0:hr.y1 - roi.y0, hr.x0 - roi.x0:hr.x1 - roi.x0] += \
                rigid * self._head_mask[..., None]
        return total, roi

    def _eyelid_source(self, index: int) -> np.ndarray:
        """Base frame with the eye openings covered by eyelid skin as far as frame ``index`` is blinking."""
        closure = float(self._eyelid[index])
        if closure <= 0:
            return self._base
        if self._lid_layer is None:
            self._lid_layer = _eyelid_layer(self._base, self.base_landmarks)
        lid, mask = self._lid_layer
        t = min(1.0, closure / 0.9)
        alpha = mask * np.float32(t * t * (3 - 2 * t))
        return self._base + alpha[..., None] * (lid - self._base)

    def warp_image(self, image: np.ndarray, index: int) -> np.ndarray:
        """Apply the geometric motion of frame ``index`` to any image of the frame size."""
        geo = self.displacement_field(index)
        if geo is None:
            return image.copy()
        return warp(image, geo[0], geo[1])

    def frame(self, index: int) -> np.ndarray:
        """Render frame ``index`` (uint8 BGR)."""
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame {index} is outside 0–{self.n_frames - 1}")
        img = self.warp_image(self._eyelid_source(index), index)
        if self._hands:
            img = self._draw_hand(img.astype(np.float32), index)
        gain, offset = self._light[index]
        if gain != 1.0 or offset != 0.0:
            img = img * np.float32(gain) + np.float32(offset)
        sigma = self.distractors.noise_sigma
        if sigma > 0:
            rng = np.random.default_rng([self.seed, 0x5EED, index])
            img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(sigma)
        return np.clip(np.rint(img), 0, 255).astype(np.uint8)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        for i in range(start, self.n_frames if stop is None else min(stop, self.n_frames)):
            yield self.frame(i)


def _eyelid_layer(base: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eyelid skin (the image shifted down by the eye opening, so the lid above covers the eye) and a
    feathered mask of the eye openings."""
    h, w = base.shape[:2]
    _, down = aus.face_axes(landmarks)
    opening = float(np.mean(np.linalg.norm(landmarks[[41, 40, 47, 46]] - landmarks[[37, 38, 43, 44]], axis=1)))
    shift = down * 1.1 * opening
    lid = cv2.warpAffine(base, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (w, h),
                         flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    scale = 4  # draw the polygons at 4× for smooth edges
    mask = np.zeros((h * scale, w * scale), np.uint8)
    for eye in (range(36, 42), range(42, 48)):
        pts = landmarks[list(eye)]
        center = pts.mean(0)
        grown = center + (pts - center) * 1.15  # include the lash line
        cv2.fillPoly(mask, [np.round(grown * scale + (scale - 1) / 2).astype(np.int32)], 255)
    mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, 0.2 * opening))
    return lid, np.clip(mask * 1.3, 0, 1)


# ---------------------------------------------------------------------- writing

_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "FFV1"}


def _temp_path(path: Path) -> Path:
    """A fresh hidden name next to ``path`` with the same extension (created with the normal permissions)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_video(path: str | Path, frames: Iterator[np.ndarray] | Sequence[np.ndarray], fps: float,
                size: tuple[int, int], *, fourcc: str | None = None, total: int | None = None,
                progress: Callable[[int, int | None], None] | None = None) -> str:
    """Encode BGR frames with OpenCV (temp file + rename); return the FourCC used.

    The codec follows the extension unless ``fourcc`` is given: .mp4 → mp4v, .avi → MJPG, .mkv → FFV1.
    """
    path = Path(path)
    fourcc = fourcc or _CODECS.get(path.suffix.lower())
    if fourcc is None:
        raise SampleError(f"Cannot choose a codec for '{path}': use a .mp4, .avi or .mkv file name "
                          "(or pass a FourCC).")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    try:
        writer = cv2.VideoWriter(str(tmp), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*fourcc), float(fps), tuple(size))
        if not writer.isOpened():
            raise SampleError(f"OpenCV cannot write '{path}' with codec {fourcc}; try a .avi (MJPG) file name.")
        try:
            for i, f in enumerate(frames):
                writer.write(f)
                if progress is not None:
                    progress(i + 1, total)
        finally:
            writer.release()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return fourcc


def generate_sample(out_path: str | Path, *, seed: int = 0, duration_s: float = 10.0, fps: float = 30.0,
                    size: tuple[int, int] = (640, 480), events: int | Sequence[str | EventSpec] | None = None,
                    distractors: Distractors | None = None, face_image=None, face_width: float | None = None,
                    min_gap_s: float = 1.0, truth_path: str | Path | None = None, fourcc: str | None = None,
                    progress: Callable[[int, int | None], None] | None = None, macro_events: int = 0) -> SampleTruth:
    """Render a sample video to ``out_path`` and its JSON ground truth next to it (or to ``truth_path``).

    ``macro_events`` adds that many macro-expressions (0.6–3 s, 4–10 px). Returns the
    :class:`SampleTruth`, including per-frame ground-truth landmarks.
    """
    renderer = SampleRenderer(seed=seed, duration_s=duration_s, fps=fps, size=size, events=events,
                              distractors=distractors, face_image=face_image, face_width=face_width,
                              min_gap_s=min_gap_s, macro_events=macro_events)
    out_path = Path(out_path)
    codec = write_video(out_path, renderer.frames(), renderer.fps, renderer.size, fourcc=fourcc,
                        total=len(renderer), progress=progress)
    truth = renderer.truth
    truth.video_file, truth.codec = out_path.name, codec
    truth.save_json(out_path.with_suffix(".json") if truth_path is None else truth_path)
    return truth


@dataclass
class Clip:
    """One rendered micro event: frames from onset to offset (plus any padding) and its ground truth."""

    frames: list[np.ndarray]
    event: EventTruth
    truth: SampleTruth

    @property
    def landmarks(self) -> np.ndarray:
        """(len(frames), 68, 2) ground-truth landmarks of the clip's frames."""
        return self.truth.landmarks[:len(self.frames)]

    @property
    def onset_index(self) -> int:
        return self.event.onset

    @property
    def apex_index(self) -> int:
        return self.event.apex

    @property
    def offset_index(self) -> int:
        return self.event.offset


def render_clip(event: str | EventSpec = "AU12", *, seed: int = 0, fps: float = 30.0,
                size: tuple[int, int] = (256, 256), distractors: Distractors | None = None, face_image=None,
                face_width: float | None = None, pad_frames: int = 0,
                out_dir: str | Path | None = None, ext: str = "png", prefix: str = "img",
                motion: str = "landmarks", identity: Sequence[float] | None = None,
                identity_px: float = 5.0) -> Clip:
    """Render one micro event from onset to offset as a list of frames (for building training sets).

    ``pad_frames`` neutral frames are added before and after. Distractors default to noise and slight
    head motion only (no blinks, no lighting drift). With ``out_dir`` the frames are also written there as
    ``{prefix}{n}.{ext}`` numbered from 1 (the CASME II layout).
    """
    spec = EventSpec(event) if isinstance(event, str) else event
    if distractors is None:
        distractors = Distractors(head_motion_px=1.0, head_rotation_deg=0.3, blinks_per_min=0.0,
                                  noise_sigma=1.5, lighting_gain=0.0, lighting_offset=0.0)
    if distractors.talk_segments:
        raise ValueError("A clip holds one micro event; set talk_segments=0")
    pad = int(pad_frames)
    # Durations are drawn inside the renderer; reserve the longest possible event.
    max_total = int(MICRO_MAX_TOTAL_S * fps + 1e-9)
    spec = EventSpec(spec.type, pad / fps, spec.amplitude, spec.rise_s, spec.fall_s)
    renderer = SampleRenderer(seed=seed, duration_s=(2 * pad + max_total + 1) / fps, fps=fps, size=size,
                              events=[spec], distractors=distractors, face_image=face_image,
                              face_width=face_width, motion=motion, identity=identity, identity_px=identity_px)
    ev = renderer.truth.events[0]
    stop = min(ev.offset + pad + 1, len(renderer))
    frames = list(renderer.frames(0, stop))
    if out_dir is not None:
        write_frames(frames, out_dir, ext=ext, prefix=prefix)
    return Clip(frames, ev, renderer.truth)


def write_frames(frames: Sequence[np.ndarray], out_dir: str | Path, *, ext: str = "png", prefix: str = "img",
                 start: int = 1) -> list[Path]:
    """Write frames as numbered images ``{prefix}{n}.{ext}`` into ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, f in enumerate(frames):
        p = out_dir / f"{prefix}{start + k}.{ext.lstrip('.')}"
        if not cv2.imwrite(str(p), f):
            raise SampleError(f"Cannot write the frame image '{p}'; check the folder and the extension.")
        paths.append(p)
    return paths
