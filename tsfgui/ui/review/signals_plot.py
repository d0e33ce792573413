"""The signals of one event's window: region movement and head pose, with the event's edges to drag."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from tsfgui.engine.event_loop import EventWindow

REGION_COLOURS = {"global": (220, 220, 220), "brows": (255, 170, 0), "eyes": (0, 200, 255), "nose": (160, 160, 255),
                  "mouth": (255, 80, 120)}
POSE_COLOURS = {"pose_Rx": (255, 120, 120), "pose_Ry": (120, 255, 120), "pose_Rz": (120, 160, 255)}


def movement_columns(signals: dict[str, np.ndarray]) -> tuple[str, dict[str, str]]:
    """Which per-region movement to plot: optical flow with head motion removed when the run has it,
    else the grey-level difference. Returns the signal's name and region → column."""
    for prefix, name in (("flow_", "flow (px)"), ("diff_", "|apex − onset| (grey)")):
        columns = {region: prefix + region for region in REGION_COLOURS if prefix + region in signals}
        if columns:
            return name, columns
    return "", {}


class EventSignalsPlot(QWidget):
    """Frames on the x axis. Dragging the shaded interval's edges or the apex line emits
    :attr:`timingDragged` with the new frames (``{"onset": …, "offset": …}`` or ``{"apex": …}``)."""

    timingDragged = Signal(dict)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.movement = pg.PlotWidget()
        self.pose = pg.PlotWidget()
        self.pose.setMaximumHeight(140)
        self.pose.setXLink(self.movement)
        self.pose.setLabel("left", "head pose", units="rad")
        self.pose.setLabel("bottom", "frame")
        self.movement.addLegend(offset=(5, 5))
        self.interval = pg.LinearRegionItem(movable=True, brush=pg.mkBrush(255, 255, 255, 40))
        self.interval.setZValue(-10)
        self.interval.sigRegionChangeFinished.connect(self._interval_dragged)
        self.apex_line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((255, 220, 0), width=2),
                                         label="apex", labelOpts={"position": 0.92})
        self.apex_line.sigPositionChangeFinished.connect(self._apex_dragged)
        self.cursors = [pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((255, 255, 255, 160)))
                        for _ in range(2)]
        self.movement.addItem(self.interval)
        self.movement.addItem(self.apex_line)
        self.movement.addItem(self.cursors[0])
        self.pose.addItem(self.cursors[1])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.movement, 3)
        layout.addWidget(self.pose, 1)
        self._signals: dict[str, np.ndarray] = {}
        self._curves: list[tuple[pg.PlotWidget, pg.PlotDataItem]] = []
        self._timing: tuple[int, int, int] | None = None
        self._lanes: list[pg.GraphicsObject] = []
        self.lane_events: dict[str, list[tuple[int, int, str]]] = {}
        self._updating = False

    def set_signals(self, signals: dict[str, np.ndarray]) -> None:
        """The per-frame signals of a run (``frame`` plus one array per column of ``frames.csv``)."""
        self._signals = signals
        for plot, curve in self._curves:
            plot.removeItem(curve)
        self.movement.getPlotItem().legend.clear()
        self._curves = []
        frames = signals.get("frame")
        name, columns = movement_columns(signals)
        self.movement.setLabel("left", name or "no signals stored with this analysis")
        if frames is None:
            return
        x = frames.astype(np.float64)
        for region, column in columns.items():
            pen = pg.mkPen(REGION_COLOURS[region], width=2 if region == "global" else 1)
            curve = self.movement.plot(x, signals[column], name=region, connect="finite", pen=pen)
            self._curves.append((self.movement, curve))
        for column, colour in POSE_COLOURS.items():
            if column in signals:
                self._curves.append((self.pose, self.pose.plot(x, signals[column], pen=pg.mkPen(colour),
                                                                connect="finite")))

    def show_event(self, window: EventWindow, onset: int, apex: int, offset: int) -> None:
        """Zoom on ``window`` and place the event's edges and apex."""
        self._updating = True
        self._timing = (onset, apex, offset)
        self.interval.setRegion((onset, offset))
        self.apex_line.setValue(apex)
        self.movement.setXRange(window.start, window.stop - 1, padding=0.02)
        frames = self._signals.get("frame")
        if frames is not None:
            inside = (frames >= window.start) & (frames < window.stop)
            _, columns = movement_columns(self._signals)
            values = np.concatenate([self._signals[c][inside] for c in columns.values()]) if columns else np.array([])
            values = values[np.isfinite(values)]
            if values.size:
                self.movement.setYRange(0, float(values.max()) * 1.1 or 1.0)
        self._updating = False

    def set_lanes(self, lanes: dict[str, list[tuple[int, int, str]]]) -> None:
        """Other raters' events as read-only lanes along the top: ``{name: [(onset, offset, label), …]}``.
        One thick segmented line and one caption per rater, however many events."""
        for item in self._lanes:
            self.movement.removeItem(item)
        self._lanes = []
        self.lane_events = {name: list(events) for name, events in lanes.items() if events}
        low, high = self.movement.getViewBox().viewRange()[1]
        for k, (name, events) in enumerate(sorted(self.lane_events.items())):
            y = low + (high - low) * (0.95 - 0.08 * k)
            xs = np.array([[onset, offset, np.nan] for onset, offset, _ in events], dtype=np.float64).ravel()
            line = pg.PlotDataItem(xs, np.full(xs.shape, y), connect="finite",
                                   pen=pg.mkPen((120, 200, 255, 170), width=6))
            caption = pg.TextItem(f"{name}: " + ", ".join(label or "–" for _, _, label in events),
                                  color=(170, 220, 255), anchor=(0, 1))
            caption.setPos(events[0][0], y)
            for item in (line, caption):
                self.movement.addItem(item)
                self._lanes.append(item)

    def set_cursor(self, frame: int) -> None:
        for cursor in self.cursors:
            cursor.setValue(frame)

    def _interval_dragged(self) -> None:
        if self._updating or self._timing is None:
            return
        onset, offset = (int(round(v)) for v in self.interval.getRegion())
        if (onset, offset) != (self._timing[0], self._timing[2]):
            self.timingDragged.emit({"onset": onset, "offset": offset})

    def _apex_dragged(self) -> None:
        if self._updating or self._timing is None:
            return
        apex = int(round(self.apex_line.value()))
        if apex != self._timing[1]:
            self.timingDragged.emit({"apex": apex})
