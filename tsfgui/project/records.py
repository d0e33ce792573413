"""What a project holds, as plain read-only records (built from database rows)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: A coder's view of an event: undecided (``proposed``), ``accepted``, ``rejected``, ``edited`` (timing or
#: label corrected) or ``added`` (an event the tool missed; also every imported annotation).
STATUSES = ("proposed", "accepted", "rejected", "edited", "added")
#: Statuses that make an event part of a coder's final result (``--final``).
FINAL_STATUSES = ("accepted", "edited", "added")
#: The name under which the tool's proposals take part in agreement and exports.
TOOL = "tool"


#: events match when the IoU of their frame intervals is at least this (MEGC's rule)
IOU_THRESHOLD = 0.5


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals ``(onset, offset)``."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    union = (a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter
    return inter / union


@dataclass(frozen=True)
class Recording:
    id: int
    path: str              # as stored: relative to the project's folder when inside it
    location: Path         # where it is expected on disk now
    kind: str
    fingerprint: str
    size_bytes: int
    fps: float
    width: int
    height: int
    frame_count: int | None
    duration_s: float | None
    subject: str
    session: str
    status: str            # new / analysed / failed
    message: str

    @property
    def name(self) -> str:
        return self.location.stem if self.kind == "video" else self.location.name

    @property
    def exists(self) -> bool:
        return self.location.exists()


@dataclass(frozen=True)
class Run:
    id: int
    recording_id: int
    identity: str
    weights: str | None
    weights_fingerprint: str | None
    settings: dict
    tool_version: str
    class_names: tuple[str, ...]
    frames: int
    seconds: float
    warning: str
    finished_at: str
    timings: dict          # seconds per analysis stage


@dataclass(frozen=True)
class Coder:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class Event:
    """One event of a recording as a coder sees it: a proposal of the tool (with the coder's decision on
    it, if any) or an event the coder added. ``onset``/``apex``/``offset``/``label`` are the corrected
    values when the coder changed them; ``proposed`` holds the tool's (None for added events)."""

    recording_id: int
    proposal_id: int | None
    decision_id: int | None
    status: str
    onset: int
    apex: int
    offset: int
    kind: str
    label: str | None
    aus: str = ""
    note: str = ""
    probability: float | None = None
    score: float | None = None
    region: str = ""
    proposed: tuple[int, int, int, str | None] | None = None
    coder: str | None = None
    decided_at: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class Change:
    """One user action in the history: ``record`` (a decision), ``import``, ``undo`` or ``redo``."""

    id: int
    coder: str
    action: str
    target: int | None
    description: str
    at: str


@dataclass(frozen=True)
class HistoryEntry:
    """What a change did to one decision: its state before and after (None: no decision)."""

    change: Change
    decision_id: int
    before: dict | None
    after: dict | None


def loads(text: str | None) -> dict | None:
    return None if text is None else json.loads(text)
