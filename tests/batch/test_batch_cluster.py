"""``analyze --cluster`` on a real local Ray cluster: the same results as a local run, a killed worker's input
run again with nothing doubled, a broken input reported once, Ctrl+C clean and a re-run resuming."""

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

from tsfgui.batch import analyze_batch
from tsfgui.batch.on_ray import analyze_on_cluster
from tsfgui.samples.excerpt import write_sample_excerpt

ROOT = Path(__file__).resolve().parents[2]




def finished_files(out: Path) -> dict[str, list[str]]:
    """Each result folder's file names, hidden temporary files included."""
    return {d.name: sorted(p.name for p in d.iterdir()) for d in sorted(out.iterdir()) if d.is_dir()}


def test_cluster_run_gives_the_local_results_and_reports_a_broken_input_once(local_ray, tmp_path, media):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_sample_excerpt(inputs / "face.avi", 16)
    for name in ("a", "b"):
        media.write_cv2(inputs / f"{name}.avi", "MJPG", 12)
    (inputs / "broken.mp4").write_text("not a video\n" * 20)
    frames = tmp_path / "EP01"
    frames.mkdir()
    for i in range(5):
        cv2.imwrite(str(frames / f"img{i + 1}.jpg"), media.numbered_frame(i))

    here = analyze_batch([inputs, frames], tmp_path / "here", show_progress=False)
    there = analyze_batch([inputs, frames], tmp_path / "there", show_progress=False, cluster="auto")
    assert [o.status for o in there.outcomes] == [o.status for o in here.outcomes]
    assert sorted(o.status for o in there.outcomes) == ["done", "done", "done", "done", "failed"]
    (failed,) = there.failed
    assert failed.path.name == "broken.mp4" and "text file" in failed.message
    for o in here.outcomes:
        if o.status == "done":
            mine, theirs = o.out_dir, tmp_path / "there" / o.out_dir.name
            assert (theirs / "frames.csv").read_text() == (mine / "frames.csv").read_text()
            assert json.loads((theirs / "events.json").read_text()) == json.loads((mine / "events.json").read_text())
            done = json.loads((theirs / "done.json").read_text())
            assert done["frames"] == o.frames and done["frames"] in (16, 12, 5)
    assert finished_files(tmp_path / "there") == finished_files(tmp_path / "here")

    again = analyze_batch([inputs, frames], tmp_path / "there", show_progress=False, cluster="auto")
    assert sorted(o.status for o in again.outcomes) == ["failed", "skipped", "skipped", "skipped", "skipped"]


def test_a_killed_worker_input_runs_again_and_ends_with_one_complete_frames_csv(local_ray, tmp_path):
    clip = write_sample_excerpt(tmp_path / "clip.avi", FRAMES := 120)
    target = tmp_path / "out" / "clip"
    killed: list[int] = []
    attempts: list[int] = []

    def kill_first_attempt(snapshot) -> None:
        job = snapshot.get("0")
        if job is None:
            return
        attempts.append(job.attempt)
        # killed early in its input (a kill after it finished would leave nothing to run again)
        if not killed and job.attempt == 1 and 2 <= job.done <= FRAMES // 3:
            os.kill(job.pid, signal.SIGKILL)  # the worker dies mid-input, its .part file left behind
            killed.append(job.pid)

    (outcome,) = analyze_on_cluster([clip], [target], weights=None, device=None, show_progress=False,
                                    settings={"fps": None, "lag_s": 0.2, "batch_size": 8},
                                    on_progress=kill_first_attempt)
    assert killed and max(attempts) >= 2  # it was killed, and a second worker ran it
    assert outcome.status == "done" and outcome.frames == FRAMES
    rows = list(csv.DictReader((target / "frames.csv").open()))
    assert [int(r["frame"]) for r in rows] == list(range(FRAMES))
    assert not [p for p in target.iterdir() if p.name.startswith(".")]
    assert json.loads((target / "done.json").read_text())["frames"] == FRAMES


def _ctrl_c_as_in_a_terminal() -> None:
    """The child takes SIGINT as a terminal's Ctrl+C even when this run inherited it ignored (a suite started
    in the background by a non-interactive shell: Python then never installs its KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_when_writing(inputs: Path, out: Path, address: str) -> subprocess.CompletedProcess:
    """Run ``analyze --cluster`` and send it SIGINT as soon as a worker starts on the input (its result
    folder appears before the first frame is read)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tsfgui.cli", "analyze", str(inputs), "--out", str(out), "-q",
                             "--cluster", address], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 120
    while not (out / "long").is_dir() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_ctrl_c_cancels_the_cluster_batch_and_a_rerun_resumes(local_ray, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_sample_excerpt(inputs / "long.avi", 300)  # long enough that the interrupt comes before its end
    address = local_ray.get_runtime_context().gcs_address
    # on a fast machine with warm workers the input may end before the signal lands: that
    # run finished whole (checked) and another is interrupted; one that ignores Ctrl+C fails every time
    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        run = _interrupt_when_writing(inputs, out, address)
        if run.returncode == 0 and (out / "long" / "done.json").exists():
            assert json.loads((out / "long" / "done.json").read_text())["frames"] == 300
            continue
        break
    assert run.returncode == 130 and "interrupted" in run.stderr, run.stderr
    assert not (out / "long" / "done.json").exists() and not (out / "long" / "frames.csv").exists()

    report = analyze_batch([inputs], out, show_progress=False, cluster=address)
    assert [o.status for o in report.outcomes] == ["done"] and report.outcomes[0].frames == 300
    assert finished_files(out)["long"] == sorted(["done.json", "frames.csv", "events.csv", "events.json",
                                                  "events_boris.xlsx", "long.eaf", "summary.png"])


def test_project_analyze_on_the_cluster_stores_runs_and_then_skips_them(local_ray, tmp_path, media, capsys):
    from tsfgui.cli import main
    from tsfgui.project import Project

    for name, frames in (("a", 10), ("b", 11)):  # different files (a project knows a copy by its content)
        media.write_cv2(tmp_path / f"{name}.avi", "MJPG", frames)
    project = str(tmp_path / "study.tsfproj")
    assert main(["project", "new", project]) == 0
    assert main(["project", "add", project, str(tmp_path / "a.avi"), str(tmp_path / "b.avi")]) == 0
    capsys.readouterr()
    assert main(["project", "analyze", project, "-q", "--cluster"]) == 0
    assert "2 analysed, 0 skipped" in capsys.readouterr().out
    with Project.open(project) as p:
        assert [row["status"] for row in p.status_rows()] == ["analysed", "analysed"]
    assert main(["project", "analyze", project, "-q", "--cluster"]) == 0
    assert "0 analysed, 2 skipped" in capsys.readouterr().out
