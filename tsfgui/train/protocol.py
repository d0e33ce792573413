"""Evaluation protocols by subject: leave-one-subject-out, k-fold, hold-out, and the validation split.

No fold ever looks at its test subjects for model selection: the validation subjects used for early
stopping are carved from the fold's *training* subjects (:func:`carve_validation`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

PROTOCOLS = ("loso", "kfold")


@dataclass(frozen=True)
class Fold:
    name: str
    test_subjects: tuple[str, ...]
    train_subjects: tuple[str, ...]


def loso_folds(subjects: Sequence[str]) -> list[Fold]:
    """One fold per subject: that subject is the test set, all others train."""
    subs = sorted(set(subjects))
    if len(subs) < 2:
        raise ValueError(f"leave-one-subject-out needs at least 2 subjects, got {len(subs)}")
    return [Fold(f"loso_{s}", (s,), tuple(x for x in subs if x != s)) for s in subs]


def kfold_folds(subjects: Sequence[str], k: int, seed: int = 0) -> list[Fold]:
    """``k`` folds of whole subjects (shuffled with ``seed``, sizes differing by at most one)."""
    subs = sorted(set(subjects))
    if not 2 <= k <= len(subs):
        raise ValueError(f"k-fold by subject needs 2 ≤ k ≤ {len(subs)} (the number of subjects), got k={k}")
    order = subs[:]
    random.Random(seed).shuffle(order)
    groups = [sorted(order[i::k]) for i in range(k)]
    return [Fold(f"fold{i + 1:02d}_of_{k:02d}", tuple(g), tuple(s for s in subs if s not in g))
            for i, g in enumerate(groups)]


def holdout_split(subjects: Sequence[str], n_test: int, seed: int = 0) -> Fold:
    """One split: ``n_test`` subjects (chosen with ``seed``) held out, the rest train (``n_test=0``: none)."""
    subs = sorted(set(subjects))
    if not 0 <= n_test < len(subs):
        raise ValueError(f"cannot hold out {n_test} of {len(subs)} subjects (at least one must remain to train)")
    order = subs[:]
    random.Random(seed).shuffle(order)
    test = sorted(order[:n_test])
    return Fold("holdout", tuple(test), tuple(s for s in subs if s not in test))


def carve_validation(train_subjects: Sequence[str], n_val: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split *training* subjects into (train, validation); validation never includes a test subject."""
    subs = sorted(set(train_subjects))
    if n_val <= 0:
        return subs, []
    if n_val >= len(subs):
        raise ValueError(f"cannot take {n_val} validation subjects from {len(subs)} training subjects")
    order = subs[:]
    random.Random(seed + 7919).shuffle(order)
    val = sorted(order[:n_val])
    return [s for s in subs if s not in val], val
