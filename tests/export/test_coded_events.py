"""A project's events as files: the tool's proposals and each coder's decisions, in ELAN (valid EAF 3.0,
one tier per rater), BORIS, CSV and JSON."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

from openpyxl import load_workbook

from tsfgui import export
from tsfgui.export import CodedEvent

CODED = {
    "tool": [CodedEvent(30, 33, 40, "micro", "positive", probability=0.71, score=4.2, region="mouth")],
    "A": [CodedEvent(30, 34, 41, "micro", "negative", "edited", "4+7", "brow; lowered", decided_at="t"),
          CodedEvent(80, 90, 120, "macro", "surprise", "added", "1+2+5B")],
}


def _data(tmp_path):
    media = tmp_path / "clip.mp4"
    media.write_bytes(b"\0")
    return export.ExportData(fps=25.0, media=media, title="clip", subject="P01", coded=CODED)


def test_elan_has_a_tier_per_rater_with_values_that_carry_the_corrections(tmp_path, eaf_schema):
    path = export.writer("coded-eaf").default_path(tmp_path, "clip")
    assert export.write("coded-eaf", path, _data(tmp_path)) == 3
    eaf_schema.validate(str(path))
    root = ET.parse(path).getroot()
    tiers = {t.get("TIER_ID"): [v.text for v in t.iter("ANNOTATION_VALUE")] for t in root.iter("TIER")}
    assert tiers == {"tool proposals": ["positive (0.71); micro; apex 33"],
                     "A": ["negative; micro; AU 4+7; apex 34; status edited; note: brow, lowered",
                           "surprise; macro; AU 1+2+5B; apex 90; status added"]}
    times = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    first = next(root.iter("ALIGNABLE_ANNOTATION"))
    assert (times[first.get("TIME_SLOT_REF1")], times[first.get("TIME_SLOT_REF2")]) == (1200, 1600)


def test_boris_csv_and_json(tmp_path):
    data = _data(tmp_path)
    boris = tmp_path / "clip_boris.xlsx"
    assert export.write("coded-boris", boris, data) == 3
    rows = list(load_workbook(boris).active.values)
    assert rows[0] == ("time", "subject", "code", "modifier", "comment") and len(rows) == 7
    assert rows[3][:4] == (1.2, "P01", "micro-expression", "negative") and rows[3][4].startswith("A; edited; AU 4+7")
    assert export.write("coded-csv", tmp_path / "clip.csv", data) == 3
    table = list(csv.DictReader((tmp_path / "clip.csv").open()))
    assert [(r["rater"], r["status"], r["onset_frame"], r["aus"]) for r in table] == [
        ("tool", "proposed", "30", ""), ("A", "edited", "30", "4+7"), ("A", "added", "80", "1+2+5B")]
    assert export.write("coded-json", tmp_path / "clip.json", data) == 3
    doc = json.loads((tmp_path / "clip.json").read_text())
    assert doc["recording"] == "clip" and doc["events"][2]["offset_s"] == 4.8
