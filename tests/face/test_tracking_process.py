"""Decoding and tracking in a child process: the same faces as in this process, every frame in order,
a dead child said clearly, and nothing left behind (process, shared memory) however the iteration ends.
(A damaged file's error through the child: ``tests/engine/test_engine_analyzer.py``.)"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from tsfgui.face import FaceTracker, TrackerSettings
from tsfgui.face.tracking_process import TrackingProcessError, can_track_in_process, idle_cpus, track_in_process
from tsfgui.io import VideoFileSource


def _children() -> list:
    return [p for p in mp.active_children() if p.name == "tsfgui-tracking"]


def _shared_memory() -> set[str]:
    return set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()


@pytest.fixture(scope="module")
def clip(tmp_path_factory, media) -> Path:
    return media.sample_clip(tmp_path_factory.mktemp("clip") / "face.avi", 45)


def test_faces_and_frames_are_those_of_the_tracker_in_this_process(clip):
    tracker = FaceTracker()
    with VideoFileSource(clip) as source:
        expected = [(frame, tracker.update(frame.image, index=frame.index, timestamp_ms=frame.timestamp_ms,
                                           crops=False)) for frame in source]
        assert can_track_in_process(source)
        got = list(track_in_process(source, TrackerSettings()))
        assert source.frames_decoded == len(expected)  # what the child's decoding found is this source's too
    assert [g.frame.index for g in got] == list(range(len(expected)))
    for (frame, faces), item in zip(expected, got):
        assert item.frame.timestamp_ms == frame.timestamp_ms and np.array_equal(item.frame.image, frame.image)
        assert item.faces.primary_id == faces.primary_id and len(item.faces.faces) == len(faces.faces)
        if faces.primary is not None:
            assert np.array_equal(item.faces.primary.landmarks, faces.primary.landmarks)
            assert np.array_equal(item.faces.primary.matrix, faces.primary.matrix)
    assert sum(f.primary is not None for _, f in expected) > 40  # the comparison compared faces
    assert all(item.cpu_seconds > 0 for item in got[:5])
    assert got[0].start_cpu_seconds > 0 and not any(item.start_cpu_seconds for item in got[1:])


def test_leaving_early_stops_the_child_and_frees_the_shared_memory(clip):
    before = _shared_memory()
    with VideoFileSource(clip) as source:
        frames = track_in_process(source, TrackerSettings(), slots=2)
        for item in frames:
            if item.frame.index == 3:
                break
        frames.close()
    assert not _children()
    assert _shared_memory() <= before


def test_should_stop_ends_the_frames_early(clip):
    seen = []
    with VideoFileSource(clip) as source:
        for item in track_in_process(source, TrackerSettings(), should_stop=lambda: len(seen) >= 5):
            seen.append(item.frame.index)
    assert seen == [0, 1, 2, 3, 4]
    assert not _children()


def test_a_child_that_dies_is_reported_and_ctrl_c_is_left_to_the_parent(clip):
    """SIGINT (Ctrl+C reaches the whole process group) does not stop the child; SIGKILL is said clearly."""
    seen = []
    with VideoFileSource(clip) as source, pytest.raises(TrackingProcessError, match="killed by signal 9"):
        for item in track_in_process(source, TrackerSettings(), slots=1):
            seen.append(item.frame.index)
            if len(seen) == 2:
                os.kill(_children()[0].pid, signal.SIGINT)
            if len(seen) == 10:
                assert _children(), "the child stopped on SIGINT"
                os.kill(_children()[0].pid, signal.SIGKILL)
    assert 10 <= len(seen) < 45 and seen == list(range(len(seen)))
    assert not _children()


def test_idle_cpus_is_a_share_of_the_machine_and_falls_when_a_core_is_kept_busy():
    import threading
    import time

    idle = idle_cpus(0.2)
    if idle is None:
        pytest.skip("no /proc/stat here")
    assert 0.0 <= idle <= os.cpu_count()
    stop = time.perf_counter() + 0.6
    busy = threading.Thread(target=lambda: [None for _ in iter(lambda: time.perf_counter() > stop, True)])
    busy.start()
    try:
        loaded = idle_cpus(0.3)
    finally:
        busy.join()
    assert loaded <= os.cpu_count() - 0.5  # this test's own busy core is not idle
