"""The first window on real video files with real Qt widgets (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from tsfgui.ui.player import PlayerWindow  # noqa: E402

N = 40


@pytest.fixture
def video(tmp_path, media):
    return media.write_cv2(tmp_path / "clip.avi", "MJPG", N, fps=50)


@pytest.fixture
def window(qtbot):
    windows = []

    def make(*args, **kwargs):
        w = PlayerWindow(*args, **kwargs)
        qtbot.addWidget(w)
        windows.append(w)
        return w

    yield make
    for w in windows:
        thread = w._thread
        w.close()
        assert w._reader is None
        if thread is not None:
            assert thread.isFinished(), "closing the window must stop the decoding thread"


def shown_index(w, media) -> int:
    img = w.image_item.image  # RGB as displayed
    return media.frame_index(img[:, :, ::-1].copy())


def test_opens_and_shows_first_frame(qtbot, window, video, media):
    w = window(str(video))
    with qtbot.waitSignal(w.frameShown, timeout=10_000) as blocker:
        pass
    assert blocker.args == [0]
    assert w.info.frame_count == N and w.slider.maximum() == N - 1
    assert shown_index(w, media) == 0
    assert "frame 1/40" in w.position_label.text()


def test_step_and_seek_show_that_exact_frame(qtbot, window, video, media):
    w = window(str(video))
    qtbot.waitSignal(w.frameShown, timeout=10_000).wait() if w.current < 0 else None
    qtbot.waitUntil(lambda: w.current == 0, timeout=10_000)
    w.step(+1)
    qtbot.waitUntil(lambda: w.current == 1)
    assert shown_index(w, media) == 1
    w.slider.setValue(33)
    qtbot.waitUntil(lambda: w.current == 33)
    assert shown_index(w, media) == 33
    w.step(-1)
    qtbot.waitUntil(lambda: w.current == 32)
    assert shown_index(w, media) == 32 and w.slider.value() == 32


def test_rapid_scrubbing_keeps_only_the_latest_request(qtbot, window, video, media):
    w = window(str(video))
    qtbot.waitUntil(lambda: w.current == 0, timeout=10_000)
    for i in range(1, N):
        w.seek(i)  # faster than decoding: must not queue 39 decodes, and must end on the last wish
    qtbot.waitUntil(lambda: w.current == N - 1 and not w._in_flight)
    assert shown_index(w, media) == N - 1


def test_play_runs_to_the_end(qtbot, window, video):
    w = window(str(video))
    qtbot.waitUntil(lambda: w.current == 0, timeout=10_000)
    w.play_button.setChecked(True)
    qtbot.waitUntil(lambda: w.current == N - 1, timeout=20_000)
    qtbot.waitUntil(lambda: not w.play_button.isChecked())


def test_bad_file_shows_the_error_and_the_app_keeps_running(qtbot, window, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n" * 50)
    w = window(str(bad))
    qtbot.waitUntil(lambda: w.error is not None, timeout=10_000)
    assert "text file, not a video" in w.statusBar().currentMessage()
    assert w.info is None


def test_close_while_playing(qtbot, window, video):
    w = window(str(video))
    qtbot.waitUntil(lambda: w.current == 0, timeout=10_000)
    w.play_button.setChecked(True)
    qtbot.waitUntil(lambda: w.current >= 3, timeout=10_000)
    # the fixture closes it mid-play and checks that the thread has finished
