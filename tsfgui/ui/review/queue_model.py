"""The review queue as a Qt table model (a view of :class:`tsfgui.project.review.ReviewQueue`; no copy)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from tsfgui.project.review import ReviewQueue

#: Columns of the queue table.
COLUMNS = ("recording", "onset", "apex", "offset", "kind", "label", "prob.", "score", "region", "status", "AUs",
           "note", "other coders")
STATUS_COLOURS = {"accepted": (60, 160, 80), "rejected": (170, 60, 60), "edited": (200, 140, 40),
                  "added": (70, 120, 200)}

_Index = QModelIndex | QPersistentModelIndex


class QueueTableModel(QAbstractTableModel):
    """Rows are the queue's events, in its order; :meth:`refresh` after the queue changed."""

    def __init__(self, queue: ReviewQueue | None = None):
        super().__init__()
        self.queue = queue
        self._names: dict[int, str] = {}
        self._others: dict[int, str] = {}
        self.others_by_proposal: dict[int, dict[str, str]] = {}

    def set_queue(self, queue: ReviewQueue | None) -> None:
        self.beginResetModel()
        self.queue = queue
        self._cache_lookups()
        self.endResetModel()

    def refresh(self) -> None:
        """The queue's events changed (a decision, an undo, a filter): redraw every row."""
        self.set_queue(self.queue)

    def _cache_lookups(self) -> None:
        self._names, self._others, self.others_by_proposal = {}, {}, {}
        if self.queue is None:
            return
        self._names = {r.id: r.name for r in self.queue.project.recordings()}
        by_proposal = self.others_by_proposal = self.queue.others_by_proposal()
        for row, e in enumerate(self.queue.events):
            others = by_proposal.get(e.proposal_id, {}) if e.proposal_id is not None else {}
            self._others[row] = ", ".join(f"{name}: {status}" for name, status in sorted(others.items()))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if self.queue is None or parent.isValid() else len(self.queue.events)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if self.queue is None or not index.isValid():
            return None
        e = self.queue.events[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            values = {"recording": self._names.get(e.recording_id, str(e.recording_id)), "onset": e.onset,
                      "apex": e.apex, "offset": e.offset, "kind": e.kind, "label": e.label or "",
                      "prob.": "" if e.probability is None else f"{e.probability:.2f}",
                      "score": "" if e.score is None else f"{e.score:.1f}", "region": e.region, "status": e.status,
                      "AUs": e.aus, "note": e.note, "other coders": self._others.get(index.row(), "")}
            return values[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == "status" and e.status in STATUS_COLOURS:
            return QBrush(QColor(*STATUS_COLOURS[e.status]))
        if role == Qt.ItemDataRole.ToolTipRole and e.proposed is not None and column in ("onset", "apex", "offset"):
            onset, apex, offset, label = e.proposed
            return f"the tool proposed {onset} / {apex} / {offset} ({label or 'no label'})"
        return None
