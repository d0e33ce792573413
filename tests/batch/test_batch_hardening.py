"""`tsfgui analyze` on what users have: trees of good, damaged, empty, text, truncated and edit-list
files, data-set roots of frame folders, photos beside videos; errors from inside torch; a worker
process killed while it works; bad weights with a process pool. Real files, real processes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from tsfgui.batch import analyze_batch, find_inputs
from tsfgui.resources import DEMO_WEIGHTS

TSFGUI = str(Path(sys.executable).with_name("tsfgui"))


def tsfgui(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([TSFGUI, *args], capture_output=True, text=True, timeout=timeout)


def _frames(folder: Path, media, n: int, size=(160, 120)) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"img{i + 1}.jpg"), media.numbered_frame(i, size))
    return folder


def _rows(out: Path, name: str) -> list[dict]:
    return list(csv.DictReader((out / name / "frames.csv").open()))


@pytest.fixture(scope="module")
def tree(tmp_path_factory, media):
    """A folder tree as users have it (built once: the files are what matters)."""
    root = tmp_path_factory.mktemp("tree") / "footage"
    root.mkdir()
    media.write_cv2(root / "good.avi", "MJPG", 20)
    h264 = ["-c:v", "libx264", "-g", "30", "-bf", "2", "-pix_fmt", "yuv420p"]
    media.write_ffmpeg(root / "source.mp4", h264, 75)
    subprocess.run([media.ffmpeg_exe(), "-y", "-loglevel", "error", "-ss", "0.3", "-i", str(root / "source.mp4"),
                    "-c", "copy", str(root / "trimmed.mp4")], check=True)
    (root / "source.mp4").unlink()
    cut = media.write_ffmpeg(root / "cut.mp4", ["-c:v", "libx264", "-g", "10", "-movflags", "+faststart",
                                                "-pix_fmt", "yuv420p"], 98)
    cut.write_bytes(cut.read_bytes()[: int(cut.stat().st_size * 0.9)])
    head = media.write_cv2(root / "interrupted.mp4", "mp4v", 40)  # index at the end, cut off: cannot open
    head.write_bytes(head.read_bytes()[: head.stat().st_size // 2])
    flipped = media.write_ffmpeg(root / "flipped.mp4", h264, 90)
    data = bytearray(flipped.read_bytes())
    for k in range(int(len(data) * 0.7), int(len(data) * 0.7) + 200, 7):
        data[k] ^= 0xFF
    flipped.write_bytes(bytes(data))
    (root / "empty.mp4").touch()
    (root / "notes.mp4").write_text("subject 4 looked away at 03:12\n" * 20)
    _frames(root / "CASME2" / "sub01" / "EP02_01f", media, 6)
    _frames(root / "CASME2" / "sub02" / "EP03_02", media, 5)
    photos = root / "day1"
    photos.mkdir()
    cv2.imwrite(str(photos / "portrait.jpg"), media.numbered_frame(1, (160, 120)))
    cv2.imwrite(str(photos / "group.jpg"), media.numbered_frame(2, (320, 240)))
    media.write_cv2(photos / "interview.avi", "MJPG", 12)
    return root


def test_inputs_are_found_at_any_depth_and_stills_are_not_frame_folders(tree):
    found = find_inputs([tree])
    names = sorted(p.relative_to(tree).as_posix() for p in found.inputs)
    assert names == sorted(["good.avi", "trimmed.mp4", "cut.mp4", "interrupted.mp4", "flipped.mp4", "empty.mp4",
                            "notes.mp4", "CASME2/sub01/EP02_01f", "CASME2/sub02/EP03_02", "day1/interview.avi"])
    assert [(p.name, "different sizes" in why) for p, why in found.stills] == [("day1", True)]


def test_analyze_a_tree_finishes_every_good_input_reports_every_bad_one_and_keeps_every_row(tree, tmp_path):
    out = tmp_path / "out"
    run = tsfgui("analyze", str(tree), "--out", str(out), "-q", "--fps", "100")
    assert run.returncode == 1, run.stdout + run.stderr
    failed = [line for line in run.stderr.splitlines() if line.startswith("failed: ")]
    assert sorted(Path(line.split(": ")[1]).name for line in failed) == ["empty.mp4", "interrupted.mp4", "notes.mp4"]
    assert "Traceback" not in run.stderr
    assert "7 analysed" in run.stdout and "1 folder(s) of stills skipped" in run.stdout
    # the edit-list file is whole: its decoded count is its length, and done.json says both
    trimmed = json.loads((out / "trimmed" / "done.json").read_text())
    assert trimmed["warning"] == "" and trimmed["frames_announced"] == 75
    assert trimmed["frames_decoded"] == trimmed["frames"] == len(_rows(out, "trimmed")) == 67
    # a truly truncated file: every decoded frame has its row, and the damage is said
    cut = json.loads((out / "cut" / "done.json").read_text())
    assert "damaged or incomplete" in cut["warning"] and cut["frames_announced"] == 98
    assert 50 < cut["frames"] == len(_rows(out, "cut")) < 98
    flipped = json.loads((out / "flipped" / "done.json").read_text())
    assert flipped["frames"] == len(_rows(out, "flipped")) > 0
    assert "damaged" in flipped["warning"] or flipped["frames"] >= 88
    # frame folders at depth, at --fps; videos keep their own rate
    assert len(_rows(out, "EP02_01f")) == 6 and len(_rows(out, "EP03_02")) == 5
    assert json.loads((out / "EP02_01f" / "done.json").read_text())["fps"] == 100
    assert json.loads((out / "good" / "done.json").read_text())["fps"] == 25
    assert len(_rows(out, "interview")) == 12


def test_nothing_to_analyse_is_one_line_exit_2(tmp_path, media):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "readme.txt").write_text("no footage here\n")
    cv2.imwrite(str(tmp_path / "in" / "photo.jpg"), media.numbered_frame(1))
    run = tsfgui("analyze", str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert run.stderr.startswith("tsfgui: error: no videos or frame folders found in") and "1 folder(s) of stills" in run.stderr


def test_bad_weights_with_a_process_pool_are_refused_once_before_any_input(tree, tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_text("not weights\n")
    run = tsfgui("analyze", str(tree / "good.avi"), str(tree / "day1"), "--out", str(tmp_path / "out"),
                 "--weights", str(bad), "--jobs", "2")
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "model.safetensors" in run.stderr and "BrokenProcessPool" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_an_error_inside_torch_fails_that_input_only(tmp_path, media):
    """The model on a device that holds no data ('meta'): torch raises for every frame pair it gets,
    so the input with a face fails with torch's message; the input without a face finishes."""
    (tmp_path / "in").mkdir()
    media.sample_clip(tmp_path / "in" / "face.avi", 16)
    _frames(tmp_path / "in" / "EP01", media, 5)
    report = analyze_batch([tmp_path / "in"], tmp_path / "out", weights=str(DEMO_WEIGHTS), device="meta",
                           per_frame_model=True, show_progress=False)
    outcome = {o.path.name: o for o in report.outcomes}
    assert outcome["EP01"].status == "done"
    assert outcome["face.avi"].status == "failed"
    assert outcome["face.avi"].message.startswith("analysis failed (") and "\n" not in outcome["face.avi"].message


