"""Weights files: exact round trips, half-precision storage, clear refusals, research checkpoints."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file

from tsfgui.model import TSFmicro, TSFmicroConfig, WeightsError, read_metadata


def test_save_load_is_bit_identical_and_carries_the_configuration(tmp_path, make_pair):
    cfg = TSFmicroConfig.tiny(label_scheme="casme2_5")
    model = TSFmicro(cfg).eval()
    model.head.norm.running_mean.normal_()  # non-trivial buffers travel too
    path = model.save_pretrained(tmp_path / "w.safetensors", provenance={"dataset": "CASME II", "fold": 3})
    meta = read_metadata(path)
    assert meta["format"] == "tsfgui.tsfmicro" and meta["label_scheme"] == "casme2_5"
    assert json.loads(meta["class_names"]) == list(cfg.class_names)
    assert json.loads(meta["normalization"]) == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    assert json.loads(meta["provenance"]) == {"dataset": "CASME II", "fold": 3}
    assert meta["input_size"] == "32" and meta["dtype"] == "float32"
    assert not list(tmp_path.glob("*.tmp")), "no temporary file is left behind"

    loaded = TSFmicro.from_pretrained(path)
    assert loaded.config == cfg and loaded.provenance == {"dataset": "CASME II", "fold": 3}
    assert loaded.load_report.ok and not loaded.training
    onset, apex = make_pair(3, 32)
    with torch.inference_mode():
        assert torch.equal(model(onset, apex), loaded(onset, apex))


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path, make_pair):
    model = TSFmicro(TSFmicroConfig.tiny()).eval()
    full = model.save_pretrained(tmp_path / "f32.safetensors")
    half = model.save_pretrained(tmp_path / "f16.safetensors", dtype=torch.float16)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert read_metadata(half)["dtype"] == "float16"
    loaded = TSFmicro.from_pretrained(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    onset, apex = make_pair(4, 32)
    with torch.inference_mode():
        a, b = model(onset, apex), loaded(onset, apex)
    torch.testing.assert_close(b, a, rtol=2e-2, atol=2e-3)
    assert torch.equal(a.argmax(1), b.argmax(1))


def test_wrong_shapes_and_names_are_listed(tmp_path):
    model = TSFmicro(TSFmicroConfig.tiny())
    path = model.save_pretrained(tmp_path / "w.safetensors")
    tensors = load_file(path)
    meta = read_metadata(path)
    tensors["head.fc.weight"] = torch.zeros(7, 32)
    del tensors["spatial.pos_embed"]
    tensors["spatial.extra.weight"] = torch.zeros(2)
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, bad, metadata=meta)
    with pytest.raises(WeightsError) as err:
        TSFmicro.from_pretrained(bad)
    msg = str(err.value)
    assert "bad.safetensors" in msg
    assert "head.fc.weight (file [7, 32], model [3, 32])" in msg
    assert "missing from the file: spatial.pos_embed" in msg
    assert "not in the model: spatial.extra.weight" in msg
    # non-strict: loads what fits and reports the rest
    loaded = TSFmicro.from_pretrained(bad, strict=False)
    assert loaded.load_report.missing == ["spatial.pos_embed"]
    assert loaded.load_report.mismatched == [("head.fc.weight", (7, 32), (3, 32))]
    assert torch.equal(loaded.spatial.blocks[0].attn.qkv.weight, model.spatial.blocks[0].attn.qkv.weight)


def test_a_different_configuration_is_refused(tmp_path):
    path = TSFmicro(TSFmicroConfig.tiny()).save_pretrained(tmp_path / "w.safetensors")
    with pytest.raises(WeightsError, match="different configuration .*label_scheme"):
        TSFmicro.from_pretrained(path, config=TSFmicroConfig.tiny(label_scheme="samm5"))


class _Payload:
    """Unpickling this object would create a marker file: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_code_carrying_pickles_are_refused(tmp_path):
    marker = tmp_path / "code_ran"
    evil_zip = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(2), "payload": _Payload(marker)}, evil_zip)
    evil_plain = tmp_path / "evil.pt"
    with open(evil_plain, "wb") as f:
        pickle.dump({"payload": _Payload(marker)}, f)
    # the payload is real: a plain unpickler would run it (checked on a copy, not on our loader)
    for path in (evil_zip, evil_plain):
        with pytest.raises(WeightsError) as err:
            TSFmicro.from_pretrained(path)
        msg = str(err.value)
        assert path.name in msg and "refuses" in msg and "could run arbitrary code" in msg
    assert "system" in str(pytest.raises(WeightsError, TSFmicro.from_pretrained, evil_zip).value)
    assert not marker.exists()
    with open(evil_plain, "rb") as f:
        pickle.load(f)
    assert marker.exists(), "the test payload did not carry working code"


