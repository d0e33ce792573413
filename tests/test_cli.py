"""The `tsfgui` console script, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TSFGUI = str(Path(sys.executable).with_name("tsfgui"))


def run(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([TSFGUI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_help_lists_the_subcommands():
    out = run("--help")
    assert out.returncode == 0
    for command in ("gui", "info", "sample", "bench"):
        assert command in out.stdout


@pytest.mark.parametrize("command", ["gui", "info", "sample", "bench"])
def test_each_subcommand_has_help(command):
    out = run(command, "--help")
    assert out.returncode == 0 and "usage:" in out.stdout


def test_unknown_command_is_one_line_exit_2():
    out = run("analyse-everything")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("tsfgui: error:")
    assert "Traceback" not in out.stderr


def test_bad_option_is_one_line_exit_2():
    out = run("info", "--frames-per-second", "3")
    assert out.returncode == 2 and out.stderr.count("\n") == 1


def test_missing_file_is_one_line_exit_2(tmp_path):
    out = run("gui", str(tmp_path / "interview.mp4"))
    assert out.returncode == 2
    assert out.stderr.strip() == f"tsfgui: error: Video file not found: '{tmp_path / 'interview.mp4'}'. " \
                                 "Check the path and that the drive is connected."


def test_text_file_as_video_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("hello\n" * 100)
    out = run("info", str(bad))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "text file" in out.stderr


def test_info_on_a_video(tmp_path, media):
    path = media.write_cv2(tmp_path / "a.avi", "MJPG", 50, fps=25)
    out = run("info", str(path))
    assert out.returncode == 0, out.stderr
    assert "160x120" in out.stdout and "frames:     50" in out.stdout and "2.00 s" in out.stdout


def test_info_on_a_frame_folder(tmp_path, media):
    import cv2

    for n in range(46, 56):
        cv2.imwrite(str(tmp_path / f"img{n}.jpg"), media.numbered_frame(n))
    out = run("info", str(tmp_path))
    assert out.returncode == 0 and "fps:        200" in out.stdout and "frames:     10" in out.stdout


def test_gui_without_display_says_so_in_one_line(tmp_path, media):
    path = media.write_cv2(tmp_path / "a.avi", "MJPG", 5)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run([TSFGUI, "gui", str(path)], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode != 0
    assert out.stderr.count("\n") == 1 and "no display" in out.stderr


def test_path_alone_means_gui(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    (tmp_path / "x.mp4").write_text("text\n" * 50)
    out = subprocess.run([TSFGUI, str(tmp_path / "x.mp4")], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 2 and "text file" in out.stderr  # validated as a gui input


def test_main_py_is_the_gui_entry():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "main.py"), "--help"], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0 and "Start the desktop app" in out.stdout


def test_sample_writes_a_video_and_its_ground_truth(tmp_path):
    out = run("sample", "--out", str(tmp_path / "s.avi"), "--duration", "1.5", "--size", "320x240",
              "--events", "AU12", "--seed", "3", "-q", timeout=180)
    assert out.returncode == 0, out.stderr
    info = run("info", str(tmp_path / "s.avi"))
    assert "320x240" in info.stdout and "frames:     45" in info.stdout
    import json

    truth = json.loads((tmp_path / "s.json").read_text())
    assert [e["type"] for e in truth["events"]] == ["AU12"]


def test_sample_without_out_is_one_line_exit_2():
    out = run("sample", "--seed", "1")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--out" in out.stderr


def test_bench_runs_a_benchmark_and_prints_figures():
    out = run("bench", "face", "--frames", "16", timeout=300)
    assert out.returncode == 0, out.stderr
    assert "ms/frame" in out.stdout and "cheaper than detecting" in out.stdout


def test_unknown_bench_is_one_line_exit_2():
    out = run("bench", "warp-drive")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "face" in out.stderr
