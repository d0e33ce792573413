"""Metrics against hand-computed values, the written reports, and the subject-wise protocols."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsfgui.train import carve_validation, compute_metrics, holdout_split, kfold_folds, loso_folds, write_reports

# Fixed confusion matrix (rows true, columns predicted); class 2 never occurs but is predicted once.
CONFUSION = [[3, 1, 0],
             [1, 2, 1],
             [0, 0, 0]]


def _pairs(cm):
    y_true, y_pred = [], []
    for t, row in enumerate(cm):
        for p, n in enumerate(row):
            y_true += [t] * n
            y_pred += [p] * n
    return y_true, y_pred


def test_metrics_match_hand_computed_values():
    m = compute_metrics(*_pairs(CONFUSION), num_classes=3)
    # class 0: TP 3, FN 1, FP 1 → recall 3/4, precision 3/4, F1 3/4
    # class 1: TP 2, FN 2, FP 1 → recall 1/2, precision 2/3, F1 4/7
    # class 2: no samples, 1 false positive → recall 0, F1 0 (zero_division=0)
    assert m["n"] == 8
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["per_class_recall"] == pytest.approx([0.75, 0.5, 0.0])
    assert m["uar"] == pytest.approx((0.75 + 0.5 + 0.0) / 3)
    assert m["uf1"] == pytest.approx((0.75 + 4 / 7 + 0.0) / 3)
    assert m["confusion"] == CONFUSION


def test_perfect_and_empty_predictions():
    perfect = compute_metrics([0, 1, 2, 2], [0, 1, 2, 2], 3)
    assert perfect["accuracy"] == perfect["uf1"] == perfect["uar"] == 1.0
    assert compute_metrics([], [], 3)["n"] == 0


def test_reports_are_json_markdown_and_png(tmp_path):
    pooled = compute_metrics(*_pairs(CONFUSION), 3)
    folds = [{"name": "loso_sub01", "test_subjects": ["sub01"], "epochs": 2, "metrics": pooled,
              "y_true": [0], "y_pred": [0]}]
    paths = write_reports(tmp_path, "demo", pooled, folds, ("negative", "positive", "surprise"))
    doc = json.loads(paths["json"].read_text())
    assert doc["pooled"]["uf1"] == pytest.approx(pooled["uf1"]) and "y_true" not in doc["folds"][0]
    md = paths["markdown"].read_text()
    assert "| 8 | 0.6250 | 0.4405 | 0.4167 |" in md and "| negative | 3 | 1 | 0 |" in md and "loso_sub01" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["confusion.png", "metrics.json", "metrics.md"]  # no temp files


def test_loso_leaves_out_each_subject_once():
    folds = loso_folds(["b", "a", "c", "a"])
    assert [f.test_subjects for f in folds] == [("a",), ("b",), ("c",)]
    assert all(set(f.train_subjects) == {"a", "b", "c"} - set(f.test_subjects) for f in folds)
    with pytest.raises(ValueError):
        loso_folds(["only"])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 20), data=st.data())
def test_kfold_partitions_subjects_and_validation_never_touches_test(n, data):
    subjects = [f"s{i:02d}" for i in range(n)]
    k = data.draw(st.integers(2, n))
    seed = data.draw(st.integers(0, 100))
    folds = kfold_folds(subjects, k, seed)
    tested = [s for f in folds for s in f.test_subjects]
    assert sorted(tested) == subjects  # every subject tested exactly once
    for f in folds:
        assert not set(f.test_subjects) & set(f.train_subjects)
        if len(f.train_subjects) > 1:
            tr, val = carve_validation(f.train_subjects, 1, seed)
            assert len(val) == 1 and not set(val) & set(f.test_subjects) and set(tr) | set(val) == set(f.train_subjects)
    held = holdout_split(subjects, n - 1, seed)
    assert len(held.train_subjects) == 1 and not set(held.test_subjects) & set(held.train_subjects)
