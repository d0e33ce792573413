"""Per-frame plots linked to the timeline: the motion signal spotting uses, class probabilities, head pose.

They draw the session's traces (:class:`~tsfgui.session.FrameTraces`) and shade its spotted events;
they follow the session's signals and keep no copy of the figures."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from tsfgui.engine import DIFF_KEYS
from tsfgui.engine.spotting import SpottedInterval
from tsfgui.palette import class_colour, colour_of_class
from tsfgui.session import Session

DIFF_COLOURS = {"global": (220, 220, 220), "brows": (255, 170, 0), "eyes": (0, 200, 255), "nose": (160, 160, 255),
                "mouth": (255, 80, 120)}
#: The signal plot's axis label and unit for each signal spotting can run on.
SIGNAL_LABELS = {"flow": ("flow, head motion removed", "px"), "diff": ("|apex − onset|", "grey")}
#: Live: seconds of the camera in view, and seconds of curves drawn (a little more, for panning back).
LIVE_VIEW_S, LIVE_KEEP_S = 10.0, 12.0
POSE_COLOURS = {"pose_Rx": (255, 120, 120), "pose_Ry": (120, 255, 120), "pose_Rz": (120, 160, 255)}


class SignalPlots(QWidget):
    """Three stacked plots over time (seconds): the motion signal spotting runs on, globally and per
    region — the optical flow from the reference frame with the head's own motion removed (px at a
    224-px face), or |apex − onset| in grey levels for results that have no flow —, the class
    probabilities, and the head pose (pitch Rx, yaw Ry, roll Rz in degrees: head motion confounds
    spotting). A line marks the current frame; a click seeks there (:attr:`seekRequested`).
    Curves are created once and updated with ``setData`` at most every ``refresh_ms``; they clip
    to the view and peak-downsample, so hour-long traces stay fluid."""

    seekRequested = Signal(int)

    def __init__(self, session: Session, parent: QWidget | None = None, refresh_ms: int = 200):
        super().__init__(parent)
        self.session = session
        self.fps = 30.0
        self.signal = "flow"
        self.diff_plot = pg.PlotWidget()
        self.pose_plot = pg.PlotWidget()
        self.pose_plot.setLabel("left", "head pose", units="°")
        self.pose_plot.setXLink(self.diff_plot)
        self.pose_plot.addLegend(offset=(5, 5))
        self.pose_curves = [self._curve(self.pose_plot, colour, name) for name, colour in POSE_COLOURS.items()]
        self.prob_plot = pg.PlotWidget()
        self.diff_plot.setLabel("left", *SIGNAL_LABELS[self.signal])
        self.prob_plot.setLabel("left", "probability")
        self.prob_plot.setLabel("bottom", "time", units="s")
        self.prob_plot.setXLink(self.diff_plot)
        self.prob_plot.setYRange(0, 1, padding=0.02)
        self.diff_plot.addLegend(offset=(5, 5))
        self.prob_legend = self.prob_plot.addLegend(offset=(5, 5))
        self.diff_curves = {key: self._curve(self.diff_plot, DIFF_COLOURS[key], key, width=2 if key == "global" else 1)
                            for key in DIFF_KEYS}
        self.prob_curves: list[pg.PlotDataItem] = []
        self.event_steps: list[pg.PlotDataItem] = []  # two stages: each event's class probability
        self._curve_names: tuple[str, ...] = ()  # the classes the probability curves were made for
        self.event_regions: list[pg.LinearRegionItem] = []
        self.cursors = []
        for plot in (self.diff_plot, self.prob_plot, self.pose_plot):
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((255, 255, 255, 160), width=1))
            plot.addItem(cursor)
            self.cursors.append(cursor)
            plot.scene().sigMouseClicked.connect(lambda event, p=plot: self._clicked(p, event))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.diff_plot, 3)
        layout.addWidget(self.prob_plot, 2)
        layout.addWidget(self.pose_plot, 1)
        self._dirty = False
        self._live_t: float | None = None  # live: the newest frame's time
        self._timer = QTimer(self)
        self._timer.setInterval(refresh_ms)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        session.opened.connect(self._opened)
        session.reset.connect(self._reset)
        session.model_changed.connect(self._classes_changed)
        session.results_added.connect(self._changed)
        session.events_changed.connect(self.set_events)
        session.live_result.connect(self._live_result)

    @staticmethod
    def _curve(plot: pg.PlotWidget, colour, name: str, width: int = 1) -> pg.PlotDataItem:
        curve = plot.plot(pen=pg.mkPen(colour, width=width), name=name, connect="finite")
        curve.setClipToView(True)
        curve.setDownsampling(auto=True, method="peak")
        return curve

    def _opened(self, info) -> None:
        """A new recording: its time axis (a camera's grows as it goes)."""
        self.fps = info.fps
        self.diff_plot.setXRange(0, max(info.frame_count or 0, 1) / info.fps, padding=0)
        self._changed()

    def _reset(self) -> None:
        self._live_t = None
        self.set_events([])
        self._classes_changed()
        self._changed()

    def _classes_changed(self) -> None:
        """One probability curve per class of the session's model."""
        names = self.session.class_names
        if names == self._curve_names:
            return
        for curve in self.prob_curves:
            self.prob_plot.removeItem(curve)
            self.prob_legend.removeItem(curve)
        self.prob_curves = [self._curve(self.prob_plot, colour_of_class(i), name) for i, name in enumerate(names)]
        self._curve_names = names
        self._changed()

    def _changed(self, *_args) -> None:
        self._dirty = True  # drawn at the next refresh

    def _live_result(self, result) -> None:
        self._dirty = True
        self._live_t = result.timestamp_ms / 1000.0  # the view follows at the next refresh, not per frame

    def refresh(self) -> None:
        """Redraw the curves if new data arrived."""
        if not self._dirty:
            return
        self._dirty = False
        traces = self.session.traces
        first = 0
        if self.session.live and self._live_t is not None:  # a camera: its last seconds, a cost that does not grow
            self.diff_plot.setXRange(max(0.0, self._live_t - LIVE_VIEW_S), self._live_t + 0.5, padding=0)
            first = max(0, len(traces) - int(LIVE_KEEP_S * self.fps))
        t = np.arange(first, len(traces), dtype=np.float64) / self.fps
        # what spotting runs on: the flow, unless these results have none but a difference (older results)
        signal = "diff" if np.isnan(traces.flow).all() and not np.isnan(traces.diff).all() else "flow"
        if signal != self.signal:
            self.signal = signal
            self.diff_plot.setLabel("left", *SIGNAL_LABELS[signal])
        values = traces.flow if signal == "flow" else traces.diff
        for i, key in enumerate(DIFF_KEYS):
            self.diff_curves[key].setData(t, values[first:, i])
        if traces.probabilities.shape[1] == len(self.prob_curves):
            for i, curve in enumerate(self.prob_curves):
                curve.setData(t, traces.probabilities[first:, i])
        for i, curve in enumerate(self.pose_curves):
            curve.setData(t, traces.pose[first:, i])

    def set_events(self, events: Sequence[SpottedInterval]) -> None:
        """Shade the spotted intervals on the difference plot in the colour of their predicted class
        among the session's class names, grey without a model; with two stages (no per-frame
        probabilities) each classified interval's probability is a step on the probability plot."""
        names = list(self.session.class_names)
        for region in self.event_regions:
            self.diff_plot.removeItem(region)
        for step in self.event_steps:
            self.prob_plot.removeItem(step)
        self.event_regions, self.event_steps = [], []
        self.prob_plot.setLabel("left", "probability" if self.session.per_frame_model else "event's probability")
        if not self.session.per_frame_model:
            for e in events:
                if e.label is not None and e.probability is not None:
                    step = pg.PlotDataItem([e.onset / self.fps, (e.offset + 1) / self.fps], [e.probability] * 2,
                                           pen=pg.mkPen(class_colour(e.label, names), width=3))
                    self.prob_plot.addItem(step)
                    self.event_steps.append(step)
        for e in events:
            colour = QColor(class_colour(e.label, names))
            colour.setAlpha(70)
            region = pg.LinearRegionItem((e.onset / self.fps, (e.offset + 1) / self.fps), movable=False,
                                         brush=pg.mkBrush(colour), pen=pg.mkPen(None))
            region.setZValue(-10)
            region.setToolTip(f"{e.kind} {e.label or e.region} · apex {e.apex / self.fps:.2f} s")
            self.diff_plot.addItem(region)
            self.event_regions.append(region)

    def set_cursor(self, index: int) -> None:
        for cursor in self.cursors:
            cursor.setValue(index / self.fps)

    def _clicked(self, plot: pg.PlotWidget, event) -> None:
        point = plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        if len(self.session.traces):
            self.seekRequested.emit(int(np.clip(round(point.x() * self.fps), 0, len(self.session.traces) - 1)))
