"""`tsfgui --selftest`: the check a user (or the bundle build) runs to prove an installation works."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

TSFGUI = str(Path(sys.executable).with_name("tsfgui"))


def test_selftest_passes_every_step_on_this_installation():
    out = subprocess.run([TSFGUI, "--selftest"], capture_output=True, text=True, timeout=240,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    steps = [line.split()[1] for line in lines if line.startswith("ok")]
    assert steps == ["files", "video", "face", "model", "exports", "window"]
    assert lines[-1].startswith("selftest passed in")
    assert "24/24 frames" in out.stdout or "23/24 frames" in out.stdout
    from tsfgui.model.card import describe_weights_file
    from tsfgui.resources import DEMO_WEIGHTS

    assert describe_weights_file(str(DEMO_WEIGHTS))[0] in out.stdout  # what the shipped weights are


def test_selftest_names_the_failing_step_and_exits_1(tmp_path, monkeypatch):
    import tsfgui.selftest as selftest
    from tsfgui.resources import DEMO_WEIGHTS

    broken = tmp_path / "demo.safetensors"
    broken.write_bytes(DEMO_WEIGHTS.read_bytes()[:4096])  # a download cut short
    monkeypatch.setattr(selftest, "DEMO_WEIGHTS", broken)
    report = io.StringIO()
    assert selftest.run_selftest(frames=8, ui=False, out=report) == 1
    lines = report.getvalue().splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["files", "video", "face"]
    assert lines[-1].startswith("FAIL  model:") and "demo.safetensors" in lines[-1]


def test_selftest_with_a_command_is_a_usage_error():
    out = subprocess.run([TSFGUI, "--selftest", "info", "x.mp4"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--selftest takes no command" in out.stderr
