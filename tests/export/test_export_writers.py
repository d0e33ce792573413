"""The writers of tsfgui.export: one registry keyed by format, and each file as the tools that read it
expect it (BORIS, ELAN's schema, a summary plot that keeps short bursts)."""

from __future__ import annotations

import json

import pytest

from tsfgui import export
from tsfgui.engine.results import FrameResult
from tsfgui.engine.spotting import SignalRecorder, SpottedInterval


def test_every_writer_is_registered_once_and_chosen_by_suffix(tmp_path):
    formats = [w.format for w in export.writers()]
    assert formats == ["frames-csv", "eaf", "boris-xlsx", "events-csv", "events-json", "summary-png", "coded-eaf",
                       "coded-boris", "coded-csv", "coded-json"]
    assert [w.suffix for w in export.writers("events")] == [".eaf", ".xlsx", ".csv", ".json"]
    assert export.writer_for_path(tmp_path / "talk.EAF", "events").format == "eaf"
    assert export.writer_for_path("x.csv", "frames").format == "frames-csv"
    with pytest.raises(ValueError, match=r"cannot export events as '\.txt': choose \.eaf, \.xlsx, \.csv, \.json"):
        export.writer_for_path("x.txt", "events")
    with pytest.raises(KeyError, match="no export format 'pdf'"):
        export.writer("pdf")
    with pytest.raises(ValueError, match="registered twice"):
        export.register(export.writer("eaf"))


def test_every_format_writes_through_the_registry(tmp_path):
    events = [SpottedInterval(30, 33, 40, "micro", 4.0, "mouth", "positive", 0.7)]
    recorder = SignalRecorder()
    results = [FrameResult(i, i * 40.0, None, diff={"global": float(i % 7)}) for i in range(50)]
    for r in results:
        recorder.add(r)
    data = export.ExportData(fps=25.0, class_names=("negative", "positive"), results=results, events=events,
                             signals=recorder, title="clip")
    written = {w.format: export.write(w.format, w.default_path(tmp_path, "clip"), data) for w in export.writers()
               if w.content != "coded"}  # a project's files: tests/export/test_coded_events.py
    assert written == {"frames-csv": 50, "eaf": 1, "boris-xlsx": 1, "events-csv": 1, "events-json": 1, "summary-png": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.eaf", "events.csv", "events.json",
                                                          "events_boris.xlsx", "frames.csv", "summary.png"]
    assert json.loads((tmp_path / "events.json").read_text())["events"][0]["apex_s"] == 1.32


def test_boris_sheet_has_a_start_and_a_stop_row_per_interval_and_the_summary_plot(tmp_path):
    import cv2
    import numpy as np
    from openpyxl import load_workbook

    from tsfgui.export.boris import write_boris_sheet
    from tsfgui.export.summary_plot import write_summary_plot
    from tsfgui.engine.results import FrameResult
    from tsfgui.engine.spotting import SignalRecorder, SpottedInterval

    events = [SpottedInterval(60, 66, 75, "micro", 4.2, "mouth", "positive", 0.81),
              SpottedInterval(10, 16, 22, "micro", 3.5, "brows", "surprise", 0.64)]
    path = write_boris_sheet(tmp_path / "events_boris.xlsx", events, fps=30.0, subject="P07")
    rows = list(load_workbook(path).active.values)
    assert rows[0] == ("time", "subject", "code", "modifier", "comment")
    assert [r[:4] for r in rows[1:]] == [
        (0.333, "P07", "micro-expression", "surprise"), (0.733, "P07", "micro-expression", "surprise"),
        (2.0, "P07", "micro-expression", "positive"), (2.5, "P07", "micro-expression", "positive")]
    recorder = SignalRecorder()
    for i in range(100):
        recorder.add(FrameResult(i, i * 33.3, None, diff={"global": 1.0 + np.sin(i / 5), "mouth": 2.0}))
    png = write_summary_plot(tmp_path / "summary.png", recorder, events, 30.0, ("negative", "positive", "surprise"))
    image = cv2.imread(str(png))
    assert image is not None and image.shape == (400, 1400, 3)


def test_the_summary_plot_shows_the_flow_and_the_difference_only_without_flow():
    import numpy as np

    from tsfgui.engine.results import DIFF_KEYS, FrameResult
    from tsfgui.engine.spotting import SignalRecorder
    from tsfgui.export.summary_plot import plotted_signals

    recorder = SignalRecorder()
    for i in range(20):
        recorder.add(FrameResult(i, i * 33.3, None, diff={"mouth": 9.0}, flow={"mouth": 0.1 * i}))
    _, values, unit = plotted_signals(recorder)
    assert "flow" in unit and values[5, DIFF_KEYS.index("mouth")] == np.float32(0.5)
    old = SignalRecorder()
    old.add(FrameResult(0, 0.0, None, diff={"mouth": 9.0}))
    _, values, unit = plotted_signals(old)
    assert "grey" in unit and values[0, DIFF_KEYS.index("mouth")] == 9.0


