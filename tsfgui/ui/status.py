"""The window's view of the session's state outside the docks: the red error bar and the yellow
model warning above the video; progress, analysis rate and model in the status bar."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar

from tsfgui.session import Session


def _banner(style: str) -> QLabel:
    label = QLabel("")
    label.setStyleSheet(style)
    label.setWordWrap(True)
    label.hide()
    return label


class SessionStatus:
    """Shows the session's errors, warning, model, progress and status messages in ``window``
    (a player window: the banners go above its video)."""

    def __init__(self, session: Session, window: QMainWindow):
        self.session, self.window = session, window
        self.error_banner = _banner("background: #8b1e1e; color: white; padding: 6px;")
        self.warning_banner = _banner("background: #f2c94c; color: black; padding: 4px;")
        for banner in (self.error_banner, self.warning_banner):
            window.centralWidget().layout().insertWidget(0, banner)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("analysed %v/%m")
        self.model_label = QLabel("")
        self.rate_label = QLabel("")
        self._rate_mark: tuple[float, int] | None = None
        bar = window.statusBar()
        bar.addPermanentWidget(self.rate_label)
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.progress)
        session.error.connect(self._error)
        session.errors_cleared.connect(lambda: self._error(None))
        session.model_changed.connect(self._model)
        session.opened.connect(self._opened)
        session.reset.connect(self._reset)
        session.progress.connect(self._progress)
        session.status.connect(lambda text: bar.showMessage(text))

    def _opened(self, info) -> None:
        self.progress.setRange(0, info.frame_count or 0)
        self.progress.setVisible(not self.session.live)  # a camera has no end to count towards

    def _error(self, message: str | None) -> None:
        self.error_banner.setText(message or "")
        self.error_banner.setVisible(bool(message))
        if message:
            self.window.statusBar().showMessage(message)

    def _model(self) -> None:
        """The model's description, where it runs and the reference policy; its warning (e.g. demo
        weights) above the video for as long as it is loaded."""
        s = self.session
        self.model_label.setText(f"{s.model_description} · {s.device} · reference: {s.policy.describe()}"
                                 if s.model_description else "")
        self.warning_banner.setText(f"⚠ Model: {s.warning}" if s.warning else "")
        self.warning_banner.setVisible(bool(s.warning))

    def _reset(self) -> None:
        self.progress.setValue(0)
        self._rate_mark = None

    def _progress(self, done: int, total: int | None) -> None:
        if total:
            self.progress.setRange(0, total)
        self.progress.setValue(done)
        now, info = time.perf_counter(), self.session.info
        if self._rate_mark is None:
            self._rate_mark = (now, done)
            return
        start, first = self._rate_mark
        if now > start and info is not None and not self.session.from_cache:
            self.rate_label.setText(f"source {info.fps:g} fps · analysis {(done - first) / (now - start):.1f} fps")
