"""Decoding ahead in a thread: every frame, in order; errors after the frames before them; an early
stop releases the source."""

from __future__ import annotations

import threading

import pytest

from tsfgui.io import SourceDamagedError, VideoFileSource
from tsfgui.io.read_ahead import read_ahead


def test_every_frame_arrives_in_order_decoded_in_another_thread(tmp_path, media):
    path = media.write_cv2(tmp_path / "v.avi", "MJPG", 40)
    readers: set[str] = set()

    def frames():
        with VideoFileSource(path) as source:
            for frame in source:
                readers.add(threading.current_thread().name)
                yield frame

    got = [media.frame_index(f.image) for f in read_ahead(frames(), depth=3)]
    assert got == list(range(40))
    assert readers == {"read-ahead"}


def test_a_source_error_comes_after_the_frames_before_it():
    def frames():
        yield from range(5)
        raise SourceDamagedError("'x.mp4' is damaged", frames_delivered=5)

    seen = []
    with pytest.raises(SourceDamagedError, match="damaged"):
        for item in read_ahead(frames(), depth=2):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_stopping_early_stops_the_reader_and_closes_the_source():
    closed = threading.Event()

    def frames():
        try:
            for i in range(10_000):
                yield i
        finally:
            closed.set()

    it = read_ahead(frames(), depth=4)
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()
    assert closed.wait(5)
    assert not any(t.name == "read-ahead" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(ValueError, match="depth"):
        next(read_ahead([], depth=0))
