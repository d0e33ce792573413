"""Dragging an event's edge or its apex on the review window's signal plot with the mouse records a
timing correction in the project, as the [ ] \\ keys do."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tsfgui.project import Project
from tsfgui.ui.review.window import ReviewWindow


def mouse(widget, kind: QEvent.Type, pos: QPoint, buttons) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(qtbot, plot, x_from: float, x_to: float) -> None:
    """Press the left button at frame ``x_from`` halfway up the plot, move in steps to ``x_to``, release."""
    vb = plot.getPlotItem().vb
    y = sum(vb.viewRange()[1]) / 2

    def at(x: float) -> QPoint:
        return plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))

    port = plot.viewport()
    qtbot.wait(50)  # the view settles its range on the first paints
    for d in (-2, -1, 0):  # hover onto the edge first: pyqtgraph hands the drag to what the hover found
        mouse(port, QEvent.Type.MouseMove, at(x_from + d), Qt.MouseButton.NoButton)
        qtbot.wait(15)  # pyqtgraph drops mouse moves closer than 10 ms
    first, last = at(x_from), at(x_to)  # in pixels, fixed before anything moves
    points = [first + (last - first) * k / 10 for k in range(11)]
    mouse(port, QEvent.Type.MouseButtonPress, points[0], Qt.MouseButton.LeftButton)
    for p in points[1:]:
        mouse(port, QEvent.Type.MouseMove, p, Qt.MouseButton.LeftButton)
        qtbot.wait(15)
    mouse(port, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)
    qtbot.wait(20)


def stored(path, proposal_id: int):
    with Project.open(path) as p:
        rec = p.recordings()[0]
        return next(e for e in p.events(rec.id, coder="A") if e.proposal_id == proposal_id)


@pytest.mark.parametrize("edge", ["offset", "apex"])
def test_dragging_an_edge_on_the_plot_corrects_the_event(qtbot, sample_project, edge):
    w = ReviewWindow(sample_project, coder="A")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    event = w.queue.event
    onset, apex, offset = event.onset, event.apex, event.offset
    plot = w.signals_plot.movement
    qtbot.waitUntil(lambda: plot.getPlotItem().vb.viewRange()[0][0] <= onset)
    target = {"offset": offset + 3, "apex": (onset + offset) // 2 if apex != (onset + offset) // 2 else apex + 1}[edge]
    drag(qtbot, plot, {"offset": offset, "apex": apex}[edge], target)
    qtbot.waitUntil(lambda: getattr(w.queue.event, edge) == target, timeout=3_000)
    assert w.last_error is None
    corrected = stored(sample_project, event.proposal_id)
    assert corrected.status == "edited" and getattr(corrected, edge) == target
    assert (corrected.onset, corrected.apex, corrected.offset) == {
        "offset": (onset, apex, target), "apex": (onset, target, offset)}[edge]
    w.close()
