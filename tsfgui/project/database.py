"""Opening a project's SQLite file: checks, migrations, WAL, and one transaction per change.

Every error a user can meet here is a :class:`ProjectError` of one line that names the file, what is
wrong and what to do: a missing file, a file that is not SQLite or is damaged, an SQLite file that is
not a project, a project of a newer schema. A file the user may not write is opened read-only.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from . import schema

#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_S = 30.0


class ProjectError(Exception):
    """A project that cannot be opened or changed; the message is one line for the user."""


def now() -> str:
    """The current time, UTC, ISO 8601 with milliseconds (sortable as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                               isolation_level=None)
    else:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def open_database(path: str | os.PathLike, *, create: bool = False,
                  read_only: bool = False) -> tuple[sqlite3.Connection, bool, Path | None]:
    """Open (or with ``create`` make) the project at ``path``.

    Returns ``(connection, read_only, backup)``: ``read_only`` is True when the file could only be
    opened for reading; ``backup`` is the copy made before migrating an older schema (else None).
    """
    p = Path(path)
    if create:
        if p.exists():
            raise ProjectError(f"'{p}' already exists; open it, or choose another name for the new project")
        if not p.parent.is_dir():
            raise ProjectError(f"cannot create project '{p}': folder '{p.parent}' does not exist")
    elif not p.exists():
        raise ProjectError(f"project file not found: '{p}' (create one with: tsfgui project new {p})")
    elif p.is_dir():
        raise ProjectError(f"'{p}' is a folder, not a project file (*.tsfproj)")
    if not create and not read_only and not os.access(p, os.W_OK):
        read_only = True
    try:
        conn = _connect(p, read_only)
        check = conn.execute("PRAGMA quick_check").fetchone()[0]  # reads every page's structure, not the data
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise ProjectError(f"'{p}' is not a tsfgui project: {_why(exc)}") from None
    if check != "ok":
        conn.close()
        raise ProjectError(f"'{p}' is not a tsfgui project: the database is damaged ({check.splitlines()[0]}); "
                           f"restore it from a backup (*.bak) or a copy")
    try:
        backup = _prepare(conn, p, create, read_only)
    except sqlite3.OperationalError as exc:
        conn.close()
        if "readonly" in str(exc) or "read-only" in str(exc):
            return open_database(p, read_only=True)
        raise ProjectError(f"project '{p}' cannot be opened: {exc}") from None
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        conn.close()
        raise ProjectError(f"'{p}' is not a tsfgui project: {_why(exc)}") from None
    except BaseException:
        conn.close()
        raise
    return conn, read_only, backup


def _why(exc: Exception) -> str:
    text = str(exc)
    if "not a database" in text:
        return "the file is not an SQLite database"
    if "malformed" in text or isinstance(exc, UnicodeDecodeError):
        return "the database is damaged (malformed); restore it from a backup (*.bak) or a copy"
    return text


def _prepare(conn: sqlite3.Connection, path: Path, create: bool, read_only: bool) -> Path | None:
    v = schema.version(conn)
    if v > schema.SCHEMA_VERSION:
        raise ProjectError(f"project '{path}' has schema version {v}, newer than version {schema.SCHEMA_VERSION} "
                           f"that this tsfgui reads; update tsfgui to open it")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not create and (v == 0 or "meta" not in tables):
        raise ProjectError(f"'{path}' is an SQLite database but not a tsfgui project (no project tables)")
    if not create:
        row = conn.execute("SELECT value FROM meta WHERE key = 'application'").fetchone()
        if row is None or row[0] != schema.APPLICATION:
            raise ProjectError(f"'{path}' is an SQLite database but not a tsfgui project")
    if not read_only:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    backup = None
    if create:
        schema.migrate(conn)
        with transaction(conn):
            conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                             [("application", schema.APPLICATION), ("created_at", now())])
    elif v < schema.SCHEMA_VERSION:
        if read_only:
            raise ProjectError(f"project '{path}' has the older schema version {v} and must be upgraded to "
                               f"{schema.SCHEMA_VERSION}, but the file is read-only; make it writable once")
        backup = path.with_name(f"{path.name}.v{v}.bak")
        schema.backup(conn, backup)
        schema.migrate(conn)
    return backup


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any error): other processes' writes wait."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
