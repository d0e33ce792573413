"""What the window asks of the session's analysis: open a recording and analyse it, analyse again
with another model or setting, spot (and classify) the events when an analysis has finished."""

from __future__ import annotations

from tsfgui.engine import ReferencePolicy
from tsfgui.session import Session


class AnalysisController:
    """Drives ``session``: every (re)analysis of a recording is followed by spotting."""

    def __init__(self, session: Session):
        self.session = session
        session.finished.connect(self._finished)

    def open(self, target: str, fps: float | None = None) -> None:
        """Open ``target`` and analyse it in the background (an unreadable file: the session's error)."""
        if self.session.open(target, fps=fps):
            self.session.analyse()

    def reanalyse(self) -> None:
        """Analyse the open recording again (another model or setting); nothing when none is open."""
        if self.session.path is not None and self.session.info is not None and not self.session.live:
            self.session.analyse()

    def load_weights(self, path: str | None) -> None:
        self.session.load_weights(path)
        self.reanalyse()

    def set_policy(self, policy: ReferencePolicy) -> None:
        self.session.policy = policy
        self.reanalyse()

    def set_per_frame_model(self, on: bool) -> None:
        self.session.per_frame_model = bool(on)
        self.reanalyse()

    def _finished(self, what: str) -> None:
        if what == "analysis" and not self.session.live:
            self.session.spot()
