"""The ``tsfgui project`` commands on real files: exit codes, one-line errors, relink and undo."""

from __future__ import annotations

import shutil

from tsfgui.cli import main
from tsfgui.project import Project


def test_add_status_relink_and_undo(tmp_path, clip, capsys):
    proj = str(tmp_path / "p.tsfproj")
    assert main(["project", "new", proj]) == 0
    assert main(["project", "new", proj]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["project", "add", proj, str(clip.parent), "--subject", "S1"]) == 0
    assert main(["project", "add", proj, str(clip)]) == 0
    assert "0 added, 1 already there" in capsys.readouterr().out
    events = tmp_path / "events.csv"
    events.write_text("onset_frame,apex_frame,offset_frame,label\n1,2,4,negative\n")
    assert main(["project", "import", proj, "--coder", "A", str(events)]) == 0
    assert main(["project", "status", proj]) == 0
    assert "0/0/0/0/1" in capsys.readouterr().out
    assert main(["project", "undo", proj, "--coder", "A"]) == 0
    assert main(["project", "undo", proj, "--coder", "A"]) == 0
    assert "nothing to undo" in capsys.readouterr().out
    assert main(["project", "redo", proj, "--coder", "A"]) == 0
    capsys.readouterr()
    assert main(["project", "history", proj, "--coder", "A"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(None, 3)[3] for line in lines] == [
        "imported 1 events from events.csv", "undo imported 1 events from events.csv",
        "redo imported 1 events from events.csv"]
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(clip, moved / "renamed.avi")
    assert main(["project", "status", proj]) == 0
    assert "MISSING" in capsys.readouterr().out
    assert main(["project", "relink", proj, str(tmp_path / "nowhere")]) == 2
    assert main(["project", "relink", proj, str(moved)]) == 0
    assert "1 found, 0 still missing" in capsys.readouterr().out
    with Project.open(proj) as p:
        assert p.recordings()[0].location.name == "renamed.avi"
        assert [e.status for e in p.events(1, "A")] == ["added"]


def test_bad_imports_and_unknown_coders_are_one_line_errors(tmp_path, clip, capsys):
    proj = str(tmp_path / "p.tsfproj")
    main(["project", "new", proj])
    main(["project", "add", proj, str(clip)])
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    bad.write_text("onset_frame,apex_frame,offset_frame\n1,2,4\n9,8,7\n")
    assert main(["project", "import", proj, "--coder", "A", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tsfgui: error: ") and "bad.csv: line 3: onset 9 ≤ apex 8 ≤ offset 7 does not hold" in err
    assert "\n" not in err
    assert main(["project", "agreement", proj, "--coders", "truth", "A"]) == 2
    assert "has no coder 'truth'" in capsys.readouterr().err
    assert main(["project", "export", proj, "--format", "csv", "--out", str(tmp_path / "x"), "--final"]) == 2
    assert "--final exports one coder's result: give --coder NAME" in capsys.readouterr().err