def _descendants(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text() if (task / "children").exists() else ""
        children += [int(c) for c in text.split()]
    return children + [d for c in children for d in _descendants(c)]


def _holding(pid: int, name: str) -> bool:
    try:
        return any(os.readlink(fd).endswith(name) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find the worker")
def test_a_worker_killed_mid_input_fails_that_input_and_the_pool_goes_on(tmp_path, media):
    inputs = tmp_path / "in"
    inputs.mkdir()
    long = media.write_cv2(inputs / "long.avi", "MJPG", 600)
    for name in ("a", "b", "c"):
        media.write_cv2(inputs / f"{name}.avi", "MJPG", 15)
    proc = subprocess.Popen([TSFGUI, "analyze", str(inputs), "--out", str(tmp_path / "out"), "--jobs", "2", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        victim = None
        while victim is None and time.monotonic() < deadline and proc.poll() is None:
            victim = next((p for p in _descendants(proc.pid) if _holding(p, long.name)), None)
            time.sleep(0.05)
        assert victim is not None, "no worker ever opened long.avi"
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stdout + stderr
    assert "BrokenProcessPool" not in stderr and "Traceback" not in stderr
    failed = [line for line in stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and "long.avi" in failed[0] and "died" in failed[0]
    for name in ("a", "b", "c"):
        assert json.loads((tmp_path / "out" / name / "done.json").read_text())["frames"] == 15
    assert "3 analysed" in stdout
