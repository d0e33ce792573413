"""Imports from ELAN, BORIS, CSV/JSON and the datasets' sheets: placed on the right frames of the right
recording, and a malformed file is refused with file, row and reason, importing nothing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from openpyxl import Workbook

from tsfgui.project import Project
from tsfgui.project.imports import ImportFileError, guess_format, import_file

from .conftest import SAMPLE_TRUTH


def _added(project, coder):
    return [(e.onset, e.apex, e.offset, e.kind, e.label, e.aus, e.note) for r in project.recordings()
            for e in project.events(r.id, coder) if e.status == "added"]


def test_a_samples_ground_truth(tmp_path, sample_copy):
    with Project.create(tmp_path / "p.tsfproj") as p:
        p.add_recordings([sample_copy])
        change, n = import_file(p, "truth", SAMPLE_TRUTH)
        assert n == 6 and change.action == "import"
        events = _added(p, "truth")
        assert events[0] == (19, 25, 32, "micro", "negative", "20", "")
        assert events[1][5] == "6+12"


EAF = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2024-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">
    <MEDIA_DESCRIPTOR MEDIA_URL="file:///elsewhere/clip.avi" MIME_TYPE="video/x-msvideo"/>
  </HEADER>
  <TIME_ORDER>
    <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="200"/><TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="480"/>
    <TIME_SLOT TIME_SLOT_ID="ts3" TIME_VALUE="1000"/><TIME_SLOT TIME_SLOT_ID="ts4" TIME_VALUE="1400"/>
    <TIME_SLOT TIME_SLOT_ID="ts5" TIME_VALUE="1600"/><TIME_SLOT TIME_SLOT_ID="ts6"{late}/>
  </TIME_ORDER>
  <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="coder B">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
      <ANNOTATION_VALUE>negative; AU 4+7; apex 7; note: brow lowerer</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts3" TIME_SLOT_REF2="ts4">
      <ANNOTATION_VALUE>happy</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="assoc" PARENT_REF="coder B" TIER_ID="coder B AUs">
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a4" ANNOTATION_REF="a2">
      <ANNOTATION_VALUE>AU6+AU12C</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="speech">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a3" TIME_SLOT_REF1="ts5" TIME_SLOT_REF2="ts6">
      <ANNOTATION_VALUE>hello</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>
  <LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="assoc" TIME_ALIGNABLE="false" CONSTRAINTS="Symbolic_Association"/>
</ANNOTATION_DOCUMENT>
"""


def test_elan_tier_is_chosen_and_times_become_frames(project, tmp_path):
    eaf = tmp_path / "coded.eaf"
    eaf.write_text(EAF.format(late=' TIME_VALUE="1800"'))
    with pytest.raises(ImportFileError, match="choose the tier to import with --tier; tiers with annotations: "
                                              "coder B, speech"):
        import_file(project, "B", eaf)
    with pytest.raises(ImportFileError, match="no tier 'C'"):
        import_file(project, "B", eaf, tier="C")
    import_file(project, "B", eaf, tier="coder B")
    # 25 fps: 200 ms = frame 5, 480 ms = frame 12; apex from the value; the second has none: the middle
    assert _added(project, "B") == [(5, 7, 12, "micro", "negative", "4+7", "brow lowerer"),
                                    (25, 30, 35, "micro", "happy", "6+12C", "")]  # AUs from the dependent tier


def test_elan_annotation_without_time_is_refused(project, tmp_path):
    eaf = tmp_path / "coded.eaf"
    eaf.write_text(EAF.format(late=""))
    with pytest.raises(ImportFileError, match=r"coded.eaf: tier 'speech', annotation a3: a time slot without a time"):
        import_file(project, "B", eaf, tier="speech")
    assert project.history() == []


