"""Per-frame plots linked to the timeline: the motion signal spotting uses, class probabilities, head pose."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from tsfgui.engine import DIFF_KEYS, FrameResult
from tsfgui.palette import class_colour, colour_of_class
from tsfgui.engine.spotting import SpottedInterval

DIFF_COLOURS = {"global": (220, 220, 220), "brows": (255, 170, 0), "eyes": (0, 200, 255), "nose": (160, 160, 255),
                "mouth": (255, 80, 120)}
#: The signal plot's axis label and unit for each signal spotting can run on.
SIGNAL_LABELS = {"flow": ("flow, head motion removed", "px"), "diff": ("|apex − onset|", "grey")}
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

    def __init__(self, parent: QWidget | None = None, refresh_ms: int = 200):
        super().__init__(parent)
        self.fps = 30.0
        self.diff = np.zeros((0, len(DIFF_KEYS)), np.float32)
        self.flow = np.zeros((0, len(DIFF_KEYS)), np.float32)
        self.signal = "flow"
        self.probabilities = np.zeros((0, 0), np.float32)
        self.pose = np.zeros((0, 3), np.float32)
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
        self.class_names: list[str] = []
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
        self._timer = QTimer(self)
        self._timer.setInterval(refresh_ms)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    @staticmethod
    def _curve(plot: pg.PlotWidget, colour, name: str, width: int = 1) -> pg.PlotDataItem:
        curve = plot.plot(pen=pg.mkPen(colour, width=width), name=name, connect="finite")
        curve.setClipToView(True)
        curve.setDownsampling(auto=True, method="peak")
        return curve

    def reset(self, frame_count: int, fps: float, class_names: Iterable[str] = ()) -> None:
        """Start empty traces for a source of ``frame_count`` frames."""
        names = list(class_names)
        self.class_names = names
        self.fps = fps
        self.set_events([])
        self.diff = np.full((frame_count, len(DIFF_KEYS)), np.nan, np.float32)
        self.flow = np.full((frame_count, len(DIFF_KEYS)), np.nan, np.float32)
        self.probabilities = np.full((frame_count, len(names)), np.nan, np.float32)
        self.pose = np.full((frame_count, 3), np.nan, np.float32)
        for curve in self.prob_curves:
            self.prob_plot.removeItem(curve)
            self.prob_legend.removeItem(curve)
        self.prob_curves = [self._curve(self.prob_plot, colour_of_class(i), name)
                            for i, name in enumerate(names)]
        self.diff_plot.setXRange(0, max(frame_count, 1) / fps, padding=0)
        self._dirty = True
        self.refresh()

    def add_results(self, results: Iterable[FrameResult]) -> None:
        """Copy the figures of analysed frames into the traces (drawn at the next refresh)."""
        for r in results:
            if r.index >= len(self.diff):
                self._grow(r.index + 1)
            if r.diff:
                self.diff[r.index] = [r.diff.get(k, np.nan) for k in DIFF_KEYS]
            if r.flow:
                self.flow[r.index] = [r.flow.get(k, np.nan) for k in DIFF_KEYS]
            if r.pose is not None:
                self.pose[r.index] = np.degrees(r.pose)
            if r.probabilities is not None and self.probabilities.shape[1] == len(r.probabilities):
                self.probabilities[r.index] = r.probabilities
            self._dirty = True

    def _grow(self, n: int) -> None:
        extra = max(n - len(self.diff), 256)
        self.diff = np.vstack([self.diff, np.full((extra, self.diff.shape[1]), np.nan, np.float32)])
        self.flow = np.vstack([self.flow, np.full((extra, self.flow.shape[1]), np.nan, np.float32)])
        self.probabilities = np.vstack([self.probabilities,
                                        np.full((extra, self.probabilities.shape[1]), np.nan, np.float32)])
        self.pose = np.vstack([self.pose, np.full((extra, 3), np.nan, np.float32)])

    def refresh(self) -> None:
        """Redraw the curves if new data arrived."""
        if not self._dirty:
            return
        self._dirty = False
        t = np.arange(len(self.diff), dtype=np.float64) / self.fps
        # what spotting runs on: the flow, unless these results have none but a difference (older results)
        signal = "diff" if np.isnan(self.flow).all() and not np.isnan(self.diff).all() else "flow"
        if signal != self.signal:
            self.signal = signal
            self.diff_plot.setLabel("left", *SIGNAL_LABELS[signal])
        values = self.flow if signal == "flow" else self.diff
        for i, key in enumerate(DIFF_KEYS):
            self.diff_curves[key].setData(t, values[:, i])
        for i, curve in enumerate(self.prob_curves):
            curve.setData(t, self.probabilities[:, i])
        for i, curve in enumerate(self.pose_curves):
            curve.setData(t, self.pose[:, i])

    def set_events(self, events: Sequence[SpottedInterval], class_names: Sequence[str] = ()) -> None:
        """Shade the spotted intervals on the difference plot in the colour of their predicted class
        among ``class_names`` (the model's; default: those of the per-frame results), grey without a model."""
        names = list(class_names) or self.class_names
        for region in self.event_regions:
            self.diff_plot.removeItem(region)
        self.event_regions = []
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
        if len(self.diff):
            self.seekRequested.emit(int(np.clip(round(point.x() * self.fps), 0, len(self.diff) - 1)))
