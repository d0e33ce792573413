"""Analysing the rest of a project from the review window: a child process, paused and resumed."""

from __future__ import annotations

from tsfgui.cli import main
from tsfgui.project import Project
from tsfgui.ui.review.window import ReviewWindow


def test_the_remaining_recordings_are_analysed_in_the_background_and_can_pause(qtbot, tmp_path, media):
    clip = media.write_cv2(tmp_path / "clip.avi", "MJPG", 40)
    with Project.create(tmp_path / "p.tsfproj") as project:
        project.add_recordings([clip])
    window = ReviewWindow(tmp_path / "p.tsfproj", coder="A")
    qtbot.addWidget(window)
    assert window.project_panel.table.item(0, 2).text() == "new"
    with qtbot.waitSignal(window.analysis.finished, timeout=30_000) as paused:
        window.start_analysis()
        assert window.analysis.running and window.pause_action.isEnabled()
        window.pause_action.trigger()
    assert paused.args == [False, "paused"] and "resumes" in window.statusBar().currentMessage()
    assert window.project.current_run(window.project.recordings()[0].id) is None
    with qtbot.waitSignal(window.analysis.finished, timeout=240_000) as done:
        window.start_analysis()
    assert done.args[0] is True, done.args[1]
    assert window.project_panel.table.item(0, 2).text() == "analysed"
    assert window.project.current_run(window.project.recordings()[0].id) is not None
    window.close()


def test_review_command_names_a_missing_project(tmp_path, capsys):
    assert main(["review", str(tmp_path / "nope.tsfproj")]) == 2
    assert "project not found" in capsys.readouterr().err
