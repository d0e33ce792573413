"""The whole workflow on the bundled sample, through the command line and the Python API: new → add →
analyze → import the sample's ground truth as coder "truth" → coder "A" decides through the API →
agreement (tool vs truth, A vs truth) → export --final (the EAF validates against ELAN's schema) →
train from the project with the tiny model."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tsfgui.cli import main
from tsfgui.model import load_model
from tsfgui.project import Project
from tsfgui.resources import DEMO_WEIGHTS

from .conftest import SAMPLE_TRUTH

pytestmark = pytest.mark.skipif(not DEMO_WEIGHTS.is_file(), reason="the demo weights are not installed")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """A project on a copy of the sample, analysed with the demo weights, with the ground truth imported."""
    import shutil

    from tsfgui.resources import SAMPLE_VIDEO

    root = tmp_path_factory.mktemp("round_trip")
    (root / "media").mkdir()
    shutil.copy(SAMPLE_VIDEO, root / "media" / SAMPLE_VIDEO.name)
    proj = root / "study.tsfproj"
    assert main(["project", "new", str(proj)]) == 0
    assert main(["project", "add", str(proj), str(root / "media"), "--subject", "P01"]) == 0
    assert main(["project", "analyze", str(proj), "--weights", str(DEMO_WEIGHTS), "-q"]) == 0
    assert main(["project", "import", str(proj), "--coder", "truth", str(SAMPLE_TRUTH)]) == 0
    return proj


def test_analyze_again_skips_and_status_counts(analysed, capsys):
    assert main(["project", "analyze", str(analysed), "--weights", str(DEMO_WEIGHTS), "-q"]) == 0
    assert "0 analysed, 1 skipped" in capsys.readouterr().out
    with Project.open(analysed) as p:
        rec = p.recordings()[0]
        assert (rec.path, rec.subject, rec.status) == ("media/sample_interview.mp4", "P01", "analysed")
        run = p.current_run(rec.id)
        assert run.class_names == ("negative", "positive", "surprise") and run.frames == 300
        assert run.timings["spotting"] >= 0 and run.seconds > 0
        signals = p.signals(run.id)
        assert signals["frame"].tolist() == list(range(300)) and signals["diff_brows"].shape == (300,)
        assert len(p.proposals(rec.id)) >= 3
    assert main(["project", "status", str(analysed)]) == 0
    table = capsys.readouterr().out
    assert "sample_interview" in table and "truth p/a/r/e/+" in table and "/6" in table


def test_coder_decisions_agreement_export_and_training(analysed, tmp_path, capsys, eaf_schema):
    with Project.open(analysed) as p:
        rec = p.recordings()[0]
        truth = p.final_events(rec.id, "truth")
        proposals = p.proposals(rec.id)
        # coder A: every proposal that overlaps a true event is accepted with the true label and AUs,
        # the others rejected, and the true events the tool missed are added
        from tsfgui.project.agreement import match

        pairs = match([(t.onset, t.offset) for t in truth], [(e.onset, e.offset) for e in proposals])
        matched = {j: i for i, j, _ in pairs}
        for j, e in enumerate(proposals):
            if j in matched:
                t = truth[matched[j]]
                p.decide("A", e.proposal_id, "accepted", label=t.label, aus=t.aus, note="checked")
            else:
                p.decide("A", e.proposal_id, "rejected")
        missed = [t for i, t in enumerate(truth) if i not in {i for i, _, _ in pairs}]
        for t in missed:
            p.add_event("A", rec.id, t.onset, t.apex, t.offset, label=t.label, aus=t.aus)
        # a slip, undone
        p.add_event("A", rec.id, 1, 2, 3, label="surprise")
        p.undo("A")
        a_events = p.final_events(rec.id, "A")
    assert len(a_events) == len(truth)

    out = tmp_path / "agreement"
    assert main(["project", "agreement", str(analysed), "--coders", "truth", "tool", "--out", str(out)]) == 0
    tool = json.loads((out / "agreement.json").read_text())["pooled"]
    assert (tool["reference"], tool["matched"]) == (6, len(pairs)) and tool["precision"] == 1.0
    assert main(["project", "agreement", str(analysed), "--coders", "truth", "A", "--out", str(out)]) == 0
    coder = json.loads((out / "agreement.json").read_text())["pooled"]
    assert coder["matched"] == 6 and coder["f1"] == 1.0 and coder["kappa"] == pytest.approx(1.0)
    assert "| sample_interview | 6 | 6 | 6 |" in (out / "agreement.md").read_text()

    exported = tmp_path / "export"
    assert main(["project", "export", str(analysed), "--format", "eaf", "--out", str(exported), "--coder", "A",
                 "--final"]) == 0
    eaf = exported / "sample_interview.eaf"
    eaf_schema.validate(str(eaf))
    tiers = {t.get("TIER_ID"): t for t in ET.parse(eaf).getroot().iter("TIER")}
    assert list(tiers) == ["A"]
    values = [v.text for v in tiers["A"].iter("ANNOTATION_VALUE")]
    assert len(values) == 6 and values[0].startswith("negative; micro; AU 20; apex ")

    # the corrected result comes back whole when the file is imported again (as another coder)
    assert main(["project", "import", str(analysed), "--coder", "B", str(eaf)]) == 0
    with Project.open(analysed) as p:
        rec = p.recordings()[0]
        key = lambda e: (e.onset, e.apex, e.offset, e.kind, e.label, e.aus)  # noqa: E731
        assert [key(e) for e in p.final_events(rec.id, "B")] == [key(e) for e in p.final_events(rec.id, "A")]

    capsys.readouterr()
    weights = tmp_path / "from_project.safetensors"
    assert main(["train", "--dataset", "project", "--root", str(analysed), "--coder", "A", "--model-size", "tiny",
                 "--epochs", "1", "--batch-size", "4", "--out", str(tmp_path / "train"), "--weights-out",
                 str(weights), "--cache", str(tmp_path / "crops"), "-q"]) == 0
    assert "project: 6 rows, 6 samples used, 0 skipped" in capsys.readouterr().out
    model = load_model(weights)
    assert tuple(model.class_names) == ("negative", "positive", "surprise")
    prov = model.provenance
    assert prov["dataset"] == "project" and prov["coder"] == "A" and prov["train_subjects"] == ["P01"]


def test_project_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.tsfproj"
    bad.write_bytes(b"\0" * 4096)
    assert main(["project", "status", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tsfgui: error: ") and "\n" not in err and "bad.tsfproj" in err
    assert main(["project", "status", str(tmp_path / "none.tsfproj")]) == 2
    assert "project file not found" in capsys.readouterr().err
