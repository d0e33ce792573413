"""A coder's review queue over a project (Qt-free): which events, in what order, which one is current,
and every decision on it written to the project at once.

The review window is a view of a :class:`ReviewQueue`: it holds no event state of its own. Each
action returns the project's :class:`~tsfgui.project.Change`, which the window's undo stack keeps to
revert or reapply (:meth:`Project.revert` / :meth:`Project.reapply`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tsfgui.model.config import LABEL_SCHEMES, TSFmicroConfig

from .agreement import Agreement, compare, pooled
from .database import ProjectError
from .project import Project
from .records import STATUSES, TOOL, Change, Event

#: How far an added event reaches from the frame it is added at (seconds): apex and offset.
ADDED_APEX_S = 0.1
ADDED_OFFSET_S = 0.2

EventKey = tuple[str, int]  # ("proposal", id) or ("added", decision id)
SortOrder = Literal["time", "score"]


def event_key(event: Event) -> EventKey:
    """What identifies an event across reloads: its proposal, or for an added event its decision."""
    if event.proposal_id is not None:
        return ("proposal", event.proposal_id)
    return ("added", int(event.decision_id or 0))


@dataclass(frozen=True)
class QueueFilter:
    """Which events the queue shows; None lets everything through."""

    status: str | None = None
    kind: str | None = None
    label: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status filter must be one of {', '.join(STATUSES)}, not {self.status!r}")

    def admits(self, e: Event) -> bool:
        return ((self.status is None or e.status == self.status) and (self.kind is None or e.kind == self.kind)
                and (self.label is None or (e.label or "") == self.label)
                and (self.region is None or e.region == self.region))


class ReviewQueue:
    """The events one coder reviews: of one recording (``recording_id``) or of the whole project (None)."""

    def __init__(self, project: Project, coder: str, recording_id: int | None = None,
                 sort: SortOrder = "time", filter: QueueFilter = QueueFilter()):
        self.project = project
        self.coder = project.coder(coder).name
        self.recording_id = recording_id
        self.sort: SortOrder = sort
        self.filter = filter
        self.events: list[Event] = []
        self.current: int | None = None
        self.reload()

    # -- what is shown ------------------------------------------------------------------------
    def reload(self, keep: EventKey | None = None) -> None:
        """Read the events again from the project, keeping the current event (or ``keep``) selected."""
        keep = keep or (event_key(self.events[self.current]) if self.current is not None else None)
        recs = [self.recording_id] if self.recording_id is not None else [r.id for r in self.project.recordings()]
        events = [e for rid in recs for e in self.project.events(rid, self.coder) if self.filter.admits(e)]
        if self.sort == "score":
            events.sort(key=lambda e: (-(e.score if e.score is not None else float("-inf")), e.recording_id, e.onset))
        else:
            events.sort(key=lambda e: (e.recording_id, e.onset, e.offset))
        self.events = events
        keys = [event_key(e) for e in events]
        if keep in keys:
            self.current = keys.index(keep)
        elif self.current is not None and events:
            self.current = min(self.current, len(events) - 1)
        else:
            self.current = 0 if events else None

    def set_scope(self, recording_id: int | None) -> None:
        """Show one recording's events (or the project's, None) and start at the first."""
        self.recording_id = recording_id
        self.current = None
        self.reload()
        self.current = 0 if self.events else None

    def set_order(self, sort: SortOrder) -> None:
        if sort not in ("time", "score"):
            raise ValueError(f"sort order must be 'time' or 'score', not {sort!r}")
        self.sort = sort
        self.reload()

    def set_filter(self, filter: QueueFilter) -> None:
        self.filter = filter
        self.reload()

    @property
    def event(self) -> Event | None:
        """The current event."""
        return None if self.current is None else self.events[self.current]

    def select(self, index: int) -> Event | None:
        if not 0 <= index < len(self.events):
            raise IndexError(f"the queue has {len(self.events)} events; there is no event {index + 1}")
        self.current = index
        return self.event

    def select_key(self, key: EventKey) -> Event | None:
        """Select the event with this key (None and no change when it is not in the queue)."""
        for i, e in enumerate(self.events):
            if event_key(e) == key:
                self.current = i
                return e
        return None

    def next(self) -> Event | None:
        """Go to the next event (stays on the last)."""
        if self.current is not None and self.current + 1 < len(self.events):
            self.current += 1
        return self.event

    def previous(self) -> Event | None:
        """Go to the previous event (stays on the first)."""
        if self.current is not None and self.current > 0:
            self.current -= 1
        return self.event

    def labels(self) -> tuple[str, ...]:
        """The class names keys 1–7 set: the analysis runs' (the model's), else the default label scheme's."""
        names: list[str] = []
        for rec in self.project.recordings():
            run = self.project.current_run(rec.id)
            for name in (run.class_names if run else ()):
                if name not in names:
                    names.append(name)
        return tuple(names) or LABEL_SCHEMES[TSFmicroConfig().label_scheme].class_names

    def others(self, event: Event) -> dict[str, str]:
        """Other coders' status on the same proposal (read-only, for comparison)."""
        return self.others_by_proposal([event.recording_id]).get(event.proposal_id, {}) \
            if event.proposal_id is not None else {}

    def others_by_proposal(self, recording_ids: list[int] | None = None) -> dict[int, dict[str, str]]:
        """For every proposal of these recordings (default: the queue's), what the other coders decided:
        ``{proposal_id: {coder: status}}`` (with their label when it differs from the proposal's).
        One read per recording and coder, however many events."""
        if recording_ids is None:
            recording_ids = sorted({e.recording_id for e in self.events})
        out: dict[int, dict[str, str]] = {}
        for c in self.project.coders():
            if c.name == self.coder:
                continue
            for rid in recording_ids:
                for e in self.project.events(rid, c.name):
                    if e.proposal_id is None or e.status == "proposed":
                        continue
                    proposed_label = e.proposed[3] if e.proposed else None
                    text = e.status if e.label in (None, proposed_label) else f"{e.status} ({e.label})"
                    out.setdefault(e.proposal_id, {})[c.name] = text
        return out

    # -- decisions (each written at once; each returns the project's change) ----------------------
    def _require(self) -> Event:
        if self.event is None:
            raise ProjectError("no event is selected")
        return self.event

    def _record(self, e: Event, status: str | None = None, **fields) -> Change:
        if e.proposal_id is not None:
            change = self.project.decide(self.coder, e.proposal_id, status, **fields)
        else:
            if status not in (None, "added"):
                raise ProjectError(f"event {e.onset}…{e.offset} was added by {self.coder}: it cannot be "
                                   f"{status}; delete it instead (Delete)")
            change = self.project.edit_added(self.coder, int(e.decision_id), **fields)
        self.reload(keep=event_key(e))
        return change

    def accept(self) -> Change:
        """Accept the current event (an added event is already the coder's: its status stays ``added``)."""
        e = self._require()
        if e.proposal_id is None:
            raise ProjectError(f"event {e.onset}…{e.offset} was added by {self.coder}; it is already theirs")
        edited = (e.onset, e.apex, e.offset, e.label) != tuple(e.proposed or ())
        return self._record(e, "edited" if edited else "accepted")

    def reject(self) -> Change:
        return self._record(self._require(), "rejected")

    def set_label(self, label: str) -> Change:
        """Choose the label; on a still undecided proposal that is a decision too: accepted when the
        label is the tool's, edited when it differs."""
        e = self._require()
        status = "accepted" if e.proposal_id is not None and e.status == "proposed" else None
        return self._record(e, status, label=label)

    def set_label_number(self, number: int) -> Change:
        """Keys 1–7: the ``number``-th class name."""
        labels = self.labels()
        if not 1 <= number <= len(labels):
            raise ProjectError(f"there is no label {number}; the labels are "
                               + ", ".join(f"{i + 1} {n}" for i, n in enumerate(labels)))
        return self.set_label(labels[number - 1])

    def set_aus(self, aus: str) -> Change:
        """FACS action units, e.g. ``4+7`` or ``12C`` (validated by the project)."""
        return self._record(self._require(), aus=aus)

    def set_note(self, note: str) -> Change:
        return self._record(self._require(), note=note)

    def set_timing(self, *, onset: int | None = None, apex: int | None = None, offset: int | None = None) -> Change:
        """Move the onset, apex or offset to a frame; the apex follows an onset or offset moved past it."""
        e = self._require()
        new = {"onset": e.onset if onset is None else int(onset), "apex": e.apex if apex is None else int(apex),
               "offset": e.offset if offset is None else int(offset)}
        if new["onset"] > new["offset"]:
            raise ProjectError(f"onset {new['onset']} would come after offset {new['offset']}")
        if apex is None:
            new["apex"] = min(max(new["apex"], new["onset"]), new["offset"])
        elif not new["onset"] <= new["apex"] <= new["offset"]:
            raise ProjectError(f"apex {new['apex']} would lie outside {new['onset']}…{new['offset']}")
        changed = {k: v for k, v in new.items() if v != getattr(e, k)}
        if not changed:
            raise ProjectError(f"the event already has {', '.join(f'{k} {v}' for k, v in new.items())}")
        return self._record(e, **changed)

    def add_event(self, recording_id: int, frame: int) -> Change:
        """Add a missed event starting at ``frame`` (apex 0.1 s and offset 0.2 s later) and select it."""
        rec = self.project.recording(recording_id)
        last = (rec.frame_count or frame + 1) - 1
        onset = min(max(int(frame), 0), last)
        apex = min(onset + max(1, round(ADDED_APEX_S * rec.fps)), last)
        offset = min(onset + max(1, round(ADDED_OFFSET_S * rec.fps)), last)
        change = self.project.add_event(self.coder, rec.id, onset, apex, offset)
        added = [h.decision_id for h in self.project.history(self.coder) if h.change.id == change.id]
        if self.filter.status not in (None, "added"):
            self.filter = QueueFilter()
        self.reload(keep=("added", added[0]) if added else None)
        return change

    def delete_added(self) -> Change:
        """Delete the current event when the coder added it (a proposal is rejected, not deleted)."""
        e = self._require()
        if e.proposal_id is not None:
            raise ProjectError(f"event {e.onset}…{e.offset} is the tool's proposal: reject it (R) instead")
        change = self.project.delete_added(self.coder, int(e.decision_id))
        self.reload()
        return change


