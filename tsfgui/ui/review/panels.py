"""The review window's side panels: the project's recordings, agreement at a glance, the event's fields."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFormLayout, QHeaderView, QLabel, QLineEdit, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from tsfgui.project import Event, Project
from tsfgui.project.review import AgreementRow

PROJECT_COLUMNS = ("recording", "subject", "analysis", "frames", "proposals", "proposed", "accepted", "rejected",
                   "edited", "added")


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


class ProjectPanel(QWidget):
    """The recordings with their analysis state and the coder's counts; choosing one emits its id."""

    recordingChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("no project")
        self.table = _table(PROJECT_COLUMNS)
        self.table.itemSelectionChanged.connect(self._chosen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)
        self._ids: list[int] = []
        self._filling = False

    def fill(self, project: Project | None, coder: str | None, current: int | None) -> None:
        """Show ``project``'s recordings, counts for ``coder``, ``current`` selected."""
        self._filling = True
        self.table.setRowCount(0)
        self._ids = []
        if project is None:
            self.title.setText("no project")
            self._filling = False
            return
        rows = project.status_rows()
        analysed = sum(r["status"] == "analysed" for r in rows)
        self.title.setText(f"{project.path.name} · {analysed}/{len(rows)} recordings analysed · coder {coder}")
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            counts = row["coders"].get(coder, {}) if coder else {}
            status = row["status"] if row["present"] else "missing on disk"
            values = [row["recording"], row["subject"], status, row["frames"] or "?", row["proposals"],
                      *(counts.get(k, 0) for k in PROJECT_COLUMNS[5:])]
            for j, value in enumerate(values):
                self.table.setItem(i, j, QTableWidgetItem(str(value)))
            self._ids.append(row["id"])
        if current in self._ids:
            self.table.selectRow(self._ids.index(current))
        self._filling = False

    def update_counts(self, project: Project, coder: str, recording_id: int) -> None:
        """Refresh one recording's counts after a decision (cheaper than :meth:`fill`)."""
        if recording_id not in self._ids:
            return
        counts = {k: 0 for k in PROJECT_COLUMNS[5:]}
        for e in project.events(recording_id, coder):
            counts[e.status] += 1
        row = self._ids.index(recording_id)
        for j, name in enumerate(PROJECT_COLUMNS[5:], start=5):
            self.table.setItem(row, j, QTableWidgetItem(str(counts[name])))

    def _chosen(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not self._filling and rows:
            self.recordingChosen.emit(self._ids[rows[0].row()])


AGREEMENT_COLUMNS = ("reference", "other", "recording F1", "recording κ", "project F1", "project κ", "matched")


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


class AgreementPanel(QWidget):
    """The coder against the tool and against each other coder: F1 of matched events (IoU ≥ 0.5) and
    Cohen's kappa on their labels, for the current recording and the whole project."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = _table(AGREEMENT_COLUMNS)
        self.table.setMaximumHeight(120)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Agreement (events matched at IoU ≥ 0.5; κ on matched labels)"))
        layout.addWidget(self.table)

    def fill(self, rows: list[AgreementRow]) -> None:
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            values = [r.reference, r.other, _fmt(r.recording.f1 if r.recording else None),
                      _fmt(r.recording.kappa if r.recording else None), _fmt(r.project.f1), _fmt(r.project.kappa),
                      f"{r.project.matched} of {r.project.reference}/{r.project.other}"]
            for j, value in enumerate(values):
                self.table.setItem(i, j, QTableWidgetItem(value))


class EventFields(QWidget):
    """The current event's fields; the AU and note fields are edited in place (U / E focus them, Enter
    records, Esc gives the keys back to the queue)."""

    ausEntered = Signal(str)
    noteEntered = Signal(str)
    editingLeft = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.summary = QLabel("no event")
        self.summary.setWordWrap(True)
        self.labels = QLabel("")
        self.aus = QLineEdit()
        self.aus.setPlaceholderText("FACS action units, e.g. 4+7 or 12C (U)")
        self.note = QLineEdit()
        self.note.setPlaceholderText("note (E)")
        self.aus.returnPressed.connect(lambda: self.ausEntered.emit(self.aus.text()))
        self.note.returnPressed.connect(lambda: self.noteEntered.emit(self.note.text()))
        form = QFormLayout(self)
        form.addRow(self.summary)
        form.addRow("labels", self.labels)
        form.addRow("AUs", self.aus)
        form.addRow("note", self.note)
        for field in (self.aus, self.note):
            field.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt name)
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            self.editingLeft.emit()
            return True
        return super().eventFilter(watched, event)

    def show_event(self, event: Event | None, labels: tuple[str, ...], others: dict[str, str]) -> None:
        self.labels.setText("   ".join(f"{i + 1} {name}" for i, name in enumerate(labels[:7])))
        if event is None:
            self.summary.setText("no event")
            self.aus.clear()
            self.note.clear()
            return
        proposed = ""
        if event.proposed is not None and event.proposed[:3] != (event.onset, event.apex, event.offset):
            proposed = f" (tool: {event.proposed[0]} / {event.proposed[1]} / {event.proposed[2]})"
        seen = "; ".join(f"{k}: {v}" for k, v in sorted(others.items()))
        self.summary.setText(
            f"<b>{event.status}</b> · {event.kind} · onset {event.onset} · apex {event.apex} · offset {event.offset}"
            f"{proposed} · label <b>{event.label or '–'}</b>"
            + (f" (p {event.probability:.2f})" if event.probability is not None else "")
            + (f" · region {event.region}" if event.region else "") + (f"<br>other coders: {seen}" if seen else ""))
        if not self.aus.hasFocus():
            self.aus.setText(event.aus)
        if not self.note.hasFocus():
            self.note.setText(event.note)
