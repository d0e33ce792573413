"""Synthetic datasets in each real layout, written once per test session (few subjects, small frames), and one
shared crop cache so that face alignment runs once per clip per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsfgui.train.synthetic import write_synthetic

SIZE = (200, 200)


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("train_synth")


@pytest.fixture(scope="session")
def casme2_set(synth_root):
    return write_synthetic("casme2", synth_root / "casme2", subjects=3, clips_per_subject=3, seed=1, size=SIZE,
                           bad_rows=True)


@pytest.fixture(scope="session")
def samm_set(synth_root):
    return write_synthetic("samm", synth_root / "samm", subjects=2, clips_per_subject=3, seed=2, size=SIZE,
                           bad_rows=True)


@pytest.fixture(scope="session")
def casme3_set(synth_root):
    return write_synthetic("casme3a", synth_root / "casme3a", subjects=2, clips_per_subject=3, seed=3, size=SIZE,
                           bad_rows=True)


@pytest.fixture(scope="session")
def smic_set(synth_root):
    return write_synthetic("smic", synth_root / "smic", subjects=2, clips_per_subject=3, seed=4, size=SIZE)


@pytest.fixture(scope="session")
def crop_cache_dir(synth_root) -> Path:
    return synth_root / "crop_cache"


@pytest.fixture(scope="session")
def cold_then_warm(casme2_set, crop_cache_dir):
    """Prepare the CASME II set twice with separate cache objects on one folder: (dataset, first, second)."""
    from tsfgui.train import CropCache, load_dataset

    ds = load_dataset("casme2", casme2_set.root, "megc3")
    first = CropCache(crop_cache_dir)
    pairs = first.prepare(ds.samples, ds.report, progress=False)
    second = CropCache(crop_cache_dir)
    again = second.prepare(load_dataset("casme2", casme2_set.root, "megc3").samples, progress=False)
    return ds, first, second, pairs, again
