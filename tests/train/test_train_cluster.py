"""``tsfgui eval --cluster``: the folds run as Ray tasks on a real local cluster and give what a local run gives,
fold by fold; an unfinished fold is all a re-run trains."""

from __future__ import annotations

import json

from tsfgui.cli import main


def _fold_records(out):
    records = {}
    for path in sorted((out / "folds").glob("*.json")):
        record = json.loads(path.read_text())
        record.pop("seconds")  # the only field that may differ: wall time
        records[path.name] = record
    return records


def test_eval_on_the_cluster_equals_a_local_eval_fold_by_fold(local_ray, cold_then_warm, casme2_set, crop_cache_dir,
                                                               tmp_path, capsys):
    command = ["eval", "--dataset", "casme2", "--root", str(casme2_set.root), "--cache", str(crop_cache_dir),
               "--model-size", "tiny", "--epochs", "1", "--batch-size", "4", "--threads", "1", "-q"]
    assert main([*command, "--out", str(tmp_path / "here")]) == 0
    assert main([*command, "--out", str(tmp_path / "cluster"), "--cluster"]) == 0
    here, there = _fold_records(tmp_path / "here"), _fold_records(tmp_path / "cluster")
    assert list(here) == ["loso_sub01.json", "loso_sub02.json", "loso_sub03.json"]
    assert here == there
    pooled = [json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("here", "cluster")]
    assert pooled[0]["pooled"] == pooled[1]["pooled"] and pooled[0]["pooled"]["n"] == 8

    # an interrupted cluster run: the missing fold is trained again, the others are read back
    (tmp_path / "cluster" / "folds" / "loso_sub02.json").unlink()
    capsys.readouterr()
    assert main([*command, "--out", str(tmp_path / "cluster"), "--cluster"]) == 0
    assert "resumed: 2 fold(s) read from an earlier run, 1 trained now" in capsys.readouterr().out
    assert _fold_records(tmp_path / "cluster") == here


def test_a_fold_that_fails_on_the_cluster_is_reported_once_and_the_others_are_kept(local_ray, cold_then_warm,
                                                                                    casme2_set, crop_cache_dir,
                                                                                    tmp_path, capsys):
    # 2 folds of 3 subjects: one fold trains on 1 subject, too few to carve the validation subject from
    out = tmp_path / "run"
    code = main(["eval", "--dataset", "casme2", "--root", str(casme2_set.root), "--cache", str(crop_cache_dir),
                 "--model-size", "tiny", "--epochs", "1", "--batch-size", "4", "--protocol", "kfold", "--folds", "2",
                 "--patience", "1", "--val-subjects", "1", "-q", "--out", str(out), "--cluster"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("failed on the cluster") == 1 and err.count("\n") == 1
    assert "1 fold(s) failed" in err and "cannot take 1 validation subjects from 1 training subjects" in err
    (kept,) = (out / "folds").glob("*.json")
    assert kept.stem not in err and "_of_02: " in err  # the failed fold is named, the finished one kept
    assert json.loads(kept.read_text())["val_subjects"] and not (out / "metrics.json").exists()
