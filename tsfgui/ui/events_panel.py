"""The spotted micro-expressions of the open recording: a table of the session's events (onset, apex,
offset, class, probability, region); activating a row seeks to its apex.

The session spots when its analysis has finished (or came from the cache) and TSFmicro classifies
each interval on its own onset and apex frames (:meth:`tsfgui.session.Session.spot`); the table
follows the session's signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from tsfgui.session import Session

WAITING = "Spotted intervals appear when the analysis has finished."
LIVE_WAITING = "Live: each spotted interval appears once it has ended and the model has classified it."
LIVE_PER_FRAME = "Live with the model on every frame: nothing is spotted (Analysis › per-frame model is on)."

COLUMNS = ("onset (s)", "apex (s)", "offset (s)", "kind", "label", "p", "region", "score")


class EventsPanel(QWidget):
    """A table of spotted intervals; activating a row (double-click, Enter) asks to seek to its apex."""

    seekRequested = Signal(int)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.summary = QLabel(WAITING)
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
        session.reset.connect(self._reset)
        session.spotting_started.connect(lambda: self.clear("Spotting…"))
        session.events_changed.connect(self._show_events)

    def _reset(self) -> None:
        live = self.session.live
        self.clear(WAITING if not live else LIVE_PER_FRAME if self.session.per_frame_model else LIVE_WAITING)

    def clear(self, message: str = WAITING) -> None:
        self.table.setRowCount(0)
        self.summary.setText(message)

    def _show_events(self, _events=None) -> None:
        session = self.session
        if session.spot_error:
            self.clear(session.spot_error.replace("Spotting stopped", "Spotting failed"))
            return
        events, fps = session.events, session.events_fps
        self.table.setRowCount(len(events))
        for row, e in enumerate(events):
            cells = (f"{e.onset / fps:.2f}", f"{e.apex / fps:.2f}", f"{e.offset / fps:.2f}", e.kind, e.label or "",
                     "" if e.probability is None else f"{e.probability:.2f}", e.region, f"{e.score:.1f}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (0, 1, 2, 5, 7):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        micro = sum(e.kind == "micro" for e in events)
        how = ("Live: each appears once it has ended and the model has classified it." if session.live
               else "Double-click a row to go to its apex.")
        self.summary.setText(f"{len(events)} spotted intervals ({micro} micro, {len(events) - micro} macro). {how}")
        if session.live and events:
            self.table.scrollToBottom()

    def _activated(self, row: int, _column: int) -> None:
        if not self.session.live and 0 <= row < len(self.session.events):  # a camera cannot go back
            self.seekRequested.emit(self.session.events[row].apex)
