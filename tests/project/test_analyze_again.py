"""`project analyze` after the settings changed — an upgrade's new spotting defaults or signals included:
the recordings are analysed again, the earlier run and every decision on its proposals are kept."""

from __future__ import annotations

from tsfgui.cli import main
from tsfgui.engine import flow
from tsfgui.engine.spotting import SpotSettings
from tsfgui.project.analysis import analysis_settings, analyze_project, run_identity


def test_identity_follows_every_spotting_threshold_and_the_signals_version(monkeypatch):
    base = run_identity(None, analysis_settings(0.2, 8, None))
    assert run_identity(None, analysis_settings(0.2, 8, SpotSettings())) == base  # the defaults, spelled out
    assert run_identity(None, analysis_settings(0.2, 1, None)) == base  # the batch size changes no result
    assert run_identity(None, analysis_settings(0.2, 8, SpotSettings(threshold=4.0))) != base
    monkeypatch.setattr(flow, "SIGNALS_VERSION", flow.SIGNALS_VERSION + 1)  # signals computed another way
    assert run_identity(None, analysis_settings(0.2, 8, None)) != base


def test_a_run_from_other_settings_is_analysed_again_and_decisions_stay(project, capsys):
    rec = project.recordings()[0]
    earlier = project.proposals(rec.id)
    project.decide("A", earlier[0].proposal_id, "accepted", note="seen in the brows")
    report = analyze_project(project, show_progress=True)
    assert [r.id for r in report.analysed] == [rec.id] and [r.id for r in report.redone] == [rec.id]
    assert "1 recording analysed before with other weights or settings" in capsys.readouterr().err
    run = project.current_run(rec.id)
    assert run.identity != "run-1" and run.settings["signals_version"] == flow.SIGNALS_VERSION
    assert run.settings["spotting"]["threshold"] == SpotSettings().threshold
    kept = [e for e in project.events(rec.id, "A") if e.proposal_id == earlier[0].proposal_id]
    assert len(kept) == 1 and kept[0].status == "accepted" and kept[0].note == "seen in the brows"
    assert project.find_run(rec.id, "run-1") is not None

    again = analyze_project(project, show_progress=False)  # now the settings match: nothing to do
    assert again.analysed == [] and [r.id for r in again.skipped] == [rec.id]


def test_the_command_says_how_many_were_analysed_again(project, capsys):
    path = project.path
    project.close()
    assert main(["project", "analyze", str(path), "-q"]) == 0
    assert "1 analysed (1 of them again: analysed before with other settings), 0 skipped" in capsys.readouterr().out
