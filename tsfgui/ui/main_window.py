"""The main window: the player, and around it widgets and controllers of one :class:`~tsfgui.session.Session`.

The window holds no analysis state. The session holds the recording, its results, events, status
and errors, filled by its background tasks; the widgets (badge, plots, events table, inspector,
overlays, status) take the session in their constructor and follow its signals; the controllers
(analysis, live, exports, recent files) each own one concern. The window builds them, lays them
out, fills the menus and tells them which frame is shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMessageBox, QSlider

from tsfgui.engine import FixedOnset, NeutralBaseline, ReferencePolicy, ResultsCache, RollingLag
from tsfgui.io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, SourceInfo
from tsfgui.session import Session

from .analysis import AnalysisController
from .badge import EmotionBadge
from .events_panel import EventsPanel
from .inspector import Inspector, InspectorPanel
from .live_mode import LiveController
from .overlays import HEATMAP_CHOICES, FrameOverlays
from .player import SHORTCUTS, PlayerWindow
from .plots import SignalPlots
from .recent_files import RecentFiles
from .status import SessionStatus
from .threads import GuiDispatcher, begin_closing, join_in_background
from .window_exports import EVENT_FILTERS, ExportController


class MainWindow(PlayerWindow):
    """Opens a video, frame folder or camera, shows it, and shows what its session finds.

    Results arrive in batches and are kept per frame by the session (without pixels), so stepping to
    an analysed frame shows its face overlay, prediction and plot position at once. The inspector
    (its own worker) rebuilds the frame's crops and heatmaps on request; the chosen heatmap is laid
    over the video. Closing cancels the session's work and waits for it off the GUI thread.
    """

    def __init__(self, target: str | None = None, fps: float | None = None, weights: str | None = None):
        super().__init__(None)
        self._fps = fps
        self.workers_ended = False  # closing: every worker has ended and the window is closed
        self._closing = False
        self._dispatch = GuiDispatcher(self)
        self.session = session = Session(weights, per_frame_model=False, keep_frames=True, cache=ResultsCache(),
                                          dispatch=self._dispatch)
        self.status = SessionStatus(session, self)
        self.badge = EmotionBadge(session)
        self.plots = SignalPlots(session)
        self.events_panel = EventsPanel(session)
        self.inspector_panel = InspectorPanel()
        self.inspector = Inspector(session, self.inspector_panel, self)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(55)
        self.opacity.setMaximumWidth(140)
        self.opacity.setToolTip("heatmap opacity")
        self.overlays = FrameOverlays(session, self.inspector, self.viewbox, self.opacity)
        self.analysis = AnalysisController(session)
        self.live = LiveController(session, self, self.status.rate_label)
        self.exports = ExportController(session, self, self.view, self.plots)
        self.setAcceptDrops(True)
        self._build_docks()
        self._build_menus()
        self.recent = RecentFiles(self.recent_menu, lambda path: self.open(path, fps=self._fps))
        self.frameShown.connect(self._show_frame_analysis)
        self.plots.seekRequested.connect(self.seek)
        self.events_panel.seekRequested.connect(self.seek)
        session.results_added.connect(self._results_added)
        if target is not None:
            self.open(target, fps=fps)

    # --- construction ------------------------------------------------------------------------
    def _build_docks(self) -> None:
        self.docks: dict[str, QDockWidget] = {}
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
        self.statusBar().addPermanentWidget(QLabel("heatmap opacity"))
        self.statusBar().addPermanentWidget(self.opacity)

    def _build_menus(self) -> None:
        menu, ask_save = self.menuBar(), self.exports.ask_save
        file_menu = menu.addMenu("&File")
        self._action(file_menu, "Open &video…", self._ask_video, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open frame &folder…", self._ask_folder)
        self._action(file_menu, "Open &webcam…", lambda: self.live.ask_webcam())
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addSeparator()
        self._action(file_menu, "&Export frames as CSV…",
                     lambda: ask_save("Export per-frame CSV", "CSV (*.csv)", self.exports.frames_csv))
        self._action(file_menu, "Save &snapshot (PNG)…",
                     lambda: ask_save("Save snapshot", "PNG (*.png)", self.exports.snapshot))
        self._action(file_menu, "Export spotted &events (ELAN, BORIS, CSV, JSON)…",
                     lambda: ask_save("Export spotted events", EVENT_FILTERS, self.exports.events))
        self._action(file_menu, "Export &plot (PNG/SVG)…",
                     lambda: ask_save("Export plot", "PNG (*.png);;SVG (*.svg)", self.exports.plot))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = menu.addMenu("&View")
        self.show_face_action = self._action(view_menu, "Face box and &landmarks",
                                             lambda: self.overlays.set_show_face(self.show_face_action.isChecked()))
        self.show_face_action.setCheckable(True)
        self.show_face_action.setChecked(True)
        heat_menu = view_menu.addMenu("&Heatmap")
        group = QActionGroup(self)
        for text, kind in HEATMAP_CHOICES:
            action = self._action(heat_menu, text, lambda checked=False, k=kind: self.overlays.set_heatmap(k))
            action.setCheckable(True)
            action.setChecked(kind == self.overlays.heatmap_kind)
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
        self._action(policy_menu, "Mark the current frame as &onset",
                     lambda: self.set_policy(FixedOnset(max(0, self.current))))
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

    # --- what a person asks for --------------------------------------------------------------
    def open(self, target: str, fps: float | None = None) -> None:
        """Show ``target`` and analyse it in the background."""
        self._fps = fps
        super().open(target, fps=fps)
        self.analysis.open(target, fps=fps)

    def load_weights(self, path: str | None) -> None:
        """Use the model in ``path`` and analyse the open recording again with it."""
        self.analysis.load_weights(path)
        self.live.restart()

    def set_policy(self, policy: ReferencePolicy) -> None:
        """Pair frames with their reference by ``policy`` and analyse again."""
        self.analysis.set_policy(policy)

    def set_per_frame_model(self, on: bool) -> None:
        """Run the model on every frame (against its reference) as well as on spotted events, and
        analyse again; off (the default), the badge shows the class of the spotted event."""
        self.per_frame_action.setChecked(bool(on))
        self.analysis.set_per_frame_model(on)
        self.live.restart()  # live: the camera is analysed again the new way

    # --- the player's frames -----------------------------------------------------------------
    def _on_opened(self, info: SourceInfo) -> None:
        if self.session.path is not None and not self.session.live:
            self.recent.remember(self.session.path)
        super()._on_opened(info)

    def _on_failed(self, message: str) -> None:
        super()._on_failed(message)
        if message != self.session.last_error:  # the session may have said it already, opening the file
            self.session.report_error(message)

    def _show_frame_analysis(self, index: int) -> None:
        """Frame ``index`` is on screen: its plot position, prediction, overlays and inspection."""
        self.plots.set_cursor(index)
        if self.session.live:
            return
        self.badge.show_frame(index)
        self.overlays.show(index, None if self._image is None else self._image.shape)
        self.inspector.request(index)

    def _results_added(self, results: list) -> None:
        if not self.session.live and any(r.index == self.current for r in results):
            self._show_frame_analysis(self.current)

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
        QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", text, parent=self).open()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open(files[0], fps=self._fps)

    # --- closing -----------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """Cancel the session's work and stop the workers; the window closes once they have ended,
        waited for in a helper thread (the GUI stays responsive meanwhile)."""
        if self.workers_ended:
            super().closeEvent(event)
            return
        if not begin_closing(self, event):
            return
        self.live.stop()
        self.timer.stop()
        self.session.cancel()
        self.inspector.stop()
        self.stop_reader(wait=False)
        threads = self.inspector.threads + self.reader_threads
        join_in_background([self.session.join, *(thread.wait for thread in threads)], self._workers_ended,
                           self._dispatch)

    def _workers_ended(self) -> None:
        self.workers_ended = True
        self.close()
