"""Errors reach the person in the window: a failing camera or live source, a frame the inspector
cannot compute, a file that cannot be opened from the command line, damaged weights provenance, a
results cache that cannot be written, a camera listing that fails."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from tsfgui.io import FrameSource, VideoFileSource  # noqa: E402
from tsfgui.ui.app import make_window  # noqa: E402

SAMPLE = str(Path(__file__).resolve().parents[2] / "resources" / "sample_interview.mp4")


class FailingCamera(FrameSource):
    """The sample played as a camera whose driver fails after 20 frames (as a USB camera pulled out can)."""

    def __init__(self) -> None:
        self._video = VideoFileSource(SAMPLE)
        self.info = dataclasses.replace(self._video.info, kind="webcam", frame_count=None)

    def __iter__(self):
        for frame in self._video:
            if frame.index == 20:
                raise RuntimeError("camera driver: device disconnected")
            yield frame

    def close(self) -> None:
        self._video.close()


def test_a_live_source_that_fails_shows_its_error_in_the_red_bar(qtbot, window):
    w = window(None)
    w.live.open(FailingCamera, realtime=True)
    qtbot.waitUntil(lambda: w.session.last_error is not None, timeout=60_000)
    assert w.status.error_banner.isVisibleTo(w) and "device disconnected" in w.status.error_banner.text()
    assert "Live analysis stopped" in w.session.last_error


def test_an_inspector_error_is_shown_and_the_next_request_works(qtbot, window, tiny_weights):
    w = window(SAMPLE, weights=tiny_weights)
    qtbot.waitUntil(lambda: w.session.analysed, timeout=120_000)
    good = w.session.results[150]
    # a damaged alignment (a 3×3 matrix): OpenCV refuses it inside the inspector's worker
    broken_face = dataclasses.replace(good.face, matrix=np.eye(3))
    w.session.results[150] = dataclasses.replace(good, face=broken_face)
    w.seek(150)
    qtbot.waitUntil(lambda: "cannot be inspected" in w.inspector_panel.caption.text(), timeout=30_000)
    assert "Frame 150" in w.inspector_panel.caption.text() and not w.inspector.busy
    w.session.results[150] = good
    with qtbot.waitSignal(w.inspector.shown, timeout=30_000, check_params_cb=lambda i: i == 160):
        w.seek(160)
    assert w.inspector_panel.shown.index == 160


def test_an_unreadable_file_from_the_command_line_opens_the_window_with_the_error(qtbot, tmp_path):
    notes = tmp_path / "notes.mp4"
    notes.write_text("hello\n" * 100)
    w = make_window(str(notes), weights=None)
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: w.session.last_error is not None, timeout=30_000)
        assert w.status.error_banner.isVisibleTo(w) and "notes.mp4" in w.status.error_banner.text()
        assert "text file" in w.status.error_banner.text()
    finally:
        w.close()
        qtbot.waitUntil(lambda: w.workers_ended, timeout=30_000)


def test_damaged_weights_provenance_is_shown_not_dropped(qtbot, window, tiny_weights, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    damaged = tmp_path / "damaged.safetensors"
    with safe_open(tiny_weights, framework="pt") as f:
        meta = dict(f.metadata())
    meta["provenance"] = '{"synthetic": true, "warning": "demo'  # cut short
    save_file(load_file(tiny_weights), str(damaged), metadata=meta)
    w = window(SAMPLE, weights=str(damaged))
    qtbot.waitUntil(lambda: w.status.warning_banner.isVisibleTo(w), timeout=60_000)
    assert "provenance" in w.status.warning_banner.text() and "damaged" in w.status.warning_banner.text()


def test_a_results_cache_that_cannot_be_written_is_said(qtbot, window, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("TSFGUI_CACHE_DIR", str(blocker / "cache"))
    w = window(SAMPLE)
    qtbot.waitUntil(lambda: w.session.cache_error is not None, timeout=120_000)
    assert "Results not cached" in w.session.cache_error and "Results not cached" in w.statusBar().currentMessage()


def test_a_failed_camera_listing_is_said_not_left_looking(qtbot, window):
    w = window(None)

    def listing_fails() -> list[int]:  # a RuntimeError, as OpenCV's camera back ends raise
        raise RuntimeError("permission denied on /dev/video0")

    w.live.ask_webcam(lister=listing_fails)
    qtbot.waitUntil(lambda: w.session.last_error is not None, timeout=10_000)
    assert "permission denied on /dev/video0" in w.status.error_banner.text()
    assert "Looking for cameras" not in w.statusBar().currentMessage()


def test_garbage_is_collected_on_the_gui_thread_only(qapp, qtbot):
    """While the app runs, automatic collection is off; the GUI thread's timer frees cyclic garbage."""
    import gc
    import threading
    import weakref

    from tsfgui.ui.app import qt_application
    from tsfgui.ui.gui_gc import GuiThreadCollector

    app = qt_application()
    collector = app.findChild(GuiThreadCollector)  # what the app installs
    assert collector is not None and not gc.isenabled()

    class Node:
        pass

    freed_on: list[str] = []
    for _ in range(3000):  # enough cyclic garbage to pass the first generation's threshold
        a, b = Node(), Node()
        a.other, b.other = b, a
    a = Node()
    a.self = a
    weakref.finalize(a, lambda: freed_on.append(threading.current_thread().name))
    del a, b
    worker = threading.Thread(target=lambda: [Node() for _ in range(5000)], name="worker")
    worker.start()
    worker.join()
    assert not freed_on  # the worker's allocations did not collect it
    qtbot.waitUntil(lambda: bool(freed_on), timeout=5_000)
    assert freed_on == [threading.main_thread().name]
    collector.stop()
    collector.setParent(None)
    collector.deleteLater()
