"""The main window on the bundled sample: background analysis, overlays, badge, plots, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from tsfgui.engine import FixedOnset  # noqa: E402

SAMPLE = str(Path(__file__).resolve().parents[2] / "resources" / "sample_interview.mp4")


def test_analysis_runs_in_the_background_and_each_frame_shows_its_own_data(qtbot, window):
    w = window(SAMPLE)
    qtbot.waitUntil(lambda: w.session.analysed, timeout=60_000)
    assert len(w.session.results) == 300 and w.status.progress.value() == 300
    assert "no model loaded" in w.status.model_label.text()
    for index in (40, 41, 250):
        w.seek(index)
        qtbot.waitUntil(lambda: w.current == index, timeout=5_000)
        face = w.session.results[index].face
        xs, ys = w.overlays.landmarks_item.getData()
        np.testing.assert_allclose(np.c_[xs, ys], face.landmarks, atol=1e-4)
        assert w.plots.cursors[0].value() == pytest.approx(index / 30.0)
        assert w.badge.greyed and "no model" in w.badge.detail.text()
    # the plotted signal of a frame is the engine's flow for that frame (what spotting runs on)
    w.plots.refresh()
    assert w.plots.diff_curves["global"].yData[250] == pytest.approx(w.session.results[250].flow["global"])
    # and so is its head pose, in degrees
    np.testing.assert_allclose([c.yData[250] for c in w.plots.pose_curves], np.degrees(w.session.results[250].pose),
                               rtol=1e-5)
    assert np.isfinite(w.plots.pose_curves[2].getData()[1]).sum() > 200
    w.show_face_action.setChecked(False)
    w.show_face_action.triggered.emit()
    assert len(w.overlays.landmarks_item.getData()[0]) == 0


def test_with_the_model_on_every_frame_the_badge_shows_that_frames_probabilities(qtbot, window, tiny_weights):
    w = window(SAMPLE, weights=tiny_weights)
    w.per_frame_action.trigger()  # Model › Run the model on every frame: analysed again
    assert w.session.per_frame_model and w.per_frame_action.isChecked()
    qtbot.waitUntil(lambda: w.session.analysed, timeout=300_000)  # the model on all 300 frames
    assert "megc3" in w.status.model_label.text()
    w.seek(120)
    qtbot.waitUntil(lambda: w.current == 120, timeout=5_000)
    probs = w.session.results[120].probabilities
    assert [bar.value() for bar in w.badge._bars] == [int(round(float(p) * 1000)) for p in probs]
    assert w.badge.title.text() == w.session.results[120].label
    w.plots.refresh()
    np.testing.assert_allclose([c.yData[120] for c in w.plots.prob_curves], probs)
    w.seek(2)  # within the first 0.2 s: no reference yet
    qtbot.waitUntil(lambda: w.current == 2, timeout=5_000)
    assert w.badge.greyed and "no reference" in w.badge.detail.text()


def test_clicking_the_plot_timeline_seeks(qtbot, window):
    w = window(SAMPLE)
    qtbot.waitUntil(lambda: w.current == 0, timeout=10_000)
    w.plots.seekRequested.emit(200)
    qtbot.waitUntil(lambda: w.current == 200, timeout=5_000)


def test_wrong_weights_show_an_error_and_the_app_keeps_running(qtbot, window, tmp_path):
    bad = tmp_path / "weights.safetensors"
    bad.write_text("this is not a weights file")
    w = window(SAMPLE)
    qtbot.waitUntil(lambda: w.current == 0, timeout=10_000)
    w.load_weights(str(bad))
    qtbot.waitUntil(lambda: w.session.last_error is not None, timeout=30_000)
    assert w.status.error_banner.isVisibleTo(w) and "weights.safetensors" in w.status.error_banner.text()
    w.step(+1)  # still usable
    qtbot.waitUntil(lambda: w.current == 1, timeout=5_000)


def test_close_while_analysing(qtbot, window, tiny_weights):
    w = window(SAMPLE, weights=tiny_weights)
    qtbot.waitUntil(lambda: len(w.session.results) > 10, timeout=60_000)
    assert not w.session.analysed
    # the fixture closes the window now and checks that no worker thread is left running


def test_closing_waits_for_the_workers_off_the_gui_thread(qtbot, window, tiny_weights):
    """While the analysis cannot stop (held in the model), closing returns at once, the event loop goes
    on and the window waits, greyed; it closes once the analysis has ended."""
    import threading

    from PySide6.QtCore import QTimer

    w = window(SAMPLE, weights=tiny_weights)
    w.show()
    w.set_per_frame_model(True)  # the model runs in the analysis, where the test can hold it
    free, held = threading.Event(), threading.Event()
    free.set()

    def wait_while_held(module, args) -> None:
        if not free.is_set():
            held.set()
        free.wait(60)

    hold = w.session.models.get().head.register_forward_pre_hook(wait_while_held)
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    try:
        qtbot.waitUntil(lambda: len(w.session.results) > 10, timeout=120_000)
        free.clear()  # the analysis' next model call waits until released
        qtbot.waitUntil(held.is_set, timeout=60_000)
        w.close()  # returns although the analysis cannot end yet
        timer.start(5)
        qtbot.wait(200)
        assert ticks and not w.workers_ended and w.session.busy
        assert w.isVisible() and not w.isEnabled() and "Closing" in w.statusBar().currentMessage()
    finally:
        timer.stop()
        free.set()
        hold.remove()
    qtbot.waitUntil(lambda: w.workers_ended, timeout=60_000)
    assert not w.session.busy and not w.isVisible()


def test_inspector_shows_what_the_model_compared_for_that_frame(qtbot, window, tiny_weights):
    w = window(SAMPLE, weights=tiny_weights)
    qtbot.waitUntil(lambda: w.session.analysed, timeout=120_000)
    with qtbot.waitSignal(w.inspector.shown, timeout=30_000, check_params_cb=lambda i: i == 150):
        w.seek(150)
    shown = w.inspector_panel.shown
    result = w.session.results[150]
    assert shown.index == 150 and shown.reference_index == result.reference_index == 144
    # the rebuilt crops are the ones the engine compared: same mean difference
    assert float(shown.difference.mean()) == pytest.approx(result.diff["global"], rel=1e-4)
    assert {"gradcam", "rollout", "attention", "layer 1 head 1"} <= set(shown.heatmaps)
    # the heatmap lies over the face in the video, not elsewhere
    rgba = w.overlays.heatmap_item.image
    assert rgba is not None and rgba.shape[:2] == (480, 640)
    ys, xs = np.nonzero(rgba[..., 3] > 0)
    x0, y0, x1, y1 = result.face.bbox
    assert xs.min() >= x0 - (x1 - x0) and xs.max() <= x1 + (x1 - x0)
    assert ys.min() >= y0 - (y1 - y0) and ys.max() <= y1 + (y1 - y0)
    w.overlays.set_heatmap(None)
    assert w.overlays.heatmap_item.image is None


def test_the_weights_are_read_once_per_session_whatever_inspector_and_spotting_do(qtbot, window, tiny_weights):
    w = window(SAMPLE, weights=tiny_weights)
    qtbot.waitUntil(lambda: w.session.analysed, timeout=120_000)
    qtbot.waitUntil(lambda: bool(w.session.events) and not w.session.spotting, timeout=120_000)
    assert any(e.label for e in w.session.events)  # the intervals were classified with the model
    for index in (150, 200):
        with qtbot.waitSignal(w.inspector.shown, timeout=30_000, check_params_cb=lambda i, index=index: i == index):
            w.seek(index)
    w.session.spot()  # spotting again (as after re-opening from the cache) reads no file either
    qtbot.waitUntil(lambda: bool(w.session.events) and not w.session.spotting, timeout=120_000)
    assert w.session.models.loads == 1
    w.load_weights(tiny_weights)  # another model: one more read, by the new session's service
    qtbot.waitUntil(lambda: w.session.analysed, timeout=120_000)
    assert w.session.models.loads == 1


def test_transport_jumps_and_speed(qtbot, window):
    w = window(SAMPLE)
    qtbot.waitUntil(lambda: w.current == 0, timeout=10_000)
    w.jump_seconds(+1)
    qtbot.waitUntil(lambda: w.current == 30, timeout=5_000)
    w.jump_seconds(-2)  # clamps at the first frame
    qtbot.waitUntil(lambda: w.current == 0, timeout=5_000)
    w.speed.setCurrentIndex(w.speed.findData(0.1))
    assert w.timer.interval() == 333  # 30 fps at 0.1×
    w.speed.setCurrentIndex(w.speed.findData(2.0))
    assert w.timer.interval() == 17


def test_marking_the_current_frame_as_onset_reanalyses_against_it(qtbot, window):
    w = window(SAMPLE)
    qtbot.waitUntil(lambda: w.session.analysed, timeout=60_000)
    assert "CPU" in w.status.model_label.text() and "rolling lag" in w.status.model_label.text()
    w.seek(100)
    qtbot.waitUntil(lambda: w.current == 100, timeout=5_000)
    w.set_policy(FixedOnset(w.current))
    qtbot.waitUntil(lambda: w.session.analysed and len(w.session.results) == 300, timeout=60_000)
    assert "marked onset at frame 100" in w.status.model_label.text()
    assert {r.reference_index for i, r in w.session.results.items() if i != 100} == {100}
    assert "analysis" in w.status.rate_label.text()


def test_exports_csv_snapshot_and_plot(qtbot, window, tmp_path):
    import csv

    import cv2

    w = window(SAMPLE)
    qtbot.waitUntil(lambda: w.session.analysed, timeout=60_000)
    w.seek(10)
    qtbot.waitUntil(lambda: w.current == 10, timeout=5_000)
    assert w.exports.frames_csv(str(tmp_path / "frames.csv")) == 300
    rows = list(csv.DictReader((tmp_path / "frames.csv").open()))
    assert float(rows[250]["diff_global"]) == pytest.approx(w.session.results[250].diff["global"], abs=1e-4)
    w.exports.snapshot(str(tmp_path / "view.png"))
    snap = cv2.imread(str(tmp_path / "view.png"))
    assert snap is not None and snap.std() > 10
    w.exports.plot(str(tmp_path / "plot.png"))
    w.exports.plot(str(tmp_path / "plot.svg"))
    assert cv2.imread(str(tmp_path / "plot.png")) is not None
    assert "<svg" in (tmp_path / "plot.svg").read_text()[:2000]


def test_reopening_the_same_file_and_settings_does_not_recompute(qtbot, window):
    first = window(SAMPLE)
    qtbot.waitUntil(lambda: first.session.analysed, timeout=60_000)
    assert not first.session.from_cache
    qtbot.waitUntil(lambda: any(first.session.cache.directory.glob("*.npz")), timeout=30_000)
    again = window(SAMPLE)
    qtbot.waitUntil(lambda: again.session.analysed, timeout=30_000)  # read from the cache in a task
    assert again.session.from_cache and len(again.session.results) == 300
    assert again.session.results[250].diff == pytest.approx(first.session.results[250].diff)
    qtbot.waitUntil(lambda: again.current == 0, timeout=10_000)
    again.set_policy(FixedOnset(5))  # other settings: analysed again
    assert not again.session.from_cache and not again.session.analysed


def test_drop_a_file_to_open_it_and_it_is_remembered(qtbot, window, tmp_path, media):
    from PySide6.QtCore import QMimeData, QPoint, QUrl, Qt
    from PySide6.QtGui import QDropEvent

    clip = media.write_cv2(tmp_path / "dropped.avi", "MJPG", 20)
    w = window(SAMPLE)
    qtbot.waitUntil(lambda: w.info is not None, timeout=10_000)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    w.dropEvent(event)
    qtbot.waitUntil(lambda: w.info is not None and w.info.name == "dropped.avi", timeout=10_000)
    assert w.recent.paths()[:2] == [str(clip.resolve()), str(Path(SAMPLE).resolve())]
    assert [a.text() for a in w.recent_menu.actions()][:2] == ["dropped.avi", "sample_interview.mp4"]


def test_demo_weights_show_their_warning_while_loaded(qtbot, window):
    from tsfgui.ui.app import default_weights

    demo = default_weights()
    assert demo is not None, "the demo weights ship in model_weights/"
    w = window(SAMPLE, weights=demo)
    qtbot.waitUntil(lambda: w.status.warning_banner.isVisibleTo(w), timeout=30_000)
    assert "NOT validated on real" in w.status.warning_banner.text()
    qtbot.waitUntil(lambda: w.session.analysed, timeout=120_000)
    qtbot.waitUntil(lambda: any(w.session.cache.directory.glob("*.npz")), timeout=30_000)
    again = window(SAMPLE, weights=demo)  # from the cache: the warning still shows
    qtbot.waitUntil(lambda: again.session.analysed, timeout=30_000)
    assert again.session.from_cache and again.status.warning_banner.isVisibleTo(again)


def test_spotted_events_are_listed_shaded_jumpable_and_exported(qtbot, window, tmp_path, eaf_schema):
    import json

    from openpyxl import load_workbook

    from tsfgui.engine.spotting import evaluate_spotting

    from tsfgui.resources import DEMO_WEIGHTS

    w = window(SAMPLE, weights=str(DEMO_WEIGHTS))
    assert w.exports.events(str(tmp_path / "early.eaf")) == 0 and "not ready" in w.statusBar().currentMessage()
    assert not (tmp_path / "early.eaf").exists()
    qtbot.waitUntil(lambda: w.session.analysed, timeout=120_000)
    qtbot.waitUntil(lambda: w.events_panel.table.rowCount() > 0, timeout=60_000)
    assert not w.session.spotting
    truth = json.loads(Path(SAMPLE).with_suffix(".json").read_text())["events"]
    score = evaluate_spotting([(e.onset, e.offset) for e in w.session.events], [(t["onset"], t["offset"]) for t in truth])
    assert score.hits >= 3 and score.precision >= 0.75, score  # the same spotting as `tsfgui analyze`
    # each interval classified on its own onset and apex frames
    assert all(e.label in ("negative", "positive", "surprise") and e.probability > 1 / 3 for e in w.session.events)
    assert w.events_panel.table.item(0, 4).text() == w.session.events[0].label
    assert len(w.plots.event_regions) == len(w.session.events)
    lo, hi = w.plots.event_regions[0].getRegion()
    assert lo == pytest.approx(w.session.events[0].onset / 30.0) and hi > lo
    assert all(r.probabilities is None for r in w.session.results.values())  # two stages: no model per frame
    row = len(w.session.events) - 1
    w.events_panel.table.cellDoubleClicked.emit(row, 0)
    qtbot.waitUntil(lambda: w.current == w.session.events[row].apex, timeout=5_000)
    # the badge shows the class of the spotted event the frame belongs to, "no movement" elsewhere
    event = w.session.events[row]
    assert w.badge.title.text() == event.label and event.kind in w.badge.detail.text()
    bars = dict(zip(w.session.class_names, (b.value() for b in w.badge._bars)))
    assert bars[event.label] == int(round(event.probability * 1000))
    shown = [b.text() for b in w.badge._bars]  # only the event's class has a known probability
    assert [text == "—" for text in shown] == [name != event.label for name in w.session.class_names], shown
    calm = next(i for i in range(300) if not any(e.onset <= i <= e.offset for e in w.session.events))
    w.seek(calm)
    qtbot.waitUntil(lambda: w.current == calm, timeout=5_000)
    assert w.badge.title.text() == "no movement" and w.badge.greyed
    assert w.exports.events(str(tmp_path / "interview.eaf")) == len(w.session.events)
    eaf_schema.validate(str(tmp_path / "interview.eaf"))
    assert "sample_interview.mp4" in (tmp_path / "interview.eaf").read_text()
    w.exports.events(str(tmp_path / "boris.xlsx"))
    assert len(list(load_workbook(tmp_path / "boris.xlsx").active.values)) == 1 + 2 * len(w.session.events)
    w.exports.events(str(tmp_path / "events.json"))
    assert len(json.loads((tmp_path / "events.json").read_text())["events"]) == len(w.session.events)
    assert w.exports.events(str(tmp_path / "events.txt")) == 0 and ".eaf" in w.session.last_error
    # another reference policy: analysed again, the old intervals are gone until spotting reruns
    w.set_policy(FixedOnset(5))
    assert w.session.events == [] and w.events_panel.table.rowCount() == 0 and w.plots.event_regions == []


def test_events_reopened_from_the_cache_are_shaded_in_their_class_colour(qtbot, window):
    """Two stages keep no per-frame classes: the shading takes the model's class names, also from the cache."""
    from tsfgui.palette import class_colour
    from tsfgui.resources import DEMO_WEIGHTS

    first = window(SAMPLE, weights=str(DEMO_WEIGHTS))
    qtbot.waitUntil(lambda: first.session.analysed, timeout=120_000)
    qtbot.waitUntil(lambda: any(first.session.cache.directory.glob("*.npz")), timeout=30_000)
    again = window(SAMPLE, weights=str(DEMO_WEIGHTS))
    qtbot.waitUntil(lambda: again.session.analysed, timeout=30_000)
    assert again.session.from_cache
    assert "on spotted events · from cache" in again.status.model_label.text()  # no per-frame classes were kept
    qtbot.waitUntil(lambda: again.events_panel.table.rowCount() > 0, timeout=60_000)
    names = again.session.models.class_names
    for event, region in zip(again.session.events, again.plots.event_regions):
        assert event.label in names
        assert region.brush.color().name() == class_colour(event.label, names).lower()
