"""``python -m tsfgui.samples``: the command line of the sample generator."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import pytest

from tsfgui.samples import build_parser, main


def test_help_lists_the_main_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--out", "--seed", "--duration", "--events", "--no-distractors", "--talk"):
        assert option in out


def test_module_runs_as_a_program():
    done = subprocess.run([sys.executable, "-m", "tsfgui.samples", "--list-types"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0
    assert "AU12" in done.stdout and "positive" in done.stdout


def test_writes_video_and_truth(tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    code = main(["--out", str(out), "--seed", "3", "--duration", "2", "--size", "256x192",
                 "--events", "AU12", "--no-distractors", "-q"])
    assert code == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["seed"] == 3 and data["video"]["frame_count"] == 60
    assert [e["type"] for e in data["events"]] == ["AU12"]
    assert data["distractors"]["blinks"] == []
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 256


def test_bad_input_is_reported_with_status_2(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "x.mp4"), "--duration", "1.5", "--events", "4", "-q"]) == 2
    assert "do not fit" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(tmp_path / "x.mp4"), "--events", "AU99"])
    assert exc.value.code == 2
    assert "AU99" in capsys.readouterr().err


def test_parser_is_reusable_under_another_name():
    parser = build_parser(prog="tsfgui sample")
    assert parser.prog == "tsfgui sample"
    args = parser.parse_args(["--out", "a.mp4", "--size", "640x480", "--events", "AU1+AU2,AU4"])
    assert args.size == (640, 480) and args.events == ["AU1+AU2", "AU4"]
