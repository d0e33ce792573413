"""A project: one SQLite file with recordings, analysis runs, the tool's proposals and each coder's decisions.

Open one with :meth:`Project.create` / :meth:`Project.open` (or :func:`open_project`). Every change is one
transaction; decisions go through :mod:`tsfgui.project.decisions`, which keeps the append-only history
and undo/redo per coder. Paths of recordings inside the project's folder are stored relative to it, so a
project folder can be moved whole; a recording moved on its own is found again by
:meth:`Project.relink`.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from tsfgui import __version__

from . import decisions
from .database import ProjectError, now, open_database, transaction
from .fingerprint import fingerprint
from .records import TOOL, Change, Coder, Event, HistoryEntry, Recording, Run

SUFFIX = ".tsfproj"
#: The columns of a run without its signals (a BLOB of megabytes, read only by :meth:`Project.signals`).
_RUN = ("id, recording_id, identity, weights, weights_fingerprint, settings, tool_version, class_names, frames, "
        "seconds, warning, finished_at, timings")


@dataclass
class AddReport:
    added: list[Recording] = field(default_factory=list)
    already: list[Path] = field(default_factory=list)      # in the project before (same content)
    failed: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class RelinkReport:
    found: list[tuple[Recording, Path]] = field(default_factory=list)   # (recording, its new location)
    missing: list[Recording] = field(default_factory=list)               # still nowhere to be found


class Project:
    """An open project. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False, read_only: bool = False):
        self.path = Path(path)
        self.conn, self.read_only, self.migrated_from = open_database(self.path, create=create, read_only=read_only)
        self.folder = self.path.resolve().parent

    @classmethod
    def create(cls, path: str | os.PathLike) -> "Project":
        """A new, empty project file at ``path`` (refused when it exists)."""
        return cls(path, create=True)

    @classmethod
    def open(cls, path: str | os.PathLike, *, read_only: bool = False) -> "Project":
        """An existing project (older schemas are migrated after a backup copy; see :mod:`.schema`)."""
        return cls(path, read_only=read_only)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _writable(self) -> sqlite3.Connection:
        if self.read_only:
            raise ProjectError(f"project '{self.path}' is open read-only (the file is not writable); "
                               f"nothing can be changed")
        return self.conn

    def write(self):
        """A write transaction on this project (see :func:`.database.transaction`)."""
        return transaction(self._writable())

    # recordings ------------------------------------------------------------------------------------------
    def _stored_path(self, location: Path) -> str:
        location = location.resolve()
        try:
            return location.relative_to(self.folder).as_posix()
        except ValueError:
            return str(location)

    def _recording(self, row: sqlite3.Row) -> Recording:
        stored = row["path"]
        location = Path(stored) if Path(stored).is_absolute() else self.folder / stored
        return Recording(row["id"], stored, location, row["kind"], row["fingerprint"], row["size_bytes"], row["fps"],
                         row["width"], row["height"], row["frame_count"], row["duration_s"], row["subject"],
                         row["session"], row["status"], row["message"])

    def recordings(self) -> list[Recording]:
        """Every recording, in the order added."""
        return [self._recording(r) for r in self.conn.execute("SELECT * FROM recordings ORDER BY id")]

    def recording(self, ref: int | str) -> Recording:
        """A recording by id, stored path, file/folder name or stem; ProjectError naming the choices otherwise."""
        recs = self.recordings()
        for r in recs:
            if (isinstance(ref, int) and r.id == ref) or str(ref) in (str(r.id), r.path, r.location.name, r.name):
                return r
        names = ", ".join(r.name for r in recs[:10]) or "none yet (add some with: tsfgui project add)"
        raise ProjectError(f"project '{self.path}' has no recording '{ref}'; it has: {names}")

    def add_recordings(self, paths: Sequence[str | os.PathLike], *, subject: str | None = None,
                       session: str = "", fps: float | None = None) -> AddReport:
        """Add videos and frame folders (each probed for size, frame rate and frame count). ``subject``
        defaults to the parent folder's name for a frame folder (CASME II ``sub01/EP02_01f``) and to the
        file's stem for a video; one with content already in the project is reported, not added twice."""
        from tsfgui.io import SourceError, open_source

        report = AddReport()
        for raw in paths:
            p = Path(raw).expanduser()
            try:
                with open_source(p, fps=fps) as source:
                    info = source.info
                fp, size = fingerprint(p)
            except (SourceError, OSError) as exc:
                report.failed.append((p, str(exc)))
                continue
            kind = "folder" if p.is_dir() else "video"
            subj = subject if subject is not None else (p.resolve().parent.name if kind == "folder" else p.stem)
            with self.write() as c:
                if c.execute("SELECT 1 FROM recordings WHERE fingerprint = ? OR path = ?",
                             (fp, self._stored_path(p))).fetchone():
                    report.already.append(p)
                    continue
                cur = c.execute(
                    "INSERT INTO recordings(path, kind, fingerprint, size_bytes, fps, width, height, frame_count, "
                    "duration_s, subject, session, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (self._stored_path(p), kind, fp, size, info.fps, info.width, info.height, info.frame_count,
                     info.duration_s, subj, session, now()))
            report.added.append(self.recording(int(cur.lastrowid)))
        return report

    def set_subject(self, recording_id: int, subject: str, session: str | None = None) -> None:
        """Set the subject (the unit of leave-one-subject-out) and optionally the session of a recording."""
        with self.write() as c:
            c.execute("UPDATE recordings SET subject = ?, session = coalesce(?, session) WHERE id = ?",
                      (subject, session, recording_id))

    def missing(self) -> list[Recording]:
        """Recordings not found where the project expects them."""
        return [r for r in self.recordings() if not r.exists]

    def relink(self, folder: str | os.PathLike) -> RelinkReport:
        """Find missing recordings under ``folder`` by their content fingerprint and store their new paths."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ProjectError(f"relink: '{folder}' is not a folder")
        report = RelinkReport()
        lost = self.missing()
        if not lost:
            return report
        from tsfgui.batch import expand_inputs  # the discovery of `analyze` and `project add`

        by_print: dict[str, Path] = {}
        sizes = {r.size_bytes for r in lost}
        for cand in expand_inputs([folder]):
            if cand.is_file() and cand.stat().st_size not in sizes:
                continue
            fp, _ = fingerprint(cand)
            by_print.setdefault(fp, cand)
        with self.write() as c:
            for r in lost:
                new = by_print.get(r.fingerprint)
                if new is None:
                    report.missing.append(r)
                else:
                    c.execute("UPDATE recordings SET path = ? WHERE id = ?", (self._stored_path(new), r.id))
                    report.found.append((r, new))
        return report

    # analysis runs ---------------------------------------------------------------------------------------
    def _run(self, row: sqlite3.Row) -> Run:
        return Run(row["id"], row["recording_id"], row["identity"], row["weights"], row["weights_fingerprint"],
                   json.loads(row["settings"]), row["tool_version"], tuple(json.loads(row["class_names"])),
                   row["frames"], row["seconds"], row["warning"], row["finished_at"], json.loads(row["timings"]))

    def find_run(self, recording_id: int, identity: str) -> Run | None:
        """The latest finished run of a recording with this identity (same weights and settings)."""
        row = self.conn.execute(f"SELECT {_RUN} FROM runs WHERE recording_id = ? AND identity = ? ORDER BY id DESC "
                                "LIMIT 1", (recording_id, identity)).fetchone()
        return None if row is None else self._run(row)

    def current_run(self, recording_id: int) -> Run | None:
        """The recording's latest finished analysis run (None before the first)."""
        row = self.conn.execute(f"SELECT {_RUN} FROM runs WHERE recording_id = ? ORDER BY id DESC LIMIT 1",
                                (recording_id,)).fetchone()
        return None if row is None else self._run(row)

    def save_run(self, recording_id: int, *, identity: str, weights: str | None, weights_fingerprint: str | None,
                 settings: dict, class_names: Sequence[str], frames: int, seconds: float, warning: str,
                 proposals: Iterable[dict], signals: dict[str, np.ndarray] | None = None,
                 timings: dict[str, float] | None = None) -> Run:
        """Store a finished analysis of a recording with its proposals, signals and seconds per stage, in
        one transaction."""
        blob = None
        if signals is not None:
            buf = io.BytesIO()
            np.savez_compressed(buf, **signals)
            blob = buf.getvalue()
        with self.write() as c:
            cur = c.execute(
                "INSERT INTO runs(recording_id, identity, weights, weights_fingerprint, settings, tool_version, "
                "class_names, frames, seconds, warning, signals, finished_at, timings) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (recording_id, identity, weights, weights_fingerprint, json.dumps(settings, sort_keys=True),
                 __version__, json.dumps(list(class_names)), frames, seconds, warning, blob, now(),
                 json.dumps(timings or {})))
            run_id = int(cur.lastrowid)
            c.executemany(
                "INSERT INTO proposals(run_id, recording_id, onset, apex, offset, kind, label, probability, region, "
                "score) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(run_id, recording_id, int(p["onset"]), int(p["apex"]), int(p["offset"]), p["kind"],
                  p.get("label"), p.get("probability"), p.get("region") or "", float(p.get("score") or 0.0))
                 for p in proposals])
            c.execute("UPDATE recordings SET status = 'analysed', message = ? WHERE id = ?", (warning, recording_id))
        return self.current_run(recording_id)  # type: ignore[return-value]

    def mark_failed(self, recording_id: int, message: str) -> None:
        with self.write() as c:
            c.execute("UPDATE recordings SET status = 'failed', message = ? WHERE id = ?", (message, recording_id))

    def signals(self, run_id: int) -> dict[str, np.ndarray]:
        """The per-frame signals stored with a run (``index``, ``values`` frames × regions, ``keys`` …)."""
        row = self.conn.execute("SELECT signals FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None or row[0] is None:
            return {}
        with np.load(io.BytesIO(row[0]), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    # coders ----------------------------------------------------------------------------------------------
    def coder(self, name: str, *, create: bool = True, role: str = "coder") -> Coder:
        """The coder ``name``, added on first use (``create``)."""
        name = name.strip()
        if not name or name == TOOL:
            raise ProjectError(f"'{name}' cannot be a coder's name" + (" (it stands for the tool's proposals)"
                                                                     if name == TOOL else ""))
        row = self.conn.execute("SELECT * FROM coders WHERE name = ?", (name,)).fetchone()
        if row is None:
            if not create:
                known = ", ".join(c.name for c in self.coders()) or "none yet"
                raise ProjectError(f"project '{self.path}' has no coder '{name}' (coders: {known})")
            with self.write() as c:
                c.execute("INSERT OR IGNORE INTO coders(name, role, added_at) VALUES (?, ?, ?)", (name, role, now()))
            row = self.conn.execute("SELECT * FROM coders WHERE name = ?", (name,)).fetchone()
        return Coder(row["id"], row["name"], row["role"])

    def coders(self) -> list[Coder]:
        return [Coder(r["id"], r["name"], r["role"]) for r in self.conn.execute("SELECT * FROM coders ORDER BY id")]

    # events and decisions (see decisions.py) ------------------------------------------------------------
    def proposals(self, recording_id: int, run_id: int | None = None) -> list[Event]:
        """The tool's proposals of a recording (its current run unless ``run_id``), as undecided events."""
        run = run_id if run_id is not None else getattr(self.current_run(recording_id), "id", None)
        if run is None:
            return []
        rows = self.conn.execute("SELECT * FROM proposals WHERE run_id = ? ORDER BY onset, id", (run,))
        return [decisions.proposal_event(r) for r in rows]

    def events(self, recording_id: int, coder: str) -> list[Event]:
        """The events of a recording as ``coder`` sees them (sorted by onset): the current run's proposals
        with the coder's decisions, proposals of earlier runs the coder decided on, and added events; an
        undecided proposal matching (IoU ≥ 0.5) a movement the coder judged before is left out."""
        return decisions.events(self, recording_id, coder)

    def final_events(self, recording_id: int, rater: str) -> list[Event]:
        """A coder's accepted, edited and added events, or (``rater == "tool"``) the tool's proposals."""
        if rater == TOOL:
            return self.proposals(recording_id)
        return [e for e in self.events(recording_id, rater) if e.final]

    def decide(self, coder: str, proposal_id: int, status: str | None = None, **fields) -> Change:
        """Record ``coder``'s decision on a proposal: a ``status`` (accepted / rejected / edited / proposed)
        and/or corrected fields (``onset``, ``apex``, ``offset``, ``label``, ``kind``, ``aus``, ``note``).
        Fields not given keep their value; a timing or label that differs from the proposal makes an
        accepted event ``edited``. One undoable change."""
        return decisions.decide(self, coder, proposal_id, status, fields)

    def add_event(self, coder: str, recording_id: int, onset: int, apex: int, offset: int, **fields) -> Change:
        """An event the tool missed, added by ``coder`` (fields: ``label``, ``kind``, ``aus``, ``note``)."""
        return decisions.add_event(self, coder, recording_id, onset, apex, offset, fields)

    def edit_added(self, coder: str, decision_id: int, **fields) -> Change:
        """Change an event ``coder`` added (timing, label, kind, AUs, note)."""
        return decisions.edit_added(self, coder, decision_id, fields)

    def delete_added(self, coder: str, decision_id: int) -> Change:
        """Remove an event ``coder`` added (undoable like every change)."""
        return decisions.delete_added(self, coder, decision_id)

    def import_events(self, coder: str, events: Sequence[dict], source: str) -> Change:
        """Add annotations (each a dict with ``recording_id``, ``onset``, ``apex``, ``offset`` and optionally
        ``label``, ``kind``, ``aus``, ``note``) as ``coder``'s added events: all checked first, then written
        in one transaction as one undoable change; a bad one imports nothing."""
        return decisions.import_events(self, coder, events, source)

    def undo(self, coder: str) -> Change | None:
        """Undo ``coder``'s latest change that is not undone yet (None when there is none)."""
        return decisions.undo(self, coder)

    def redo(self, coder: str) -> Change | None:
        """Redo ``coder``'s latest undone change (None when there is none, or a new change came after it)."""
        return decisions.redo(self, coder)

    def revert(self, change_id: int) -> Change:
        """Undo this change; it must be its coder's latest applied change (what a QUndoStack's undo does)."""
        return decisions.revert(self, change_id)

    def reapply(self, change_id: int) -> Change:
        """Redo this undone change; it must be its coder's next redoable change (a QUndoStack's redo)."""
        return decisions.reapply(self, change_id)

    def undo_stack(self, coder: str) -> tuple[list[int], list[int]]:
        """``(applied, undone)``: ids of ``coder``'s undoable changes (oldest first) and redoable ones
        (next to redo last)."""
        return decisions.stacks(self, coder)

    def history(self, coder: str | None = None, recording_id: int | None = None) -> list[HistoryEntry]:
        """Every change to decisions, oldest first (optionally of one coder / one recording)."""
        return decisions.history(self, coder, recording_id)

    # summary ---------------------------------------------------------------------------------------------
    def status_rows(self) -> list[dict]:
        """Per recording: its analysis state, the tool's proposal count, and per coder the counts of
        proposed (undecided) / accepted / rejected / edited / added events."""
        rows = []
        coders = self.coders()
        for r in self.recordings():
            run = self.current_run(r.id)
            n_prop = len(self.proposals(r.id)) if run else 0
            row = {"id": r.id, "recording": r.name, "subject": r.subject, "status": r.status,
                   "present": r.exists, "frames": r.frame_count, "proposals": n_prop, "coders": {}}
            for c in coders:
                counts = {s: 0 for s in ("proposed", "accepted", "rejected", "edited", "added")}
                for e in self.events(r.id, c.name):
                    counts[e.status] += 1
                row["coders"][c.name] = counts
            rows.append(row)
        return rows

    def log_export(self, fmt: str, out_dir: Path, coder: str | None, final: bool, files: int) -> None:
        with self.write() as c:
            c.execute("INSERT INTO exports(format, out_dir, coder, final, files, at) VALUES (?,?,?,?,?,?)",
                      (fmt, str(out_dir), coder, int(final), files, now()))

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` (``"ok"`` for a sound file)."""
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]


def open_project(path: str | os.PathLike, *, read_only: bool = False) -> Project:
    """Open the project at ``path`` (see :meth:`Project.open`)."""
    return Project.open(path, read_only=read_only)
