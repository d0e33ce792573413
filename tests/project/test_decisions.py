"""Decisions per coder with an append-only history: every change can be undone and redone, nothing is lost."""

from __future__ import annotations

import sqlite3

import pytest

from tsfgui.project import Project, ProjectError


def _ids(project):
    rec = project.recordings()[0]
    return rec, [e.proposal_id for e in project.proposals(rec.id)]


def test_accept_reject_edit_and_add_are_kept_per_coder(project):
    rec, (p1, p2, p3) = _ids(project)
    project.decide("A", p1, "accepted", aus="1+2", note="brow raise")
    project.decide("A", p2, "rejected")
    project.decide("A", p3, onset=41, label="negative")
    project.add_event("A", rec.id, 52, 54, 57, label="surprise", aus="5B")
    project.decide("B", p1, "rejected")
    a = {e.proposal_id: e for e in project.events(rec.id, "A")}
    assert a[p1].status == "accepted" and a[p1].aus == "1+2" and a[p1].note == "brow raise"
    assert a[p2].status == "rejected"
    assert a[p3].status == "edited" and (a[p3].onset, a[p3].label) == (41, "negative")
    assert a[p3].proposed == (40, 45, 50, "surprise")
    added = a[None]
    assert added.status == "added" and (added.onset, added.apex, added.offset, added.kind) == (52, 54, 57, "micro")
    b = {e.proposal_id: e.status for e in project.events(rec.id, "B")}
    assert b == {p1: "rejected", p2: "proposed", p3: "proposed"}
    assert [e.status for e in project.final_events(rec.id, "A")] == ["accepted", "edited", "added"]
    counts = project.status_rows()[0]["coders"]
    assert counts["A"] == {"proposed": 0, "accepted": 1, "rejected": 1, "edited": 1, "added": 1}
    assert counts["B"]["rejected"] == 1 and counts["B"]["proposed"] == 2


def test_setting_aus_keeps_the_status_and_reverting_the_timing_is_accepted_again(project):
    rec, (p1, *_) = _ids(project)
    project.decide("A", p1, "accepted")
    project.decide("A", p1, aus="4+7")
    assert project.events(rec.id, "A")[0].status == "accepted"
    project.decide("A", p1, offset=13)
    assert project.events(rec.id, "A")[0].status == "edited"
    project.decide("A", p1, offset=12)
    assert project.events(rec.id, "A")[0].status == "accepted"


def test_undo_redo_follow_the_coders_own_stack_and_the_history_records_everything(project):
    rec, (p1, p2, _) = _ids(project)
    c1 = project.decide("A", p1, "accepted")
    c2 = project.decide("A", p2, "rejected")
    c3 = project.add_event("A", rec.id, 52, 54, 57, label="surprise")
    other = project.decide("B", p1, "rejected")
    assert project.undo_stack("A") == ([c1.id, c2.id, c3.id], [])
    assert project.undo("A").target == c3.id
    assert project.undo("A").target == c2.id
    statuses = [e.status for e in project.events(rec.id, "A")]
    assert statuses == ["accepted", "proposed", "proposed"]  # the added event is gone, p2 undecided again
    assert project.redo("A").target == c2.id
    assert [e.status for e in project.events(rec.id, "A")] == ["accepted", "rejected", "proposed"]
    assert project.undo_stack("A") == ([c1.id, c2.id], [c3.id])
    # B's decision was never touched by A's undo
    assert [e.status for e in project.events(rec.id, "B")][0] == "rejected"
    # a new change clears A's redo stack
    project.decide("A", p1, note="checked twice")
    assert project.redo("A") is None
    assert project.undo_stack("A")[1] == []
    actions = [(h.change.coder, h.change.action, h.change.target) for h in project.history()]
    assert actions == [("A", "record", None), ("A", "record", None), ("A", "record", None), ("B", "record", None),
                       ("A", "undo", c3.id), ("A", "undo", c2.id), ("A", "redo", c2.id), ("A", "record", None)]
    assert other.coder == "B"
    # each history row holds the states before and after
    undo_add = project.history("A")[3]
    assert undo_add.before["status"] == "added" and undo_add.after is None


def test_an_undone_added_event_comes_back_with_its_id(project):
    rec, _ = _ids(project)
    project.add_event("A", rec.id, 10, 11, 12)
    first = project.events(rec.id, "A")
    added_id = next(e.decision_id for e in first if e.status == "added")
    project.undo("A")
    project.add_event("B", rec.id, 1, 2, 3)  # takes a new id, never the undone one
    project.redo("A")
    again = next(e for e in project.events(rec.id, "A") if e.status == "added")
    assert again.decision_id == added_id
    assert next(e for e in project.events(rec.id, "B") if e.status == "added").decision_id != added_id


def test_revert_and_reapply_refuse_out_of_order_changes(project):
    _, (p1, p2, _) = _ids(project)
    c1 = project.decide("A", p1, "accepted")
    c2 = project.decide("A", p2, "accepted")
    with pytest.raises(ProjectError, match="not A's latest change"):
        project.revert(c1.id)
    project.revert(c2.id)
    with pytest.raises(ProjectError, match="not A's next change to redo"):
        project.reapply(c1.id)
    project.reapply(c2.id)
    assert project.undo_stack("A") == ([c1.id, c2.id], [])


