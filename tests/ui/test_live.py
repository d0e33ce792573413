"""Live mode with a stand-in camera: the sample video fed in real time (30 fps) through the same path a
webcam takes. The model is made slower than the camera on purpose (it waits while the test holds it),
so what is checked does not depend on how fast this machine is; the UI stall figures are measured by
``tsfgui bench live``."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QThreadPool  # noqa: E402

from tsfgui.io import VideoFileSource  # noqa: E402
from tsfgui.resources import SAMPLE_VIDEO  # noqa: E402
from tsfgui.ui.main_window import MainWindow  # noqa: E402


def test_display_follows_the_camera_and_a_busy_model_skips_stale_frames(qtbot, tiny_weights):
    w = MainWindow(weights=tiny_weights)
    qtbot.addWidget(w)
    w.set_per_frame_model(True)  # the model on every newest frame
    free = threading.Event()
    free.set()
    # the model's head waits while the test holds it: an analysis as slow as the test wants
    hold = w.session.models.get().head.register_forward_pre_hook(lambda module, args: free.wait(60) and None)
    taken: list[int] = []
    try:
        w.live.open(lambda: VideoFileSource(SAMPLE_VIDEO), realtime=True)
        w.session.live_result.connect(lambda result: taken.append(result.index))
        qtbot.waitUntil(lambda: any(r.analysed for r in w.session.results.values()), timeout=120_000)
        free.clear()  # the next model call waits
        held_at = w.live.shown
        # the display goes on at the camera's rate while the model is held
        qtbot.waitUntil(lambda: w.live.shown >= held_at + 45, timeout=60_000)
        released_at, before = w.live.shown, len(taken)
        free.set()
        # after the held frame's result, the next frame analysed is the newest, not the next in line
        qtbot.waitUntil(lambda: len(taken) >= before + 2, timeout=60_000)
        camera, analysis, dropped = w.session.live_stats
    finally:
        free.set()
        hold.remove()
    assert taken == sorted(set(taken)), "frames are analysed in order, each once"
    held, following = taken[before], taken[before + 1]
    assert held <= held_at + 45 <= released_at <= following, (
        f"frame {held} was in the model while frames up to {released_at} were shown; frame {following} came "
        "next: the frames that came meanwhile were queued instead of dropped")
    assert dropped > 0 and analysis < camera
    w.close()  # the window closes once its workers have ended, waited for off the GUI thread
    qtbot.waitUntil(lambda: w.workers_ended, timeout=60_000)
    assert QThreadPool.globalInstance().activeThreadCount() == 0


def test_two_stage_live_lists_each_classified_event_and_the_badge_shows_the_latest(qtbot, tiny_weights, tmp_path):
    w = MainWindow(weights=tiny_weights)  # the default: spotting on every frame, the model on spotted events
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    titles: list[str] = []
    w.session.live_result.connect(lambda result: titles.append(w.badge.title.text()))  # after the badge's own
    w.live.open(lambda: VideoFileSource(SAMPLE_VIDEO), realtime=True)
    assert "Live: each spotted interval appears" in w.events_panel.summary.text()
    qtbot.waitUntil(lambda: len(w.session.events) >= 2, timeout=120_000)
    qtbot.waitUntil(lambda: w.badge.title.text() in w.session.class_names, timeout=10_000)
    assert w.events_panel.table.rowCount() == len(w.session.events)
    assert "moving…" in titles and "no movement" in titles, "a movement shows before its class comes"
    assert w.events_panel.table.item(0, 4).text() == w.session.events[0].label
    assert "once it has ended" in w.events_panel.summary.text()
    assert w.grab().save(str(tmp_path / "live.png"))
    assert w.exports.events(str(tmp_path / "live.csv")) == len(w.session.events)  # the camera's events so far
    assert len((tmp_path / "live.csv").read_text().splitlines()) == len(w.session.events) + 1
    w.set_per_frame_model(True)  # switched while live: the camera is analysed again, the model on every frame
    qtbot.waitUntil(lambda: any(r.analysed for r in w.session.results.values()), timeout=120_000)
    assert not w.session.events and "nothing is spotted" in w.events_panel.summary.text()
    w.close()
    qtbot.waitUntil(lambda: w.workers_ended, timeout=60_000)
