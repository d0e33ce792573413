"""The Qt-free session driven headless: open → analyse → spot → classify → export, with the events it
emits; errors and cancellation reach the listener; the weights are read once."""

from __future__ import annotations

import json

import pytest

from tsfgui import export
from tsfgui.resources import SAMPLE_VIDEO
from tsfgui.session import Session


def _listen(session: Session) -> list[tuple]:
    heard: list[tuple] = []
    for name in ("opened", "progress", "status", "events_changed", "error", "finished"):
        getattr(session, name).connect(lambda *args, name=name: heard.append((name, *args)))
    return heard


def test_open_analyse_spot_classify_export_headless(tmp_path, tiny_weights):
    session = Session(tiny_weights, per_frame_model=False)  # two stages: the model on the spotted intervals
    heard = _listen(session)
    assert session.open(SAMPLE_VIDEO)
    assert session.analyse().join(300) and session.analysed
    assert len(session.signals) == 300
    assert session.spot().join(300)
    assert session.events and all(e.label in session.models.class_names for e in session.events)
    assert session.models.loads == 1
    data = export.ExportData.of_session(session)
    export.write("events-json", tmp_path / "events.json", data)
    export.write("eaf", tmp_path / "sample.eaf", data)
    written = json.loads((tmp_path / "events.json").read_text())["events"]
    assert [e["apex_frame"] for e in written] == [e.apex for e in session.events]
    assert "sample_interview.mp4" in (tmp_path / "sample.eaf").read_text()
    names = [h[0] for h in heard]
    assert names[0] == "opened" and heard[0][1].frame_count == 300
    progress = [h[1] for h in heard if h[0] == "progress"]
    assert progress == sorted(progress) and progress[-1] == 300 and len(progress) >= 10
    finished = [h[1] for h in heard if h[0] == "finished"]
    assert finished == ["analysis", "spotting"]
    assert names.index("events_changed") > names.index("finished")  # after the analysis had finished
    assert [h for h in heard if h[0] == "events_changed"][0][1] == session.events
    assert "error" not in names


def test_errors_and_cancellation_reach_the_listener(tmp_path):
    session = Session(None)
    heard = _listen(session)
    assert not session.open(tmp_path / "missing.mp4")
    assert heard[-1][0] == "error" and "missing.mp4" in heard[-1][1] and session.errors == [heard[-1][1]]
    assert session.spot().join(30)  # spotting before any analysis: said, not crashed
    assert "Spotting stopped" in session.errors[-1] and "analyse the recording first" in session.errors[-1]
    assert session.open(SAMPLE_VIDEO)
    task = session.analyse()
    session.cancel()
    assert session.close(60) and not task.running
    assert ("finished", "cancelled") in heard and not session.analysed


def test_what_a_task_hands_over_goes_through_dispatch_and_a_replaced_analysis_changes_nothing():
    """The app hands the session a dispatcher to its GUI thread: state changes and signals happen only
    when a handed-over call runs, and the calls of an analysis replaced meanwhile are dropped."""
    import queue

    handed: queue.Queue = queue.Queue()
    session = Session(None, keep_frames=True, progress_every=10, dispatch=handed.put)
    heard = _listen(session)
    session.results_added.connect(lambda results: heard.append(("results_added", len(results))))
    assert session.open(SAMPLE_VIDEO)
    first = session.analyse()
    assert first.join(300)
    assert session.results == {} and not session.analysed  # nothing ran yet: all of it waits in the queue
    stale = []
    while not handed.empty():
        stale.append(handed.get())
    second = session.analyse()  # the same recording again (another setting): the first one is replaced
    for call in stale:
        call()
    assert session.results == {} and not session.analysed, "a replaced analysis must not touch the new one"
    assert second.join(300)
    while not handed.empty():
        handed.get()()
    assert session.analysed and len(session.results) == 300 and len(session.traces) == 300
    assert sum(h[1] for h in heard if h[0] == "results_added") == 300
    assert session.results[120].face is not None and session.results[120].face.crop is None  # kept compact
    assert [h[1] for h in heard if h[0] == "finished"] == ["analysis"]