def test_boris_exports(project, tmp_path):
    tabular = tmp_path / "boris.csv"
    tabular.write_text("Observation id,interview\n\nTime,Media file path,Subject,Behavior,Modifiers,Comment,Status\n"
                       "0.2,/data/clip.avi,P1,micro-expression,negative,first,START\n"
                       "0.48,/data/clip.avi,P1,micro-expression,negative,,STOP\n"
                       "1.0,/data/clip.avi,P1,macro-expression,positive,,START\n"
                       "2.0,/data/clip.avi,P1,macro-expression,positive,,STOP\n")
    assert guess_format(tabular) == "boris"
    import_file(project, "B", tabular)
    assert _added(project, "B") == [(5, 8, 12, "micro", "negative", "", "first"),
                                    (25, 37, 50, "macro", "positive", "", "")]
    book = Workbook()
    sheet = book.active
    sheet.append(["Observation id", "Media file name", "Behavior", "Modifiers", "Start (s)", "Stop (s)"])
    sheet.append(["interview", "clip.avi", "micro-expression", "surprise", 0.4, 0.8])
    book.save(tmp_path / "aggregated.xlsx")
    import_file(project, "C", tmp_path / "aggregated.xlsx")
    assert _added(project, "C") == [(10, 15, 20, "micro", "surprise", "", "")]
    boris8 = tmp_path / "boris8.tsv"  # BORIS 8's tabular export: the START/STOP column is "Behavior type"
    boris8.write_text("Observation id\tSubject\tBehavior\tModifier #1\tBehavior type\tTime\tComment\n"
                      "interview\tP1\tmicro-expression\tnegative\tSTART\t1.2\t\n"
                      "interview\tP1\tmicro-expression\tnegative\tSTOP\t1.6\t\n")
    import_file(project, "D", boris8)
    assert _added(project, "D") == [(30, 35, 40, "micro", "negative", "", "")]


def test_boris_stop_without_start_names_the_row(project, tmp_path):
    bad = tmp_path / "boris.csv"
    bad.write_text("Time,Behavior,Status\n0.2,micro-expression,STOP\n")
    with pytest.raises(ImportFileError, match=r"boris.csv: row 2: 'micro-expression' stops without a start"):
        import_file(project, "B", bad)


def test_csv_in_tsfguis_columns_and_a_bad_row(project, tmp_path):
    good = tmp_path / "events.csv"
    good.write_text("onset_frame,apex_frame,offset_frame,kind,label,aus,note\n3,5,9,micro,negative,AU4+AU7,x\n"
                    "20,22,40,,positive,,\n")
    import_file(project, "B", good)
    assert _added(project, "B") == [(3, 5, 9, "micro", "negative", "4+7", "x"), (20, 22, 40, "macro", "positive", "", "")]
    bad = tmp_path / "bad.csv"
    bad.write_text("onset_frame,apex_frame,offset_frame,label,aus\n3,5,9,negative,4\n10,12,14,negative,3+4\n")
    with pytest.raises(ImportFileError, match=r"bad.csv: line 3: action units '3\+4': AU 3 is not a FACS code"):
        import_file(project, "C", bad)
    late = tmp_path / "late.csv"
    late.write_text("onset_s,offset_s,label\n1.0,9.0,negative\n")
    with pytest.raises(ImportFileError, match=r"late.csv: line 2: apex frame 125 is outside the recording"):
        import_file(project, "C", late)
    notnum = tmp_path / "nan.csv"
    notnum.write_text("onset_frame,offset_frame\nfive,9\n")
    with pytest.raises(ImportFileError, match=r"nan.csv: line 2: onset 'five' is not a number"):
        import_file(project, "C", notnum)
    assert _added(project, "C") == []


def _frame_folder(folder: Path, numbers, prefix="img") -> Path:
    folder.mkdir(parents=True)
    for n in numbers:
        cv2.imwrite(str(folder / f"{prefix}{n}.png"), np.full((16, 16, 3), n % 255, np.uint8))
    return folder


def _sheet(path: Path, rows, preamble=()):
    book = Workbook()
    sheet = book.active
    for r in [*preamble, *rows]:
        sheet.append(list(r))
    book.save(path)
    return path


