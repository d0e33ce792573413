"""The zoom and photometric jitters: the same on both frames of a pair, off by default, bounded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsfgui.train.trainer import Recipe, augment, photometric_jitter


def _pairs(n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    onset = rng.integers(30, 220, (n, 24, 24, 3), dtype=np.uint8)
    apex = onset.copy()
    apex[:, 10:14, 10:14] = np.clip(apex[:, 10:14, 10:14].astype(int) + 25, 0, 255).astype(np.uint8)  # a "motion"
    return onset, apex


def test_photometric_jitter_changes_the_look_the_same_way_on_both_frames():
    onset, apex = _pairs()
    o, a = photometric_jitter(onset, apex, 0.3, np.random.default_rng(1))
    assert o.dtype == np.uint8 and o.shape == onset.shape
    assert not np.array_equal(o, onset)
    # outside the moving patch both frames were equal, and stay equal: one look per pair
    still = np.ones(onset.shape[1:3], bool)
    still[10:14, 10:14] = False
    assert np.array_equal(o[:, still], a[:, still])
    # pairs get different looks (their mean brightness changes by different amounts)
    shift = o.reshape(len(o), -1).mean(1) - onset.reshape(len(o), -1).mean(1)
    assert np.ptp(shift) > 2.0
    # the motion survives: the patch still differs between the frames
    assert np.abs(a[:, 10:14, 10:14].astype(int) - o[:, 10:14, 10:14].astype(int)).mean() > 5


def test_photometric_jitter_off_returns_the_frames_unchanged_and_draws_nothing():
    onset, apex = _pairs()
    rng = np.random.default_rng(3)
    o, a = photometric_jitter(onset, apex, 0.0, rng)
    assert o is onset and a is apex
    assert rng.integers(1 << 30) == np.random.default_rng(3).integers(1 << 30)


def test_zoom_jitter_is_identical_on_both_frames_and_off_by_default():
    x = torch.rand(4, 3, 32, 32)
    plain = Recipe(hflip=0.0, rotate_deg=0.0, crop_padding=0)
    a, b = augment(x, x.clone(), Recipe(hflip=0.0, rotate_deg=0.0, crop_padding=0, scale_jitter=0.3),
                   torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and not torch.allclose(a, x, atol=1e-3)
    same, _ = augment(x, x.clone(), plain, torch.Generator().manual_seed(0))
    assert torch.allclose(same, x, atol=1e-5)          # no flip, rotation, shift or zoom: the identity


@pytest.mark.parametrize("flag", ["--photometric", "--scale-jitter"])
def test_cli_refuses_a_jitter_outside_0_to_1(flag, tmp_path, capsys):
    from tsfgui.cli import main

    assert main(["eval", "--dataset", "synthetic", "--out", str(tmp_path), flag, "1.5"]) != 0
    assert not any(tmp_path.iterdir())                  # refused before any work
    assert flag in capsys.readouterr().err


def test_weights_record_the_jitters_and_the_negative_vocabulary_they_were_trained_with():
    import argparse
    import types

    from tsfgui.train import cli as train_cli

    parser = argparse.ArgumentParser()
    train_cli.add_eval_arguments(parser)
    args = parser.parse_args(["--dataset", "synthetic", "--out", "x", "--synthetic-negatives", "no-dimpler",
                              "--photometric", "0.3", "--scale-jitter", "0.1"])
    prov = train_cli._provenance(args, types.SimpleNamespace(name="synthetic"))
    assert prov["synthetic_set"]["negatives"] == "no-dimpler"
    recipe = train_cli._recipe(args)
    assert (recipe.photometric, recipe.scale_jitter) == (0.3, 0.1)
    assert recipe.to_dict()["photometric"] == 0.3          # what the weights' provenance stores
