"""Coders' decisions, their append-only history, and undo/redo per coder.

A decision is one row per (coder, proposal) or per added event; it always holds the effective values
(the proposal's, or the coder's corrections). Every user action is a *change*: one row in ``changes``
and, per decision it touched, one row in ``history`` with the decision's state before and after (JSON;
None = no decision). Nothing in ``changes``/``history`` is ever updated or deleted (triggers refuse it).

Undo of a change writes its ``before`` states back and appends an ``undo`` change; redo writes the
``after`` states back and appends a ``redo`` change. A coder's undo stack is linear, as in any editor:
replaying the coder's changes in order — record/import push, undo pops onto the redo stack, redo pops
back — gives the stacks; a new record clears the redo stack. A ``QUndoStack`` driving
:meth:`Project.revert` / :meth:`Project.reapply` with the change ids it was given stays in step.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, Sequence

from .database import ProjectError, now
from .facs import FacsError, normalize_aus
from .records import IOU_THRESHOLD, STATUSES, Change, Coder, Event, HistoryEntry, Recording, Run, iou, loads


class Project(Protocol):
    """What these functions use of :class:`tsfgui.project.Project` (which calls them)."""

    path: Path
    conn: sqlite3.Connection

    def coder(self, name: str, *, create: bool = True, role: str = "coder") -> Coder: ...
    def recording(self, ref: int | str) -> Recording: ...
    def current_run(self, recording_id: int) -> Run | None: ...
    def write(self) -> AbstractContextManager[sqlite3.Connection]: ...

_FIELDS = ("onset", "apex", "offset", "kind", "label", "aus", "note")
_COLUMNS = ("id", "coder_id", "recording_id", "proposal_id", "status", *_FIELDS, "decided_at")
KINDS = ("micro", "macro")


# reading ---------------------------------------------------------------------------------------------------

def proposal_event(row: sqlite3.Row, coder: str | None = None) -> Event:
    return Event(row["recording_id"], row["id"], None, "proposed", row["onset"], row["apex"], row["offset"],
                 row["kind"], row["label"], probability=row["probability"], score=row["score"], region=row["region"],
                 proposed=(row["onset"], row["apex"], row["offset"], row["label"]), coder=coder)


def _event(d: sqlite3.Row, p: sqlite3.Row | None, coder: str) -> Event:
    return Event(d["recording_id"], d["proposal_id"], d["id"], d["status"], d["onset"], d["apex"], d["offset"],
                 d["kind"], d["label"], d["aus"], d["note"],
                 probability=p["probability"] if p is not None else None,
                 score=p["score"] if p is not None else None, region=p["region"] if p is not None else "",
                 proposed=(p["onset"], p["apex"], p["offset"], p["label"]) if p is not None else None,
                 coder=coder, decided_at=d["decided_at"])


def _coder_id(project: Project, coder: str) -> int | None:
    """The coder's id, or None for a name not in the project yet (reading never adds a coder)."""
    row = project.conn.execute("SELECT id FROM coders WHERE name = ?", (coder.strip(),)).fetchone()
    return None if row is None else int(row[0])


def events(project: Project, recording_id: int, coder: str) -> list[Event]:
    cid = _coder_id(project, coder)
    conn = project.conn
    run = project.current_run(recording_id)
    decided = {r["proposal_id"]: r for r in conn.execute(
        "SELECT * FROM decisions WHERE coder_id = ? AND recording_id = ?", (cid, recording_id))}
    out: list[Event] = []
    seen: set[int] = set()
    if run is not None:
        for p in conn.execute("SELECT * FROM proposals WHERE run_id = ?", (run.id,)):
            d = decided.get(p["id"])
            out.append(_event(d, p, coder.strip()) if d is not None else proposal_event(p, coder.strip()))
            seen.add(p["id"])
    for pid, d in decided.items():
        if pid is None or pid in seen:
            continue
        p = conn.execute("SELECT * FROM proposals WHERE id = ?", (pid,)).fetchone()
        out.append(_event(d, p, coder.strip()))
    for d in conn.execute("SELECT * FROM decisions WHERE coder_id = ? AND recording_id = ? AND proposal_id IS NULL",
                          (cid, recording_id)):
        out.append(_event(d, None, coder.strip()))
    out = _without_proposals_judged_before(out, seen)
    return sorted(out, key=lambda e: (e.onset, e.offset, e.proposal_id or 0, e.decision_id or 0))


