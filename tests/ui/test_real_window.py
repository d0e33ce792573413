"""The app in a real X window under Xvfb, screenshot grabbed (``.ci/run`` installs Xvfb)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.display


@pytest.fixture
def xvfb_display():
    if shutil.which("Xvfb") is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is missing on CI although .ci/run installs it")
        pytest.skip("Xvfb is not installed (apt-get install xvfb); .ci/run installs it")
    for number in range(90, 110):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("Xvfb did not start")
        time.sleep(0.05)
    yield f":{number}"
    proc.terminate()
    proc.wait(10)


def test_window_on_xvfb_shows_the_video(xvfb_display, tmp_path, media):
    import cv2

    video = media.write_cv2(tmp_path / "clip.avi", "MJPG", 20, fps=25, size=(320, 240))
    shot = tmp_path / "shot.png"
    env = {**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"}
    out = subprocess.run([sys.executable, "-m", "tsfgui.ui.screenshot", str(shot), str(video), "--frame", "7",
                          "--size", "800x600"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[0] >= 500 and image.shape[1] >= 700
    assert image.std() > 10, "the screenshot is blank"
    # the frame's index cells are on screen: find the frame's green gradient in the window
    assert (image[:, :, 1] > 100).sum() > 1000
