"""`analyze` in two stages by default: spotting on every frame, the model on each spotted interval;
the model on every frame only when asked for."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from tsfgui.batch import analyze_batch
from tsfgui.resources import DEMO_WEIGHTS, SAMPLE_VIDEO


@pytest.fixture
def clip(tmp_path):
    """The bundled sample (10 s, six planted events) under a short name."""
    path = tmp_path / "clip.mp4"
    shutil.copyfile(SAMPLE_VIDEO, path)
    return path


def _read(out):
    rows = list(csv.DictReader((out / "clip" / "frames.csv").open()))
    events = json.loads((out / "clip" / "events.json").read_text())["events"]
    done = json.loads((out / "clip" / "done.json").read_text())
    return rows, events, done


def test_default_classifies_spotted_intervals_only_and_per_frame_model_adds_frame_probabilities(clip, tmp_path):
    report = analyze_batch([clip], tmp_path / "two", weights=str(DEMO_WEIGHTS), show_progress=False)
    assert [o.status for o in report.outcomes] == ["done"]
    rows, events, done = _read(tmp_path / "two")
    assert len(rows) == 300
    assert not [c for c in rows[0] if c.startswith("p_")]  # no per-frame model in the default
    assert all(r["label"] == "" for r in rows)
    assert events and all(e["label"] in done["classes"] for e in events)
    assert done["per_frame_model"] is False and done["classes"] == ["negative", "positive", "surprise"]
    stages = done["seconds_per_stage"]  # where the time went, for bench engine and curious users
    assert stages["model on every frame"] == 0 and stages["model on spotted intervals"] > 0
    assert stages["face tracking"] > 0 and stages["signals (difference, flow, pose)"] > 0

    report = analyze_batch([clip], tmp_path / "every", weights=str(DEMO_WEIGHTS), show_progress=False,
                           per_frame_model=True)
    rows_pf, events_pf, done_pf = _read(tmp_path / "every")
    assert done_pf["per_frame_model"] is True
    columns = [c for c in rows_pf[0] if c.startswith("p_")]
    assert columns == ["p_negative", "p_positive", "p_surprise"]
    analysed = [r for r in rows_pf if r["reference_frame"]]
    assert len(analysed) > 280 and all(r["p_negative"] and r["label"] for r in analysed)
    # an interval's class comes from its own onset and apex, whatever ran on the frames in between
    assert [(e["onset_frame"], e["label"]) for e in events_pf] == [(e["onset_frame"], e["label"]) for e in events]
    # the difference signals are the same in both modes
    assert [r["diff_mouth"] for r in rows_pf] == [r["diff_mouth"] for r in rows]


def test_the_mode_is_part_of_the_resume_identity(tmp_path):
    from tsfgui.samples.excerpt import write_sample_excerpt

    clip = write_sample_excerpt(tmp_path / "clip.avi", 45)  # the statuses need no more than a second and a half
    out = tmp_path / "out"
    first = analyze_batch([clip], out, show_progress=False)
    assert first.outcomes[0].status == "done"
    assert analyze_batch([clip], out, show_progress=False).outcomes[0].status == "skipped"
    redo = analyze_batch([clip], out, weights=str(DEMO_WEIGHTS), show_progress=False, per_frame_model=True)
    assert redo.outcomes[0].status == "done"


@pytest.mark.parametrize("change", ["default threshold", "signals version"])
def test_a_run_of_an_older_version_is_redone_not_kept(tmp_path, change):
    """A new version that changes the default spotting thresholds or how the signals are computed gives other
    events: its re-run must not keep the older version's events as if finished."""
    from tsfgui.samples.excerpt import write_sample_excerpt

    clip = write_sample_excerpt(tmp_path / "clip.avi", 45)  # what is checked needs no more than a second and a half
    out = tmp_path / "out"
    assert analyze_batch([clip], out, show_progress=False).outcomes[0].status == "done"
    done_file = out / "clip" / "done.json"
    done = json.loads(done_file.read_text())
    settings = done["identity"]["settings"]
    if change == "default threshold":  # as an older version with another default wrote it
        settings["spotting"]["threshold"] += 0.5
    else:
        settings["signals_version"] -= 1
    done_file.write_text(json.dumps(done))
    assert analyze_batch([clip], out, show_progress=False).outcomes[0].status == "done"
    assert analyze_batch([clip], out, show_progress=False).outcomes[0].status == "skipped"
