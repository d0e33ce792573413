"""The review window driven by its keys on the bundled sample through a real, analysed project."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import Qt

from tsfgui.project import Project
from tsfgui.ui.review.window import ReviewWindow


def shown(qtbot, w: ReviewWindow) -> ReviewWindow:
    """Show and activate the window: its shortcuts answer only when it is the active window."""
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5_000)
    return w


@pytest.fixture
def window(qtbot, sample_project):
    w = shown(qtbot, ReviewWindow(sample_project, coder="A"))
    yield w
    w.close()


def key(qtbot, w, k, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(w.focusWidget() or w, k, modifier)


def proposals(path):
    with Project.open(path) as p:
        rec = p.recordings()[0]
        return rec.id, [(e.proposal_id, e.onset, e.apex, e.offset, e.label) for e in p.proposals(rec.id)]


def decisions(path):
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT d.proposal_id, d.status, d.onset, d.apex, d.offset, d.label, d.aus, d.note "
                        "FROM decisions d JOIN coders c ON c.id = d.coder_id WHERE c.name = 'A' "
                        "ORDER BY d.proposal_id").fetchall()
    changes = conn.execute("SELECT c.id, c.action, c.target FROM changes c JOIN coders k ON k.id = c.coder_id "
                           "WHERE k.name = 'A' ORDER BY c.id").fetchall()
    history = conn.execute("SELECT change_id, decision_id, json_extract(before, '$.status'), "
                           "json_extract(after, '$.status'), json_extract(after, '$.onset') FROM history "
                           "ORDER BY id").fetchall()
    conn.close()
    return rows, changes, history


def test_a_keyboard_review_session_is_in_the_database_exactly(window, qtbot, sample_project):
    rec, props = proposals(sample_project)
    assert len(props) >= 4
    (p1, *_), (p2, *_), (p3, *_), (p4, o4, a4, f4, _) = props[:4]
    assert window.queue.event.proposal_id == p1
    key(qtbot, window, Qt.Key.Key_A)                      # accept the first
    key(qtbot, window, Qt.Key.Key_N)
    key(qtbot, window, Qt.Key.Key_R)                      # reject the second
    key(qtbot, window, Qt.Key.Key_N)
    key(qtbot, window, Qt.Key.Key_1)                      # relabel the third "negative"
    key(qtbot, window, Qt.Key.Key_U)                      # its action units
    assert window.focusWidget() is window.fields.aus
    qtbot.keyClicks(window.fields.aus, "4+7")
    key(qtbot, window, Qt.Key.Key_Return)
    assert window.focusWidget() is window.table           # the keys are the queue's again
    key(qtbot, window, Qt.Key.Key_N)
    assert window.queue.event.proposal_id == p4
    key(qtbot, window, Qt.Key.Key_Home)                   # pause on the onset …
    for _ in range(3):
        key(qtbot, window, Qt.Key.Key_Left)               # … three frames earlier
    assert window.event_view.current_frame == o4 - 3 and not window.event_view.playing
    key(qtbot, window, Qt.Key.Key_BracketLeft)            # the onset moves there
    key(qtbot, window, Qt.Key.Key_Insert)                 # a missed event added at that frame
    assert window.queue.event.status == "added" and window.queue.event.onset == o4 - 3
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo the added event
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo the onset shift
    assert window.queue.event.proposal_id == p4 and window.queue.event.onset == o4
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.queue.event.onset == o4 - 3 and window.last_error is None

    rows, changes, history = decisions(sample_project)
    p3_label = [p for p in props if p[0] == p3][0][4]
    assert rows == [
        (p1, "accepted", *props[0][1:4], props[0][4], "", ""),
        (p2, "rejected", *props[1][1:4], props[1][4], "", ""),
        (p3, "edited" if p3_label != "negative" else "accepted", *props[2][1:4], "negative", "4+7", ""),
        (p4, "edited", o4 - 3, a4, f4, props[3][4], "", ""),
    ]  # the added event is gone (undone)
    ids = [c[0] for c in changes]
    assert [(c[1], c[2]) for c in changes] == [("record", None)] * 6 + [
        ("undo", ids[5]), ("undo", ids[4]), ("redo", ids[4])]
    d4 = [h[1] for h in history if h[0] == ids[4]][0]
    added = [h[1] for h in history if h[0] == ids[5]][0]
    assert [h for h in history if h[0] in ids[4:]] == [
        (ids[4], d4, None, "edited", o4 - 3),              # the onset shift: a first decision on p4
        (ids[5], added, None, "added", o4 - 3),            # the added event
        (ids[6], added, "added", None, None),              # undo: the added event deleted
        (ids[7], d4, "edited", None, None),                # undo: p4 undecided again
        (ids[8], d4, None, "edited", o4 - 3),              # redo: the shift is back
    ]


def test_reopening_from_disk_finds_every_decision_and_can_undo_them(qtbot, sample_project):
    first = shown(qtbot, ReviewWindow(sample_project, coder="A"))
    key(qtbot, first, Qt.Key.Key_A)
    key(qtbot, first, Qt.Key.Key_N)
    key(qtbot, first, Qt.Key.Key_R)
    key(qtbot, first, Qt.Key.Key_E)
    qtbot.keyClicks(first.fields.note, "blink?")
    key(qtbot, first, Qt.Key.Key_Return)
    before = [(e.proposal_id, e.status, e.note) for e in first.queue.events]
    first.close()

    again = shown(qtbot, ReviewWindow(sample_project))    # the coder is remembered
    assert again.queue.coder == "A"
    assert [(e.proposal_id, e.status, e.note) for e in again.queue.events] == before
    assert [s for _, s, _ in before[:2]] == ["accepted", "rejected"] and before[1][2] == "blink?"
    assert again.undo_stack.count() == 3                  # the earlier session's changes are undoable
    again.undo_stack.undo()
    assert [(e.status, e.note) for e in again.queue.events[:2]] == [("accepted", ""), ("rejected", "")]
    again.close()


def test_every_action_is_in_a_menu_with_its_key(window):
    shown = {}
    for menu in window.menuBar().findChildren(type(window.recent_menu)):
        for action in menu.actions():
            if not action.shortcut().isEmpty():
                shown[action.shortcut().toString()] = action.text().replace("&", "")
    for keys in ("N", "P", "A", "R", "1", "2", "3", "U", "E", "[", "]", "\\", "Ins", "Del", "Ctrl+Z", "Ctrl+Shift+Z",
                 "Space", "Left", "Right", "M", "Ctrl+O", "Ctrl+N"):
        assert keys in shown, f"no menu entry for {keys}"
    assert shown["1"].endswith("negative") and shown["3"].endswith("surprise")  # the model's class names


def test_magnification_key_and_agreement_follow_the_decisions(window, qtbot):
    with qtbot.waitSignal(window.event_view.magnifiedShown, timeout=30_000):
        key(qtbot, window, Qt.Key.Key_M)
    assert window.event_view.magnified is not None and window.magnify_action.isChecked()
    table = window.agreement.table
    qtbot.waitUntil(lambda: table.rowCount() == 1, timeout=30_000)
    assert table.item(0, 1).text() == "tool"
    assert table.item(0, 4).text() == "–"                  # nothing accepted yet: no F1
    key(qtbot, window, Qt.Key.Key_A)
    n_tool = len(window.queue.events)
    f1 = 2 * (1 / n_tool) / (1 + 1 / n_tool)               # 1 accepted of n proposals: precision 1, recall 1/n
    qtbot.waitUntil(lambda: table.item(0, 4).text() == f"{f1:.2f}", timeout=10_000)  # refreshed after a pause


def test_filters_scope_and_refusals_are_shown_not_raised(window, qtbot):
    key(qtbot, window, Qt.Key.Key_A)
    window.filters["status"].setCurrentText("accepted")
    assert [e.status for e in window.queue.events] == ["accepted"]
    window.filters["status"].setCurrentText("any")
    key(qtbot, window, Qt.Key.Key_Delete)                  # a proposal cannot be deleted
    assert "reject it" in window.last_error and "reject it" in window.statusBar().currentMessage()
    window.whole_project_action.trigger()
    assert window.queue.recording_id is None


def test_export_from_the_window_carries_the_decisions(window, qtbot, tmp_path):
    key(qtbot, window, Qt.Key.Key_A)
    key(qtbot, window, Qt.Key.Key_N)
    key(qtbot, window, Qt.Key.Key_R)
    key(qtbot, window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)   # File › Export project…
    dialog = window.export_dialog
    assert dialog.isVisible()
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("csv"))
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.final.setChecked(True)
    dialog.accept()
    files = list((tmp_path / "out").iterdir())
    assert len(files) == 1 and "exported 1 file" in window.statusBar().currentMessage()
    lines = files[0].read_text().splitlines()
    accepted = window.queue.events[0]
    assert len(lines) == 2 and lines[1].startswith(f"sample_interview,A,accepted,{accepted.onset},{accepted.apex},")


def test_the_event_heatmap_explains_its_onset_and_apex_with_the_runs_model(window, qtbot):
    with qtbot.waitSignal(window.event_view.clipShown, timeout=30_000):
        key(qtbot, window, Qt.Key.Key_N)
    with qtbot.waitSignal(window.event_view.heatmapShown, timeout=60_000) as shown:
        key(qtbot, window, Qt.Key.Key_H)
    heatmap = window.event_view.heatmap
    assert shown.args[0] in window.queue.labels(), shown.args   # the class Grad-CAM explains
    assert heatmap.shape == (224, 224) and heatmap.min() >= 0 and 0.9 < heatmap.max() <= 1.0
    assert heatmap.std() > 0.01 and window.heatmap_action.isChecked()
    with qtbot.waitSignal(window.event_view.heatmapShown, timeout=60_000):
        key(qtbot, window, Qt.Key.Key_N)                     # the next event gets its own heatmap
    assert not (window.event_view.heatmap == heatmap).all()
    assert len(window._models) == 1 and next(iter(window._models.values())).loads == 1  # the weights read once


def test_other_coders_events_are_read_only_lanes_on_the_signals(window, qtbot, sample_project):
    first = window.queue.event
    window.project.decide("B", first.proposal_id, "accepted", label="negative")
    window.refresh()
    assert window.signals_plot.lane_events == {"B": [(first.onset, first.offset, "negative")]}
    line = window.signals_plot._lanes[0]
    xs, _ = line.getData()
    assert list(xs[:2]) == [first.onset, first.offset]
    key(qtbot, window, Qt.Key.Key_L)                      # View › Other coders' lanes off
    assert window.signals_plot._lanes == [] and window.signals_plot.lane_events == {}


def test_a_project_dropped_on_the_window_opens_and_is_remembered(qtbot, sample_project, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    w = shown(qtbot, ReviewWindow())
    w.set_coder("A")
    assert w.queue is None and not w.review_actions[0].isEnabled()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_project))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    w.dropEvent(drop)
    assert w.queue is not None and w.queue.coder == "A" and w.review_actions[0].isEnabled()
    assert w.recent_projects()[0] == str(sample_project.resolve())
    assert [a.text() for a in w.recent_menu.actions()] == [sample_project.name]
    bad = tmp_path / "not-a-project.tsfproj"
    bad.write_text("hello")
    assert not w.open_project(bad) and "not-a-project.tsfproj" in w.last_error
    assert w.queue is not None  # the open project stays open
    w.close()


def test_closing_while_the_clip_worker_is_busy_waits_off_the_gui_thread(qtbot, sample_project):
    """The clip worker held inside the model: closing returns at once, the window waits greyed with the
    event loop running, and closes (the project with it) once the worker has ended."""
    import threading

    from PySide6.QtCore import QTimer

    w = shown(qtbot, ReviewWindow(sample_project, coder="A"))
    qtbot.waitUntil(lambda: w.event_view.clip is not None, timeout=30_000)
    (models,) = w._models.values()
    free, held = threading.Event(), threading.Event()

    def wait_while_held(module, args) -> None:
        held.set()
        free.wait(60)

    hold = models.get().head.register_forward_pre_hook(wait_while_held)
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    try:
        key(qtbot, w, Qt.Key.Key_H)  # the heatmap: the worker runs the model, and waits there
        qtbot.waitUntil(held.is_set, timeout=60_000)
        w.close()
        timer.start(5)
        qtbot.wait(200)
        assert ticks and not w.workers_ended and w.project is not None
        assert w.isVisible() and not w.isEnabled() and "Closing" in w.statusBar().currentMessage()
    finally:
        timer.stop()
        free.set()
        hold.remove()
    qtbot.waitUntil(lambda: w.workers_ended and not w.isVisible(), timeout=60_000)
    assert w.project is None