def test_delete_and_edit_added_events(project):
    rec, _ = _ids(project)
    project.add_event("A", rec.id, 10, 11, 12, label="negative")
    added = next(e for e in project.events(rec.id, "A") if e.status == "added")
    project.edit_added("A", added.decision_id, offset=15, aus="12C")
    changed = next(e for e in project.events(rec.id, "A") if e.status == "added")
    assert (changed.offset, changed.aus) == (15, "12C")
    with pytest.raises(ProjectError, match="coder 'B' has no added event"):
        project.delete_added("B", added.decision_id)
    project.delete_added("A", added.decision_id)
    assert all(e.status != "added" for e in project.events(rec.id, "A"))
    project.undo("A")
    assert any(e.status == "added" and e.offset == 15 for e in project.events(rec.id, "A"))


@pytest.mark.parametrize("fields, says", [
    (dict(onset=9), "onset 9 ≤ apex 8"), (dict(offset=60), "outside the recording"), (dict(aus="3"), "AU 3"),
    (dict(kind="mega"), "kind must be"), (dict(onset="x"), "frame number"), (dict(colour="red"), "unknown event"),
])
def test_bad_decisions_are_refused_and_change_nothing(project, fields, says):
    rec, (p1, *_) = _ids(project)
    with pytest.raises(ProjectError, match=says):
        project.decide("A", p1, "accepted", **fields)
    assert project.history() == [] and project.events(rec.id, "A")[0].status == "proposed"


def test_an_import_is_one_undoable_change_and_a_bad_event_imports_nothing(project):
    rec, _ = _ids(project)
    good = [dict(recording_id=rec.id, onset=1, apex=2, offset=3, label="a"),
            dict(recording_id=rec.id, onset=10, apex=12, offset=14, label="b", aus="6+12")]
    with pytest.raises(ProjectError, match="x.csv: event 2: onset 14 ≤ apex 12"):
        project.import_events("truth", [good[0], dict(recording_id=rec.id, onset=14, apex=12, offset=10)], "x.csv")
    assert project.events(rec.id, "truth") == [e for e in project.events(rec.id, "truth") if e.status == "proposed"]
    change = project.import_events("truth", good, "x.csv")
    assert change.action == "import" and len([e for e in project.events(rec.id, "truth") if e.status == "added"]) == 2
    project.undo("truth")
    assert not [e for e in project.events(rec.id, "truth") if e.status == "added"]


def test_the_history_cannot_be_rewritten(project):
    _, (p1, *_) = _ids(project)
    project.decide("A", p1, "accepted")
    for sql in ("UPDATE history SET after = NULL", "DELETE FROM history", "DELETE FROM changes"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            project.conn.execute(sql)


def test_tool_is_not_a_coder_name(project):
    with pytest.raises(ProjectError, match="stands for the tool"):
        project.coder("tool")


def test_decisions_survive_reopening(project):
    rec, (p1, *_) = _ids(project)
    project.decide("A", p1, "accepted", aus="1+2")
    path = project.path
    project.close()
    with Project.open(path) as again:
        e = again.events(rec.id, "A")[0]
        assert (e.status, e.aus) == ("accepted", "1+2")
        assert again.undo_stack("A")[0] != []


def test_a_new_analysis_keeps_the_decisions_on_the_old_proposals(project):
    rec, (p1, p2, _) = _ids(project)
    project.decide("A", p1, "accepted", aus="12")
    project.save_run(rec.id, identity="run-2", weights=None, weights_fingerprint=None, settings={"lag_s": 0.3},
                     class_names=["negative", "positive", "surprise"], frames=60, seconds=0.5, warning="",
                     proposals=[dict(onset=6, apex=8, offset=12, kind="micro", label="negative", score=5.0)])
    assert project.find_run(rec.id, "run-1") is not None and project.current_run(rec.id).identity == "run-2"
    new = project.proposals(rec.id)
    assert [(e.onset, e.proposal_id not in (p1, p2)) for e in new] == [(6, True)]
    # A accepted the movement at 5–12: the new run's proposal of it (6–12) is not asked of A again; B sees it
    assert {(e.proposal_id, e.status) for e in project.events(rec.id, "A")} == {(p1, "accepted")}
    assert [(e.proposal_id, e.status) for e in project.events(rec.id, "B")] == [(new[0].proposal_id, "proposed")]


def test_after_a_new_analysis_only_what_a_coder_has_not_judged_is_proposed(project):
    rec, (p1, p2, p3) = _ids(project)
    project.decide("A", p1, "accepted")                      # 5–12
    project.decide("A", p2, "rejected")                      # 20–30: no expression there
    project.decide("A", p3, "accepted", onset=38)            # 40–50 corrected to 38–50: edited
    project.add_event("A", rec.id, 52, 54, 58, label="positive")  # missed by the tool
    project.save_run(rec.id, identity="run-2", weights=None, weights_fingerprint=None, settings={"lag_s": 0.2},
                     class_names=["negative", "positive", "surprise"], frames=60, seconds=0.5, warning="",
                     proposals=[dict(onset=5, apex=8, offset=11, kind="micro", label="negative"),   # as p1
                                dict(onset=21, apex=24, offset=29, kind="micro", label="positive"),  # as p2
                                dict(onset=39, apex=44, offset=50, kind="micro", label="surprise"),  # as p3
                                dict(onset=51, apex=54, offset=57, kind="micro", label="positive"),  # as added
                                dict(onset=13, apex=15, offset=18, kind="micro", label="surprise"),  # new
                                dict(onset=24, apex=29, offset=40, kind="micro", label="negative")])  # IoU < 0.5
    shown = [(e.onset, e.offset, e.status) for e in project.events(rec.id, "A")]
    assert shown == [(5, 12, "accepted"), (13, 18, "proposed"), (20, 30, "rejected"), (24, 40, "proposed"),
                     (38, 50, "edited"), (52, 58, "added")]
    assert len(project.events(rec.id, "B")) == 6 and len(project.proposals(rec.id)) == 6