# -- agreement at a glance -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgreementRow:
    """One line of the agreement panel: ``other`` against ``reference`` on a recording and on the project."""

    reference: str
    other: str
    recording: Agreement | None
    project: Agreement


class AgreementBoard:
    """Agreement of a coder with the tool and with every other coder, per recording and pooled, kept
    per recording so that a decision recomputes only its own recording (:meth:`invalidate`)."""

    def __init__(self, project: Project, coder: str):
        self.project = project
        self.coder = coder
        self._per_recording: dict[tuple[str, int], tuple[Agreement, bool]] = {}
        self._pooled: dict[str, Agreement] = {}

    def invalidate(self, recording_id: int | None = None) -> None:
        """Forget one recording's figures (after a decision in it), or all of them (None)."""
        self._pooled.clear()
        if recording_id is None:
            self._per_recording.clear()
        else:
            self._per_recording = {k: v for k, v in self._per_recording.items() if k[1] != recording_id}

    def _compare(self, other: str, rec) -> tuple[Agreement, bool]:
        key = (other, rec.id)
        if key not in self._per_recording:
            a, b = self.project.final_events(rec.id, self.coder), self.project.final_events(rec.id, other)
            self._per_recording[key] = (compare(a, b, rec.name), bool(a or b))
        return self._per_recording[key]

    def rows(self, recording_id: int | None) -> list[AgreementRow]:
        """The coder against the tool's proposals, and every other coder against the coder."""
        rows = []
        recordings = self.project.recordings()
        others = [c.name for c in self.project.coders() if c.name != self.coder]
        for other in [TOOL, *others]:
            per_recording, this = [], None
            for rec in recordings:
                agreement, any_events = self._compare(other, rec)
                if rec.id == recording_id:
                    this = agreement
                if any_events:
                    per_recording.append(agreement)
            if other not in self._pooled:
                self._pooled[other] = pooled(per_recording)
            rows.append(AgreementRow(self.coder, other, this, self._pooled[other]))
        return rows


def agreement_rows(project: Project, coder: str, recording_id: int | None) -> list[AgreementRow]:
    """The coder against the tool's proposals, and every other coder against the coder."""
    return AgreementBoard(project, coder).rows(recording_id)


def described(event: Event) -> str:
    """A one-line description of an event (for status messages and undo texts)."""
    return f"{event.kind} {event.onset}…{event.offset} ({event.label or event.region or 'no label'})"


__all__ = ["ADDED_APEX_S", "ADDED_OFFSET_S", "AgreementBoard", "AgreementRow", "EventKey", "QueueFilter", "ReviewQueue",
           "agreement_rows", "described", "event_key"]
