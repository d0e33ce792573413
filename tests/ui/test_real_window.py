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


def _find_frame(shot: np.ndarray, frame: np.ndarray) -> tuple[float, tuple[int, int, int, int]]:
    """Where ``frame`` appears in ``shot`` at whatever scale the view drew it: the best normalised
    correlation and the box (x, y, w, h); coarse search at half size, refined at full size."""
    import cv2

    gray = cv2.cvtColor(shot, cv2.COLOR_BGR2GRAY).astype(np.float32)
    template = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)

    def best(image, scales, shrink):
        found = (-1.0, (0, 0, 0, 0), 0.0)
        for scale in scales:
            w, h = int(round(template.shape[1] * scale / shrink)), int(round(template.shape[0] * scale / shrink))
            if not (20 <= w <= image.shape[1] and 20 <= h <= image.shape[0]):
                continue
            result = cv2.matchTemplate(image, cv2.resize(template, (w, h), interpolation=cv2.INTER_AREA),
                                       cv2.TM_CCOEFF_NORMED)
            _, score, _, (x, y) = cv2.minMaxLoc(result)
            if score > found[0]:
                found = (score, (x * shrink, y * shrink, w * shrink, h * shrink), scale)
        return found

    half = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    _, _, scale = best(half, np.arange(0.3, 3.0, 0.03), 2)
    score, box, _ = best(gray, np.arange(scale - 0.03, scale + 0.031, 0.005), 1)
    return score, box


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
    # the video view shows frame 7 itself: found in the window's pixels, at a visible size, and reading 7
    expected = media.numbered_frame(7, (320, 240))
    score, (x, y, w, h) = _find_frame(image, expected)
    assert score > 0.95, f"frame 7 is not on screen (best match {score:.2f})"
    assert w >= 160 and x + w <= image.shape[1] and y + h <= image.shape[0]
    shown = cv2.resize(image[y:y + h, x:x + w], (320, 240), interpolation=cv2.INTER_AREA)
    assert media.frame_index(shown) == 7, "the view shows another frame than the one asked for"
    assert np.abs(shown.astype(int) - expected.astype(int)).mean() < 12, "the view's pixels are not the frame's"
