"""The emotion badge: the predicted class and a probability bar for every class — of the spotted event
the frame belongs to (the default), or of the frame itself when the model runs on every frame."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

#: Below this probability of the top class the badge is greyed (the model is unsure).
LOW_CONFIDENCE = 0.5


class EmotionBadge(QWidget):
    """Shows one frame's prediction; greyed when there is no face, no prediction or low confidence."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("—")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.title.setFont(font)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self._grid = QGridLayout()
        self._bars: list[QProgressBar] = []
        self._names: tuple[str, ...] = ()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addLayout(self._grid)
        layout.addStretch(1)
        self.greyed = True

    def set_classes(self, names: tuple[str, ...]) -> None:
        """Create one bar per class (once per model)."""
        if names == self._names:
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
        self._names = tuple(names)

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
        self.title.setText(self._names[top])
        low = confidence < LOW_CONFIDENCE
        self.detail.setText(f"{confidence:.0%}" + (" — low confidence" if low else ""))
        for bar, p in zip(self._bars, probabilities):
            bar.setValue(int(round(float(p) * 1000)))
        self._set_greyed(low)

    def show_event(self, label: str | None, probability: float | None, detail: str) -> None:
        """Show the class of the spotted event the frame belongs to (``label`` None: not classified)."""
        self.title.setText(label or "unclassified")
        self.detail.setText((f"{probability:.0%} · " if probability is not None else "") + detail)
        for name, bar in zip(self._names, self._bars):
            bar.setValue(int(round(probability * 1000)) if name == label and probability is not None else 0)
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
