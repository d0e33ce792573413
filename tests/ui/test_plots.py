"""The signal plot shows what spotting runs on: the head-motion-free optical flow per region."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from tsfgui.engine import DIFF_KEYS, FrameResult  # noqa: E402
from tsfgui.session import Session  # noqa: E402
from tsfgui.ui.plots import SignalPlots  # noqa: E402


def _result(index: int, flow: dict | None, diff: dict) -> FrameResult:
    return FrameResult(index, index * 1000 / 30, None, reference_index=index - 6, diff=diff, flow=flow or {})


def test_the_signal_plot_draws_the_flow_per_region_and_says_so(qtbot):
    session = Session(keep_frames=True)
    plots = SignalPlots(session)
    qtbot.addWidget(plots)
    rng = np.random.default_rng(0)
    flows = [{k: float(v) for k, v in zip(DIFF_KEYS, rng.uniform(0, 2, len(DIFF_KEYS)))} for _ in range(20)]
    session.add_results([_result(i, flows[i], {k: 50.0 for k in DIFF_KEYS}) for i in range(20)])
    plots.refresh()
    for key in DIFF_KEYS:
        xs, ys = plots.diff_curves[key].getData()
        drawn = dict(zip(np.round(xs * 30).astype(int), ys))
        assert drawn[7] == pytest.approx(flows[7][key])  # the flow, not the grey-level difference (50)
    assert "flow" in plots.diff_plot.getAxis("left").labelText


def test_results_without_flow_show_the_grey_level_difference_labelled_as_such(qtbot):
    session = Session(keep_frames=True)
    plots = SignalPlots(session)
    qtbot.addWidget(plots)
    session.add_results([_result(i, None, {k: float(i) for k in DIFF_KEYS}) for i in range(10)])
    plots.refresh()
    xs, ys = plots.diff_curves["mouth"].getData()
    assert dict(zip(np.round(xs * 30).astype(int), ys))[4] == pytest.approx(4.0)
    assert "apex" in plots.diff_plot.getAxis("left").labelText


def test_two_stages_draw_each_classified_event_as_a_step_of_its_probability(qtbot):
    from PySide6.QtGui import QColor

    from tsfgui.engine.spotting import SpottedInterval
    from tsfgui.palette import class_colour

    session = Session(per_frame_model=False, keep_frames=True)
    session.class_names = ("negative", "positive", "surprise")
    plots = SignalPlots(session)
    qtbot.addWidget(plots)
    events = [SpottedInterval(30, 36, 40, "micro", 6.0, "mouth", "positive", 0.8),
              SpottedInterval(90, 95, 99, "micro", 5.0, "brows", None, None)]  # not classified: no step
    plots.set_events(events)
    (step,) = plots.event_steps
    xs, ys = step.getData()
    assert list(xs) == pytest.approx([1.0, 41 / 30]) and list(ys) == pytest.approx([0.8, 0.8])
    assert step.opts["pen"].color() == QColor(class_colour("positive", session.class_names))
    assert "event" in plots.prob_plot.getAxis("left").labelText
    plots.set_events([])
    assert not plots.event_steps
    session.per_frame_model = True  # the model on every frame: its own curves, no steps
    plots.set_events(events)
    assert not plots.event_steps and plots.prob_plot.getAxis("left").labelText == "probability"
