"""A coder's review queue over a project: order, filters, navigation, decisions written at once."""

from __future__ import annotations

import pytest

from tsfgui.project import Project, ProjectError
from tsfgui.project.review import QueueFilter, ReviewQueue, agreement_rows, event_key


def test_queue_orders_filters_and_navigates(project):
    q = ReviewQueue(project, "A")
    assert [e.onset for e in q.events] == [5, 20, 40] and q.current == 0
    q.set_order("score")
    assert [e.score for e in q.events] == [5.0, 4.0, 3.5]
    q.set_order("time")
    assert q.next().onset == 20 and q.next().onset == 40 and q.next().onset == 40  # stays on the last
    assert q.previous().onset == 20
    q.set_filter(QueueFilter(region="brows"))
    assert [e.onset for e in q.events] == [5, 40]
    q.set_filter(QueueFilter(label="positive"))
    assert [e.onset for e in q.events] == [20]
    with pytest.raises(ValueError, match="status filter"):
        QueueFilter(status="maybe")


def test_every_decision_is_in_the_project_at_once(project, tmp_path):
    q = ReviewQueue(project, "A")
    q.accept()
    q.next()
    q.reject()
    q.next()
    q.set_label_number(2)
    q.set_aus("4+7")
    q.set_note("lip press")
    q.set_timing(onset=42)
    with Project.open(project.path) as other:  # another connection sees all of it
        events = other.events(q.events[0].recording_id, "A")
    assert [(e.status, e.onset, e.label, e.aus, e.note) for e in events] == [
        ("accepted", 5, "negative", "", ""), ("rejected", 20, "positive", "", ""),
        ("edited", 42, "positive", "4+7", "lip press")]


def test_timing_keeps_the_apex_inside_and_refuses_a_reversed_event(project):
    q = ReviewQueue(project, "A")  # 5 / 8 / 12
    q.set_timing(offset=7)
    assert (q.event.onset, q.event.apex, q.event.offset) == (5, 7, 7)
    with pytest.raises(ProjectError, match="after offset"):
        q.set_timing(onset=9)
    with pytest.raises(ProjectError, match="outside"):
        q.set_timing(apex=3)
    with pytest.raises(ProjectError, match="no label 4"):
        q.set_label_number(4)
    with pytest.raises(ProjectError, match="action units"):
        q.set_aus("4+banana")


def test_added_events_are_selected_and_only_they_can_be_deleted(project):
    q = ReviewQueue(project, "A")
    rec = q.event.recording_id
    with pytest.raises(ProjectError, match="reject it"):
        q.delete_added()
    q.add_event(rec, 30)
    assert (q.event.status, q.event.onset, q.event.apex, q.event.offset) == ("added", 30, 32, 35)  # 25 fps
    with pytest.raises(ProjectError, match="delete it instead"):
        q.reject()
    key = event_key(q.event)
    q.delete_added()
    assert key not in [event_key(e) for e in q.events] and len(q.events) == 3


def test_agreement_rows_compare_with_the_tool_and_other_coders(project):
    qa, qb = ReviewQueue(project, "A"), ReviewQueue(project, "B")
    qa.accept()
    qa.next()
    qa.accept()
    qb.accept()
    rows = agreement_rows(project, "A", qa.event.recording_id)
    assert [(r.reference, r.other) for r in rows] == [("A", "tool"), ("A", "B")]
    tool, coder_b = rows
    assert (tool.recording.matched, tool.recording.reference, tool.recording.other) == (2, 2, 3)
    assert (coder_b.project.matched, coder_b.project.recall) == (1, 0.5)
    assert qa.others(qa.events[0]) == {"B": "accepted"}