def _without_proposals_judged_before(events: list[Event], current: set[int]) -> list[Event]:
    """Drop the current run's undecided proposals that propose again what the coder has judged already:
    an interval matching (IoU ≥ 0.5, as agreement matches) an event the coder accepted, edited or
    rejected among an earlier run's proposals, or added. After a new analysis the coder's judgement of a
    movement stands and is not asked for twice; a proposal of something new still shows."""
    judged = [(e.onset, e.offset) for e in events
              if e.decision_id is not None and e.status != "proposed" and e.proposal_id not in current]
    if not judged:
        return events

    def asked_again(e: Event) -> bool:
        return e.decision_id is None and e.proposal_id in current and \
            any(iou((e.onset, e.offset), j) >= IOU_THRESHOLD for j in judged)

    return [e for e in events if not asked_again(e)]


def _state(conn: sqlite3.Connection, decision_id: int) -> dict | None:
    row = conn.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,)).fetchone()
    return None if row is None else {k: row[k] for k in _COLUMNS}


def _change(row: sqlite3.Row, coder: str) -> Change:
    return Change(row["id"], coder, row["action"], row["target"], row["description"], row["at"])


def history(project: Project, coder: str | None, recording_id: int | None) -> list[HistoryEntry]:
    sql = ("SELECT h.decision_id, h.before, h.after, c.id, c.action, c.target, c.description, c.at, k.name "
           "FROM history h JOIN changes c ON c.id = h.change_id JOIN coders k ON k.id = c.coder_id")
    where, args = [], []
    if coder is not None:
        where.append("k.name = ?")
        args.append(coder)
    entries = []
    for r in project.conn.execute(sql + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY h.id", args):
        before, after = loads(r["before"]), loads(r["after"])
        if recording_id is not None and (before or after or {}).get("recording_id") != recording_id:
            continue
        change = Change(r["id"], r["name"], r["action"], r["target"], r["description"], r["at"])
        entries.append(HistoryEntry(change, r["decision_id"], before, after))
    return entries


# validation ------------------------------------------------------------------------------------------------

def _clean(fields: dict, frame_count: int | None) -> dict:
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise ProjectError(f"unknown event field(s): {', '.join(sorted(unknown))} (known: {', '.join(_FIELDS)})")
    out = dict(fields)
    for k in ("onset", "apex", "offset"):
        if k in out:
            out[k] = _frame(k, out[k])
            if out[k] < 0 or (frame_count is not None and out[k] >= frame_count):
                limit = f" (the recording has frames 0…{frame_count - 1})" if frame_count else ""
                raise ProjectError(f"{k} frame {out[k]} is outside the recording{limit}")
    if "aus" in out:
        try:
            out["aus"] = normalize_aus(out["aus"])
        except FacsError as exc:
            raise ProjectError(f"action units {exc}") from None
    if "kind" in out and out["kind"] not in KINDS:
        raise ProjectError(f"kind must be one of {', '.join(KINDS)}, not {out['kind']!r}")
    if "label" in out and out["label"] is not None:
        out["label"] = str(out["label"]).strip() or None
    if "note" in out:
        out["note"] = str(out["note"] or "")
    return out


def _frame(name: str, value) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number.is_integer():
        raise ProjectError(f"{name} must be a frame number, not {value!r}")
    return int(number)


def _check_timing(state: dict) -> None:
    if not state["onset"] <= state["apex"] <= state["offset"]:
        raise ProjectError(f"onset {state['onset']} ≤ apex {state['apex']} ≤ offset {state['offset']} does not hold")


def _kind_for(state: dict, fps: float) -> str:
    return "micro" if (state["offset"] - state["onset"]) / fps <= 0.5 + 1.5 / fps else "macro"


# writing ---------------------------------------------------------------------------------------------------

def _write_state(conn: sqlite3.Connection, decision_id: int, state: dict | None) -> None:
    """Make decision ``decision_id`` be ``state`` (None: delete it)."""
    if state is None:
        conn.execute("DELETE FROM decisions WHERE id = ?", (decision_id,))
        return
    cols = ", ".join(_COLUMNS)
    marks = ", ".join("?" for _ in _COLUMNS)
    conn.execute(f"INSERT OR REPLACE INTO decisions({cols}) VALUES ({marks})", [state[k] for k in _COLUMNS])


def _new_change(conn: sqlite3.Connection, coder_id: int, action: str, description: str,
                target: int | None = None) -> int:
    cur = conn.execute("INSERT INTO changes(coder_id, action, target, description, at) VALUES (?, ?, ?, ?, ?)",
                       (coder_id, action, target, description, now()))
    return int(cur.lastrowid)


def _log(conn: sqlite3.Connection, change_id: int, decision_id: int, before: dict | None, after: dict | None) -> None:
    conn.execute("INSERT INTO history(change_id, decision_id, before, after) VALUES (?, ?, ?, ?)",
                 (change_id, decision_id, None if before is None else json.dumps(before),
                  None if after is None else json.dumps(after)))


def _next_decision_id(conn: sqlite3.Connection) -> int:
    """An id never used before (AUTOINCREMENT's counter, also past ids of deleted rows)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'decisions'").fetchone()
    used = conn.execute("SELECT max(decision_id) FROM history").fetchone()[0] or 0
    return max(row[0] if row else 0, used) + 1


def _commit_change(project: Project, coder: str, action: str, description: str,
                   updates: Sequence[tuple[int, dict | None, dict | None]]) -> Change:
    c = project.coder(coder)
    with project.write() as conn:
        change_id = _new_change(conn, c.id, action, description)
        for decision_id, before, after in updates:
            _write_state(conn, decision_id, after)
            _log(conn, change_id, decision_id, before, after)
        row = conn.execute("SELECT * FROM changes WHERE id = ?", (change_id,)).fetchone()
    return _change(row, c.name)


def decide(project: Project, coder: str, proposal_id: int, status: str | None, fields: dict) -> Change:
    if status is not None and status not in STATUSES or status == "added":
        raise ProjectError(f"a decision on a proposal is one of proposed, accepted, rejected, edited; not {status!r}")
    conn = project.conn
    p = conn.execute("SELECT * FROM proposals WHERE id = ?", (proposal_id,)).fetchone()
    if p is None:
        raise ProjectError(f"project '{project.path}' has no proposed event {proposal_id}")
    rec = project.recording(int(p["recording_id"]))
    fields = _clean(fields, rec.frame_count)
    c = project.coder(coder)
    row = conn.execute("SELECT * FROM decisions WHERE coder_id = ? AND proposal_id = ?", (c.id, proposal_id)).fetchone()
    before = None if row is None else {k: row[k] for k in _COLUMNS}
    with project.write() as w:  # the id is reserved inside the write lock
        decision_id = before["id"] if before else _next_decision_id(w)
        state = dict(before) if before else {
            "id": decision_id, "coder_id": c.id, "recording_id": p["recording_id"], "proposal_id": proposal_id,
            "status": "proposed", "onset": p["onset"], "apex": p["apex"], "offset": p["offset"], "kind": p["kind"],
            "label": p["label"], "aus": "", "note": ""}
        state.update(fields)
        _check_timing(state)
        if status is not None:
            state["status"] = status
        differs = (state["onset"], state["apex"], state["offset"], state["label"]) != \
                  (p["onset"], p["apex"], p["offset"], p["label"])
        if differs and state["status"] in ("accepted", "proposed"):
            state["status"] = "edited"
        elif not differs and state["status"] == "edited":
            state["status"] = "accepted"
        state["decided_at"] = now()
        change_id = _new_change(w, c.id, "record", _describe(state, before, f"proposal {proposal_id}"))
        _write_state(w, decision_id, state)
        _log(w, change_id, decision_id, before, state)
        crow = w.execute("SELECT * FROM changes WHERE id = ?", (change_id,)).fetchone()
    return _change(crow, c.name)


def _describe(state: dict, before: dict | None, what: str) -> str:
    if before is None or before["status"] != state["status"]:
        return f"{state['status']} {what}"
    changed = [k for k in _FIELDS if before.get(k) != state.get(k)]
    return f"{what}: {', '.join(changed) or 'no change'}"


def add_event(project: Project, coder: str, recording_id: int, onset: int, apex: int, offset: int,
              fields: dict) -> Change:
    item = {"recording_id": recording_id, "onset": onset, "apex": apex, "offset": offset, **fields}
    return _add_many(project, coder, [check_event(project.recording(recording_id), item)], "record", "added event")


def import_events(project: Project, coder: str, events: Sequence[dict], source: str) -> Change:
    if not events:
        raise ProjectError(f"{source}: no events to import")
    checked = []
    for i, item in enumerate(events):
        try:
            checked.append(check_event(project.recording(item.get("recording_id")), item))
        except ProjectError as exc:
            raise ProjectError(f"{source}: event {i + 1}: {exc}") from None
    return _add_many(project, coder, checked, "import", f"imported {len(events)} events from {source}")


def check_event(recording: Recording, item: dict) -> dict:
    """An added event's fields checked against ``recording`` (frames inside it, onset ≤ apex ≤ offset,
    FACS codes); ``kind`` from the duration when not given. ProjectError says what is wrong."""
    f = _clean({k: v for k, v in item.items() if k != "recording_id"}, recording.frame_count)
    for k in ("onset", "apex", "offset"):
        if k not in f:
            raise ProjectError(f"{k} is missing")
    state = {"kind": None, "label": None, "aus": "", "note": "", **f, "recording_id": recording.id}
    _check_timing(state)
    state["kind"] = state["kind"] or _kind_for(state, recording.fps)
    return state


def _add_many(project: Project, coder: str, items: Sequence[dict], action: str, description: str) -> Change:
    c = project.coder(coder)
    with project.write() as w:
        change_id = _new_change(w, c.id, action, description)
        next_id = _next_decision_id(w)
        stamp = now()
        for k, item in enumerate(items):
            state = {**item, "id": next_id + k, "coder_id": c.id, "proposal_id": None, "status": "added",
                     "decided_at": stamp}
            _write_state(w, state["id"], state)
            _log(w, change_id, state["id"], None, state)
        crow = w.execute("SELECT * FROM changes WHERE id = ?", (change_id,)).fetchone()
    return _change(crow, c.name)


def _added(project: Project, coder: str, decision_id: int) -> dict:
    state = _state(project.conn, decision_id)
    c = project.coder(coder)
    if state is None or state["proposal_id"] is not None or state["coder_id"] != c.id:
        raise ProjectError(f"coder '{coder}' has no added event {decision_id}")
    return state


def edit_added(project: Project, coder: str, decision_id: int, fields: dict) -> Change:
    before = _added(project, coder, decision_id)
    rec = project.recording(before["recording_id"])
    state = {**before, **_clean(fields, rec.frame_count), "decided_at": now()}
    _check_timing(state)
    return _commit_change(project, coder, "record", _describe(state, before, f"added event {decision_id}"),
                          [(decision_id, before, state)])


def delete_added(project: Project, coder: str, decision_id: int) -> Change:
    before = _added(project, coder, decision_id)
    return _commit_change(project, coder, "record", f"deleted added event {decision_id}",
                          [(decision_id, before, None)])


# undo / redo -----------------------------------------------------------------------------------------------

def stacks(project: Project, coder: str) -> tuple[list[int], list[int]]:
    cid = _coder_id(project, coder)
    applied: list[int] = []
    undone: list[int] = []
    for r in project.conn.execute("SELECT id, action, target FROM changes WHERE coder_id = ? ORDER BY id", (cid,)):
        if r["action"] in ("record", "import"):
            applied.append(r["id"])
            undone.clear()
        elif r["action"] == "undo" and applied and applied[-1] == r["target"]:
            undone.append(applied.pop())
        elif r["action"] == "redo" and undone and undone[-1] == r["target"]:
            applied.append(undone.pop())
    return applied, undone


def _apply(project: Project, change_id: int, action: str) -> Change:
    conn = project.conn
    target = conn.execute("SELECT c.*, k.name FROM changes c JOIN coders k ON k.id = c.coder_id WHERE c.id = ?",
                          (change_id,)).fetchone()
    if target is None:
        raise ProjectError(f"project '{project.path}' has no change {change_id}")
    coder = target["name"]
    with project.write() as w:  # the stacks are read inside the write lock: another process cannot interleave
        applied, undone = stacks(project, coder)
        if action == "undo" and (not applied or applied[-1] != change_id):
            raise ProjectError(f"change {change_id} is not {coder}'s latest change; undo the later ones first")
        if action == "redo" and (not undone or undone[-1] != change_id):
            raise ProjectError(f"change {change_id} is not {coder}'s next change to redo")
        rows = w.execute("SELECT * FROM history WHERE change_id = ? ORDER BY id", (change_id,)).fetchall()
        new_id = _new_change(w, target["coder_id"], action, f"{action} {target['description']}", change_id)
        for h in (reversed(rows) if action == "undo" else rows):
            current = _state(w, h["decision_id"])
            wanted = loads(h["before"] if action == "undo" else h["after"])
            _write_state(w, h["decision_id"], wanted)
            _log(w, new_id, h["decision_id"], current, wanted)
        crow = w.execute("SELECT * FROM changes WHERE id = ?", (new_id,)).fetchone()
    return _change(crow, coder)


def revert(project: Project, change_id: int) -> Change:
    return _apply(project, change_id, "undo")


def reapply(project: Project, change_id: int) -> Change:
    return _apply(project, change_id, "redo")


def undo(project: Project, coder: str) -> Change | None:
    applied, _ = stacks(project, coder)
    return revert(project, applied[-1]) if applied else None


def redo(project: Project, coder: str) -> Change | None:
    _, undone = stacks(project, coder)
    return reapply(project, undone[-1]) if undone else None
