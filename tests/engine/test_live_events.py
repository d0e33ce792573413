"""Two-stage live analysis: spotting a stream as it comes, each event handed on once and only once it is
final, with its onset and apex cut by one alignment; the model classifies events in its own thread."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

from tsfgui.engine import Analyzer, FrameResult
from tsfgui.engine.interval_labels import label_pairs
from tsfgui.engine.live_events import EventClassifier, LiveEvent, LiveSpotter
from tsfgui.engine.spotting import SpottedInterval, spot
from tsfgui.face import FaceTracker
from tsfgui.io import VideoFileSource
from tsfgui.model import TSFmicro, TSFmicroConfig
from tsfgui.resources import SAMPLE_VIDEO


@pytest.fixture(scope="module")
def sample_results() -> list[FrameResult]:
    """Every frame of the bundled sample analysed without a model (stage 1), crops kept."""
    with VideoFileSource(SAMPLE_VIDEO) as source:
        return list(Analyzer(None, tracker=FaceTracker(), batch_size=1).run(source))


@pytest.fixture(scope="module")
def tiny_model() -> TSFmicro:
    torch.manual_seed(0)
    return TSFmicro(TSFmicroConfig.tiny()).eval()


def test_events_come_once_each_when_final_and_agree_with_spotting_the_whole_recording(sample_results):
    spotter = LiveSpotter(30.0)
    handed: list[tuple[int, LiveEvent]] = []  # (newest frame when handed on, event)
    for r in sample_results:
        handed += [(r.index, e) for e in spotter.add(r)]
    rest = spotter.finish()
    whole = spot([r.compact() for r in sample_results], 30.0)
    live = [e.interval for _, e in handed] + [e.interval for e in rest]
    assert len(whole) >= 4, "the sample shows several planted movements"
    # the same events; an edge may move by a frame: it lies at a fraction of its bump's height, and the centred
    # 20-s baseline of the whole recording has seen seconds the live window has not yet (which can also tell
    # a blink apart differently, cutting a movement short)
    assert [(i.apex, i.kind) for i in live] == [(i.apex, i.kind) for i in whole]
    assert all(abs(a.onset - b.onset) <= 1 and abs(a.offset - b.offset) <= 1 for a, b in zip(live, whole))
    assert handed and rest, "some events are final while the stream goes on, the last ones only when it ends"
    settle = int(round(spotter.settle_s * 30))
    for newest, event in handed:  # nothing is handed on while a later burst could still change it
        assert newest - event.interval.offset >= settle
        assert newest - event.interval.offset <= settle + 2 * int(round(spotter.settings.hop_s * 30)) + 10
    assert spotter.spotted == len(live)


def test_a_movement_is_pending_before_its_event_is_handed_on(sample_results):
    """Pending is provisional (its edges move as frames come; a blink is told only later), but every event
    handed on was shown pending first."""
    spotter = LiveSpotter(30.0)
    pending: list[SpottedInterval] = []
    for r in sample_results:
        for event in spotter.add(r):
            e = event.interval
            assert any(p.onset <= e.offset and p.offset >= e.onset for p in pending), f"{e} was never pending"
        if spotter.pending is not None:
            pending.append(spotter.pending)
            assert spotter.pending.onset > spotter._reported_offset, "pending is what is not handed on yet"
    assert spotter.spotted >= 3
    assert spotter.pending is not None, "the last movements are pending when the stream stops"


def test_each_event_carries_its_onset_crop_and_the_apex_cut_with_the_onsets_alignment(sample_results):
    spotter = LiveSpotter(30.0)
    events = [e for r in sample_results for e in spotter.add(r)] + spotter.finish()
    by_index = {r.index: r for r in sample_results}
    for event in events:
        onset, apex = by_index[event.interval.onset], by_index[event.interval.apex]
        assert np.array_equal(event.onset_crop, onset.face.crop)
        assert event.apex_crop.shape == apex.face.crop.shape
        # the apex re-cut in the onset's alignment: close to the apex's own crop (the tracker's alignment
        # moves little in 0.2 s) but not the same pixels
        differs = np.abs(event.apex_crop.astype(int) - apex.face.crop.astype(int))
        assert 0 < differs.mean() < 12


def test_skipped_frames_are_bridged_and_a_long_gap_reads_as_no_face(sample_results):
    kept = [r for r in sample_results if r.index % 3 != 1]  # a busy analysis skips a frame now and then
    spotter = LiveSpotter(30.0)
    events = [e for r in kept for e in spotter.add(r)] + spotter.finish()
    whole = spot([r.compact() for r in sample_results], 30.0)
    assert abs(len(events) - len(whole)) <= 1
    assert {e.interval.apex // 15 for e in events} & {i.apex // 15 for i in whole}
    gap = LiveSpotter(30.0)
    for r in sample_results[:100] + sample_results[200:]:  # 3 s without frames
        gap.add(r)
    filled = gap._regular()
    assert [r.index for r in filled] == list(range(filled[0].index, 300))
    assert all(r.face is None for r in filled if 100 <= r.index < 200)


def test_frames_out_of_order_are_refused(sample_results):
    spotter = LiveSpotter(30.0)
    spotter.add(sample_results[10])
    with pytest.raises(ValueError, match="frame 5 came after frame 10"):
        spotter.add(sample_results[5])


def test_the_rate_is_measured_from_the_timestamps_once_two_seconds_have_come(sample_results):
    spotter = LiveSpotter(25.0)
    assert spotter.fps == 25.0
    for r in sample_results[:90]:  # the sample's frames are 1/30 s apart, whatever the camera announced
        spotter.add(replace(r, timestamp_ms=r.index * 1000.0 / 15.0))
    assert spotter.fps == pytest.approx(15.0)


def test_the_classifier_labels_events_in_order_as_the_model_does_on_the_pair(sample_results, tiny_model):
    spotter = LiveSpotter(30.0)
    events = [e for r in sample_results for e in spotter.add(r)] + spotter.finish()
    got: list[SpottedInterval] = []
    classifier = EventClassifier(tiny_model, got.append, device="cpu")
    for event in events:
        classifier.submit(event)
    classifier.submit(LiveEvent(replace(events[0].interval, onset=1, apex=2, offset=3)))  # no face at its onset
    classifier.close()
    assert [g.apex for g in got] == [e.interval.apex for e in events] + [2]
    expected = label_pairs(tiny_model, [e.onset_crop for e in events], [e.apex_crop for e in events])
    assert [(g.label, g.probability) for g in got[:-1]] == [(label, pytest.approx(p, abs=1e-5)) for label, p in expected]
    assert got[-1].label is None and got[-1].probability is None
    assert classifier.classified == len(events)


def test_an_error_in_the_classifier_thread_reaches_the_caller(sample_results, tiny_model):
    spotter = LiveSpotter(30.0)
    events = [e for r in sample_results for e in spotter.add(r)] + spotter.finish()
    failed = threading.Event()

    def on_event(interval: SpottedInterval) -> None:
        failed.set()
        raise RuntimeError("the window went away")

    classifier = EventClassifier(tiny_model, on_event)
    classifier.submit(events[0])
    failed.wait(60)
    classifier._thread.join(60)
    with pytest.raises(RuntimeError, match="the window went away"):
        classifier.submit(events[1])
    classifier.close()


def test_what_is_kept_is_bounded_by_frame_numbers_even_when_the_clock_stands_still(sample_results):
    spotter = LiveSpotter(30.0)
    for cycle in range(4):  # 40 s of frames whose timestamps never move: a broken camera clock
        for r in sample_results:
            spotter.add(replace(r, index=r.index + 300 * cycle, timestamp_ms=0.0))
    assert spotter.fps == 30.0, "no rate is measured from a clock that stands still"
    assert len(spotter._results) <= spotter.window_s * 30 + 1
    assert len(spotter._crops) <= spotter.crops_s * 30 + 1
