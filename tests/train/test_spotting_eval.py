"""eval-spotting: the long-video datasets' layouts read from small synthetic copies, MEGC scoring, resume."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from openpyxl import Workbook

from tsfgui.cli import main
from tsfgui.engine.megc import Span, pooled, score_video
from tsfgui.train.datasets import DatasetError
from tsfgui.train.longvideo import load_long_videos


def _frames(folder: Path, numbers, name=lambda n: f"{n}.jpg", images=None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, n in enumerate(numbers):
        image = images[k] if images is not None else np.full((24, 32, 3), 90 + k, np.uint8)
        assert cv2.imwrite(str(folder / name(n)), image)


def _xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def test_megc_counts_per_kind_and_pooled():
    truth = [Span(10, 20, "micro"), Span(50, 90, "macro"), Span(200, 210, "micro")]
    proposals = [Span(11, 21, "micro"), Span(52, 88, "micro"), Span(300, 305, "micro"), Span(55, 95, "macro")]
    tally = score_video(proposals, truth)
    assert tally.counts == {"micro": [1, 3, 2], "macro": [1, 1, 1]}  # a macro truth is not hit by a micro proposal
    both = pooled([tally, tally]).to_dict()
    assert both["overall"] == {"tp": 4, "fp": 4, "fn": 2, "proposals": 8, "truth": 6, "precision": 0.5,
                               "recall": 0.6667, "f1": 0.5714}


def test_samm_long_videos_layout(tmp_path):
    root = tmp_path / "SAMMLV"
    _frames(root / "SAMM_longvideos" / "006_1", range(1, 11), lambda n: f"006_1_{n:04d}.jpg")
    preamble = [["SAMM Long Videos"], ["micro- and macro-movements"], [], ["coded by FACS coders"]]
    header = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type", "Action Units",
              "Notes"]
    rows = [[6, "006_1_1", 1, 2, 3, 5, 4, "Micro - 1/2", "R12", ""],
            [6, "006_1_2", 1, 6, 8, 9, 4, "Macro", "4", ""],
            [7, "007_3_1", 2, 100, 110, 120, 21, "Macro", "12", ""]]
    _xlsx(root / "SAMM_LongVideos_V3_Release.xlsx", {"FACS": preamble + [header] + rows})
    found = load_long_videos("samm-lv", root)
    assert [v.name for v in found.videos] == ["006_1"] and found.videos[0].fps == 200.0
    assert found.videos[0].truth == [Span(1, 4, "micro"), Span(5, 8, "macro")]
    assert len(found.skipped) == 1 and "row 8" in found.skipped[0] and "007_3" in found.skipped[0]


def test_casme3_part_a_layout(tmp_path):
    root = tmp_path / "CASME3"
    _frames(root / "part_A" / "spNO.1" / "a" / "color", range(0, 12))
    columns = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
    _xlsx(root / "annotation" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
          {"label": [columns, ["spNO.1", "a", 2, 3, 4, "4", "2", "disgust"]]})
    _xlsx(root / "annotation" / "cas(me)3_part_A_MaE_label_JpgIndex_v2.xlsx",
          {"label": [columns, ["spNO.1", "a", 5, 7, 11, "12", "1", "happy"]]})
    found = load_long_videos("casme3-lv", root)
    assert [v.name for v in found.videos] == ["spNO.1/a"]
    assert sorted(found.videos[0].truth, key=lambda s: s.onset) == [Span(2, 4, "micro"), Span(5, 11, "macro")]


def test_missing_or_unreadable_sheets_are_named(tmp_path):
    (tmp_path / "rawpic").mkdir()
    with pytest.raises(DatasetError, match="no CAS\\(ME\\)\\^2 annotation sheet"):
        load_long_videos("casme2-lv", tmp_path)
    bad = tmp_path / "CAS(ME)^2code_final.xlsx"
    bad.write_text("not a spreadsheet")
    with pytest.raises(DatasetError, match="cannot be read") as err:
        load_long_videos("casme2-lv", tmp_path)
    assert str(bad) in str(err.value)


def test_eval_spotting_on_a_casme2_layout_scores_writes_and_resumes(tmp_path, capsys):
    """Four seconds of a synthetic interview with two planted micro-expressions in the CAS(ME)^2 layout:
    the command analyses, spots, scores and writes JSON and Markdown; a second run reuses every video."""
    from tsfgui.samples import Distractors, EventSpec
    from tsfgui.samples.generator import SampleRenderer

    renderer = SampleRenderer(seed=3, duration_s=4.0, fps=30.0, size=(320, 240), face_width=140.0,
                              events=[EventSpec("AU1+AU2", onset_s=1.2, amplitude=3.5),
                                      EventSpec("AU12", onset_s=2.8, amplitude=3.5)],
                              distractors=Distractors(blinks_per_min=0.0, head_motion_px=0.5))
    root = tmp_path / "CASME_sq"
    _frames(root / "rawpic" / "s15" / "15_0101disgustingteeth", range(1, len(renderer) + 1),
            lambda n: f"img{n}.jpg", images=list(renderer.frames()))
    events = renderer.truth.events
    main_rows = [[1, f"disgust1_{k + 1}", e.onset + 1, e.apex + 1, e.offset + 1, "4", "disgust", "micro-expression",
                  "disgust"] for k, e in enumerate(events)]
    main_rows.append([2, "anger1_1", 10, 12, 30, "4", "anger", "macro-expression", "anger"])  # no such folder
    _xlsx(root / "CAS(ME)^2code_final.xlsx", {"code": main_rows,
                                               "naming rule1": [["", 15, 1], ["", 16, 2]],
                                               "naming rule2": [["0101", "disgust1"], ["0401", "anger1"]]})
    out = tmp_path / "out"
    assert main(["eval-spotting", "--dataset", "casme2-lv", "--root", str(root), "--out", str(out)]) == 0
    summary = json.loads((out / "megc.json").read_text())
    assert summary["videos"] == 1 and summary["micro"]["truth"] == 2 and summary["macro"]["truth"] == 0
    assert summary["overall"]["tp"] >= 1, summary["per_video"]
    assert len(summary["skipped_rows"]) == 1 and "s16/16_0401" in summary["skipped_rows"][0]
    video = json.loads((out / "videos" / "s15_15_0101.json").read_text())
    assert video["truth"] == [{"onset": e.onset, "offset": e.offset, "kind": "micro"} for e in events]
    assert all(p["onset"] <= p["apex"] <= p["offset"] for p in video["proposals"])
    markdown = (out / "megc.md").read_text()
    assert "| overall |" in markdown and "s15/15_0101" in markdown
    capsys.readouterr()
    assert main(["eval-spotting", "--dataset", "casme2-lv", "--root", str(root), "--out", str(out)]) == 0
    assert "done before" in capsys.readouterr().out
    assert json.loads((out / "megc.json").read_text())["overall"] == summary["overall"]
    assert main(["eval-spotting", "--dataset", "samm-lv", "--root", str(root), "--out", str(out)]) == 2
    assert "SAMM Long Videos annotation sheet" in capsys.readouterr().err
