"""Agreement between two raters (a coder and the tool, or two coders), per recording and pooled.

Events are matched as MEGC scores spotting: a pair matches when the IoU of their frame intervals is at
least 0.5; pairs are taken greedily by IoU, each event at most once. With the first rater as reference,
precision = matched / events of the second, recall = matched / events of the first, F1 their harmonic
mean. On the labels of matched events Cohen's kappa; and, as ELAN's modified kappa does,
a second kappa in which every unmatched event counts as a disagreement with an "unmatched" category.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Sequence

from .records import IOU_THRESHOLD, Event, iou

if TYPE_CHECKING:
    from .project import Project

UNMATCHED = "<unmatched>"
NO_LABEL = "<none>"


def match(reference: Sequence[tuple[int, int]], other: Sequence[tuple[int, int]],
          threshold: float = IOU_THRESHOLD) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, iou)`` of reference and other intervals with IoU ≥ ``threshold``, greedy by IoU,
    each interval used at most once."""
    pairs = sorted(((iou(a, b), i, j) for i, a in enumerate(reference) for j, b in enumerate(other)
                    if iou(a, b) >= threshold), key=lambda t: (-t[0], t[1], t[2]))  # ties: earlier events first
    used_i: set[int] = set()
    used_j: set[int] = set()
    out = []
    for v, i, j in pairs:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j, v))
    return sorted(out)


def kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two equally long label sequences; None when undefined (no items, or one category
    only on both sides). Counted directly: the review queue asks for it on every decision."""
    if not a:
        return None
    if len(a) != len(b):
        raise ValueError(f"kappa needs two label sequences of one length, got {len(a)} and {len(b)}")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[k] * count_b[k] for k in count_a) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


@dataclass
class Agreement:
    """The agreement figures of one recording (or pooled: ``recording`` = ``"all"``)."""

    recording: str
    reference: int
    other: int
    matched: int
    labels_agreed: int
    precision: float | None
    recall: float | None
    f1: float | None
    kappa: float | None                 # on the labels of matched events
    kappa_with_unmatched: float | None  # unmatched events count as disagreements (ELAN's modified kappa)
    mean_iou: float | None
    pairs: list[tuple[str, str]] = field(default_factory=list, repr=False)  # (reference label, other label)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("pairs")
        return d


def _ratio(a: int, b: int) -> float | None:
    return None if b == 0 else a / b


def compare(reference: Sequence[Event], other: Sequence[Event], name: str = "") -> Agreement:
    """The agreement of ``other`` with ``reference`` on one recording."""
    ref = [(e.onset, e.offset) for e in reference]
    oth = [(e.onset, e.offset) for e in other]
    pairs = match(ref, oth)
    labels = [(reference[i].label or NO_LABEL, other[j].label or NO_LABEL) for i, j, _ in pairs]
    p, r = _ratio(len(pairs), len(oth)), _ratio(len(pairs), len(ref))
    f1 = None if p is None or r is None else (0.0 if p + r == 0 else 2 * p * r / (p + r))
    matched_i = {i for i, _, _ in pairs}
    matched_j = {j for _, j, _ in pairs}
    with_unmatched = labels + [(reference[i].label or NO_LABEL, UNMATCHED) for i in range(len(ref)) if i not in matched_i] \
        + [(UNMATCHED, other[j].label or NO_LABEL) for j in range(len(oth)) if j not in matched_j]
    return Agreement(name, len(ref), len(oth), len(pairs), sum(a == b for a, b in labels), p, r, f1,
                     kappa([a for a, _ in labels], [b for _, b in labels]),
                     kappa([a for a, _ in with_unmatched], [b for _, b in with_unmatched]),
                     sum(v for _, _, v in pairs) / len(pairs) if pairs else None, with_unmatched)


def pooled(per_recording: Sequence[Agreement]) -> Agreement:
    """All recordings together: counts summed, kappas on all label pairs at once."""
    ref = sum(a.reference for a in per_recording)
    oth = sum(a.other for a in per_recording)
    matched = sum(a.matched for a in per_recording)
    p, r = _ratio(matched, oth), _ratio(matched, ref)
    f1 = None if p is None or r is None else (0.0 if p + r == 0 else 2 * p * r / (p + r))
    all_pairs = [pair for a in per_recording for pair in a.pairs]
    matched_pairs = [(x, y) for x, y in all_pairs if UNMATCHED not in (x, y)]
    ious = [(a.mean_iou, a.matched) for a in per_recording if a.mean_iou is not None]
    return Agreement("all", ref, oth, matched, sum(a.labels_agreed for a in per_recording), p, r, f1,
                     kappa([x for x, _ in matched_pairs], [y for _, y in matched_pairs]),
                     kappa([x for x, _ in all_pairs], [y for _, y in all_pairs]),
                     sum(v * n for v, n in ious) / matched if matched else None, all_pairs)


def project_agreement(project: "Project", reference: str, other: str) -> list[Agreement]:
    """Per recording with events of either rater, then pooled (last). A rater is a coder's name (their
    accepted, edited and added events) or ``"tool"`` (the proposals of the current analysis)."""
    rows = []
    for rec in project.recordings():
        a, b = project.final_events(rec.id, reference), project.final_events(rec.id, other)
        if a or b:
            rows.append(compare(a, b, rec.name))
    return rows + [pooled(rows)]


def _fmt(v) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


COLUMNS = ("recording", "reference", "other", "matched", "precision", "recall", "f1", "kappa",
           "kappa_with_unmatched", "mean_iou")


def table(rows: Sequence[Agreement], reference: str, other: str) -> str:
    """A Markdown table of the agreement rows (also readable as plain text)."""
    head = ["recording", f"{reference} events", f"{other} events", "matched", "precision", "recall", "F1",
            "kappa (matched)", "kappa (with unmatched)", "mean IoU"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for a in rows:
        lines.append("| " + " | ".join(_fmt(getattr(a, c)) for c in COLUMNS) + " |")
    return "\n".join(lines)


def markdown(rows: Sequence[Agreement], reference: str, other: str, project_name: str) -> str:
    return (f"# Agreement: {other} against {reference}\n\nProject `{project_name}`. Events match when the IoU of "
            f"their frame intervals is at least {IOU_THRESHOLD} (MEGC); precision and recall take {reference} as "
            f"the reference. Cohen's kappa on the labels of matched events, and with unmatched events counted as "
            f"disagreements (as ELAN's modified kappa).\n\n{table(rows, reference, other)}\n")
