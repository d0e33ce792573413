"""Spotting scored as in the MEGC long-video challenges.

Per video and per kind (``micro``, ``macro``): a proposed interval is a true positive when its IoU with a
ground-truth interval of the same kind not matched yet is at least 0.5 (each ground-truth interval counts
once); the other proposals are false positives, the unmatched ground truth false negatives. TP, FP and FN
are pooled over all videos; precision, recall and F1 are computed per kind and overall (the kinds' counts
summed), as the MEGC 2020–2023 spotting tasks report them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .spotting import SpotScore, evaluate_spotting

KINDS: tuple[str, ...] = ("micro", "macro")


@dataclass(frozen=True)
class Span:
    """An interval of frames ``onset``…``offset`` (inclusive) of kind ``micro`` or ``macro``."""

    onset: int
    offset: int
    kind: str


@dataclass
class MegcTally:
    """Pooled true positives, proposals and ground truth per kind."""

    counts: dict[str, list[int]] = field(default_factory=lambda: {k: [0, 0, 0] for k in KINDS})

    def add(self, other: "MegcTally") -> None:
        for kind in KINDS:
            self.counts[kind] = [a + b for a, b in zip(self.counts[kind], other.counts[kind])]

    def score(self, kind: str | None = None) -> SpotScore:
        """The score of one kind, or overall (None)."""
        kinds = KINDS if kind is None else (kind,)
        return SpotScore(*[sum(self.counts[k][i] for k in kinds) for i in range(3)])

    def to_dict(self) -> dict:
        out = {}
        for name, kind in (("micro", "micro"), ("macro", "macro"), ("overall", None)):
            s = self.score(kind)
            out[name] = {"tp": s.hits, "fp": s.spotted - s.hits, "fn": s.truth - s.hits, "proposals": s.spotted,
                         "truth": s.truth, "precision": round(s.precision, 4), "recall": round(s.recall, 4),
                         "f1": round(s.f1, 4)}
        return out


def score_video(proposals: Sequence[Span], truth: Sequence[Span], min_iou: float = 0.5) -> MegcTally:
    """The MEGC counts of one video."""
    tally = MegcTally()
    for kind in KINDS:
        s = evaluate_spotting([(p.onset, p.offset) for p in proposals if p.kind == kind],
                              [(t.onset, t.offset) for t in truth if t.kind == kind], min_iou)
        tally.counts[kind] = [s.hits, s.spotted, s.truth]
    return tally


def pooled(tallies: Iterable[MegcTally]) -> MegcTally:
    """The counts of many videos summed."""
    total = MegcTally()
    for t in tallies:
        total.add(t)
    return total