def test_casme2_and_samm_sheets_use_the_frame_numbers_of_the_files(tmp_path):
    data = tmp_path / "data"
    a = _frame_folder(data / "sub01" / "EP02_01f", range(46, 80))
    b = _frame_folder(data / "sub02" / "EP02_01f", range(100, 130))
    s = _frame_folder(data / "006" / "006_1_2", range(5562, 5600), prefix="006_")
    with Project.create(tmp_path / "p.tsfproj") as p:
        p.add_recordings([a, b, s])
        assert [r.subject for r in p.recordings()] == ["sub01", "sub02", "006"]
        casme = _sheet(tmp_path / "CASME2-coding-20140508.xlsx", [
            ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"],
            [1, "EP02_01f", 46, 59, 71, "12", "happiness"], [2, "EP02_01f", 101, "/", 120, "4+L10", "disgust"]])
        assert guess_format(casme) == "casme2"
        import_file(p, "sheet", casme)
        samm = _sheet(tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx", [
            ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
             "Action Units", "Estimated Emotion"], [6, "006_1_2", 1, 5562, 5570, 5590, 29, "R14", "Contempt"]],
            preamble=[["SAMM"], ["FACS codes"]] + [[]] * 5)
        import_file(p, "samm", samm)
        events = [[(e.onset, e.apex, e.offset, e.label, e.aus) for e in p.events(r.id, "sheet")]
                  for r in p.recordings()]
        assert events[0] == [(0, 13, 25, "happiness", "12")]  # img46 is the folder's first frame
        second = next(e for e in p.events(p.recordings()[1].id, "sheet"))
        assert (second.onset, second.apex, second.offset, second.aus) == (1, 10, 20, "4+L10")  # '/' apex: middle
        assert [(e.onset, e.apex, e.offset, e.label) for e in p.events(p.recordings()[2].id, "samm")] == \
               [(0, 8, 28, "contempt")]


def test_long_video_sheets(tmp_path):
    data = tmp_path / "data"
    lv = _frame_folder(data / "006" / "006_1", range(1, 200), prefix="006_1_")
    sq = _frame_folder(data / "s15" / "anger1", range(1, 120))
    with Project.create(tmp_path / "p.tsfproj") as p:
        p.add_recordings([lv, sq])
        samm_lv = _sheet(tmp_path / "SAMM_LongVideos_V3_Release.xlsx", [
            ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type", "Action Units",
             "Notes"], [6, "006_1_1", 1, 10, 20, 60, 51, "Micro - 1/2", "4", ""],
            [6, "006_1_2", 1, 100, 120, 190, 91, "Macro", "12", ""]], preamble=[["SAMM Long Videos"], []])
        assert guess_format(samm_lv) == "samm-lv"
        import_file(p, "lv", samm_lv)
        assert [(e.onset, e.offset, e.kind, e.aus) for e in p.events(p.recordings()[0].id, "lv")] == \
               [(9, 59, "micro", "4"), (99, 189, "macro", "12")]
        casme_sq = _sheet(tmp_path / "CAS(ME)^2code_final.xlsx", [[15, "anger1_1", 5, 9, 12, "4+7", "negative",
                                                                  "micro-expression", "anger"]])
        import_file(p, "sq", casme_sq, fmt="casme-sq")
        assert [(e.onset, e.apex, e.offset, e.kind, e.label) for e in p.events(p.recordings()[1].id, "sq")] == \
               [(4, 8, 11, "micro", "negative")]


def test_a_sheet_row_for_a_recording_not_in_the_project_imports_nothing(tmp_path):
    a = _frame_folder(tmp_path / "sub01" / "EP01", range(1, 30))
    with Project.create(tmp_path / "p.tsfproj") as p:
        p.add_recordings([a])
        sheet = _sheet(tmp_path / "CASME2-coding.xlsx", [
            ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion"],
            [1, "EP01", 2, 5, 9, "happiness"], [3, "EP09", 2, 5, 9, "happiness"]])
        with pytest.raises(ImportFileError, match=r"CASME2-coding.xlsx: row 3: no recording named 'EP09' of "
                                                  r"subject sub03 in the project"):
            import_file(p, "sheet", sheet)
        assert p.history() == []