def test_unreadable_and_missing_files(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a weights file at all")
    with pytest.raises(WeightsError, match="junk.safetensors.*neither a safetensors file nor a readable"):
        TSFmicro.from_pretrained(junk)
    with pytest.raises(WeightsError, match="nothere.safetensors': does not exist"):
        TSFmicro.from_pretrained(tmp_path / "nothere.safetensors")


# research checkpoints ----------------------------------------------------------------------------------

_STEM = {"conv": ["0", "3", "6", "9"], "bn": ["1", "4", "7", "10"]}


def _authors_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state dict under the tensor names of the authors' TSFmicro code (ts_micro / RMT_T3)."""
    out = {}
    for name, t in state.items():
        p = name.split(".")
        if p[0] == "spatial":
            if p[1] == "patch_embed":
                out[f"vit_pos.patch_embed.proj.{p[2]}"] = t[:, :, None, None] if p[2] == "weight" else t
            else:
                out["vit_pos." + ".".join(p[1:])] = t
        elif p[0] == "head":
            out["main_branch." + {"proj": "proj", "norm": "norm", "fc": "head"}[p[1]] + "." + p[2]] = t
        elif p[1] == "stem":
            out[f"main_branch.patch_embed.proj.{_STEM[p[3]][int(p[2])]}.{p[4]}"] = t
        elif p[1] == "merges":
            kind = "reduction" if p[4] == "conv" else "norm"
            out[f"main_branch.layers.{p[2]}.downsample.{kind}.{p[5]}"] = t
        else:  # temporal.stages.S.blocks.B.rest
            pre = f"main_branch.layers.{p[2]}.blocks.{p[4]}."
            rest = ".".join(p[5:])
            if rest.startswith("attn.qkv."):
                for part, chunk in zip("qkv", t.chunk(3, dim=0)):
                    out[pre + f"retention.{part}_proj.{p[-1]}"] = chunk
                continue
            for ours, theirs in (("cpe.", "pos."), ("norm1.", "retention_layer_norm."), ("norm2.", "final_layer_norm."),
                                 ("attn.lepe.", "retention.lepe."), ("attn.proj.", "retention.out_proj."),
                                 ("ffn.", "ffn.")):
                if rest.startswith(ours):
                    out[pre + theirs + rest[len(ours):]] = t
                    break
            else:
                raise AssertionError(name)
    return out


def test_authors_checkpoint_imports_with_identical_outputs(tmp_path, make_pair):
    cfg = TSFmicroConfig.tiny()
    model = TSFmicro(cfg).eval()
    theirs = _authors_names(model.state_dict())
    theirs["vit_pos.cls_token"] = torch.zeros(1, 1, 32)  # unused by the model: ignored
    theirs["main_branch.layers.0.Relpos.decay"] = torch.zeros(2)
    path = tmp_path / "ts_micro_best.pth"
    torch.save({"epoch": 30, "model_state_dict": theirs}, path)
    loaded = TSFmicro.from_pretrained(path, config=cfg)
    assert loaded.load_report.ok and not loaded.load_report.backbone_only
    assert set(loaded.load_report.ignored) == {"vit_pos.cls_token", "main_branch.layers.0.Relpos.decay"}
    onset, apex = make_pair(2, 32)
    with torch.inference_mode():  # 3 classes in the authors' order (positive, surprise, negative) → megc3's
        torch.testing.assert_close(loaded(onset, apex), model(onset, apex)[:, [2, 0, 1]], rtol=0, atol=0)


def _authors_3class_checkpoint(path, cfg):
    """A model whose logits are (positive, surprise, negative), saved under the authors' tensor names."""
    model = TSFmicro(cfg).eval()
    torch.save({"model_state_dict": _authors_names(model.state_dict())}, path)
    return model


def test_authors_3class_checkpoint_gets_the_right_class_names(tmp_path, make_pair):
    cfg = TSFmicroConfig.tiny()
    path = tmp_path / "ts_micro_megc.pth"
    source = _authors_3class_checkpoint(path, cfg)
    onset, apex = make_pair(3, 32)
    with torch.inference_mode():
        theirs = source(onset, apex)  # columns: positive, surprise, negative
        by_name = {n: theirs[:, i] for i, n in enumerate(("positive", "surprise", "negative"))}
        for order in (None, "authors", "positive,surprise,negative"):  # detected, keyword, explicit
            loaded = TSFmicro.from_pretrained(path, config=cfg, class_order=order)
            assert loaded.class_names == ("negative", "positive", "surprise")
            out = loaded(onset, apex)
            for i, name in enumerate(loaded.class_names):
                torch.testing.assert_close(out[:, i], by_name[name], rtol=0, atol=0)
        assert loaded.provenance["class_order"]["file_order"] == ["positive", "surprise", "negative"]
        assert TSFmicro.from_pretrained(path, config=cfg).provenance["class_order"]["how"].startswith("detected")
        # a user who knows the file is already in MEGC order says so, and nothing is permuted
        kept = TSFmicro.from_pretrained(path, config=cfg, class_order="negative,positive,surprise")
        torch.testing.assert_close(kept(onset, apex), theirs, rtol=0, atol=0)
    # saved again, the names travel in the metadata and the order sticks
    copy = tmp_path / "copy.safetensors"
    TSFmicro.from_pretrained(path, config=cfg).save_pretrained(copy)
    with torch.inference_mode():
        torch.testing.assert_close(TSFmicro.from_pretrained(copy)(onset, apex)[:, 0], by_name["negative"])
    with pytest.raises(WeightsError, match="does not name the classes"):
        TSFmicro.from_pretrained(path, config=cfg, class_order="positive,surprise,anger")
    with pytest.raises(WeightsError, match="names its classes in its metadata"):
        TSFmicro.from_pretrained(copy, class_order="authors")


def test_our_names_and_other_schemes_are_not_reordered(tmp_path, make_pair):
    onset, apex = make_pair(2, 32)
    for scheme in ("megc3", "samm5"):  # our tensor names; the authors' 5-class order is samm5's own
        cfg = TSFmicroConfig.tiny(label_scheme=scheme)
        model = TSFmicro(cfg).eval()
        path = tmp_path / f"{scheme}.pth"
        torch.save(model.state_dict() if scheme == "megc3" else _authors_names(model.state_dict()), path)
        loaded = TSFmicro.from_pretrained(path, config=cfg)
        with torch.inference_mode():
            torch.testing.assert_close(loaded(onset, apex), model(onset, apex), rtol=0, atol=0)


def test_backbone_only_checkpoint_loads_into_the_temporal_branch(tmp_path, make_pair):
    cfg = TSFmicroConfig.tiny()
    source = TSFmicro(cfg).eval()
    rmt = {k[len("main_branch."):]: v for k, v in _authors_names(source.state_dict()).items()
           if k.startswith("main_branch.") and not k.startswith(("main_branch.head", "main_branch.proj", "main_branch.norm"))}
    rmt["head.weight"] = torch.zeros(1000, 32)  # an ImageNet classifier: not ours, skipped
    rmt["head.bias"] = torch.zeros(1000)
    path = tmp_path / "rmt_backbone.pth"
    torch.save({"model": rmt}, path)
    loaded = TSFmicro.from_pretrained(path, config=cfg)
    report = loaded.load_report
    assert report.backbone_only and report.ok
    assert {"head.fc.weight", "head.fc.bias"} <= set(report.ignored)
    assert all(k.startswith("temporal.") for k in report.loaded)
    onset, apex = make_pair(2, 32)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.forward_temporal(onset, apex), source.forward_temporal(onset, apex),
                                   rtol=0, atol=0)
    # a backbone of another depth: names that do not fit are listed
    del rmt["layers.2.blocks.1.pos.conv.weight"]
    torch.save(rmt, path)
    with pytest.raises(WeightsError, match=r"backbone checkpoint .*missing from the file: temporal\.stages\.2\.blocks\.1\.cpe\.conv\.weight"):
        TSFmicro.from_pretrained(path, config=cfg)


