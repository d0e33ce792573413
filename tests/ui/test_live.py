"""Live mode with a stand-in camera: the sample video fed in real time (30 fps) through the same path a
webcam takes, with the full-size model (slower than the camera on 2 cores)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

pytest.importorskip("pytestqt")

from PySide6.QtCore import QThreadPool, QTimer  # noqa: E402

from tsfgui.io import VideoFileSource  # noqa: E402
from tsfgui.model import TSFmicro  # noqa: E402
from tsfgui.ui.main_window import MainWindow  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_interview.mp4"


@pytest.fixture(scope="module")
def full_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "full.safetensors"
    TSFmicro().save_pretrained(path, dtype=torch.float16)
    return str(path)


def test_live_drops_stale_frames_and_the_ui_never_stalls(qtbot, full_weights):
    w = MainWindow(weights=full_weights)
    qtbot.addWidget(w)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    w.open_live(lambda: VideoFileSource(SAMPLE), realtime=True)
    qtbot.waitUntil(lambda: bool(w.results) and next(iter(w.results.values())).analysed, timeout=60_000)
    last[0] = time.perf_counter()
    timer.start(5)
    qtbot.wait(4000)  # the model runs all this time
    timer.stop()
    camera, analysis, dropped = w.live_stats
    print(f"live: camera {camera:.1f} fps, analysis {analysis:.1f} fps, dropped {dropped}, "
          f"longest UI gap {max(gaps) * 1000:.1f} ms over {len(gaps)} ticks")
    assert dropped > 0 and analysis < camera, "a slow model must drop frames, not queue them"
    assert w._live_shown > 100, "display follows the camera, not the model"
    newest = next(iter(w.results.values()))
    assert w._live_shown - newest.index < 30, "analysis works on recent frames (no backlog)"
    assert max(gaps) < 0.050, f"the UI event loop stalled for {max(gaps) * 1000:.0f} ms"
    w.close()
    assert QThreadPool.globalInstance().activeThreadCount() == 0
