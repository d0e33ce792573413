"""The analysis engine on the shipped sample video with a small TSFmicro (real forward passes)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tsfgui.engine import Analyzer, FixedOnset, LatestFrame, NeutralBaseline, RollingLag
from tsfgui.face import FaceTracker
from tsfgui.io import Frame, VideoFileSource
from tsfgui.model import TSFmicro, TSFmicroConfig

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_interview.mp4"
SMALL = dict(img_size=64, embed_dims=(16, 32, 64, 64), num_heads=(2, 2, 2, 2), spatial_heads=2, head_hidden=64)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return TSFmicro(TSFmicroConfig(**SMALL)).eval()


@pytest.fixture(scope="module")
def sample_frames():
    with VideoFileSource(SAMPLE) as source:
        return [f for f in source if f.index < 90]


@pytest.fixture(scope="module")
def tracker():
    return FaceTracker()


def fresh(tracker):
    tracker.reset()
    return tracker


def test_one_result_per_frame_in_order(model, sample_frames, tracker):
    analyzer = Analyzer(model, tracker=fresh(tracker), batch_size=8)
    results = list(analyzer.run(sample_frames))
    assert [r.index for r in results] == list(range(90))
    assert all(r.has_face for r in results)
    assert [r.status for r in results[:6]] == ["no reference"] * 6  # 0.2 s at 30 fps
    analysed = [r for r in results if r.analysed]
    assert len(analysed) == 84 and analyzer.stats.analysed == 84
    for r in analysed:
        assert r.reference_index == r.index - 6
        assert r.probabilities.shape == (3,) and np.isclose(r.probabilities.sum(), 1.0, atol=1e-5)
        assert r.label in ("negative", "positive", "surprise")
        assert set(r.diff) == {"global", "brows", "eyes", "nose", "mouth"}


def test_difference_signal_peaks_where_and_when_the_event_was_planted(sample_frames, tracker):
    truth = json.loads(SAMPLE.with_suffix(".json").read_text())
    event = next(e for e in truth["events"] if e["apex"] < 60 and "mouth" in e["regions"])
    lag_s = (event["apex"] - event["onset"]) / truth["video"]["fps"]
    results = list(Analyzer(None, tracker=fresh(tracker), policy=RollingLag(lag_s=lag_s)).run(sample_frames))
    mouth = np.array([r.diff.get("mouth", np.nan) for r in results])
    brows = np.array([r.diff.get("brows", np.nan) for r in results])
    quiet = np.nanmedian(mouth[event["offset"] + 5:event["offset"] + 40])
    window = range(event["onset"], event["offset"] + 1)
    peak = max(window, key=lambda i: mouth[i])
    assert abs(peak - event["apex"]) <= 2, f"mouth change peaks at {peak}, planted apex {event['apex']}"
    assert mouth[peak] > 1.5 * quiet
    assert mouth[peak] > brows[peak]  # where it was planted
    assert all(r.probabilities is None for r in results)  # no model: signals only


def test_batch_size_does_not_change_predictions(model, sample_frames, tracker):
    one = [r.probabilities for r in Analyzer(model, tracker=fresh(tracker), batch_size=1).run(sample_frames[:30])]
    eight = [r.probabilities for r in Analyzer(model, tracker=fresh(tracker), batch_size=8).run(sample_frames[:30])]
    for a, b in zip(one, eight):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_each_reference_frame_is_embedded_once(model, sample_frames, tracker):
    seen: list[int] = []
    hook = model.spatial.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[0]))
    try:
        analyzer = Analyzer(model, tracker=fresh(tracker), policy=FixedOnset(0), batch_size=8)
        results = list(analyzer.run(sample_frames[:40]))
        assert sum(r.analysed for r in results) == 39
        assert sum(seen) == 1 and analyzer.stats.embedded == 1  # the onset, once, for 39 frames

        seen.clear()
        analyzer = Analyzer(model, tracker=fresh(tracker), policy=NeutralBaseline(window_s=1.0), batch_size=4)
        results = list(analyzer.run(sample_frames[:60]))
        references = {r.reference_index for r in results if r.analysed}
        assert sum(seen) == len(references) == analyzer.stats.embedded
        assert len(references) < sum(r.analysed for r in results)  # calm frames are reused
    finally:
        hook.remove()


def test_frames_without_a_face_are_flagged_and_analysis_continues(model, sample_frames, tracker):
    blank = np.full_like(sample_frames[0].image, 128)
    frames = [Frame(f.index, f.timestamp_ms, blank if 20 <= f.index < 30 else f.image) for f in sample_frames[:50]]
    results = list(Analyzer(model, tracker=fresh(tracker), batch_size=8).run(frames))
    assert len(results) == 50
    assert all(r.status == "no face" and r.face is None for r in results[20:30])
    assert all(r.has_face for r in results[30:])
    assert results[49].analysed and results[49].reference_index == 43


def test_heatmaps_on_request_land_on_the_face(model, sample_frames, tracker):
    plain = Analyzer(model, tracker=fresh(tracker), batch_size=8)
    results = list(plain.run(sample_frames[:12]))
    assert all(r.heatmaps is None for r in results)  # a plain run pays for none
    with_maps = list(Analyzer(model, tracker=fresh(tracker), heatmaps=("attention", "rollout", "gradcam"))
                     .run(sample_frames[:12]))
    last = with_maps[-1]
    assert set(last.heatmaps) == {"attention", "rollout", "gradcam"}
    maps = plain.explain(results[-1])
    for name in ("attention", "rollout", "gradcam"):
        np.testing.assert_allclose(maps[name], last.heatmaps[name], atol=1e-4)
        on_frame = last.face.heatmap_to_frame(np.ones_like(maps[name]), sample_frames[0].image.shape[:2])
        x0, y0, x1, y1 = last.face.bbox
        w, h = x1 - x0, y1 - y0
        ys, xs = np.nonzero(on_frame > 0.5)
        # the crop's footprint in the frame surrounds the face box, not more than a face away
        assert xs.min() > x0 - w and xs.max() < x1 + w and ys.min() > y0 - h and ys.max() < y1 + h
        assert xs.min() < x0 + 1 and xs.max() > x1 - 1


def test_analyze_a_source_with_a_range_and_stop(model, tracker):
    with VideoFileSource(SAMPLE) as source:
        analyzer = Analyzer(model, tracker=fresh(tracker))
        results = list(analyzer.analyze(source, start=100, stop=120))
        assert [r.index for r in results] == list(range(100, 120))
        count = 0

        def stop_after_ten() -> bool:
            return count >= 10

        for _ in Analyzer(model, tracker=fresh(tracker), batch_size=8).analyze(source, should_stop=stop_after_ten):
            count += 1
        assert 10 <= count <= 10 + 8  # reading stops; the batch in progress is finished


def test_tracking_in_its_own_thread_gives_the_same_results_and_stops_its_threads(sample_frames, tracker):
    """analyze() decodes, tracks and measures in three threads; the figures are those of the
    one-thread loop, and leaving early leaves no thread behind."""
    import threading

    expected = list(Analyzer(None, tracker=fresh(tracker)).run(sample_frames[:40]))
    got = []
    with VideoFileSource(SAMPLE) as source:
        for result in Analyzer(None, tracker=fresh(tracker)).analyze(source):
            got.append(result)
            if len(got) == 40:
                break
    assert [r.index for r in got] == list(range(40))
    for a, b in zip(expected, got):
        assert a.diff == b.diff and a.flow == b.flow and a.pose == b.pose and a.motion == b.motion
        assert a.drift == b.drift
    assert expected[-1].diff and expected[-1].motion and expected[-1].drift  # the comparison compared something
    time.sleep(0.3)
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]


def test_tracking_in_a_child_process_gives_the_same_results_and_stops_it(tmp_path, media, tracker):
    """analyze() may decode and track in a child process (long inputs by default): every figure is the
    one of the threads, and a cancelled analysis leaves no child behind."""
    import multiprocessing as mp

    clip = media.sample_clip(tmp_path / "face.avi", 60)
    runs = {}
    for in_process in (False, True):
        with VideoFileSource(clip) as source:
            analyzer = Analyzer(None, tracker=fresh(tracker), tracking_process=in_process)
            runs[in_process] = list(analyzer.analyze(source))
            assert analyzer.stats.face_cpu_seconds > 0
    assert [r.index for r in runs[True]] == list(range(60))
    for a, b in zip(runs[False], runs[True]):
        assert (a.diff, a.flow, a.pose, a.reference_index) == (b.diff, b.flow, b.pose, b.reference_index)
        assert np.array_equal(a.face.landmarks, b.face.landmarks) and np.array_equal(a.face.crop, b.face.crop)
    assert runs[True][-1].flow  # the comparison compared something
    with VideoFileSource(clip) as source:
        done = []
        for result in Analyzer(None, tracker=fresh(tracker), tracking_process=True).analyze(
                source, should_stop=lambda: len(done) >= 12):
            done.append(result.index)
    assert done == list(range(len(done))) and 12 <= len(done) <= 12 + 8  # the frames in hand are finished
    assert not [p for p in mp.active_children() if p.name == "tsfgui-tracking"]


def test_live_gate_drops_stale_frames_instead_of_queueing(model, tracker):
    with VideoFileSource(SAMPLE) as source:
        gate = LatestFrame(source, realtime=True)
        analyzer = Analyzer(model, tracker=fresh(tracker), batch_size=1)
        results = []
        for result in analyzer.run(gate):
            results.append(result)
            if len(results) == 25:
                break
            time.sleep(0.08)  # a model slower than the camera (30 fps = 33 ms)
        gate.close()
    indices = [r.index for r in results]
    assert indices == sorted(indices)
    assert indices[-1] - indices[0] > 40, "the consumer must get the newest frames, skipping stale ones"
    assert gate.stats.dropped > 0 and gate.stats.delivered >= gate.stats.taken


def test_frames_csv_carries_the_patch_motion_spotting_runs_on(sample_frames, tracker, tmp_path):
    import csv

    from tsfgui.engine.results import DIFF_KEYS
    from tsfgui.export import write_frames_csv

    results = list(Analyzer(None, tracker=fresh(tracker)).run(sample_frames))
    path = tmp_path / "frames.csv"
    write_frames_csv(results, path, ())
    rows = list(csv.DictReader(path.open()))
    assert [f"motion_{k}" for k in DIFF_KEYS] == [c for c in rows[0] if c.startswith("motion_")]
    assert rows[0]["motion_brows"] == "", "no baseline yet on the first frame"
    with_motion = [(row, r) for row, r in zip(rows, results) if r.motion]
    assert len(with_motion) > 30
    for row, r in with_motion:
        assert [float(row[f"motion_{k}"]) for k in r.motion] == pytest.approx(list(r.motion.values()), abs=1e-3)


def test_frames_csv_has_one_row_per_frame_with_that_frames_figures(model, sample_frames, tracker, tmp_path):
    import csv

    blank = np.full_like(sample_frames[0].image, 128)
    frames = [Frame(f.index, f.timestamp_ms, blank if f.index == 12 else f.image) for f in sample_frames[:20]]
    results = list(Analyzer(model, tracker=fresh(tracker)).run(frames))
    from tsfgui.export import write_frames_csv

    path = tmp_path / "out" / "frames.csv"
    assert write_frames_csv(results, path, model.class_names) == 20
    rows = list(csv.DictReader(path.open()))
    assert [int(r["frame"]) for r in rows] == list(range(20))
    assert rows[12]["face_detected"] == "0" and rows[12]["label"] == "" and rows[12]["p_negative"] == ""
    r = results[19]
    assert rows[19]["label"] == r.label and float(rows[19]["p_positive"]) == pytest.approx(r.probabilities[1], abs=1e-4)
    assert float(rows[19]["diff_mouth"]) == pytest.approx(r.diff["mouth"], abs=1e-4)
    assert float(rows[19]["flow_mouth"]) == pytest.approx(r.flow["mouth"], abs=1e-4) and r.flow["mouth"] >= 0
    assert float(rows[19]["pose_Rz"]) == pytest.approx(r.pose[2], abs=1e-5)
    assert rows[12]["flow_mouth"] == "" and rows[12]["pose_Rx"] == ""
    assert int(rows[19]["reference_frame"]) == r.reference_index
    assert not [p for p in path.parent.iterdir() if p.name != "frames.csv"]  # no temp file left


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    from tsfgui.io.atomic import atomic_write

    path = tmp_path / "frames.csv"
    path.write_text("complete old file\n")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as fh:
            fh.write("half a ")
            raise RuntimeError("crash while writing")
    assert path.read_text() == "complete old file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["frames.csv"]


def test_results_cache_round_trip_and_key(model, sample_frames, tracker, tmp_path):
    from tsfgui.engine import ResultsCache, cache_key

    blank = np.full_like(sample_frames[0].image, 128)
    frames = [Frame(f.index, f.timestamp_ms, blank if f.index == 3 else f.image) for f in sample_frames[:15]]
    results = list(Analyzer(model, tracker=fresh(tracker)).run(frames))
    cache = ResultsCache(tmp_path / "cache")
    key = cache_key(SAMPLE, None, {"policy": "rolling lag 200 ms"})
    assert cache.load(key) is None
    cache.save(key, results, model.class_names)
    loaded = cache.load(key)
    assert len(loaded) == 15
    for a, b in zip(results, loaded):
        assert (a.index, a.reference_index, a.status, a.label) == (b.index, b.reference_index, b.status, b.label)
        assert a.diff == pytest.approx(b.diff) and a.flow == pytest.approx(b.flow, abs=1e-6)
        assert a.motion == pytest.approx(b.motion, abs=1e-6)
        assert a.drift.keys() == b.drift.keys()
        assert all(a.drift[k] == pytest.approx(b.drift[k], abs=1e-6) for k in a.drift)
        assert (a.pose is None) == (b.pose is None) and (a.pose is None or a.pose == pytest.approx(b.pose, abs=1e-6))
        if a.face is not None:
            np.testing.assert_allclose(a.face.landmarks, b.face.landmarks)
            np.testing.assert_array_equal(a.face.matrix, b.face.matrix)
            assert a.face.quality is b.face.quality and b.face.crop is None
    # anything that changes the results changes the key
    assert cache_key(SAMPLE, None, {"policy": "marked onset at frame 3"}) != key
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"x")
    assert cache_key(SAMPLE, weights, {"policy": "rolling lag 200 ms"}) != key
    cache.path(key).write_bytes(b"damaged")
    assert cache.load(key) is None  # an unusable entry is a miss, not a crash


@pytest.mark.parametrize("in_process", [False, True], ids=["threads", "tracking process"])
def test_every_result_before_a_damaged_end_reaches_the_consumer(tmp_path, media, tracker, in_process):
    """A 98-frame MP4 without a face in view, cut short: no batch ever fills, and the results of every
    decoded frame still come out before the damage is raised (as itself, from the tracking process too)."""
    from tsfgui.io import SourceDamagedError

    path = media.write_ffmpeg(tmp_path / "cut.mp4", ["-c:v", "libx264", "-g", "10", "-movflags", "+faststart",
                                                     "-pix_fmt", "yuv420p"], 98)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.9)])
    results = []
    with VideoFileSource(path) as source, pytest.raises(SourceDamagedError) as err:
        for result in Analyzer(None, tracker=fresh(tracker), batch_size=8, tracking_process=in_process).analyze(source):
            results.append(result)
    assert err.value.frames_delivered > 50 and "damaged" in str(err.value)
    assert [r.index for r in results] == list(range(err.value.frames_delivered))
    assert all(r.status == "no face" for r in results)


def test_results_keep_flowing_through_a_long_stretch_without_a_face(sample_frames, tracker):
    from tsfgui.engine.analyzer import FLUSH_FRAMES

    blank = np.full_like(sample_frames[0].image, 128)
    consumed = []

    def frames():
        for i in range(4 * FLUSH_FRAMES):
            consumed.append(i)
            yield Frame(i, i * 1000 / 30, blank)

    arrivals = [(result.index, len(consumed)) for result in Analyzer(None, tracker=fresh(tracker)).run(frames())]
    assert [index for index, _ in arrivals] == list(range(4 * FLUSH_FRAMES))
    assert arrivals[0][1] <= FLUSH_FRAMES, "a result waited for frames far beyond it"
    assert all(seen - index <= FLUSH_FRAMES for index, seen in arrivals)


def test_live_gate_raises_a_reader_error_instead_of_ending_quietly():
    """A failing frame callback (or camera driver) is an error for the consumer, not the end of the stream."""

    def display(frame) -> None:
        if frame.index == 5:
            raise RuntimeError("display callback failed at frame 5")

    with VideoFileSource(SAMPLE) as source:
        gate = LatestFrame(source, on_frame=display)
        taken = []
        with pytest.raises(RuntimeError, match="display callback failed at frame 5"):
            for frame in gate:
                taken.append(frame.index)
        gate.close()
    assert all(i < 5 for i in taken)