def test_legacy_head_size_selects_or_asks_for_the_label_scheme(tmp_path):
    cfg = TSFmicroConfig.tiny(label_scheme="casme3_7")
    path = tmp_path / "c7.pth"
    torch.save(TSFmicro(cfg).state_dict(), path)
    with pytest.raises(WeightsError, match="different shape"):  # paper-size model inferred: 7 classes, wrong dims
        TSFmicro.from_pretrained(path)
    five = tmp_path / "c5.pth"
    torch.save(TSFmicro(TSFmicroConfig.tiny(label_scheme="samm5")).state_dict(), five)
    with pytest.raises(WeightsError, match="fits the label schemes casme2_5, samm5; pass label_scheme="):
        TSFmicro.from_pretrained(five)


def test_import_weights_command_writes_named_classes(tmp_path, capsys):
    from tsfgui.cli import main

    source = TSFmicro().eval()  # the paper's 3-class network, as the authors' code saves it
    path = tmp_path / "ts_micro_megc.pth"
    torch.save({"model_state_dict": _authors_names(source.state_dict())}, path)
    out = tmp_path / "imported.safetensors"
    assert main(["import-weights", str(path), str(out)]) == 0
    assert "positive, surprise, negative" in capsys.readouterr().out
    meta = read_metadata(out)
    assert json.loads(meta["class_names"]) == ["negative", "positive", "surprise"]
    rows = load_file(str(out))["head.fc.weight"]
    theirs = source.head.fc.weight.detach()
    for i, name in enumerate(("negative", "positive", "surprise")):
        assert torch.equal(rows[i], theirs[("positive", "surprise", "negative").index(name)])
    assert main(["import-weights", str(path), str(out), "--class-order", "positive,surprise"]) == 2
    assert "does not name the classes" in capsys.readouterr().err