def test_eaf_is_valid_eaf_3_0_has_the_tiers_and_links_the_media(tmp_path, eaf_schema):
    import xml.etree.ElementTree as ET

    from tsfgui.export.elan import write_eaf
    from tsfgui.engine.spotting import SpottedInterval

    media = tmp_path / "videos" / "interview.mp4"
    media.parent.mkdir()
    media.write_bytes(b"\0")
    events = [SpottedInterval(60, 66, 75, "micro", 4.2, "mouth", "positive", 0.81),
              SpottedInterval(300, 320, 400, "macro", 5.0, "brows", None, None)]
    path = write_eaf(tmp_path / "out" / "interview.eaf", events, fps=30.0, media=media)
    eaf_schema.validate(str(path))  # ELAN's published EAFv3.0.xsd
    root = ET.parse(path).getroot()
    assert root.tag == "ANNOTATION_DOCUMENT" and root.get("FORMAT") == "3.0" and root.get("VERSION") == "3.0"
    # the element order EAF 3.0 prescribes
    order = [child.tag for child in root]
    assert order[:2] == ["HEADER", "TIME_ORDER"] and order.index("LINGUISTIC_TYPE") > max(
        i for i, tag in enumerate(order) if tag == "TIER") and order[-1] == "CONSTRAINT"
    descriptor = root.find("HEADER/MEDIA_DESCRIPTOR")
    assert descriptor.get("MEDIA_URL") == media.resolve().as_uri() and descriptor.get("MIME_TYPE") == "video/mp4"
    assert descriptor.get("RELATIVE_MEDIA_URL") == "../videos/interview.mp4"
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    tiers = {t.get("TIER_ID"): t for t in root.iter("TIER")}
    assert all(t.get("LINGUISTIC_TYPE_REF") == "tsfgui-event" for t in tiers.values())
    micro = tiers["micro-expressions"].find("ANNOTATION/ALIGNABLE_ANNOTATION")
    assert (slots[micro.get("TIME_SLOT_REF1")], slots[micro.get("TIME_SLOT_REF2")]) == (2000, 2500)
    assert micro.find("ANNOTATION_VALUE").text == "positive (0.81)"
    macro = tiers["macro-expressions"].find("ANNOTATION/ALIGNABLE_ANNOTATION")
    assert macro.find("ANNOTATION_VALUE").text == "brows movement"
    assert len(tiers["apex"].findall("ANNOTATION")) == 2
    ids = [a.get("ANNOTATION_ID") for a in root.iter("ALIGNABLE_ANNOTATION")]
    assert len(set(ids)) == 4 and root.find("HEADER/PROPERTY").text == "4"
    assert all(slots[a.get("TIME_SLOT_REF1")] < slots[a.get("TIME_SLOT_REF2")] for a in root.iter("ALIGNABLE_ANNOTATION"))


def test_eaf_without_media_without_events_and_with_odd_names_is_valid(tmp_path, eaf_schema):
    import xml.etree.ElementTree as ET

    from tsfgui.export.elan import write_eaf
    from tsfgui.engine.spotting import SpottedInterval

    assert eaf_schema.is_valid(str(write_eaf(tmp_path / "empty.eaf", [], fps=25.0)))
    media = tmp_path / "Interviews & <notes>" / "Séance 3 (1h).MOV"
    media.parent.mkdir()
    media.write_bytes(b"\0")
    events = [SpottedInterval(0, 0, 0, "micro", 3.1, "nose", "a<b & \"c\"", 0.5)]
    path = write_eaf(tmp_path / "odd.eaf", events, fps=29.97, media=media)
    eaf_schema.validate(str(path))
    root = ET.parse(path).getroot()
    assert root.find("HEADER/MEDIA_DESCRIPTOR").get("MIME_TYPE") == "video/quicktime"
    assert root.find(".//ANNOTATION_VALUE").text == 'a<b & "c" (0.50)'


def test_summary_envelope_keeps_a_one_frame_burst_in_an_hour():
    import numpy as np

    from tsfgui.export.summary_plot import _peak_envelope

    n = 108_000
    values = np.zeros((n, 2))
    values[54_321, 1] = 9.0
    values[1000:1200, 0] = np.nan
    t, env = _peak_envelope(np.arange(n) / 30.0, values, max_points=20000)
    assert len(t) <= 20000 and env.shape == (len(t), 2)
    assert env[:, 1].max() == 9.0
    assert np.isnan(env[:, 0]).any() and np.nanmax(env[:, 0]) == 0.0