def test_a_trimmed_file_that_announces_more_frames_than_it_shows_is_cached_whole(tmp_path, media):
    """``ffmpeg -ss … -c copy`` cuts announce more frames than they decode: the finished analysis of every
    decoded frame is cached, and re-opening the file reads it back instead of analysing it again."""
    import subprocess

    from tsfgui.engine import ResultsCache

    source = media.write_ffmpeg(tmp_path / "in.mp4", ["-c:v", "libx264", "-g", "30", "-bf", "2",
                                                      "-pix_fmt", "yuv420p"], 75)
    trimmed = tmp_path / "trimmed.mp4"
    subprocess.run([media.ffmpeg_exe(), "-y", "-loglevel", "error", "-ss", "0.3", "-i", str(source), "-c", "copy",
                    str(trimmed)], check=True)
    cache = ResultsCache(tmp_path / "cache")
    session = Session(None, keep_frames=True, cache=cache)
    assert session.open(trimmed) and session.info.frame_count == 75  # what the header announces
    assert session.analyse().join(300) and session.analysed
    decoded = len(session.results)
    assert 0 < decoded < 75
    assert session.close(60)
    assert len(list(cache.directory.glob("*.npz"))) == 1, "the finished analysis was not cached"
    again = Session(None, keep_frames=True, cache=cache)
    assert again.open(trimmed) and again.analyse().join(300)
    assert again.from_cache and len(again.results) == decoded


def test_a_damaged_file_is_not_cached_so_reopening_says_the_damage_again(tmp_path, media):
    from tsfgui.engine import ResultsCache

    path = media.write_ffmpeg(tmp_path / "cut.avi", ["-c:v", "mjpeg", "-q:v", "3"], 60)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    cache = ResultsCache(tmp_path / "cache")
    for _ in range(2):
        session = Session(None, keep_frames=True, cache=cache)
        heard = _listen(session)
        assert session.open(path) and session.analyse().join(300) and session.analysed
        assert 0 < len(session.results) < 60 and not session.from_cache
        assert any(h[0] == "status" and "damaged" in h[1] for h in heard)
        assert session.close(60)
    assert not list(cache.directory.glob("*.npz"))


def test_live_two_stage_spots_the_camera_and_classifies_each_event_once(tiny_weights):
    from tsfgui.io import VideoFileSource

    session = Session(tiny_weights, per_frame_model=False)
    heard = _listen(session)
    # the sample as a camera: paced at its 30 fps through the path a webcam takes
    assert session.open_live(lambda: VideoFileSource(SAMPLE_VIDEO), realtime=True).join(300)
    assert [h[1] for h in heard if h[0] == "finished"] == ["live"] and not session.errors
    assert session.live and session.results and all(r.probabilities is None for r in session.results.values())
    events = session.events
    assert len(events) >= 3, "the sample's planted movements are spotted live"
    assert all(e.label in session.models.class_names and 0 < e.probability <= 1 for e in events)
    assert [e.apex for e in events] == sorted({e.apex for e in events}), "each event once, in order"
    assert all(0 <= e.onset < e.apex < e.offset < 300 for e in events)
    assert [h[1] for h in heard if h[0] == "events_changed"][-1] == events
    assert session.fps == pytest.approx(30.0, rel=0.05)  # measured from the frames' timestamps


def test_live_with_the_model_on_every_frame_spots_nothing(tiny_weights, tmp_path):
    from tsfgui.io import VideoFileSource
    from tsfgui.samples.excerpt import write_sample_excerpt

    camera = write_sample_excerpt(tmp_path / "camera.avi", 90)  # 3 s: the first movement and after it
    session = Session(tiny_weights, per_frame_model=True)
    seen: list = []
    session.live_result.connect(seen.append)
    assert session.open_live(lambda: VideoFileSource(camera), realtime=True).join(300)
    assert any(r.probabilities is not None for r in seen) and not session.events
