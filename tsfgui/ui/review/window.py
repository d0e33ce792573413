"""The review window: go through a project's proposed events, see each one looped and magnified, decide
with one key, undo anything.

A composition: the state is the project (SQLite) and a :class:`~tsfgui.project.review.ReviewQueue`
over it; the widgets show them. Every decision is written to the project before the view refreshes,
and pushed on a QUndoStack whose commands revert/reapply the project's own changes.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QSplitter, QTableView, QVBoxLayout, QWidget)

from tsfgui.engine.event_loop import event_window
from tsfgui.project import SUFFIX, STATUSES, Change, Project, ProjectError
from tsfgui.project.review import AgreementBoard, QueueFilter, ReviewQueue, event_key

from ..recent_files import RecentFiles, settings
from ..threads import GuiDispatcher, begin_closing, join_in_background
from .analysis_process import ProjectAnalysis
from .event_view import EventView
from .panels import AgreementPanel, EventFields, ProjectPanel
from .queue_model import QueueTableModel
from .signals_plot import EventSignalsPlot
from .undo import ChangeCommand

ANY = "any"


class ReviewWindow(QMainWindow):
    """Open a project (``path``) as ``coder`` (default: the coder remembered from last time, else asked)."""

    def __init__(self, path: str | os.PathLike | None = None, coder: str | None = None):
        super().__init__()
        self.setWindowTitle("tsfgui review")
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self.project: Project | None = None
        self.queue: ReviewQueue | None = None
        self.last_error: str | None = None
        self._recording_open: int | None = None
        self._signals_run: int | None = None
        self._shown_window = None
        self.undo_stack = QUndoStack(self)
        self._models: dict[str, object] = {}
        self.workers_ended = False  # closing: the window closes once its background work has ended
        self._closing = False
        self._dispatch = GuiDispatcher(self)
        self._lane_events: dict[tuple[int, str], list] = {}
        self._agreement_timer = QTimer(self)  # decisions in quick succession: one recount when they pause
        self._agreement_timer.setSingleShot(True)
        self._agreement_timer.setInterval(400)
        self._agreement_timer.timeout.connect(self._refresh_agreement)

        self.project_panel = ProjectPanel()
        self.project_panel.recordingChosen.connect(self.set_recording)
        self.agreement = AgreementPanel()
        self.model = QueueTableModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.filters = {name: QComboBox() for name in ("status", "kind", "label", "region")}
        filter_row = QHBoxLayout()
        for name, box in self.filters.items():
            box.addItem(ANY)
            box.currentTextChanged.connect(self._filters_changed)
            box.setToolTip(f"show only events with this {name}")
            filter_row.addWidget(QLabel(name))
            filter_row.addWidget(box)
        self.filters["status"].addItems(STATUSES)
        self.filters["kind"].addItems(["micro", "macro"])
        self.order_box = QComboBox()
        self.order_box.addItems(["time", "score"])
        self.order_box.currentTextChanged.connect(self._order_changed)
        filter_row.addWidget(QLabel("sort by"))
        filter_row.addWidget(self.order_box)
        filter_row.addStretch(1)
        self.event_view = EventView()
        self.event_view.frameShown.connect(lambda frame: self.signals_plot.set_cursor(frame))
        self.event_view.failed.connect(self._error)
        self.signals_plot = EventSignalsPlot()
        self.signals_plot.timingDragged.connect(lambda timing: self._act(lambda q: q.set_timing(**timing)))
        self.fields = EventFields()
        self.fields.ausEntered.connect(self._aus_entered)
        self.fields.noteEntered.connect(self._note_entered)
        self.fields.editingLeft.connect(self.table.setFocus)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.project_panel)
        left.addWidget(self.agreement)
        queue_box = QWidget()
        queue_layout = QVBoxLayout(queue_box)
        queue_layout.setContentsMargins(0, 0, 0, 0)
        queue_layout.addLayout(filter_row)
        queue_layout.addWidget(self.table)
        left.addWidget(queue_box)
        left.setSizes([200, 120, 480])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.event_view)
        right.addWidget(self.fields)
        right.addWidget(self.signals_plot)
        right.setSizes([420, 120, 300])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setSizes([620, 780])
        self.setCentralWidget(main)
        self.coder_label = QLabel("")
        self.analysis = ProjectAnalysis(self)
        self.analysis.progress.connect(self._analysis_progress)
        self.analysis.finished.connect(self._analysis_finished)
        self.analysis_bar = QProgressBar()
        self.analysis_bar.setMaximumWidth(260)
        self.analysis_bar.setVisible(False)
        self.statusBar().addPermanentWidget(self.analysis_bar)
        self.statusBar().addPermanentWidget(self.coder_label)
        self._build_menus()
        self._set_enabled()
        if path is not None:
            self.open_project(path, coder=coder)

    # -- menus -----------------------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut: str | QKeySequence | None = None,
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work whatever has the focus
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "&New project…", self._new_project, QKeySequence.StandardKey.New)
        self._action(f, "&Open project…", self._open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Recent projects")
        self.recent = RecentFiles(self.recent_menu, self.open_project, key="review/recent")
        self.add_action = self._action(f, "&Add recordings…", self._add_recordings, "Ctrl+Shift+O")
        self.export_action = self._action(f, "&Export project…", self._export_dialog, "Ctrl+E")
        f.addSeparator()
        self._action(f, "&Close", self.close, "Ctrl+W")
        e = bar.addMenu("&Edit")
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        for action in (self.undo_action, self.redo_action):
            e.addAction(action)
            self.addAction(action)
        r = bar.addMenu("&Review")
        self.review_actions = [
            self._action(r, "&Next event", lambda: self._move(+1), "N"),
            self._action(r, "&Previous event", lambda: self._move(-1), "P"),
            self._action(r, "&Accept", lambda: self._act(lambda q: q.accept()), "A"),
            self._action(r, "&Reject", lambda: self._act(lambda q: q.reject()), "R"),
        ]
        labels = r.addMenu("Set &label")
        self.label_actions = [self._action(labels, f"label {n}", lambda checked=False, n=n: self._act(
            lambda q: q.set_label_number(n)), str(n)) for n in range(1, 8)]
        self.review_actions += self.label_actions
        self.review_actions += [
            self._action(r, "Action &units…", self._focus_aus, "U"),
            self._action(r, "N&ote…", self._focus_note, "E"),
        ]
        r.addSeparator()
        self.review_actions += [
            self._action(r, "Set &onset at this frame", lambda: self._timing_here("onset"), "["),
            self._action(r, "Set o&ffset at this frame", lambda: self._timing_here("offset"), "]"),
            self._action(r, "Set ape&x at this frame", lambda: self._timing_here("apex"), "\\"),
            self._action(r, "&Add an event here", self._add_here, "Insert"),
            self._action(r, "&Delete the added event", lambda: self._act(lambda q: q.delete_added()), "Delete"),
        ]
        p = bar.addMenu("&Playback")
        self._action(p, "&Play / pause the loop", lambda: self.event_view.set_playing(not self.event_view.playing),
                     "Space")
        self._action(p, "Frame &back", lambda: self.event_view.step(-1), "Left")
        self._action(p, "Frame &forward", lambda: self.event_view.step(+1), "Right")
        self._action(p, "Go to the &onset", lambda: self._go_to("onset"), "Home")
        self._action(p, "Go to the ape&x", lambda: self._go_to("apex"), "Ctrl+Home")
        self._action(p, "Go to the o&ffset", lambda: self._go_to("offset"), "End")
        self.magnify_action = self._action(p, "&Magnify motion", lambda on: self.event_view.set_magnification(on),
                                           "M", checkable=True)
        self.heatmap_action = self._action(p, "&Heatmap of the event", lambda on: self.event_view.heatmap_box.setChecked(on),
                                           "H", checkable=True)
        self.event_view.heatmap_box.toggled.connect(self.heatmap_action.setChecked)
        self.event_view.magnify_box.toggled.connect(self.magnify_action.setChecked)
        self._action(p, "Magnification ×5 &stronger", lambda: self._factor(+5), "Shift+M")
        self._action(p, "Magnification ×5 &weaker", lambda: self._factor(-5), "Ctrl+M")
        a = bar.addMenu("&Project")
        self.analyse_action = self._action(a, "&Analyse the remaining recordings", self.start_analysis,
                                           "Ctrl+Shift+A")
        self.pause_action = self._action(a, "&Pause the analysis", self.analysis.pause, "Ctrl+Shift+P")
        v = bar.addMenu("&View")
        self.whole_project_action = self._action(v, "&Whole project's events", self._scope_changed, "Ctrl+Shift+W",
                                                 checkable=True)
        self._action(v, "Sort by &score", lambda on: self.order_box.setCurrentText("score" if on else "time"),
                     "Ctrl+Shift+S", checkable=True)
        self._action(v, "&Queue (keys)", self.table.setFocus, "Ctrl+1")
        self.lanes_action = self._action(v, "Other coders' &lanes", lambda _: self._show_lanes(), "L", checkable=True)
        self.lanes_action.setChecked(True)
        c = bar.addMenu("&Coder")
        self._action(c, "&Choose coder…", self._choose_coder, "Ctrl+K")
        h = bar.addMenu("&Help")
        self._action(h, "&Keys", self._show_keys, "F1")

    def _set_enabled(self) -> None:
        has_project = self.queue is not None
        for action in self.review_actions + [self.add_action, self.export_action]:
            action.setEnabled(has_project)
        self.analyse_action.setEnabled(has_project and not self.analysis.running)
        self.pause_action.setEnabled(self.analysis.running)
        labels = self.queue.labels() if self.queue else ()
        for n, action in enumerate(self.label_actions, start=1):
            action.setText(f"&{n} {labels[n - 1]}" if n <= len(labels) else f"label {n}")
            action.setEnabled(n <= len(labels))

    # -- project and coder -------------------------------------------------------------------------
    def open_project(self, path: str | os.PathLike, coder: str | None = None) -> bool:
        """Open ``path`` (refused with a message when it is not a project); the coder is ``coder``, the
        remembered one, or asked for."""
        try:
            project = Project.open(path)
        except ProjectError as exc:
            self._error(str(exc), dialog=True)
            return False
        coder = coder or settings().value("review/coder", "") or self._ask_coder(project)
        if not coder:
            project.close()
            self._error(f"{path}: no coder chosen; decisions are recorded per coder", dialog=True)
            return False
        self.analysis.pause()
        self._close_project()
        self.project = project
        self.recent.remember(path)
        if not self._start_queue(coder):
            return False
        read_only = " (read-only)" if project.read_only else ""
        self.setWindowTitle(f"tsfgui review · {Path(path).name}{read_only}")
        return True

    def _start_queue(self, coder: str) -> bool:
        try:
            recordings = self.project.recordings()
            self.queue = ReviewQueue(self.project, coder, recordings[0].id if recordings else None)
        except ProjectError as exc:
            self._error(str(exc), dialog=True)
            return False
        self.board = AgreementBoard(self.project, self.queue.coder)
        s = settings()
        s.setValue("review/coder", self.queue.coder)
        s.sync()
        self.coder_label.setText(f"coder: {self.queue.coder}")
        self._fill_label_filter()
        self._load_undo_stack()
        self.whole_project_action.setChecked(False)
        self._set_enabled()
        self.refresh()
        self.table.setFocus()
        return True

    def set_coder(self, coder: str) -> bool:
        """Review as ``coder`` from now on (remembered)."""
        if self.project is None:
            s = settings()
            s.setValue("review/coder", coder)
            s.sync()
            return True
        return self._start_queue(coder)

    def _ask_coder(self, project: Project) -> str:
        names = [c.name for c in project.coders()]
        name, ok = QInputDialog.getItem(self, "Who is reviewing?", "Coder (decisions are recorded per coder):",
                                        names, 0, True)
        return name.strip() if ok else ""

    def _choose_coder(self) -> None:
        if self.project is None:
            return
        name = self._ask_coder(self.project)
        if name:
            self.set_coder(name)

    def _close_project(self) -> None:
        self.event_view.close_recording()
        self._recording_open = self._signals_run = self._shown_window = None
        self.undo_stack.clear()
        self.queue = None
        if self.project is not None:
            self.project.close()
        self.project = None

    def _load_undo_stack(self) -> None:
        """The coder's earlier undoable changes, so Ctrl+Z goes back past this session too."""
        self.undo_stack.clear()
        applied, _ = self.project.undo_stack(self.queue.coder)
        changes = {h.change.id: h.change for h in self.project.history(self.queue.coder)}
        for change_id in applied:
            if change_id in changes:
                self.undo_stack.push(self._command(changes[change_id]))

    def _command(self, change: Change) -> ChangeCommand:
        return ChangeCommand(self.project, change, after=self._after_undo, on_error=self._error)

    def _fill_label_filter(self) -> None:
        box = self.filters["label"]
        box.blockSignals(True)
        box.clear()
        box.addItems([ANY, *self.queue.labels()])
        box.blockSignals(False)
        regions = sorted({e.region for rec in self.project.recordings() for e in self.project.proposals(rec.id)
                          if e.region})
        box = self.filters["region"]
        box.blockSignals(True)
        box.clear()
        box.addItems([ANY, *regions])
        box.blockSignals(False)

    # -- the view of the queue -----------------------------------------------------------------------
    def refresh(self, changed_recording: int | None = None) -> None:
        """Redraw from the project: queue rows, selection, panels, agreement, the event. After a decision
        in ``changed_recording`` only that recording's counts and agreement are recomputed."""
        if self.queue is None:
            self.model.set_queue(None)
            self.project_panel.fill(None, None, None)
            return
        self.model.set_queue(self.queue)
        if changed_recording is None:
            self.board.invalidate()
            self._lane_events.clear()
            self.project_panel.fill(self.project, self.queue.coder, self.queue.recording_id)
            self._agreement_timer.start()  # after the window has drawn (the first one imports scikit-learn)
        else:
            self.board.invalidate(changed_recording)
            self.project_panel.update_counts(self.project, self.queue.coder, changed_recording)
            self._agreement_timer.start()
        self._select_row()
        self._show_current()

    def _refresh_agreement(self) -> None:
        self._agreement_timer.stop()
        if self.queue is not None:
            self.agreement.fill(self.board.rows(self._current_recording()))

    def _current_recording(self) -> int | None:
        e = self.queue.event if self.queue else None
        return e.recording_id if e is not None else (self.queue.recording_id if self.queue else None)

    def _select_row(self) -> None:
        current = self.queue.current
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        if current is None:
            selection.clearSelection()
        else:
            index = self.model.index(current, 0)
            selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                      | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(index)
        selection.blockSignals(False)

    def _row_changed(self, current, _previous) -> None:
        if self.queue is not None and current.isValid() and current.row() != self.queue.current:
            self.queue.select(current.row())
            if not self._agreement_timer.isActive():
                self._refresh_agreement()
            self._show_current()

    def _show_current(self) -> None:
        e = self.queue.event if self.queue else None
        others = self.model.others_by_proposal.get(e.proposal_id, {}) if e is not None else {}
        self.fields.show_event(e, self.queue.labels() if self.queue else (), others)
        if e is None:
            return
        rec = self.project.recording(e.recording_id)
        if rec.id != self._recording_open:
            if not rec.exists:
                self._error(f"recording '{rec.name}' is not at '{rec.location}' (moved? tsfgui project relink)")
                return
            self.event_view.open_recording(str(rec.location), fps=rec.fps if rec.kind == "folder" else None)
            self._recording_open = rec.id
        run = self.project.current_run(rec.id)
        if run is not None and run.id != self._signals_run:
            self.signals_plot.set_signals(self.project.signals(run.id))
            self._signals_run = run.id
            self.event_view.set_model_service(self._model_service(run.weights))
        window = event_window(e.onset, e.offset, rec.fps, rec.frame_count, e.apex)
        if window != self._shown_window:
            self.event_view.show_event((rec.id, event_key(e)), window)
            self._shown_window = window
        self.signals_plot.show_event(window, e.onset, e.apex, e.offset)
        self._show_lanes()

    def _show_lanes(self) -> None:
        """Other coders' final events around the current one, read-only, on the signals plot."""
        e = self.queue.event if self.queue else None
        lanes: dict[str, list[tuple[int, int, str]]] = {}
        if e is not None and self.lanes_action.isChecked():
            rec = self.project.recording(e.recording_id)
            window = event_window(e.onset, e.offset, rec.fps, rec.frame_count, e.apex)
            for coder in self.project.coders():
                if coder.name != self.queue.coder:
                    key = (rec.id, coder.name)
                    if key not in self._lane_events:  # others' events change only by their own hand
                        self._lane_events[key] = self.project.final_events(rec.id, coder.name)
                    lanes[coder.name] = [(o.onset, o.offset, o.label or "") for o in self._lane_events[key]
                                         if o.offset >= window.start and o.onset < window.stop]
        self.signals_plot.set_lanes(lanes)

    # -- actions -------------------------------------------------------------------------------------
    def _act(self, action) -> Change | None:
        """Run a decision on the queue; it is written at once and becomes one undoable command."""
        if self.queue is None:
            return None
        recording = self._current_recording()
        try:
            change = action(self.queue)
        except ProjectError as exc:
            self._error(str(exc))
            return None
        self.undo_stack.push(self._command(change))
        self.statusBar().showMessage(f"{self.queue.coder}: {change.description}", 5000)
        self.last_error = None
        self.refresh(changed_recording=recording)
        return change

    def _after_undo(self) -> None:
        if self.queue is not None:
            self.queue.reload()
            self.refresh()

    def _move(self, step: int) -> None:
        if self.queue is None:
            return
        self.queue.next() if step > 0 else self.queue.previous()
        self._select_row()
        if not self._agreement_timer.isActive():
            self._refresh_agreement()
        self._show_current()

    def _model_service(self, weights: str | None):
        """One model per weights file for the whole window (read once, whatever the events)."""
        if not weights:
            return None
        from tsfgui.session.model_service import ModelService

        if weights not in self._models:
            self._models[weights] = ModelService(weights)
        return self._models[weights]

    def _go_to(self, edge: str) -> None:
        e = self.queue.event if self.queue else None
        if e is not None:
            self.event_view.go_to(getattr(e, edge))

    def _timing_here(self, edge: str) -> None:
        frame = self.event_view.current_frame
        if frame is None:
            self._error("no frame on screen yet: select an event first")
            return
        self._act(lambda q: q.set_timing(**{edge: frame}))

    def _add_here(self) -> None:
        frame = self.event_view.current_frame
        recording = self._current_recording()
        if recording is None:
            self._error("the project has no recording to add an event to")
            return
        self._act(lambda q: q.add_event(recording, frame if frame is not None else 0))

    def _focus_aus(self) -> None:
        self.fields.aus.setFocus()
        self.fields.aus.selectAll()

    def _focus_note(self) -> None:
        self.fields.note.setFocus()
        self.fields.note.selectAll()

    def _aus_entered(self, text: str) -> None:
        if self._act(lambda q: q.set_aus(text)) is not None:
            self.table.setFocus()

    def _note_entered(self, text: str) -> None:
        if self._act(lambda q: q.set_note(text)) is not None:
            self.table.setFocus()

    def _factor(self, delta: int) -> None:
        slider = self.event_view.factor_slider
        slider.setValue(slider.value() + delta)
        self.event_view.set_magnification(True)

    def set_recording(self, recording_id: int) -> None:
        """Review one recording's events."""
        if self.queue is not None and self.queue.recording_id != recording_id:
            self.whole_project_action.setChecked(False)
            self.queue.set_scope(recording_id)
            self.refresh()

    def _scope_changed(self, whole: bool) -> None:
        if self.queue is not None:
            self.queue.set_scope(None if whole else self._current_recording())
            self.refresh()

    def _filters_changed(self) -> None:
        if self.queue is None:
            return
        values = {name: (None if box.currentText() in (ANY, "") else box.currentText())
                  for name, box in self.filters.items()}
        self.queue.set_filter(QueueFilter(**values))
        self.refresh()

    def _order_changed(self, order: str) -> None:
        if self.queue is not None:
            self.queue.set_order(order)
            self.refresh()

    # -- analysing the rest of the project ----------------------------------------------------------
    def analysis_weights(self) -> str | None:
        """The weights of the project's latest run (so finished recordings count as done), else the
        app's default weights."""
        from tsfgui.resources import default_weights

        runs = [self.project.current_run(r.id) for r in self.project.recordings()]
        used = [run for run in runs if run is not None]
        return used[-1].weights if used else default_weights()

    def start_analysis(self) -> None:
        """Analyse, in a child process, every recording not analysed yet with these weights."""
        if self.project is None or self.analysis.running:
            return
        self.analysis.start(str(self.project.path), self.analysis_weights())
        self.analysis_bar.setVisible(True)
        self.analysis_bar.setValue(0)
        self.analysis_bar.setFormat("analysing…")
        self._set_enabled()

    def _analysis_progress(self, what: str, percent: int) -> None:
        self.analysis_bar.setValue(percent)
        self.analysis_bar.setFormat(f"{what}: %p%")

    def _analysis_finished(self, completed: bool, message: str) -> None:
        self.analysis_bar.setVisible(False)
        self._set_enabled()
        if message == "paused":
            self.statusBar().showMessage("analysis paused; Project › Analyse the remaining recordings resumes it")
        elif completed:
            self.statusBar().showMessage("analysis finished", 10000)
        else:
            self._error(f"the analysis stopped: {message}")
        if self.queue is not None:
            self._fill_label_filter()
            if self.queue.recording_id is None and self.project.recordings():
                self.queue.set_scope(self.project.recordings()[0].id)
            self.queue.reload()
            self._set_enabled()
            self.refresh()

    def _error(self, message: str, dialog: bool = False) -> None:
        self.last_error = message
        self.statusBar().showMessage(message, 15000)
        if dialog and self.isVisible():
            box = QMessageBox(QMessageBox.Icon.Warning, "tsfgui review", message, parent=self)
            box.open()

    # -- files ---------------------------------------------------------------------------------------
    def _new_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New project", "", f"tsfgui projects (*{SUFFIX})")
        if not path:
            return
        if not path.endswith(SUFFIX):
            path += SUFFIX
        try:
            Project.create(path).close()
        except ProjectError as exc:
            self._error(str(exc), dialog=True)
            return
        self.open_project(path)

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", f"tsfgui projects (*{SUFFIX})")
        if path:
            self.open_project(path)

    def _add_recordings(self) -> None:
        if self.project is None:
            return
        paths, _ = QFileDialog.getOpenFileNames(self, "Add recordings", "", "Videos (*.mp4 *.avi *.mov *.mkv *.webm)")
        if paths:
            self.add_recordings(paths)

    def add_recordings(self, paths: list[str]) -> None:
        """Add videos or frame folders to the project (failures named in the status bar)."""
        report = self.project.add_recordings(paths)
        failed = "; ".join(f"{p.name}: {why}" for p, why in report.failed)
        self.statusBar().showMessage(f"added {len(report.added)} recording(s)" + (f"; {failed}" if failed else ""))
        if self.queue is not None and self.queue.recording_id is None and report.added:
            self.queue.set_scope(report.added[0].id)
        self.refresh()

    def _export_dialog(self) -> None:
        if self.project is None:
            return
        from .export_dialog import ExportDialog

        dialog = ExportDialog([c.name for c in self.project.coders()], self.queue.coder,
                              self.project.folder / f"{self.project.path.stem}-export", self)
        dialog.accepted.connect(lambda: self.export_project(*dialog.choice()))
        dialog.open()
        self.export_dialog = dialog

    def export_project(self, fmt: str, folder: Path, coder: str | None, final: bool) -> list[Path]:
        """Write the project's events (the tool's and the coders', or one coder's final ones) to ``folder``."""
        from tsfgui.project.exports import export_project

        try:
            folder.mkdir(parents=True, exist_ok=True)
            files = export_project(self.project, fmt, folder, coder=coder, final=final)
        except (ProjectError, OSError) as exc:
            self._error(f"export to '{folder}' failed: {exc}", dialog=True)
            return []
        self.statusBar().showMessage(f"exported {len(files)} file(s) to {folder}", 15000)
        return files

    def recent_projects(self) -> list[str]:
        return self.recent.paths()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if any(url.toLocalFile().endswith(SUFFIX) for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt name)
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.toLocalFile().endswith(SUFFIX)]
        if paths:
            event.acceptProposedAction()
            self.open_project(paths[0])

    def _show_keys(self) -> None:
        lines = []
        for menu in self.menuBar().findChildren(type(self.recent_menu)):
            for action in menu.actions():
                if not action.shortcut().isEmpty():
                    lines.append(f"{action.shortcut().toString():>14}  {action.text().replace('&', '')}")
        QMessageBox.information(self, "Keys", "\n".join(dict.fromkeys(lines)))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """Pause the analysis (finished recordings are kept; the next start resumes) and stop the clip
        worker; the window closes once both have ended, waited for off the GUI thread."""
        if self.workers_ended:
            self._close_project()
            super().closeEvent(event)
            return
        if not begin_closing(self, event):
            return
        self.analysis.pause()
        thread = self.event_view.close_recording()
        join_in_background([thread.wait] if thread is not None else [], self._worker_ended, self._dispatch)

    def _worker_ended(self) -> None:
        if self.analysis.running:  # the child process says when it has ended
            self.analysis.finished.connect(lambda *_: self._worker_ended())
            return
        self.workers_ended = True
        self.close()
