"""The emotion badge: the predicted class and a probability bar for every class — of the spotted event
the frame belongs to (the default), or of the frame itself when the model runs on every frame. It
reads the session (class names, results, events) and follows its signals; it keeps no copy."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from tsfgui.session import Session

#: Below this probability of the top class the badge is greyed (the model is unsure).
LOW_CONFIDENCE = 0.5
#: Live, two-stage: seconds a classified event stays on the badge.
LIVE_HOLD_S = 3.0


class EmotionBadge(QWidget):
    """Shows one frame's prediction; greyed when there is no face, no prediction or low confidence.
    ``show_frame(index)`` shows what the session knows of frame ``index``, again whenever the events,
    the classes or that frame's result change; in live mode it shows the newest result."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.index = -1  # the frame shown
        self.title = QLabel("—")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.title.setFont(font)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self._grid = QGridLayout()
        self._bars: list[QProgressBar] = []
        self._bar_names: tuple[str, ...] = ()  # the classes the bars were built for
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addLayout(self._grid)
        layout.addStretch(1)
        self.greyed = True
        self._live_event: tuple[int, int, int] | None = None  # the latest live event, and the frame it came at
        self._live_from = -1
        session.model_changed.connect(self._classes_changed)
        session.events_changed.connect(self._events_changed)
        session.reset.connect(lambda: self.show_frame(self.index))
        session.live_result.connect(self._show_live)

    def _classes_changed(self) -> None:
        """Create one bar per class (once per model)."""
        names = self.session.class_names
        if names == self._bar_names:
            return
        for bar in self._bars:
            bar.deleteLater()
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self._bars = []
        for row, name in enumerate(names):
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setFormat("%p %")
            self._grid.addWidget(QLabel(name), row, 0)
            self._grid.addWidget(bar, row, 1)
            self._bars.append(bar)
        self._bar_names = tuple(names)

    def show_frame(self, index: int) -> None:
        """What the session knows of frame ``index``: the class of its spotted event (two stages, with
        a model), or the frame's own prediction (the model on every frame, or none)."""
        self.index = index
        session = self.session
        if session.live or index < 0:
            return
        result = session.results.get(index)
        if result is None:
            self.show_prediction(None, "not analysed yet" if not session.analysed else "")
        elif session.weights is not None and not session.per_frame_model:
            self._show_event_class(index)
        elif result.probabilities is None:
            self.show_prediction(None, "no face in this frame" if result.face is None else
                                 ("no model loaded" if not result.class_names else "no reference frame yet"))
        else:
            self.show_prediction(result.probabilities)

    def _events_changed(self, _events=None) -> None:
        session = self.session
        if session.live:  # a new event: shown with the newest frame (also after the camera has stopped)
            if session.results:
                self._show_live(session.results[max(session.results)])
        else:
            self.show_frame(self.index)

    def _show_live(self, result) -> None:
        """Live: the newest frame's own prediction (the model on every frame), else the class of the
        latest event for :data:`LIVE_HOLD_S` after it was classified, else "moving…" while a spotted
        movement is not final yet, else what the newest frame shows."""
        session = self.session
        if session.per_frame_model or session.weights is None:
            self.show_prediction(result.probabilities, result.status)
            return
        fps = session.events_fps
        event = session.events[-1] if session.events else None
        if event is not None and (event.onset, event.apex, event.offset) != self._live_event:
            self._live_event, self._live_from = (event.onset, event.apex, event.offset), result.index  # a new one
        pending = session.live_pending
        if event is not None and result.index - self._live_from <= LIVE_HOLD_S * fps:
            where = f"{event.kind}-expression {(result.index - event.apex) / fps:.1f} s ago"
            self.show_event(event.label, event.probability, where if event.label else f"{where}: no face at its onset")
        elif pending is not None and (event is None or pending.onset > event.offset):
            self.show_no_movement(f"{pending.region} moving: classified once the movement has ended")
            self.title.setText("moving…")
        elif result.face is None:
            self.show_no_movement("no face in view")
        else:
            self.show_no_movement("watching for movements")

    def _show_event_class(self, index: int) -> None:
        session = self.session
        if not session.analysed or session.spotting:
            self.show_prediction(None, "events are classified when the analysis has finished")
            return
        event = next((e for e in session.events if e.onset <= index <= e.offset), None)
        if event is None:
            self.show_no_movement("no spotted event at this frame")
        else:
            where = f"{event.kind}-expression, frames {event.onset}–{event.offset}"
            self.show_event(event.label, event.probability, where if event.label else f"{where}: no face at its onset")

    def show_prediction(self, probabilities: np.ndarray | None, reason: str = "") -> None:
        """Show ``probabilities`` (in class order), or grey the badge with ``reason``."""
        if probabilities is None or not self._bars:
            self.title.setText("—")
            self.detail.setText(reason)
            for bar in self._bars:
                bar.setValue(0)
            self._set_greyed(True)
            return
        top = int(np.argmax(probabilities))
        confidence = float(probabilities[top])
        self.title.setText(self.session.class_names[top])
        low = confidence < LOW_CONFIDENCE
        self.detail.setText(f"{confidence:.0%}" + (" — low confidence" if low else ""))
        for bar, p in zip(self._bars, probabilities):
            bar.setFormat("%p %")
            bar.setValue(int(round(float(p) * 1000)))
        self._set_greyed(low)

    def show_event(self, label: str | None, probability: float | None, detail: str) -> None:
        """Show the class of the spotted event the frame belongs to (``label`` None: not classified)."""
        self.title.setText(label or "unclassified")
        self.detail.setText((f"{probability:.0%} · " if probability is not None else "") + detail)
        for name, bar in zip(self.session.class_names, self._bars):
            known = name == label and probability is not None  # the event keeps its class's probability only
            bar.setFormat("%p %" if known else "—")
            bar.setValue(int(round(probability * 1000)) if known else 0)
        self._set_greyed(label is None or probability is None or probability < LOW_CONFIDENCE)

    def show_no_movement(self, detail: str = "") -> None:
        """No spotted event at this frame."""
        self.title.setText("no movement")
        self.detail.setText(detail)
        for bar in self._bars:
            bar.setValue(0)
        self._set_greyed(True)

    def _set_greyed(self, greyed: bool) -> None:
        self.greyed = greyed
        self.title.setEnabled(not greyed)
        for bar in self._bars:
            bar.setEnabled(not greyed)
