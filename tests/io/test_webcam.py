"""WebcamSource: a missing camera fails fast, and a stream that stops ends with an error, not a hang.

No camera exists on CI machines, so the live path is exercised through OpenCV's capture of a
stream path (a real VideoCapture reading a real file), which behaves like a camera that is
unplugged when the file ends.
"""

from __future__ import annotations

import time

import pytest

from tsfgui.io import SourceError, WebcamSource, list_cameras, open_source


def test_missing_camera_fails_within_seconds():
    start = time.monotonic()
    with pytest.raises(SourceError, match="[Cc]amera 57 cannot be opened"):
        WebcamSource(57, open_timeout_s=3)
    assert time.monotonic() - start < 5


def test_open_source_webcam_syntax():
    with pytest.raises(SourceError, match="[Cc]amera 58"):
        open_source("webcam:58")


def test_stream_that_stops_ends_with_a_clear_error(tmp_path, media):
    path = media.write_cv2(tmp_path / "stream.avi", "MJPG", 30)
    cam = WebcamSource(str(path), stall_timeout_s=2)
    assert cam.info.kind == "webcam" and not cam.info.seekable and cam.info.frame_count is None
    got = []
    start = time.monotonic()
    with pytest.raises(SourceError, match="stopped delivering frames"):
        for frame in cam:
            got.append(frame)
    assert time.monotonic() - start < 5
    assert got, "frames before the stop are delivered"
    stamps = [f.timestamp_ms for f in got]
    assert stamps == sorted(stamps) and [f.index for f in got] == sorted({f.index for f in got})
    with pytest.raises(SourceError, match="cannot seek"):
        cam.read(0)
    cam.close()


def test_slow_consumer_gets_recent_frames_not_a_backlog(tmp_path, media):
    path = media.write_cv2(tmp_path / "stream.avi", "MJPG", 200)
    cam = WebcamSource(str(path), buffer=2)
    first = next(iter(cam))
    time.sleep(0.3)  # the consumer is busy; the reader keeps only the newest frames
    later = next(iter(cam))
    assert later.index - first.index > 2
    cam.close()
    cam.close()  # idempotent


def test_list_cameras_returns_only_cameras_that_open():
    assert all(isinstance(i, int) for i in list_cameras(max_index=2, timeout_s=1))
