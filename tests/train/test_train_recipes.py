"""The authors' recipes as options: jitter window, per-dataset values, the optimistic figure, face crops."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tsfgui.train import CropCache, PreprocessSettings, load_dataset
from tsfgui.train.recipes import jitter_radius, paper_recipe
from tsfgui.train.trainer import OPTIMISTIC_LABEL, Recipe, best_test_epoch, cross_validate, model_config


def test_authors_jitter_window_is_proportional_to_the_onset_apex_distance():
    # CASME II / CAS(ME)^3: 0.0375 × (apex − onset); 40 frames → 1.5 → 2, 20 → 0.75 → 1, 13 → 0.49 → 0
    assert [jitter_radius(46, 46 + d, fraction=0.0375) for d in (40, 20, 13, 80)] == [2, 1, 0, 3]
    # SAMM 5-class: 0.1 ×; the window does not depend on the direction or the frame numbering
    assert jitter_radius(5562, 5562 + 34, fraction=0.1) == 3 == jitter_radius(100, 66, fraction=0.1)
    # SAMM 3-class: none; and ours: a fixed number of frames
    assert jitter_radius(0, 50) == 0 and jitter_radius(0, 50, frames=2) == 2
    with pytest.raises(ValueError):
        jitter_radius(0, 10, fraction=-0.1)


def test_paper_recipe_values_per_dataset():
    assert paper_recipe("casme2", "casme2_5") == {"epochs": 174, "jitter": 0, "jitter_fraction": 0.0375, "precise_bn": False}
    assert paper_recipe("casme3a", "casme3_7")["epochs"] == 199
    assert paper_recipe("samm", "samm5")["jitter_fraction"] == 0.1
    samm3 = paper_recipe("samm", "megc3")
    assert (samm3["rotate"], samm3["crop_padding"], samm3["jitter_fraction"], samm3["epochs"]) == (4.0, 4, 0.0, 199)
    with pytest.raises(ValueError, match="no recipe for smic"):
        paper_recipe("smic", "megc3")


def test_crop_cache_stores_the_proportional_window_and_stretched_faces(casme2_set, tmp_path):
    ds = load_dataset("casme2", casme2_set.root, "megc3")
    sample = next(s for s in ds.samples if isinstance(s.apex, int) and s.apex - s.onset >= 4)
    fraction = 1.5 / (sample.apex - sample.onset)  # a window of 2 frames for this sample
    pair = CropCache(tmp_path, PreprocessSettings(jitter=0, jitter_fraction=fraction)).get(sample)
    r = jitter_radius(sample.onset, sample.apex, fraction=fraction)
    assert r == 2
    assert list(pair.onset_frames) == [n for n in range(sample.onset - r, sample.onset + r + 1)
                                       if n >= min(pair.onset_frames)]
    assert list(pair.apex_frames) == list(range(sample.apex - r, sample.apex + r + 1))
    aligned = CropCache(tmp_path, PreprocessSettings(jitter=0)).get(sample)
    stretched = CropCache(tmp_path, PreprocessSettings(jitter=0, face_crop="stretch")).get(sample)
    assert stretched.onset_crops.shape == aligned.onset_crops.shape == (1, 224, 224, 3)
    assert not np.array_equal(stretched.onset_crops, aligned.onset_crops)
    with pytest.raises(ValueError, match="face_crop"):
        PreprocessSettings(face_crop="square")


@pytest.mark.timeout(900)  # LOSO training: minutes on a loaded 2-core machine
def test_best_test_epoch_is_reported_next_to_the_honest_figure_and_labelled(casme2_set, crop_cache_dir, tmp_path):
    assert best_test_epoch([0, 1, 2], [[1, 1, 1], [0, 1, 2], [0, 1, 1]], 3)["epoch"] == 2
    ds = load_dataset("casme2", casme2_set.root, "megc3")
    recipe = Recipe(epochs=2, batch_size=4, jitter=0, jitter_fraction=0.0375, report_best_epoch=True)
    res = cross_validate(ds, CropCache(crop_cache_dir), model_config("megc3", "tiny"), recipe, tmp_path / "run",
                         progress=False)
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    optimistic = doc["optimistic_best_test_epoch"]
    assert optimistic["label"] == OPTIMISTIC_LABEL and "optimistic" in OPTIMISTIC_LABEL
    for f in res.folds:  # the last epoch is one of the candidates: per fold it can only match or beat it
        assert f["optimistic"]["uf1"] >= f["metrics"]["uf1"] - 1e-9
    assert all(1 <= f["optimistic"]["epoch"] <= 2 for f in res.folds)
    assert "Optimistic figure" in (tmp_path / "run" / "metrics.md").read_text()


@pytest.mark.timeout(900)
def test_fold_models_are_saved_with_their_held_out_figures(casme2_set, crop_cache_dir, tmp_path):
    from tsfgui.model import load_model
    from tsfgui.model.card import describe_weights_file

    ds = load_dataset("casme2", casme2_set.root, "megc3")
    res = cross_validate(ds, CropCache(crop_cache_dir), model_config("megc3", "small", 32), Recipe(epochs=1, batch_size=4),
                         tmp_path / "run", progress=False, save_fold_weights=True,
                         provenance={"synthetic": True, "warning": "demo only"})
    for f in res.folds:
        path = tmp_path / "run" / "folds" / f"{f['name']}.safetensors"
        model = load_model(path)
        assert model.provenance["heldout_metrics"] == f["metrics"]
        assert model.provenance["test_subjects"] == f["test_subjects"] and model.provenance["warning"] == "demo only"
        summary, warning = describe_weights_file(str(path))
        assert f"{model.num_parameters():,} parameters" in summary and "not the paper's network" in summary
        assert warning.endswith("demo only") and warning.startswith(summary)
