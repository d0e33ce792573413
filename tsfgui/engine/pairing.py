"""Reference (onset) frame policies: which earlier frame each analysed frame is compared with.

TSFmicro compares an apex frame with its onset frame. In continuous footage nobody marks onsets, so
each frame gets a reference by a policy:

- :class:`RollingLag` — the frame ``lag_s`` seconds earlier (default 0.2 s, about one micro-expression
  onset→apex rise); a movement that starts within the lag shows as a difference.
- :class:`FixedOnset` — one frame the user marks as the onset (e.g. a neutral face before a question).
- :class:`NeutralBaseline` — the calmest recent frame: the one with the least frame-to-frame motion
  in the last ``window_s`` seconds, at least ``min_lag_s`` back.

Policies look only at frames already seen (they work live) and at their face status: a frame without
a face is never a reference. Times, not indices, are used, so a live stream that drops frames keeps
the same lag in seconds.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass
class FrameRecord:
    """What a policy knows of a past frame: its index, time, whether it had a face, its motion."""

    index: int
    timestamp_ms: float
    has_face: bool
    motion: float = float("inf")


@dataclass
class FrameHistory:
    """The recent frames, oldest first, trimmed to ``horizon_ms`` behind the newest."""

    horizon_ms: float
    records: list[FrameRecord] = field(default_factory=list)

    def add(self, record: FrameRecord) -> None:
        self.records.append(record)
        cutoff = record.timestamp_ms - self.horizon_ms
        drop = 0
        while drop < len(self.records) - 1 and self.records[drop].timestamp_ms < cutoff:
            drop += 1
        if drop:
            del self.records[:drop]

    def at_or_before(self, timestamp_ms: float) -> list[FrameRecord]:
        """Records with a timestamp ≤ ``timestamp_ms`` (oldest first)."""
        times = [r.timestamp_ms for r in self.records]
        return self.records[: bisect.bisect_right(times, timestamp_ms + 1e-6)]


class ReferencePolicy:
    """Chooses the reference frame of the newest frame in a :class:`FrameHistory`."""

    #: How far back (ms) the policy may look; the analyzer keeps crops for that long.
    horizon_ms: float = 1000.0
    name: str = "policy"

    def choose(self, history: FrameHistory, current: FrameRecord) -> int | None:
        """Index of the reference frame for ``current``, or None when no usable frame exists yet."""
        raise NotImplementedError

    def keeps(self, index: int) -> bool:
        """True for a frame that must stay available beyond ``horizon_ms`` (a marked onset)."""
        return False

    def describe(self) -> str:
        return self.name


@dataclass
class RollingLag(ReferencePolicy):
    """Compare each frame with the frame ``lag_s`` seconds before it (the nearest one with a face
    at or before that time, within ``tolerance_s`` more)."""

    lag_s: float = 0.2
    tolerance_s: float = 0.2
    name: str = "rolling lag"

    def __post_init__(self) -> None:
        if not self.lag_s > 0:
            raise ValueError(f"the rolling lag must be positive, not {self.lag_s!r} s")
        self.horizon_ms = (self.lag_s + self.tolerance_s) * 1000.0 + 1.0

    def choose(self, history: FrameHistory, current: FrameRecord) -> int | None:
        target = current.timestamp_ms - self.lag_s * 1000.0
        earliest = target - self.tolerance_s * 1000.0
        for record in reversed(history.at_or_before(target)):
            if record.timestamp_ms < earliest:
                break
            if record.has_face and record.index != current.index:
                return record.index
        return None

    def describe(self) -> str:
        return f"rolling lag {self.lag_s * 1000:.0f} ms"


@dataclass
class FixedOnset(ReferencePolicy):
    """Compare every frame with one marked onset frame ``onset_index`` (which must show a face)."""

    onset_index: int = 0
    name: str = "marked onset"
    horizon_ms: float = 0.0

    def choose(self, history: FrameHistory, current: FrameRecord) -> int | None:
        return self.onset_index if current.index != self.onset_index else None

    def keeps(self, index: int) -> bool:
        return index == self.onset_index

    def describe(self) -> str:
        return f"marked onset at frame {self.onset_index}"


@dataclass
class NeutralBaseline(ReferencePolicy):
    """Compare each frame with the calmest frame of the last ``window_s`` seconds (least motion
    against its predecessor), at least ``min_lag_s`` back."""

    window_s: float = 2.0
    min_lag_s: float = 0.1
    name: str = "neutral baseline"

    def __post_init__(self) -> None:
        if not self.window_s > self.min_lag_s >= 0:
            raise ValueError("the neutral-baseline window must be longer than its minimum lag")
        self.horizon_ms = self.window_s * 1000.0 + 1.0

    def choose(self, history: FrameHistory, current: FrameRecord) -> int | None:
        latest = current.timestamp_ms - self.min_lag_s * 1000.0
        earliest = current.timestamp_ms - self.window_s * 1000.0
        candidates = [r for r in history.at_or_before(latest)
                      if r.has_face and r.timestamp_ms >= earliest and r.index != current.index]
        if not candidates:
            return None
        # least motion; among equals the most recent (closest in appearance to the current frame)
        return min(reversed(candidates), key=lambda r: r.motion).index

    def describe(self) -> str:
        return f"neutral baseline over {self.window_s:g} s"


def default_policy() -> ReferencePolicy:
    """The rolling lag of 0.2 s, about the onset→apex time of a micro-expression."""
    return RollingLag()