def test_create_model_builds_or_loads_and_fuse_folds_batchnorm_once(tmp_path):
    from tsfgui.model import create_model

    torch.manual_seed(0)
    model = create_model(TSFmicroConfig.tiny())
    assert model.training and not model.fused  # a new model is for training
    onset, apex = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    for _ in range(3):  # move the BatchNorms' running statistics away from their defaults
        model(onset, apex + torch.randn_like(apex))
    model.eval()
    with torch.no_grad():
        plain = model(onset, apex)
        model.fuse()
        folded = model.head.folded
        assert model.fused and folded is not None
        torch.testing.assert_close(model(onset, apex), plain, rtol=1e-4, atol=1e-5)
        assert model.head.folded is folded  # folded once, not again on each forward
    path = model.save_pretrained(tmp_path / "w.safetensors")
    loaded = create_model(pretrained=path)
    assert loaded.fused and not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(onset, apex), plain, rtol=1e-4, atol=1e-5)
    assert not create_model(pretrained=path, fuse=False).fused
    loaded.train()  # fine-tuning unfolds: the BatchNorms learn again
    assert not loaded.fused


def test_damaged_provenance_loads_with_a_warning_naming_the_file(tmp_path, tiny_model):
    """A weights file whose provenance (where it comes from, whether it was validated) is damaged still
    loads, but says so: a demo model's warning must never silently become nothing."""
    from safetensors import safe_open

    path = tmp_path / "demo.safetensors"
    tiny_model.save_pretrained(path, provenance={"synthetic": True, "warning": "demo only"})
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
    for damaged in ('{"synthetic": true, "warning": "demo', '["not", "an", "object"]'):
        save_file(load_file(str(path)), str(path), metadata={**meta, "provenance": damaged})
        provenance = TSFmicro.from_pretrained(path).provenance
        assert provenance["damaged"] is True
        assert "demo.safetensors" in provenance["warning"] and "unknown" in provenance["warning"]
