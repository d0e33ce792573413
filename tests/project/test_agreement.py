"""Agreement: MEGC IoU matching, precision/recall/F1 and Cohen's kappa (checked against scikit-learn) per recording and pooled."""

from __future__ import annotations

import pytest
from sklearn.metrics import cohen_kappa_score

from tsfgui.project.agreement import compare, iou, markdown, match, pooled, project_agreement
from tsfgui.project.records import Event


def ev(onset, offset, label=None):
    return Event(1, None, None, "added", onset, (onset + offset) // 2, offset, "micro", label)


def test_iou_of_inclusive_frame_intervals():
    assert iou((0, 9), (0, 9)) == 1.0
    assert iou((0, 9), (5, 14)) == pytest.approx(5 / 15)
    assert iou((0, 4), (5, 9)) == 0.0


def test_each_event_is_matched_at_most_once_best_iou_first():
    ref = [(0, 10), (20, 30)]
    other = [(2, 10), (0, 9), (21, 31), (50, 60)]
    pairs = match(ref, other)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (1, 2)]
    assert match([(0, 10)], [(6, 16)]) == []  # IoU 5/17 < 0.5


def test_precision_recall_f1_and_kappa_against_a_reference():
    truth = [ev(0, 10, "a"), ev(20, 30, "b"), ev(40, 50, "a"), ev(60, 70, "b")]
    coder = [ev(1, 10, "a"), ev(20, 29, "a"), ev(41, 50, "a"), ev(100, 110, "b")]
    a = compare(truth, coder, "rec")
    assert (a.reference, a.other, a.matched, a.labels_agreed) == (4, 4, 3, 2)
    assert a.precision == a.recall == a.f1 == pytest.approx(0.75)
    assert a.kappa == pytest.approx(cohen_kappa_score(["a", "b", "a"], ["a", "a", "a"]))
    assert a.kappa_with_unmatched == pytest.approx(cohen_kappa_score(
        ["a", "b", "a", "b", "<unmatched>"], ["a", "a", "a", "<unmatched>", "b"]))


def test_pooled_figures_sum_counts_and_pool_label_pairs():
    one = compare([ev(0, 10, "a")], [ev(0, 10, "a")], "1")
    two = compare([ev(0, 10, "b"), ev(20, 30, "a")], [ev(0, 10, "b")], "2")
    p = pooled([one, two])
    assert (p.reference, p.other, p.matched) == (3, 2, 2)
    assert p.precision == 1.0 and p.recall == pytest.approx(2 / 3)
    assert p.kappa == pytest.approx(1.0)
    assert p.recording == "all"


def test_no_events_gives_undefined_not_zero():
    a = compare([], [], "empty")
    assert a.precision is None and a.recall is None and a.f1 is None and a.kappa is None


def test_project_agreement_tool_and_coders(project):
    rec = project.recordings()[0]
    p1, p2, p3 = (e.proposal_id for e in project.proposals(rec.id))
    project.import_events("truth", [dict(recording_id=rec.id, onset=5, apex=8, offset=12, label="negative"),
                                    dict(recording_id=rec.id, onset=41, apex=45, offset=50, label="negative")], "test")
    project.decide("A", p1, "accepted")
    project.decide("A", p2, "rejected")
    project.decide("A", p3, label="negative")
    tool = project_agreement(project, "truth", "tool")
    assert (tool[0].reference, tool[0].other, tool[0].matched, tool[0].labels_agreed) == (2, 3, 2, 1)
    coder = project_agreement(project, "truth", "A")
    assert (coder[0].other, coder[0].matched, coder[0].labels_agreed) == (2, 2, 2)
    assert coder[-1].recording == "all" and coder[-1].f1 == 1.0
    text = markdown(coder, "truth", "A", "study")
    assert "| clip | 2 | 2 | 2 | 1.000 | 1.000 | 1.000 |" in text


@pytest.mark.parametrize("a, b", [
    (["a", "b", "a", "c", "b"], ["a", "b", "b", "c", "a"]),
    (["neg", "neg", "pos", "sur"], ["pos", "neg", "pos", "neg"]),
    (["x", "y"], ["y", "x"]),
    (["x"] * 4, ["x", "x", "x", "y"]),
])
def test_kappa_agrees_with_scikit_learn(a, b):
    from tsfgui.project.agreement import kappa

    assert kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_kappa_is_undefined_for_one_category_on_both_sides_and_for_no_items():
    from tsfgui.project.agreement import kappa

    assert kappa(["a", "a"], ["a", "a"]) is None and kappa([], []) is None
