"""The session: one open recording and everything known about it, without Qt.

It holds the recording (path, frame rate, :class:`~tsfgui.io.SourceInfo`), the model service (weights
read once), the reference policy, the per-frame signals in numpy blocks
(:class:`~tsfgui.engine.spotting.SignalRecorder`), optionally every frame's result and the plotted
traces (``keep_frames``: what the app shows), the spotted events, the status, progress and errors.
It emits what changes with psygnal signals, so widgets subscribe and tests listen headless.

Long work (analysis, spotting with interval classification, a live camera, writing the results
cache) runs as :class:`~tsfgui.session.tasks.Task` threads. Everything a task finds is handed to
``dispatch`` (the app passes one that runs it on the GUI thread; headless it runs at once), so the
session's state changes and its signals are emitted in one thread. What a task hands over after it
was cancelled is dropped: a replaced analysis never touches the new one's state.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from psygnal import Signal

from tsfgui.engine import Analyzer, FrameResult, LatestFrame, ReferencePolicy, ResultsCache, RollingLag, cache_key
from tsfgui.engine.interval_labels import FaceBoxes, classify_intervals
from tsfgui.engine.live_events import EventClassifier, LiveSpotter
from tsfgui.engine.spotting import SignalRecorder, SpotSettings, SpottedInterval
from tsfgui.io import FrameSource, SourceDamagedError, SourceError, SourceInfo, open_source
from tsfgui.model.device import device_name

from .model_service import ModelService, describe_model
from .tasks import CancelToken, Task
from .traces import FrameTraces


def _now(function: Callable[[], None]) -> None:
    function()


class Session:
    """One open recording (see the module docstring). Signals: ``opened(info)``, ``reset()`` (results
    and events emptied: another file, model or setting), ``model_changed()`` (description, device,
    warning or class names), ``results_added(results)``, ``progress(done, total)``, ``status(text)``,
    ``spotting_started()``, ``events_changed(events)``, ``live_result(result)``, ``error(message)``,
    ``errors_cleared()``, ``finished(what)`` (``"analysis"``, ``"spotting"``, ``"live"`` or ``"cancelled"``)."""

    opened = Signal(object)
    reset = Signal()
    model_changed = Signal()
    results_added = Signal(list)
    progress = Signal(int, object)
    status = Signal(str)
    spotting_started = Signal()
    events_changed = Signal(list)
    live_result = Signal(object)
    error = Signal(str)
    errors_cleared = Signal()
    finished = Signal(str)

    def __init__(self, weights: str | Path | None = None, *, policy: ReferencePolicy | None = None,
                 per_frame_model: bool = True, batch_size: int = 8, progress_every: int = 25,
                 interval_s: float = 0.1, keep_frames: bool = False, cache: ResultsCache | None = None,
                 dispatch: Callable[[Callable[[], None]], None] = _now) -> None:
        self.models = ModelService(weights)
        self.policy = policy or RollingLag()
        self.per_frame_model = per_frame_model
        self.batch_size, self.progress_every, self.interval_s = batch_size, progress_every, interval_s
        self.keep_frames = keep_frames
        self.cache = cache
        self._dispatch = dispatch
        self.path: Path | None = None
        self.fps: float | None = None
        self.info: SourceInfo | None = None
        self.live = False
        self.live_stats = (0.0, 0.0, 0)  # camera fps, analysis fps, frames dropped
        self.model_description = ""
        self.device = ""
        self.warning: str | None = None
        self.class_names: tuple[str, ...] = ()
        self.errors: list[str] = []
        self.last_error: str | None = None
        self.cache_error: str | None = None
        self._tasks: list[Task] = []
        self._clear()

    def _clear(self) -> None:
        """Forget every result and event (the recording stays)."""
        self.results: dict[int, FrameResult] = {}
        self.signals = SignalRecorder()
        self.boxes = FaceBoxes()  # the tracked face per frame: spotted intervals are landmarked there
        self.traces = FrameTraces((self.info.frame_count or 0) if self.info else 0, len(self.class_names))
        self.events: list[SpottedInterval] = []
        self.live_pending: SpottedInterval | None = None  # live, two-stage: a movement not final yet
        self.analysed = self.spotting = self.spotted = self.from_cache = False
        self.spot_error: str | None = None

    # --- errors -------------------------------------------------------------------------------
    def report_error(self, message: str) -> None:
        """Keep ``message`` and emit :attr:`error`."""
        self.errors.append(message)
        self.last_error = message
        self.error.emit(message)

    def clear_errors(self) -> None:
        """The errors shown so far are over (a new file or model)."""
        self.last_error = None
        self.errors_cleared.emit()

    # --- the recording and its settings ---------------------------------------------------------
    def open(self, path: str | Path, fps: float | None = None) -> bool:
        """Open ``path`` (reads its header); on failure emit :attr:`error` and return False."""
        self.cancel()
        self.path, self.fps, self.info, self.live = Path(path), fps, None, False
        self._clear()
        self.clear_errors()
        self.reset.emit()
        try:
            with open_source(path, fps=fps) as source:
                self.info = source.info
        except SourceError as exc:
            self.report_error(str(exc))
            return False
        self.traces.reset(self.info.frame_count or 0, len(self.class_names))
        self.opened.emit(self.info)
        return True

    def load_weights(self, weights: str | Path | None) -> None:
        """Use another model (read at its first use); analyse again to see its results."""
        self.models = ModelService(weights)
        self.class_names, self.model_description, self.device, self.warning = (), "", "", None
        self.clear_errors()
        self.model_changed.emit()

    @property
    def weights(self) -> str | None:
        return self.models.weights

    def _set_model(self, description: str, device: str, warning: str | None, names: tuple[str, ...]) -> None:
        self.model_description, self.device, self.warning = description, device, warning
        if names:
            self._set_classes(names)
        self.model_changed.emit()

    def _set_classes(self, names: tuple[str, ...]) -> None:
        self.class_names = tuple(names)
        self.traces.set_classes(len(names), self.results.values())

    # --- analysis -----------------------------------------------------------------------------
    def analyse(self) -> Task:
        """Analyse every frame in the background (or take the results cache's copy): results,
        signals and traces fill as batches arrive, with :attr:`progress`."""
        self.cancel()
        self._clear()
        self.reset.emit()
        key, path, fps, policy, models, per_frame = (self.cache_key(), self.path, self.fps, self.policy, self.models,
                                                     self.per_frame_model)  # as they are now, for the task
        return self._start("analysis", lambda token: self._analyse(token, key, path, fps, policy, models, per_frame),
                           self._analysed)

    def cache_key(self) -> str | None:
        """The results cache's key of this recording with this model and these settings (None: no cache)."""
        from tsfgui import __version__

        if self.cache is None or self.path is None:
            return None
        try:
            return cache_key(self.path, self.weights, {"policy": self.policy.describe(), "fps": self.fps,
                                                       "version": __version__, "per_frame_model": self.per_frame_model})
        except OSError:
            return None

    def _analyse(self, token: CancelToken, key: str | None, path: Path, fps: float | None, policy: ReferencePolicy,
                 models: ModelService, per_frame_model: bool) -> bool:
        """Analyse every frame; True when the source ended cleanly (the analysis may then be cached)."""
        cached = self.cache.load(key) if key else None
        if cached is not None:  # the same file, model and settings were analysed before
            self._call(token, self._take_cached, cached)
            return False
        model = models.get()
        analyzer = Analyzer(model if per_frame_model else None, policy=policy, batch_size=self.batch_size)
        self._call(token, self._set_model, describe_model(model), device_name(analyzer.device), models.warning(),
                   tuple(model.class_names) if model is not None else ())
        chunk: list[FrameResult] = []
        done, last, whole = 0, time.perf_counter(), True
        with open_source(path, fps=fps) as source:
            total = source.info.frame_count
            try:
                for result in analyzer.analyze(source, should_stop=lambda: token.cancelled):
                    chunk.append(result.compact() if self.keep_frames else result)
                    done += 1
                    if len(chunk) >= self.progress_every or time.perf_counter() - last >= self.interval_s:
                        self._call(token, self.add_results, chunk, done, total)
                        chunk, last = [], time.perf_counter()
            except SourceDamagedError as exc:  # the frames before the damage are kept, and it is said
                self._call(token, self.add_results, chunk, done, total)
                chunk, whole = [], False
                self._call(token, self.status.emit, str(exc))
            self._call(token, self.add_results, chunk, done, total)
        return whole and not token.cancelled

    def add_results(self, results: list[FrameResult], done: int | None = None, total: int | None = None) -> None:
        """Take analysed frames in (the analysis hands its batches here; ``done`` of ``total`` frames)."""
        for r in results:
            self.signals.add(r)
            self.boxes.add(r)
            if self.keep_frames:
                self.results[r.index] = r
        if self.keep_frames:
            self.traces.add(results)
        if results and not self.class_names and results[0].class_names:
            self._set_classes(results[0].class_names)
            self.model_changed.emit()
        self.results_added.emit(results)
        if done is not None:
            self.progress.emit(done, total)

    def _take_cached(self, cached: list[FrameResult]) -> None:
        self.from_cache = True
        names = next((r.class_names for r in cached if r.class_names), ())
        if names:
            description = f"TSFmicro {', '.join(names)}"
        else:  # two-stage results carry no classes: the model classifies the spotted events
            description = (describe_model(None) if self.weights is None
                           else f"TSFmicro ({Path(self.weights).name}) on spotted events")
        self._set_model(description, "from cache", self.models.warning(), tuple(names) or self.models.class_names)
        self.add_results(cached, len(cached), len(cached))

    def _analysed(self, whole: bool) -> None:
        self.analysed = True
        self.finished.emit("analysis")
        # cached when every frame the file holds was analysed (a trimmed file may announce more than it has;
        # a damaged one is analysed again on re-opening, so its damage is said again)
        key = self.cache_key() if self.keep_frames and whole and not self.from_cache else None
        if key:
            results = list(self.results.values())
            names = next((r.class_names for r in results if r.class_names), ())  # per-frame classes only
            self._start("caching", lambda token: self._save_cache(token, key, results, names), lambda _: None)

    def _save_cache(self, token: CancelToken, key: str, results: list[FrameResult], names: tuple[str, ...]) -> None:
        try:
            self.cache.save(key, results, names)
        except OSError as exc:  # a full or read-only disk only costs the next re-open some time
            self._call(token, self._cache_failed, f"Results not cached (re-opening this file will analyse it "
                                                  f"again): {exc}")

    def _cache_failed(self, message: str) -> None:
        self.cache_error = message
        self.status.emit(message)

    # --- spotting -----------------------------------------------------------------------------
    def spot(self, settings: SpotSettings | None = None) -> Task:
        """Spot intervals in the analysed signals and classify each on its own onset and apex frames."""
        self.spotting, self.spotted, self.spot_error = True, False, None
        self.spotting_started.emit()
        signals, boxes, fps, path, source_fps, models, analysed = (
            self.signals, self.boxes, self.info.fps if self.info else None, self.path, self.fps, self.models,
            self.analysed)

        def work(token: CancelToken) -> list[SpottedInterval]:
            if not analysed:
                raise ValueError("spotting needs a finished analysis; analyse the recording first")
            events = signals.spot(fps, settings)
            model = models.get() if events else None
            if model is not None:
                with open_source(path, fps=source_fps) as source:
                    events = classify_intervals(model, source, events, boxes=boxes,
                                                should_stop=lambda: token.cancelled)
            return events

        return self._start("spotting", work, self._spotted, self._spot_failed)

    def _spotted(self, events: list[SpottedInterval]) -> None:
        self.events, self.spotting, self.spotted = list(events), False, True
        if self.models.loaded and self.class_names != self.models.class_names:
            self._set_classes(self.models.class_names)  # two stages: the classes come with the model
            self.model_changed.emit()
        self.events_changed.emit(self.events)
        self.finished.emit("spotting")

    def _spot_failed(self, message: str) -> None:
        self.spotting, self.spot_error = False, message
        self.events_changed.emit(self.events)

    @property
    def events_fps(self) -> float:
        """The frame rate the events' frame numbers are read with: a camera's measured rate, else the recording's."""
        if self.live and self.fps:
            return self.fps
        return self.info.fps if self.info is not None and self.info.fps else 30.0

    @property
    def events_ready(self) -> bool:
        """The spotted events of a finished analysis are there (spotting has ended)."""
        return self.analysed and self.spotted and not self.spotting

    # --- live ---------------------------------------------------------------------------------
    def open_live(self, make_source: Callable[[], FrameSource], *, realtime: bool = False,
                  on_frame: Callable | None = None, settings: SpotSettings | None = None) -> Task:
        """Analyse the newest frame of a live source each time (stale ones are dropped).

        ``make_source`` runs in the task (opening a camera may take seconds), after the previous
        tasks have ended (a camera is released before it is opened again); every frame goes to
        ``on_frame`` (reader thread) for display. ``realtime`` paces a file at its frame rate.

        By default (``per_frame_model`` off) the analysis is two-stage as for files: faces and signals
        on every newest frame, spotting (``settings``) over the last seconds, and the model on each
        spotted event's onset and apex in a thread of its own; each event joins :attr:`events` once
        classified (:mod:`tsfgui.engine.live_events`). With ``per_frame_model`` the model runs on every
        newest frame instead, and nothing is spotted."""
        previous = [task for task in self._tasks if task.running]
        self.cancel()
        self.path, self.fps, self.info, self.live = None, None, None, True
        self._clear()
        self.clear_errors()
        self.reset.emit()
        per_frame = self.per_frame_model

        def work(token: CancelToken) -> None:
            for task in previous:
                task.join()
            token.raise_if_cancelled()
            model = self.models.get()
            source = make_source()
            stop = threading.Event()  # set by cancelling, or by the gate closing (which must not read as cancelled)
            token.on_cancel(stop.set)
            gate = LatestFrame(source, realtime=realtime, on_frame=on_frame, stop=stop)
            spotter = classifier = None
            try:
                # a core for the camera and the window; two-stage, the model's thread takes the model's share
                analyzer = Analyzer(model if per_frame else None, batch_size=1, policy=self.policy, reserve_cpus=1)
                if not per_frame:
                    spotter = LiveSpotter(source.info.fps, settings)
                    classifier = EventClassifier(model, lambda event: self._call(token, self._live_event, event),
                                                 device=analyzer.device)
                self._call(token, self._opened_live, source.info)
                self._call(token, self._set_model, describe_model(model), device_name(analyzer.device),
                           self.models.warning(), tuple(model.class_names) if model is not None else ())
                for result in analyzer.run(gate, should_stop=stop.is_set):
                    if spotter is not None:
                        for event in spotter.add(result):
                            classifier.submit(event)
                    stats = gate.stats
                    self._call(token, self._live_result, result.compact(),
                               (stats.source_fps, stats.analysis_fps, stats.dropped),
                               spotter.fps if spotter is not None else None,
                               spotter.pending if spotter is not None else None)
                if spotter is not None and not token.cancelled:  # the source ended: what it showed last counts too
                    for event in spotter.finish():
                        classifier.submit(event)
                    self._call(token, setattr, self, "live_pending", None)  # nothing is moving any more
            finally:
                gate.close()
                source.close()
                if classifier is not None:
                    classifier.close()

        return self._start("live analysis", work, lambda _: self.finished.emit("live"))

    def _opened_live(self, info: SourceInfo) -> None:
        self.info = info
        self.opened.emit(info)

    def _live_result(self, result: FrameResult, stats: tuple[float, float, int], fps: float | None,
                     pending: SpottedInterval | None = None) -> None:
        self.live_stats = stats
        self.live_pending = pending  # a movement spotted whose event is not final yet
        if fps is not None:
            self.fps = fps  # measured: what the events' frame numbers are read with
        self.results = {result.index: result}  # live keeps only the newest result
        self.traces.add([result])
        self.live_result.emit(result)

    def _live_event(self, event: SpottedInterval) -> None:
        self.events = [*self.events, event]
        self.spotted = True
        self.events_changed.emit(self.events)

    # --- tasks --------------------------------------------------------------------------------
    def _call(self, token: CancelToken, function: Callable, *args) -> None:
        """Run ``function(*args)`` through ``dispatch``, unless the task was cancelled by then."""
        self._dispatch(lambda: None if token.cancelled else function(*args))

    def run(self, name: str, work: Callable[[CancelToken], object], on_done: Callable[[object], None], *,
            describe_error: Callable[[BaseException], str] | None = None) -> Task:
        """Run ``work(token)`` as a task of this session: its result goes to ``on_done`` and an error
        to :attr:`error` (``describe_error(exc)``, default "<Name> stopped: …"), both through
        ``dispatch``; :meth:`cancel` drops what it hands over, :meth:`join` waits for it."""
        return self._start(name, work, on_done, describe_error=describe_error)

    def _start(self, name: str, work, on_done, on_failed: Callable[[str], None] | None = None, *,
               describe_error: Callable[[BaseException], str] | None = None) -> Task:
        def failed(exc: BaseException) -> None:
            message = describe_error(exc) if describe_error else f"{name.capitalize()} stopped: {exc}"
            if on_failed is not None:
                on_failed(message)
            self.report_error(message)

        task = Task(name, work, on_done=lambda result: self._call(task.token, on_done, result),
                    on_error=lambda exc: self._call(task.token, failed, exc),
                    on_cancelled=lambda: self._dispatch(lambda: self.finished.emit("cancelled")))
        self._tasks = [t for t in self._tasks if t.running] + [task]
        return task.start()

    @property
    def busy(self) -> bool:
        """A task is still running (possibly cancelled and about to end)."""
        return any(task.running for task in self._tasks)

    def cancel(self) -> None:
        """Ask every running task to stop at its next step (returns at once)."""
        for task in self._tasks:
            task.cancel()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every task started so far (call it off a GUI thread); True when all have ended."""
        return all(task.join(timeout) for task in list(self._tasks))

    def close(self, timeout: float | None = None) -> bool:
        """Cancel and wait for every task (call it off a GUI thread); True when all have ended."""
        self.cancel()
        ended = self.join(timeout)
        self._tasks = [t for t in self._tasks if t.running]
        return ended
