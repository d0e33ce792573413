"""The spotted micro-expressions of the open video: a table to jump to them, shading on the plots,
and File › Export for ELAN, BORIS and CSV/JSON.

Spotting runs over the whole analysis when it finishes (or comes from the cache), then TSFmicro
classifies each interval on its own onset and apex frames, in a plain thread so the window never
waits; the result comes back through a queued signal.
"""

from __future__ import annotations

import threading
from typing import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from tsfgui.engine import FrameResult
from tsfgui.engine.spotting import SpottedInterval

COLUMNS = ("onset (s)", "apex (s)", "offset (s)", "kind", "label", "p", "region", "score")


class EventsPanel(QWidget):
    """A table of spotted intervals; activating a row (double-click, Enter) asks to seek to its apex."""

    seekRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.events: list[SpottedInterval] = []
        self.summary = QLabel("Spotted intervals appear when the analysis has finished.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellActivated.connect(self._activated)
        self.table.cellDoubleClicked.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)

    def clear(self, message: str = "Spotted intervals appear when the analysis has finished.") -> None:
        self.events = []
        self.table.setRowCount(0)
        self.summary.setText(message)

    def set_events(self, events: Sequence[SpottedInterval], fps: float) -> None:
        self.events = list(events)
        self.table.setRowCount(len(self.events))
        for row, e in enumerate(self.events):
            cells = (f"{e.onset / fps:.2f}", f"{e.apex / fps:.2f}", f"{e.offset / fps:.2f}", e.kind, e.label or "",
                     "" if e.probability is None else f"{e.probability:.2f}", e.region, f"{e.score:.1f}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (0, 1, 2, 5, 7):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        micro = sum(e.kind == "micro" for e in self.events)
        self.summary.setText(f"{len(self.events)} spotted intervals ({micro} micro, {len(self.events) - micro} macro). "
                             "Double-click a row to go to its apex.")

    def _activated(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.events):
            self.seekRequested.emit(self.events[row].apex)


class EventsMixin:
    """Spotting and event exports of the main window; needs ``results``, ``info``, ``live``, ``plots``,
    ``events_panel``, ``seek``, ``statusBar``, ``_set_error`` and the signal ``eventsSpotted(int, object)``
    (Qt signals must be declared on the QObject class itself)."""

    def _init_events(self) -> None:
        self.events: list[SpottedInterval] = []
        self._events_generation = 0
        self._spot_when_opened = False
        self.spotting_running = False
        self._spotting: list[threading.Thread] = []
        self.eventsSpotted.connect(self._on_events_spotted)
        self.events_panel.seekRequested.connect(self.seek)

    def _clear_events(self) -> None:
        self._events_generation += 1
        self._spot_when_opened = False
        self.spotting_running = False
        self.events = []
        self.events_panel.clear()
        self.plots.set_events([])

    def _spot_events(self) -> None:
        """Spot intervals in the finished analysis, in a background thread (once the frame rate is known)."""
        if self.live:
            return
        if self.info is None:
            self._spot_when_opened = True
            return
        self._spot_when_opened = False
        self._events_generation += 1
        generation = self._events_generation
        results: list[FrameResult] = [self.results[i] for i in sorted(self.results)]
        fps = self.info.fps
        target, source_fps, models = self._target, self._fps, self.models
        self.spotting_running = True
        self.events_panel.clear("Spotting…")

        def work() -> None:
            from tsfgui.engine.interval_labels import classify_intervals
            from tsfgui.engine.spotting import spot
            from tsfgui.io import open_source

            try:
                events = spot(results, fps)
                model = models.get() if events and target else None
                if model is not None:  # each interval's class from its own onset and apex
                    with open_source(target, fps=source_fps) as source:
                        events = classify_intervals(model, source, events,
                                                    should_stop=lambda: generation != self._events_generation)
            except Exception as exc:  # shown in the panel; the analysis itself stays usable
                events = exc
            if generation == self._events_generation:  # else the window moved on (or closed)
                self.eventsSpotted.emit(generation, events)

        # an outdated thread is not waited for here (the window stays responsive): it stops at its
        # next interval and its result is dropped; close() joins them all
        self._spotting = [t for t in self._spotting if t.is_alive()]
        thread = threading.Thread(target=work, name="spotting")
        self._spotting.append(thread)
        thread.start()

    def _stop_spotting(self) -> None:
        """Let running spotting threads end at their next interval, and wait for them (on close)."""
        self._events_generation += 1
        for thread in self._spotting:
            thread.join()
        self._spotting = []

    def _on_events_spotted(self, generation: int, events) -> None:
        if generation != self._events_generation:
            return  # a newer video or analysis replaced this one
        self.spotting_running = False
        if isinstance(events, Exception):
            self.events_panel.clear(f"Spotting failed: {events}")
            return
        self.events = events
        self.events_panel.set_events(events, self.info.fps)
        self.plots.set_events(events, self.models.class_names)  # two stages: no per-frame classes
        if self.current >= 0 and self.weights is not None and not self.per_frame_model:
            self._show_event_class(self.current)  # the badge shows the class of this frame's event

    def export_events(self, path: str) -> int:
        """Write the spotted intervals: ``.eaf`` (ELAN, linked to the video), ``.xlsx`` (BORIS import),
        ``.json`` or ``.csv`` by the file extension; returns how many intervals were written."""
        from pathlib import Path

        from tsfgui import export

        if not self.analysis_done or self.spotting_running or self._spot_when_opened:
            self.statusBar().showMessage("Spotted intervals are not ready yet (the analysis or the spotting is still "
                                         "running); export them when the Events tab lists them.", 10_000)
            return 0
        try:
            writer = export.writer_for_path(path, "events")
        except ValueError as exc:
            self._set_error(f"{str(exc)[0].upper()}{str(exc)[1:]}.")
            return 0
        media = Path(self._target) if self._target and Path(self._target).is_file() else None
        writer.write(Path(path), export.ExportData(fps=self.info.fps, events=self.events, media=media))
        self.statusBar().showMessage(f"Wrote {len(self.events)} spotted intervals to {path}")
        return len(self.events)
