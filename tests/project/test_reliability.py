"""A project survives what happens to files on real machines: a killed process, another tsfgui version,
moved recordings, two processes at once, damaged or foreign files."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tsfgui.project import Project, ProjectError
from tsfgui.project import schema

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


WRITER = """
    import sys
    from tsfgui.project import Project
    p = Project.open(sys.argv[1])
    rec = p.recordings()[0]
    coder = sys.argv[2]
    i = 0
    while True:
        change = p.add_event(coder, rec.id, i % 50, i % 50 + 1, i % 50 + 2, note=f"event {i}")
        print(change.id, flush=True)
        i += 1
        if len(sys.argv) > 3 and i >= int(sys.argv[3]):
            break
"""


def test_sigkill_while_writing_loses_at_most_the_decision_in_flight(project):
    path = str(project.path)
    project.close()
    proc = _python(WRITER, path, "A")
    committed = []
    while len(committed) < 40:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        committed.append(int(line))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # the writer runs on while the 40th line is read: what it reported before the kill is still in the pipe
    committed += [int(line) for line in proc.stdout.read().split()]
    with Project.open(path) as p:
        assert p.integrity() == "ok"
        changes = {h.change.id for h in p.history("A")}
        assert set(committed) <= changes  # every change reported as committed is there
        assert len(changes) - len(committed) <= 1  # at most the one in flight beyond what was reported
        notes = {e.note for e in p.events(p.recordings()[0].id, "A")}
        assert {f"event {i}" for i in range(40)} <= notes


def test_two_processes_write_to_one_project_and_nothing_is_lost(project):
    path = str(project.path)
    project.close()
    writers = [_python(WRITER, path, coder, "60") for coder in ("A", "B")]
    for w in writers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    with Project.open(path) as p:
        rec = p.recordings()[0]
        for coder in ("A", "B"):
            assert len([e for e in p.events(rec.id, coder) if e.status == "added"]) == 60
        assert p.integrity() == "ok"


def test_a_writer_waits_for_another_process_transaction(project):
    path = str(project.path)
    rec = project.recordings()[0]
    holder = _python("""
        import sqlite3, sys, time
        c = sqlite3.connect(sys.argv[1], isolation_level=None)
        c.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        time.sleep(1.5)
        c.execute("COMMIT")
    """, path)
    assert holder.stdout.readline().strip() == "locked"
    project.add_event("A", rec.id, 1, 2, 3)  # waits for the lock instead of failing
    holder.wait(timeout=30)
    assert holder.returncode == 0
    assert len(project.history("A")) == 1


def test_a_read_only_file_opens_read_only_with_a_clear_message(project, tmp_path):
    rec = project.recordings()[0]
    project.decide("A", project.proposals(rec.id)[0].proposal_id, "accepted")
    path = project.path
    project.close()
    os.chmod(path, 0o444)
    try:  # root may write to any file: there, the read-only mode is asked for as the app's second instance would
        with Project.open(path, read_only=os.geteuid() == 0) as p:
            assert p.read_only
            assert p.events(rec.id, "A")[0].status == "accepted"
            assert {e.status for e in p.events(rec.id, "nobody yet")} == {"proposed"}  # reading adds no coder
            with pytest.raises(ProjectError, match="open read-only"):
                p.decide("A", p.proposals(rec.id)[1].proposal_id, "accepted")
    finally:
        os.chmod(path, 0o644)


def test_a_newer_schema_is_refused_naming_both_versions(project):
    path = project.path
    project.conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 5}")
    project.close()
    with pytest.raises(ProjectError, match=f"schema version {schema.SCHEMA_VERSION + 5}, newer than version "
                                           f"{schema.SCHEMA_VERSION}"):
        Project.open(path)


def test_an_older_schema_is_migrated_after_a_backup_copy(tmp_path, clip):
    path = tmp_path / "old.tsfproj"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, target=1)
    conn.execute("INSERT INTO meta VALUES ('application', ?)", (schema.APPLICATION,))
    conn.execute("INSERT INTO coders(name, role, added_at) VALUES ('A', 'coder', 'then')")
    conn.close()
    with Project.open(path) as p:
        assert schema.version(p.conn) == schema.SCHEMA_VERSION
        assert [c.name for c in p.coders()] == ["A"]
        assert p.migrated_from == path.with_name("old.tsfproj.v1.bak")
        p.log_export("csv", tmp_path, None, False, 1)  # a table of version 2
        assert "timings" in {r[1] for r in p.conn.execute("PRAGMA table_info(runs)")}  # a column of version 3
    backup = sqlite3.connect(path.with_name("old.tsfproj.v1.bak"))
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
    assert backup.execute("SELECT name FROM coders").fetchall() == [("A",)]
    assert not backup.execute("SELECT name FROM sqlite_master WHERE name = 'exports'").fetchall()


def test_a_moved_recording_is_found_by_fingerprint_and_a_missing_one_reported(project, tmp_path, media):
    other = media.write_cv2(tmp_path / "videos" / "other.avi", "MJPG", 30, size=(96, 64))
    project.add_recordings([other])
    clip, second = project.recordings()
    new_home = tmp_path / "moved" / "deeper"
    new_home.mkdir(parents=True)
    shutil.move(clip.location, new_home / "renamed.avi")
    other.unlink()
    assert [r.id for r in project.missing()] == [clip.id, second.id]
    report = project.relink(tmp_path / "moved")
    assert [(r.id, p.name) for r, p in report.found] == [(clip.id, "renamed.avi")]
    assert [r.id for r in report.missing] == [second.id]
    assert project.recording(clip.id).location == new_home / "renamed.avi"
    assert project.recording(clip.id).path == "moved/deeper/renamed.avi"  # inside the project's folder: relative
    assert [r.id for r in project.recordings()] == [clip.id, second.id]  # the missing one is kept


def test_recordings_with_the_same_content_are_added_once(project, clip, tmp_path):
    copy = tmp_path / "copy.avi"
    shutil.copy(clip, copy)
    report = project.add_recordings([copy, tmp_path / "nothing.avi"])
    assert report.already == [copy] and not report.added
    assert report.failed and "nothing.avi" in report.failed[0][1]


@pytest.mark.parametrize("content, says", [
    (b"this is a text file, not a database\n" * 100, "not an SQLite database"),
    (None, "not a tsfgui project"),
])
def test_foreign_or_damaged_files_are_one_line_errors(tmp_path, content, says):
    path = tmp_path / "x.tsfproj"
    if content is None:
        sqlite3.connect(path).execute("CREATE TABLE t(x)").connection.commit()
    else:
        path.write_bytes(content)
    with pytest.raises(ProjectError, match=says) as info:
        Project.open(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_a_damaged_project_is_reported_not_opened_silently(project):
    path = project.path
    project.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    project.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for i in range(page, len(data), 97):  # scribble over every page after the header
        data[i] = (data[i] + 101) % 256
    path.write_bytes(bytes(data))
    with pytest.raises(ProjectError, match="not a tsfgui project: .*damaged") as info:
        Project.open(path)
    assert "\n" not in str(info.value)


def test_missing_and_existing_files(tmp_path, project):
    with pytest.raises(ProjectError, match="project file not found.*tsfgui project new"):
        Project.open(tmp_path / "none.tsfproj")
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(project.path)
