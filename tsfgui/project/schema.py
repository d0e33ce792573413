"""The project database: its tables, its schema version and the migrations between versions.

The version lives in ``PRAGMA user_version``. :data:`MIGRATIONS` holds, for each version, the SQL that
brings a database from the version before to it; a new database runs them all. A database of an older
version is copied to ``<file>.v<N>.bak`` (SQLite's online backup) before it is migrated, in one
transaction; one of a newer version is refused (:class:`SchemaTooNew`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: Version 1: recordings, analysis runs (signals as a compressed numpy BLOB), the tool's proposals,
#: coders, decisions and the append-only history of changes.
_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE recordings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    path        TEXT NOT NULL UNIQUE,      -- relative to the project's folder when inside it, else absolute
    kind        TEXT NOT NULL CHECK (kind IN ('video', 'folder')),
    fingerprint TEXT NOT NULL UNIQUE,      -- size + SHA-256 of the first and last MiB (see fingerprint.py)
    size_bytes  INTEGER NOT NULL,
    fps         REAL NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    frame_count INTEGER,
    duration_s  REAL,
    subject     TEXT NOT NULL DEFAULT '',
    session     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'analysed', 'failed')),
    message     TEXT NOT NULL DEFAULT '',
    added_at    TEXT NOT NULL
);
CREATE TABLE runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    recording_id        INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    identity            TEXT NOT NULL,     -- hash of the weights' fingerprint and the settings
    weights             TEXT,
    weights_fingerprint TEXT,
    settings            TEXT NOT NULL,     -- JSON
    tool_version        TEXT NOT NULL,
    class_names         TEXT NOT NULL,     -- JSON list
    frames              INTEGER NOT NULL,
    seconds             REAL NOT NULL,
    warning             TEXT NOT NULL DEFAULT '',
    signals             BLOB,              -- np.savez_compressed: index, reference, values (frames x regions), keys
    finished_at         TEXT NOT NULL
);
CREATE INDEX runs_by_recording ON runs(recording_id, identity);
CREATE TABLE proposals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    onset        INTEGER NOT NULL,
    apex         INTEGER NOT NULL,
    offset       INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    label        TEXT,
    probability  REAL,
    region       TEXT NOT NULL DEFAULT '',
    score        REAL NOT NULL DEFAULT 0,
    CHECK (onset <= apex AND apex <= offset)
);
CREATE INDEX proposals_by_run ON proposals(run_id, onset);
CREATE TABLE coders (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    name  TEXT NOT NULL UNIQUE,
    role  TEXT NOT NULL DEFAULT 'coder',
    added_at TEXT NOT NULL
);
CREATE TABLE decisions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: an undone 'added' event comes back with its id
    coder_id     INTEGER NOT NULL REFERENCES coders(id),
    recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    proposal_id  INTEGER REFERENCES proposals(id) ON DELETE CASCADE,  -- NULL: an event the coder added
    status       TEXT NOT NULL CHECK (status IN ('proposed', 'accepted', 'rejected', 'edited', 'added')),
    onset        INTEGER,
    apex         INTEGER,
    offset       INTEGER,
    kind         TEXT,
    label        TEXT,
    aus          TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    decided_at   TEXT NOT NULL,
    UNIQUE (coder_id, proposal_id),
    CHECK ((proposal_id IS NULL) = (status = 'added')),
    CHECK (status != 'added' OR (onset IS NOT NULL AND apex IS NOT NULL AND offset IS NOT NULL))
);
CREATE INDEX decisions_by_recording ON decisions(recording_id, coder_id);
-- one row per user action (record, import, undo, redo); append-only
CREATE TABLE changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    coder_id    INTEGER NOT NULL REFERENCES coders(id),
    action      TEXT NOT NULL CHECK (action IN ('record', 'import', 'undo', 'redo')),
    target      INTEGER REFERENCES changes(id),   -- the change an undo/redo applies to
    description TEXT NOT NULL,
    at          TEXT NOT NULL
);
-- what one change did to each decision: its state before and after (JSON, NULL = no decision)
CREATE TABLE history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id   INTEGER NOT NULL REFERENCES changes(id),
    decision_id INTEGER NOT NULL,
    before      TEXT,
    after       TEXT
);
CREATE INDEX history_by_change ON history(change_id);
CREATE INDEX history_by_decision ON history(decision_id);
CREATE TRIGGER history_is_append_only_u BEFORE UPDATE ON history
    BEGIN SELECT RAISE(ABORT, 'the decision history is append-only'); END;
CREATE TRIGGER history_is_append_only_d BEFORE DELETE ON history
    BEGIN SELECT RAISE(ABORT, 'the decision history is append-only'); END;
CREATE TRIGGER changes_are_append_only_u BEFORE UPDATE ON changes
    BEGIN SELECT RAISE(ABORT, 'the decision history is append-only'); END;
CREATE TRIGGER changes_are_append_only_d BEFORE DELETE ON changes
    BEGIN SELECT RAISE(ABORT, 'the decision history is append-only'); END;
"""

#: Version 2: a log of the exports made from the project (what was written where, for whom).
_V2 = """
CREATE TABLE exports (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    format   TEXT NOT NULL,
    out_dir  TEXT NOT NULL,
    coder    TEXT,
    final    INTEGER NOT NULL,
    files    INTEGER NOT NULL,
    at       TEXT NOT NULL
);
"""

#: Version 3: each run's seconds per analysis stage (JSON), beside its total.
_V3 = """
ALTER TABLE runs ADD COLUMN timings TEXT NOT NULL DEFAULT '{}';
"""

#: SQL per schema version: MIGRATIONS[v - 1] brings version v - 1 to v.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
SCHEMA_VERSION = len(MIGRATIONS)
#: Written into ``meta`` so that ``file`` and a reader can tell a project from another SQLite file.
APPLICATION = "tsfgui-project"


class SchemaTooNew(Exception):
    """The database was written by a newer tsfgui."""


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to ``target`` in one transaction; returns the version it had before."""
    current = version(conn)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(current)
    if current >= target:
        return current
    conn.execute("BEGIN IMMEDIATE")
    try:
        for v in range(current, target):
            for statement in _statements(MIGRATIONS[v]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current


def _statements(script: str) -> list[str]:
    """The statements of ``script`` (``executescript`` would commit the open transaction)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def backup(conn: sqlite3.Connection, path: Path) -> Path:
    """A consistent copy of the open database at ``path`` (SQLite's online backup)."""
    target = sqlite3.connect(path)
    try:
        conn.backup(target)
    finally:
        target.close()
    return path
