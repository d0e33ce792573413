"""The whole pipeline on synthetic CASME II / SAMM copies: alignment cache, LOSO with a tiny model, resume after
an interruption, early stopping on training subjects only, and the saved weights with their provenance."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tsfgui.model import load_model, read_metadata
from tsfgui.train import CropCache, Recipe, cross_validate, load_dataset, model_config, train_final
from tsfgui.train.trainer import augment

QUICK = dict(epochs=1, batch_size=4, seed=0)


def test_alignment_is_cached_and_reused(cold_then_warm):
    ds, first, second, pairs, again = cold_then_warm
    assert len(pairs) == len(ds.samples) == 8
    assert first.aligned == 8 and first.hits == 0
    assert second.aligned == 0 and second.hits == 8
    for a, b in zip(pairs, again):
        assert a.onset_crops.dtype == np.uint8 and a.onset_crops.shape[1:] == (224, 224, 3)
        assert np.array_equal(a.apex_crops, b.apex_crops) and a.apex == b.apex
    estimated = [p for p in pairs if p.apex_estimated]
    assert len(estimated) == 1 and estimated[0].sample.onset <= estimated[0].apex <= estimated[0].sample.offset
    assert any("apex estimated" in note for note in ds.report.apex_estimated)
    # the planted AU motion is there: apex differs from onset more than the onset's neighbour does
    p = next(p for p in pairs if not p.apex_estimated)
    onset = p.onset_crops[p.onset_pos].astype(float)
    assert np.abs(p.apex_crops[p.apex_pos] - onset).mean() > 0


def test_loso_end_to_end_resumes_after_an_interruption(cold_then_warm, casme2_set, crop_cache_dir, tmp_path):
    ds = load_dataset("casme2", casme2_set.root, "megc3")
    cfg = model_config("megc3", "tiny")
    recipe = Recipe(**QUICK)
    out = tmp_path / "run"

    def interrupt(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cross_validate(ds, CropCache(crop_cache_dir), cfg, recipe, out, progress=False, on_fold_done=interrupt)
    assert [p.name for p in (out / "folds").iterdir()] == ["loso_sub01.json"]
    assert not (out / "metrics.json").exists()

    cache = CropCache(crop_cache_dir)
    res = cross_validate(ds, cache, cfg, recipe, out, progress=False)
    assert cache.aligned == 0
    assert res.resumed == ["loso_sub01"] and res.trained == ["loso_sub02", "loso_sub03"]
    assert res.pooled["n"] == 8
    # pooled figures are computed on the predictions of all folds together
    y_true = [y for f in res.folds for y in f["y_true"]]
    y_pred = [y for f in res.folds for y in f["y_pred"]]
    assert res.pooled["accuracy"] == pytest.approx(np.mean(np.array(y_true) == np.array(y_pred)))
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["protocol"] == "loso" and doc["report"]["skipped"] == 3 and len(doc["folds"]) == 3
    assert (out / "confusion.png").stat().st_size > 0 and "UF1" in (out / "metrics.md").read_text()
    # a run with other options does not reuse the folds of this one
    res2 = cross_validate(ds, CropCache(crop_cache_dir), cfg, Recipe(**{**QUICK, "seed": 1}), out, progress=False)
    assert res2.resumed == [] and len(res2.trained) == 3


def test_early_stopping_validates_on_training_subjects_only(cold_then_warm, casme2_set, crop_cache_dir, tmp_path):
    ds = load_dataset("casme2", casme2_set.root, "megc3")
    recipe = Recipe(epochs=3, batch_size=4, patience=1, val_subjects=1)
    res = cross_validate(ds, CropCache(crop_cache_dir), model_config("megc3", "tiny"), recipe, tmp_path,
                         progress=False)
    for f in res.folds:
        assert len(f["val_subjects"]) == 1 and not set(f["val_subjects"]) & set(f["test_subjects"])
        assert set(f["val_subjects"]) | set(f["train_subjects"]) | set(f["test_subjects"]) == set(ds.subjects)
        assert all("val_uf1" in h for h in f["history"]) and 1 <= f["best_epoch"] <= f["epochs"] <= 3


def test_train_saves_fp16_weights_with_provenance(samm_set, crop_cache_dir, tmp_path):
    ds = load_dataset("samm", samm_set.root, "megc3")
    weights = tmp_path / "w.safetensors"
    res = train_final(ds, CropCache(crop_cache_dir), model_config("megc3", "tiny"), Recipe(**QUICK), tmp_path,
                      holdout_subjects=1, weights=weights, fp16=True, progress=False)
    meta = read_metadata(weights)
    prov = json.loads(meta["provenance"])
    assert meta["dtype"] in ("float16", "torch.float16", "fp16", "F16") or "16" in meta["dtype"]
    assert prov["dataset"] == "samm" and prov["epochs"] == 1 and prov["weight_decay"] == 0.7  # SAMM 3-class
    assert prov["test_subjects"] == list(res.fold.test_subjects) and prov["heldout_metrics"]["n"] == res.metrics["n"]
    model = load_model(weights)
    assert model.class_names == ("negative", "positive", "surprise")
    assert (tmp_path / "metrics.json").is_file()


def test_augmentation_is_identical_on_both_frames():
    x = torch.rand(4, 3, 32, 32)
    gen = torch.Generator().manual_seed(0)
    a, b = augment(x, x.clone(), Recipe(hflip=0.5, rotate_deg=3.0, crop_padding=15), gen)
    assert torch.equal(a, b) and not torch.equal(a, x)
