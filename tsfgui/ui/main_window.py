"""The main window: the player plus analysis in the background, overlays, the emotion badge and plots."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QThreadPool, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMessageBox, QProgressBar, QSlider

from tsfgui import export
from tsfgui.engine import FixedOnset, FrameResult, NeutralBaseline, ReferencePolicy, RollingLag
from tsfgui.io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, SourceInfo
from tsfgui.session import ModelService, describe_model

from .analysis_worker import start_analysis
from .badge import EmotionBadge
from .events_panel import EventsMixin, EventsPanel
from .inspector import HEATMAP_LUT, Inspection, InspectorPanel, InspectorWorker, InspectRequest
from .live_mode import LiveModeMixin
from .player import SHORTCUTS, PlayerWindow
from .plots import SignalPlots
from .recent_files import RecentFilesMixin
from .threads import start_worker, stop_worker
from .window_exports import ExportMixin

EVENT_FILTERS = ";;".join(w.dialog_filter for w in export.writers("events"))
HEATMAP_CHOICES = (("None", None), ("Grad-CAM (evidence for the prediction)", "gradcam"),
                   ("Attention rollout", "rollout"), ("Attention received (last layer)", "attention"))


class MainWindow(LiveModeMixin, ExportMixin, EventsMixin, RecentFilesMixin, PlayerWindow):
    """Opens a video or frame folder, shows it, and analyses it in a background worker.

    Results arrive in batches and are kept per frame (without pixels), so stepping to an analysed
    frame shows its face overlay, prediction and plot position at once. The inspector (its own
    worker) rebuilds the frame's crops and heatmaps on request; the chosen heatmap is laid over the
    video, mapped back onto the frame with the alignment's inverse matrix.
    """

    inspectRequested = Signal(object)
    inspectionShown = Signal(int)
    eventsSpotted = Signal(int, object)  # generation, spotted intervals (or the exception)
    cacheFailed = Signal(str)  # the results cache could not be written (from the writer thread)

    def __init__(self, target: str | None = None, fps: float | None = None, weights: str | None = None):
        self.results: dict[int, FrameResult] = {}
        self.models = ModelService(weights)  # the weights are read once, by whichever user needs them first
        self.model_description = ""
        self.analysis_done = False
        self._worker = None
        self._generation = 0
        self._failed_generation: int | None = None  # the analysis run that ended with an error
        self._target: str | None = None
        self._fps = fps
        self._inspector = self._inspector_thread = None
        self._inspecting = False
        self._inspect_wanted: int | None = None
        self.inspection: Inspection | None = None
        self.heatmap_kind: str | None = "gradcam"
        self.policy: ReferencePolicy = RollingLag()
        #: run the model on every frame too (Model › Run on every frame); by default it classifies spotted events
        self.per_frame_model = False
        from tsfgui.engine import ResultsCache

        self.results_cache = ResultsCache()
        self.from_cache = False
        self.cache_error: str | None = None
        self._cache_pending: str | None = None
        self.live = False
        self.live_stats = (0.0, 0.0, 0)  # camera fps, analysis fps, dropped frames
        self._live_stop: threading.Event | None = None
        self._live_frame = None  # newest camera frame (index, ts, RGB), written by the reader thread
        self._live_shown = -1
        self._rate_mark: tuple[float, int] | None = None
        self._build_widgets()
        super().__init__(None)
        self._build_docks_and_menus()
        if target is not None:
            self.open(target, fps=fps)

    # --- construction ------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.badge = EmotionBadge()
        self.plots = SignalPlots()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("analysed %v/%m")
        self.model_label = QLabel("")
        self.rate_label = QLabel("")
        self.error_banner = QLabel("")
        self.warning_banner = QLabel("")
        self.inspector_panel = InspectorPanel()
        self.events_panel = EventsPanel()
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(55)
        self.opacity.setMaximumWidth(140)
        self.opacity.setToolTip("heatmap opacity")

    def _build_docks_and_menus(self) -> None:
        self.setAcceptDrops(True)
        self.error_banner.setStyleSheet("background: #8b1e1e; color: white; padding: 6px;")
        self.error_banner.setWordWrap(True)
        self.error_banner.hide()
        self.centralWidget().layout().insertWidget(0, self.error_banner)
        self.warning_banner.setStyleSheet("background: #f2c94c; color: black; padding: 4px;")
        self.warning_banner.setWordWrap(True)
        self.warning_banner.hide()
        self.centralWidget().layout().insertWidget(0, self.warning_banner)
        self.plots.seekRequested.connect(self.seek)
        self.cacheFailed.connect(self._on_cache_failed)
        self.docks: dict[str, QDockWidget] = {}
        self._init_events()
        self.frameShown.connect(self._show_frame_analysis)
        for title, widget, area in (("Prediction", self.badge, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Inspector", self.inspector_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Events", self.events_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Signals", self.plots, Qt.DockWidgetArea.BottomDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            self.docks[title] = dock
            self.addDockWidget(area, dock)
            if title == "Signals":
                self.resizeDocks([dock], [260], Qt.Orientation.Vertical)
            else:
                self.resizeDocks([dock], [330], Qt.Orientation.Horizontal)
        self.tabifyDockWidget(self.docks["Inspector"], self.docks["Events"])  # one tab each, full height
        self.docks["Inspector"].raise_()
        self.statusBar().addPermanentWidget(self.rate_label)
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().addPermanentWidget(self.progress)

        self.landmarks_item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(0, 255, 120, 220))
        self.box_item = pg.PlotCurveItem(pen=pg.mkPen((0, 255, 120), width=2))
        self.heatmap_item = pg.ImageItem(axisOrder="row-major")
        self.heatmap_item.setZValue(5)
        self.viewbox.addItem(self.heatmap_item)
        self.opacity.valueChanged.connect(self._redraw_heatmap)
        self.statusBar().addPermanentWidget(QLabel("heatmap opacity"))
        self.statusBar().addPermanentWidget(self.opacity)
        for item in (self.landmarks_item, self.box_item):
            self.viewbox.addItem(item)
            item.setZValue(10)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self._action(file_menu, "Open &video…", self._ask_video, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open frame &folder…", self._ask_folder)
        self._action(file_menu, "Open &webcam…", self._ask_webcam)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._fill_recent_menu()
        file_menu.addSeparator()
        self._action(file_menu, "&Export frames as CSV…", lambda: self._ask_save("Export per-frame CSV", "CSV (*.csv)",
                                                                                 self.export_csv))
        self._action(file_menu, "Save &snapshot (PNG)…", lambda: self._ask_save("Save snapshot", "PNG (*.png)",
                                                                                self.save_snapshot))
        self._action(file_menu, "Export spotted &events (ELAN, BORIS, CSV, JSON)…",
                     lambda: self._ask_save("Export spotted events", EVENT_FILTERS, self.export_events))
        self._action(file_menu, "Export &plot (PNG/SVG)…", lambda: self._ask_save("Export plot", "PNG (*.png);;SVG (*.svg)",
                                                                                  self.export_plot))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = menu.addMenu("&View")
        self.show_face_action = self._action(view_menu, "Face box and &landmarks", self._redraw_overlay)
        self.show_face_action.setCheckable(True)
        self.show_face_action.setChecked(True)
        heat_menu = view_menu.addMenu("&Heatmap")
        group = QActionGroup(self)
        for text, kind in HEATMAP_CHOICES:
            action = self._action(heat_menu, text, lambda checked=False, k=kind: self.set_heatmap(k))
            action.setCheckable(True)
            action.setChecked(kind == self.heatmap_kind)
            group.addAction(action)
        model_menu = menu.addMenu("&Model")
        self._action(model_menu, "&Load weights…", self._ask_weights)
        self.per_frame_action = self._action(model_menu, "Run the model on &every frame",
                                             lambda: self.set_per_frame_model(self.per_frame_action.isChecked()))
        self.per_frame_action.setCheckable(True)
        self.per_frame_action.setToolTip("By default the model classifies each spotted event on its onset and apex; "
                                         "on every frame it says what changed in the last 0.2 s (slower)")
        policy_menu = model_menu.addMenu("&Reference frame")
        self._action(policy_menu, "Rolling lag (0.2 s before each frame)", lambda: self.set_policy(RollingLag()))
        self._action(policy_menu, "Mark the current frame as &onset", lambda: self.set_policy(FixedOnset(max(0, self.current))))
        self._action(policy_menu, "&Neutral baseline (calmest frame of the last 2 s)",
                     lambda: self.set_policy(NeutralBaseline()))
        help_menu = menu.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self._show_shortcuts)

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # --- opening and analysis ----------------------------------------------------------------
    def open(self, target: str, fps: float | None = None) -> None:
        """Show ``target`` and analyse it in the background."""
        self._end_live()
        self._target, self._fps = str(target), fps
        self.results.clear()
        self.analysis_done = False
        self._set_error(None)
        super().open(target, fps=fps)
        self._start_analysis()
        self._start_inspector()

    @property
    def weights(self) -> str | None:
        """The weights file of the session's model (None: no model)."""
        return self.models.weights

    def load_weights(self, path: str) -> None:
        """Use the model in ``path`` and analyse the open source again with it."""
        self.models = ModelService(path)
        if self._target is not None:
            self.results.clear()
            self.analysis_done = False
            self._set_error(None)
            self._start_analysis()
            self._start_inspector()

    def set_policy(self, policy: ReferencePolicy) -> None:
        """Pair frames with their reference by ``policy`` and analyse again."""
        self.policy = policy
        if self._target is not None:
            self.results.clear()
            self.analysis_done = False
            self._start_analysis()

    def set_per_frame_model(self, on: bool) -> None:
        """Run the model on every frame (against its reference) as well as on spotted events, and
        analyse again; off (the default), the badge shows the class of the spotted event."""
        self.per_frame_model = bool(on)
        if self.per_frame_action.isChecked() != self.per_frame_model:
            self.per_frame_action.setChecked(self.per_frame_model)
        if self._target is not None:
            self.results.clear()
            self.analysis_done = False
            self._start_analysis()

    def _start_inspector(self) -> None:
        self._stop_inspector()
        self.inspection = None
        self._inspector, self._inspector_thread = start_worker(
            InspectorWorker, self._target, self._fps, self.models,
            connect={"inspected": self._on_inspected, "failed": self._on_inspect_failed})
        self.inspectRequested.connect(self._inspector.inspect)

    def _stop_inspector(self) -> None:
        if self._inspector is not None:
            self.inspectRequested.disconnect(self._inspector.inspect)
            stop_worker(self._inspector, self._inspector_thread)
        self._inspector = self._inspector_thread = None
        self._inspecting, self._inspect_wanted = False, None

    def request_inspection(self, index: int) -> None:
        """Compute crops and heatmaps of frame ``index`` (if analysed); only the newest wish waits."""
        result = self.results.get(index)
        if self._inspector is None or result is None or result.reference_index is None:
            return
        reference = self.results.get(result.reference_index)
        if reference is None or reference.face is None:
            return
        if self._inspecting:
            self._inspect_wanted = index
            return
        self._inspecting = True
        self.inspectRequested.emit(InspectRequest(result, reference))

    def _on_inspected(self, inspection: Inspection) -> None:
        self._inspecting = False
        self.inspection = inspection
        self.inspector_panel.show_inspection(inspection)
        self._redraw_heatmap()
        self.inspectionShown.emit(inspection.index)
        if self._inspect_wanted is not None and self._inspect_wanted != inspection.index:
            wanted, self._inspect_wanted = self._inspect_wanted, None
            self.request_inspection(wanted)
        elif inspection.index != self.current:
            self.request_inspection(self.current)

    def _on_inspect_failed(self, message: str) -> None:
        self._inspecting = False
        self.inspection = None
        self.inspector_panel.show_message(message)
        self._redraw_heatmap()
        if self._inspect_wanted is not None:  # a newer wish waited behind the failed one
            wanted, self._inspect_wanted = self._inspect_wanted, None
            self.request_inspection(wanted)

    def set_heatmap(self, kind: str | None) -> None:
        """Lay ``gradcam``, ``rollout``, ``attention`` or nothing (None) over the video."""
        self.heatmap_kind = kind
        self._redraw_heatmap()

    def _redraw_heatmap(self) -> None:
        inspection, result = self.inspection, self.results.get(self.current)
        heat = None
        if inspection is not None and inspection.index == self.current and result is not None and result.face:
            heat = inspection.heatmaps.get(self.heatmap_kind) if self.heatmap_kind else None
        if heat is None or self._image is None:
            self.heatmap_item.clear()
            return
        on_frame = result.face.heatmap_to_frame(heat, self._image.shape[:2])
        rgba = np.empty(on_frame.shape + (4,), np.uint8)
        rgba[..., :3] = HEATMAP_LUT[np.clip(on_frame * 255, 0, 255).astype(np.uint8)][..., :3]
        rgba[..., 3] = np.clip(on_frame * self.opacity.value() * 2.55, 0, 255).astype(np.uint8)
        self.heatmap_item.setImage(rgba, autoLevels=False, levels=(0, 255))

    def _cache_key(self) -> str | None:
        from tsfgui import __version__
        from tsfgui.engine import cache_key

        try:
            return cache_key(self._target, self.weights, {"policy": self.policy.describe(), "fps": self._fps,
                                                          "version": __version__,
                                                          "per_frame_model": self.per_frame_model})
        except OSError:
            return None

    def _start_analysis(self) -> None:
        self._stop_analysis()
        self._clear_events()
        self._generation += 1
        generation = self._generation
        key = self._cache_key()
        cached = self.results_cache.load(key) if key else None
        if cached is not None:  # the same file, model and settings were analysed before
            self.results = {r.index: r for r in cached}
            self.analysis_done = True
            self.from_cache = True
            names = next((r.class_names for r in cached if r.class_names), ())
            if names:
                self.model_description = f"TSFmicro {', '.join(names)}"
            else:  # two-stage results carry no classes: the model classifies the spotted events
                self.model_description = (describe_model(None) if self.weights is None
                                          else f"TSFmicro ({Path(self.weights).name}) on spotted events")
            self.model_label.setText(f"{self.model_description} · from cache · reference: {self.policy.describe()}")
            self._set_warning(self.models.warning())
            self.progress.setRange(0, len(cached))
            self.progress.setValue(len(cached))
            if names:
                self._classes_known(names)
            self.plots.add_results(cached)
            self._spot_events()
            if self.current >= 0:
                self._show_frame_analysis(self.current)
            return
        self.from_cache = False
        self._cache_pending = key
        worker = start_analysis(self._target, self.models, fps=self._fps, policy=self.policy,
                                per_frame_model=self.per_frame_model)
        worker.yielded.connect(lambda message: self._on_message(generation, message))
        worker.errored.connect(lambda exc: self._on_worker_error(generation, exc))
        worker.finished.connect(lambda: self._on_finished(generation))
        self._worker = worker
        self.progress.setValue(0)
        self._rate_mark = None
        worker.start()

    def _stop_analysis(self, wait: bool = False) -> None:
        """Ask the running analysis to stop. The window does not wait for it (its late messages carry an
        old generation and are dropped) unless ``wait``: a camera must be released before it is opened
        again, and closing the window must leave no worker running."""
        if self._live_stop is not None:
            self._live_stop.set()
            self._live_stop = None
        if self._worker is not None:
            self._worker.quit()
            self._worker = None
            if wait:
                QThreadPool.globalInstance().waitForDone(10_000)

    def _on_message(self, generation: int, message: tuple) -> None:
        if generation != self._generation:
            return  # a late batch from an analysis that was replaced
        kind = message[0]
        if kind == "model":
            _, self.model_description, device, warning = message
            self.model_label.setText(f"{self.model_description} · {device} · reference: {self.policy.describe()}")
            self._set_warning(warning)
        elif kind == "results":
            _, batch, done = message
            for r in batch:
                self.results[r.index] = r
            if batch and not self.badge._names and batch[0].class_names:
                self._classes_known(batch[0].class_names)
            self.plots.add_results(batch)
            self.progress.setValue(done)
            self._show_rates(done)
            if self.current in {r.index for r in batch}:
                self._show_frame_analysis(self.current)
                self.request_inspection(self.current)
        elif kind == "classes":
            if not self.badge._names:
                self._classes_known(message[1])
        elif kind == "warning":
            self.statusBar().showMessage(message[1])

    def _show_rates(self, done: int) -> None:
        import time

        now = time.perf_counter()
        if self._rate_mark is None:
            self._rate_mark = (now, done)
            return
        start, first = self._rate_mark
        if now > start and self.info is not None:
            self.rate_label.setText(f"source {self.info.fps:g} fps · analysis {(done - first) / (now - start):.1f} fps")

    def _classes_known(self, names: tuple[str, ...]) -> None:
        self.badge.set_classes(names)
        if self.info is not None:
            self.plots.reset(self.info.frame_count or 0, self.info.fps, names)
            self.plots.add_results(self.results.values())

    def _on_worker_error(self, generation: int, exc: Exception) -> None:
        self._failed_generation = generation
        if generation == self._generation:
            self._set_error(f"{'Live analysis' if self.live else 'Analysis'} stopped: {exc}")

    def _on_finished(self, generation: int) -> None:
        # an error shown meanwhile for something else (an export) does not void a complete analysis
        failed = self._failed_generation == generation
        if generation == self._generation and not failed and self._worker is not None:
            self.analysis_done = True
            self.plots.refresh()
            self._spot_events()
            if self._cache_pending and self.info is not None and len(self.results) == self.info.frame_count:
                self._save_cache(self._cache_pending, list(self.results.values()))

    def _save_cache(self, key: str, results: list[FrameResult]) -> None:
        """Write the finished analysis to the results cache in a plain background thread (joined on close)."""
        names = next((r.class_names for r in results if r.class_names), ())

        def write() -> None:
            try:
                self.results_cache.save(key, results, names)
            except OSError as exc:  # a full or read-only disk only costs the next re-open some time
                self.cacheFailed.emit(f"Results not cached (re-opening this file will analyse it again): {exc}")

        self._join_cache_writer()
        self._cache_writer = threading.Thread(target=write, name="results-cache-writer")
        self._cache_writer.start()

    def _on_cache_failed(self, message: str) -> None:
        self.cache_error = message
        self.statusBar().showMessage(message, 30_000)

    def _join_cache_writer(self) -> None:
        writer = getattr(self, "_cache_writer", None)
        if writer is not None:
            writer.join()
            self._cache_writer = None

    def _set_warning(self, message: str | None) -> None:
        """Show the loaded model's warning (e.g. demo weights) above the video for as long as it is loaded."""
        self.warning_banner.setText(f"⚠ Model: {message}" if message else "")
        self.warning_banner.setVisible(bool(message))

    def _set_error(self, message: str | None) -> None:
        self.error = message
        self.error_banner.setText(message or "")
        self.error_banner.setVisible(bool(message))
        if message:
            self.statusBar().showMessage(message)

    def _on_opened(self, info: SourceInfo) -> None:
        if self._target is not None and info.kind != "webcam":
            self._remember_recent(self._target)
        self.progress.setRange(0, info.frame_count or 0)
        self.plots.reset(info.frame_count or 0, info.fps, self.badge._names)
        self.plots.add_results(self.results.values())
        super()._on_opened(info)
        if self._spot_when_opened:  # the analysis (or the cache) was quicker than opening the video
            self._spot_events()

    def _on_failed(self, message: str) -> None:
        super()._on_failed(message)
        self._set_error(message)

    # --- per-frame display -------------------------------------------------------------------
    def _show_frame_analysis(self, index: int) -> None:
        self.plots.set_cursor(index)
        if self.live:
            return
        result = self.results.get(index)
        if result is None:
            self.badge.show_prediction(None, "not analysed yet" if not self.analysis_done else "")
        elif self.weights is not None and not self.per_frame_model:
            self._show_event_class(index)
        elif result.probabilities is None:
            self.badge.show_prediction(None, "no face in this frame" if result.face is None else
                                       ("no model loaded" if not result.class_names else "no reference frame yet"))
        else:
            self.badge.show_prediction(result.probabilities)
        self._redraw_overlay()
        self._redraw_heatmap()
        self.request_inspection(index)

    def _show_event_class(self, index: int) -> None:
        """The badge in two-stage mode: the class of the spotted event frame ``index`` belongs to."""
        if not self.analysis_done or self.spotting_running:
            self.badge.show_prediction(None, "events are classified when the analysis has finished")
            return
        event = next((e for e in self.events if e.onset <= index <= e.offset), None)
        if event is None:
            self.badge.show_no_movement("no spotted event at this frame")
        else:
            where = f"{event.kind}-expression, frames {event.onset}–{event.offset}"
            self.badge.show_event(event.label, event.probability,
                                  where if event.label else f"{where}: no face at its onset")

    def _redraw_overlay(self) -> None:
        if self.live:
            return  # live overlays follow the newest analysed frame (see _on_live_message)
        result = self.results.get(self.current)
        self._draw_face(result.face if result is not None else None)

    def _draw_face(self, face) -> None:
        if face is None or not self.show_face_action.isChecked():
            self.landmarks_item.setData([], [])
            self.box_item.setData([], [])
            return
        self.landmarks_item.setData(face.landmarks[:, 0], face.landmarks[:, 1])
        x0, y0, x1, y1 = face.bbox
        self.box_item.setData(np.array([x0, x1, x1, x0, x0]), np.array([y0, y0, y1, y1, y0]))

    # --- dialogs -----------------------------------------------------------------------------
    def _ask_video(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in VIDEO_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", f"Videos ({patterns});;All files (*)")
        if path:
            self.open(path)

    def _ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of frames (" + ", ".join(IMAGE_EXTENSIONS) + ")")
        if path:
            self.open(path, fps=self._fps)

    def _ask_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load TSFmicro weights", "",
                                              "Weights (*.safetensors *.pth *.pt);;All files (*)")
        if path:
            self.load_weights(path)

    def _show_shortcuts(self) -> None:
        text = "\n".join(f"{keys}: {what}" for keys, what in SHORTCUTS)
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", text, parent=self)
        box.open()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if self.live:
            self._live_timer.stop()
        self._stop_analysis(wait=True)
        self._join_cache_writer()
        self._stop_inspector()
        self._stop_spotting()
        super().closeEvent(event)
