"""The session: one open recording and everything known about it, without Qt.

It holds the recording (path, frame rate, :class:`~tsfgui.io.SourceInfo`), the model service (weights
read once), the reference policy, a columnar store of the per-frame signals in numpy blocks
(:class:`~tsfgui.engine.spotting.SignalRecorder`), the spotted events, the status, progress and
errors. It emits what changes with psygnal signals, so widgets subscribe and tests listen headless.
Long work (analysis, spotting with interval classification) runs as :class:`~tsfgui.session.tasks.Task`
threads that relay their errors to :attr:`Session.error` and honour :meth:`Session.cancel`.
"""

from __future__ import annotations

from pathlib import Path

from psygnal import Signal

from tsfgui.engine import Analyzer, ReferencePolicy, RollingLag
from tsfgui.engine.interval_labels import FaceBoxes, classify_intervals
from tsfgui.engine.spotting import SignalRecorder, SpotSettings, SpottedInterval
from tsfgui.io import SourceDamagedError, SourceError, SourceInfo, open_source

from .model_service import ModelService
from .tasks import Task


class Session:
    """One open recording (see the module docstring). Signals: ``opened(info)``, ``progress(done,
    total)``, ``status(text)``, ``events_changed(events)``, ``error(message)``, ``finished(what)``
    (``"analysis"``, ``"spotting"`` or ``"cancelled"``)."""

    opened = Signal(object)
    progress = Signal(int, object)
    status = Signal(str)
    events_changed = Signal(list)
    error = Signal(str)
    finished = Signal(str)

    def __init__(self, weights: str | Path | None = None, *, policy: ReferencePolicy | None = None,
                 per_frame_model: bool = True, batch_size: int = 8, progress_every: int = 25) -> None:
        self.models = ModelService(weights)
        self.policy = policy or RollingLag()
        self.per_frame_model = per_frame_model
        self.batch_size = batch_size
        self.progress_every = progress_every
        self.path: Path | None = None
        self.fps: float | None = None
        self.info: SourceInfo | None = None
        self.signals = SignalRecorder()
        self._boxes = FaceBoxes()  # the tracked face per frame: spotted intervals are landmarked there
        self.events: list[SpottedInterval] = []
        self.errors: list[str] = []
        self.warning: str | None = None
        self.analysed = False
        self._tasks: list[Task] = []
        self.error.connect(self.errors.append)

    # --- the recording ------------------------------------------------------------------------
    def open(self, path: str | Path, fps: float | None = None) -> bool:
        """Open ``path`` (reads its header); on failure emit :attr:`error` and return False."""
        self.cancel()
        self.path, self.fps, self.info = Path(path), fps, None
        self.signals, self.events, self.analysed, self.warning = SignalRecorder(), [], False, None
        self._boxes = FaceBoxes()
        try:
            with open_source(path, fps=fps) as source:
                self.info = source.info
        except SourceError as exc:
            self.error.emit(str(exc))
            return False
        self.opened.emit(self.info)
        self.status.emit(f"{self.info.name}: {self.info.width}×{self.info.height}, {self.info.fps:g} fps")
        return True

    # --- long work ----------------------------------------------------------------------------
    def analyse(self) -> Task:
        """Analyse every frame in the background into :attr:`signals` (progress as it goes)."""
        return self._start("analysis", self._analyse, self._analysed)

    def _analyse(self, token) -> tuple[SignalRecorder, FaceBoxes]:
        model = self.models.get() if self.per_frame_model else None
        if self.models.weights:
            self.warning = self.models.warning()
        recorder, boxes = SignalRecorder(), FaceBoxes()
        with open_source(self.path, fps=self.fps) as source:
            total = source.info.frame_count
            analyzer = Analyzer(model, policy=self.policy, batch_size=self.batch_size)
            self.status.emit(f"analysing with {self.models.describe() if model else 'no model per frame'}")
            try:
                for result in analyzer.analyze(source, should_stop=lambda: token.cancelled):
                    recorder.add(result)
                    boxes.add(result)
                    if len(recorder) % self.progress_every == 0:
                        self.progress.emit(len(recorder), total)
            except SourceDamagedError as exc:  # the frames before the damage are kept, and it is said
                self.status.emit(str(exc))
            self.progress.emit(len(recorder), total)
        return recorder, boxes

    def _analysed(self, analysed: tuple[SignalRecorder, FaceBoxes]) -> None:
        (self.signals, self._boxes), self.analysed = analysed, True
        self.finished.emit("analysis")

    def spot(self, settings: SpotSettings | None = None) -> Task:
        """Spot intervals in the analysed signals and classify each on its own onset and apex frames."""
        return self._start("spotting", lambda token: self._spot(token, settings), self._spotted)

    def _spot(self, token, settings: SpotSettings | None) -> list[SpottedInterval]:
        if not self.analysed:
            raise ValueError("spotting needs a finished analysis; analyse the recording first")
        events = self.signals.spot(self.info.fps, settings)
        model = self.models.get() if events else None
        if model is not None:
            self.status.emit(f"classifying {len(events)} spotted intervals")
            with open_source(self.path, fps=self.fps) as source:
                events = classify_intervals(model, source, events, boxes=self._boxes,
                                            should_stop=lambda: token.cancelled)
        return events

    def _spotted(self, events: list[SpottedInterval]) -> None:
        self.events = list(events)
        self.events_changed.emit(self.events)
        self.finished.emit("spotting")

    def _start(self, name: str, work, on_done) -> Task:
        task = Task(name, work, on_done=on_done, on_error=lambda exc: self.error.emit(f"{name.capitalize()} "
                                                                                      f"stopped: {exc}"),
                    on_cancelled=lambda: self.finished.emit("cancelled"))
        self._tasks = [t for t in self._tasks if t.running] + [task]
        return task.start()

    # --- ending -------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask every running task to stop at its next step (returns at once)."""
        for task in self._tasks:
            task.cancel()

    def close(self, timeout: float | None = None) -> bool:
        """Cancel and wait for every task (call it off a GUI thread); True when all have ended."""
        self.cancel()
        ended = all(task.join(timeout) for task in self._tasks)
        self._tasks = [t for t in self._tasks if t.running]
        return ended
