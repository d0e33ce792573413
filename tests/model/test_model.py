"""The network's interface: shapes for every label scheme, the paper's sizes, the cached-reference
path, intermediates, the fast kernels against the plain computation, and input preparation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tsfgui.model import (
    LABEL_SCHEMES, ConfigError, TSFmicro, TSFmicroConfig, count_flops, crops_to_tensor, fast_kernels,
    get_label_scheme, select_device, configure_threads,
)

EXPECTED_CLASSES = {"megc3": 3, "casme2_5": 5, "samm5": 5, "casme3_4": 4, "casme3_7": 7}


def test_label_schemes_are_registered_with_their_class_names():
    assert {k: s.num_classes for k, s in LABEL_SCHEMES.items()} == EXPECTED_CLASSES
    assert get_label_scheme("megc3").class_names == ("negative", "positive", "surprise")
    with pytest.raises(KeyError, match="known: megc3"):
        get_label_scheme("casme9")


@pytest.mark.parametrize("scheme", sorted(EXPECTED_CLASSES))
def test_output_shapes_for_every_label_scheme(scheme, make_pair):
    model = TSFmicro(TSFmicroConfig.tiny(label_scheme=scheme)).eval()
    onset, apex = make_pair(3, 32)
    with torch.inference_mode():
        logits = model(onset, apex)
        fused = model.forward_features(onset, apex)
        pooled = model.forward_head(fused, pre_logits=True)
    assert logits.shape == (3, EXPECTED_CLASSES[scheme])
    assert model.class_names == LABEL_SCHEMES[scheme].class_names
    assert fused.shape == (3, 32, 2, 2) and pooled.shape == (3, 32)
    assert torch.isfinite(logits).all()


def test_paper_configuration_sizes():
    model = TSFmicro().eval()
    cfg = model.config
    assert cfg.stage_sizes() == [112, 56, 28, 14] and cfg.feature_size == 14 and cfg.feature_dim == 512
    assert 12e6 < model.num_parameters() < 14e6
    assert 13.0e9 < sum(count_flops(cfg).values()) < 13.8e9  # the 13.4 GFLOP of the reference implementation
    onset = torch.randn(1, 3, 224, 224)
    apex = onset + 0.1 * torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        out = model.forward_intermediates(onset, apex, attention=True, stages=True)
    assert out.logits.shape == (1, 3)
    for t in (out.fused, out.temporal, out.spatial):
        assert t.shape == (1, 512, 14, 14)
    assert [tuple(s.shape[1:]) for s in out.stages] == [(64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14)]
    assert [tuple(a.shape) for a in out.spatial_attention] == [(1, 4, 196, 196)] * 2


def test_fast_kernels_match_the_plain_computation_on_the_paper_model():
    model = TSFmicro().eval()
    onset = torch.randn(2, 3, 224, 224)
    apex = onset + 0.2 * torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        fast = model.forward_features(onset, apex)
        with fast_kernels(False):
            plain = model.forward_features(onset, apex)
    scale = plain.abs().max()
    assert (fast - plain).abs().max() <= 1e-4 * scale


def test_fast_plain_and_autograd_paths_agree(tiny_model, make_pair):
    onset, apex = make_pair(2, 32)
    with torch.inference_mode():
        fast = tiny_model(onset, apex)
        with fast_kernels(False):
            plain = tiny_model(onset, apex)
    graded = tiny_model(onset, apex)  # parameters require grad: public ops only
    assert graded.requires_grad
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(graded.detach(), plain, rtol=1e-5, atol=1e-6)


def test_reference_embedding_gives_the_same_logits(tiny_model, make_pair):
    onset, apex = make_pair(4, 32)
    with torch.inference_mode():
        plain = tiny_model(onset, apex)
        ref = tiny_model.embed_reference(onset)
        cached = tiny_model(onset, apex, reference=ref)
        assert ref.shape == (4, 32, 2, 2)
        assert torch.equal(plain, cached)
        # one onset shared by a batch of apex frames (fixed-onset pairing): embed once, broadcast
        shared = tiny_model(onset[:1], apex, reference=ref[:1])
        expanded = tiny_model(onset[:1].expand(4, -1, -1, -1), apex)
    torch.testing.assert_close(shared, expanded, rtol=1e-5, atol=1e-6)


def test_intermediates_agree_with_forward(tiny_model, make_pair):
    onset, apex = make_pair(2, 32)
    with torch.inference_mode():
        out = tiny_model.forward_intermediates(onset, apex, stages=True)
        logits = tiny_model(onset, apex)
        temporal = tiny_model.forward_temporal(onset, apex)
    torch.testing.assert_close(out.logits, logits, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.temporal, temporal)
    torch.testing.assert_close(out.fused, out.temporal + out.spatial)
    assert len(out.stages) == 4 and len(out.spatial_attention) == 2
    for a in out.spatial_attention:
        assert a.shape == (2, 2, 4, 4)
        torch.testing.assert_close(a.sum(-1), torch.ones(2, 2, 4))
    torch.testing.assert_close(out.probabilities.sum(-1), torch.ones(2))


def test_bad_inputs_are_rejected_with_the_expected_shape(tiny_model):
    with pytest.raises(ValueError, match=r"apex must be a \(B, 3, 32, 32\) batch"):
        tiny_model(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="reference must be"):
        tiny_model(torch.zeros(2, 3, 32, 32), torch.zeros(2, 3, 32, 32), reference=torch.zeros(2, 8, 2, 2))


def test_config_is_json_serialisable_and_validated():
    cfg = TSFmicroConfig(label_scheme="casme3_7")
    text = cfg.to_json()
    assert json.loads(text)["class_names"][0] == "anger"
    assert TSFmicroConfig.from_json(text) == cfg
    assert cfg.replace(label_scheme="samm5").class_names == LABEL_SCHEMES["samm5"].class_names
    with pytest.raises(ConfigError, match="multiple of 16"):
        TSFmicroConfig(img_size=100)
    with pytest.raises(ConfigError, match="not divisible by 3 heads"):
        TSFmicroConfig(num_heads=(2, 2, 3, 2))
    with pytest.raises(ConfigError, match="unknown configuration fields: colour"):
        TSFmicroConfig.from_dict({"colour": 1})
    custom = TSFmicroConfig.tiny(label_scheme="custom", class_names=("calm", "tense"))
    assert TSFmicro(custom).num_classes == 2


def test_reset_classifier_switches_label_scheme(tiny_model, make_pair):
    tiny_model.reset_classifier("casme3_7")
    onset, apex = make_pair(1, 32)
    with torch.inference_mode():
        assert tiny_model(onset, apex).shape == (1, 7)
    assert tiny_model.class_names[-1] == "others"


def test_crops_to_tensor_converts_bgr_uint8_crops():
    crop = np.zeros((224, 224, 3), np.uint8)
    crop[..., 0] = 255  # blue in BGR
    x = crops_to_tensor(crop)
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last)
    # RGB order: the blue channel is the third one; normalised with ImageNet mean/std
    torch.testing.assert_close(x[0, :, 0, 0], torch.tensor([-0.485 / 0.229, -0.456 / 0.224, (1 - 0.406) / 0.225]))
    batch = crops_to_tensor([crop, np.full((300, 300, 3), 128, np.uint8)])
    assert batch.shape == (2, 3, 224, 224)
    torch.testing.assert_close(batch[1, 1], torch.full((224, 224), (128 / 255 - 0.456) / 0.224))
    with pytest.raises(ValueError, match="uint8 BGR"):
        crops_to_tensor(np.zeros((224, 224), np.float32))


def test_preprocess_uses_the_model_settings(tiny_model):
    crops = np.random.default_rng(0).integers(0, 255, (2, 48, 48, 3), dtype=np.uint8)
    x = tiny_model.preprocess(crops)
    assert x.shape == (2, 3, 32, 32)
    with torch.inference_mode():
        assert tiny_model(x[:1], x[1:]).shape == (1, 3)


def test_device_and_threads_helpers():
    mps = getattr(torch.backends, "mps", None)
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps is not None and mps.is_available() else "cpu"
    assert select_device().type == expected
    assert select_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no usable CUDA GPU"):
            select_device("cuda")
    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1 and torch.get_num_threads() == 1
        assert configure_threads() >= 1  # unpinned: all available CPUs
    finally:
        torch.set_num_threads(before)


def test_a_pinned_thread_share_survives_later_default_calls(monkeypatch):
    """`analyze --jobs N` pins each worker's share; the Analyzer's own call must not undo it."""
    import tsfgui.model.device as device

    monkeypatch.setattr(device, "_pinned_threads", None)
    monkeypatch.setattr(device, "available_cpus", lambda: 8)
    before = torch.get_num_threads()
    try:
        assert device.configure_threads() == 8
        assert device.configure_threads(3, pin=True) == 3
        assert device.configure_threads() == 3 and torch.get_num_threads() == 3
        assert device.configure_threads(reserve=1) == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_forward_matches_cpu(make_pair):
    model = TSFmicro(TSFmicroConfig.tiny()).eval()
    onset, apex = make_pair(2, 32)
    with torch.inference_mode():
        cpu = model(onset, apex)
        gpu = model.to("cuda")(onset.cuda(), apex.cuda()).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-3, atol=1e-4)


def test_bfloat16_path_keeps_the_predictions(make_pair):
    model = TSFmicro(TSFmicroConfig.tiny(img_size=64)).eval()
    half = TSFmicro(TSFmicroConfig.tiny(img_size=64)).eval()
    half.load_state_dict(model.state_dict())
    half.to(torch.bfloat16)
    onset, apex = make_pair(4, 64)
    with torch.inference_mode():
        full = model.forward_features(onset, apex)
        low = half.forward_features(onset.bfloat16(), apex.bfloat16()).float()
    assert low.dtype == torch.float32 and low.shape == full.shape
    assert (low - full).norm() / full.norm() < 0.05


def test_a_fused_model_packs_its_linear_weights_and_repacks_a_changed_weight(tiny_model, make_pair):
    """fuse() marks every linear weight for oneDNN's blocked layout: the fast path then agrees with the
    plain one, an in-place weight change (an optimiser step, load_state_dict) is packed again, and a
    copy or a pickle of the model (process pools) works and agrees too."""
    import copy
    import pickle

    from tsfgui.model import ops

    onset, apex = make_pair(2, 32)
    model = tiny_model.fuse()
    qkv = model.temporal.stages[0].blocks[0].attn.qkv
    with torch.inference_mode():
        fast = model(onset, apex)
        with fast_kernels(False):
            plain = model(onset, apex)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-6)
    if ops._HAVE_MKLDNN:
        assert qkv.weight._tsf_packed.state is not None  # packed at its first use
    with torch.no_grad():
        qkv.weight.mul_(-1.5)
    with torch.inference_mode():
        fast = model(onset, apex)
        with fast_kernels(False):
            plain_changed = model(onset, apex)
    assert not torch.allclose(plain_changed, plain)
    torch.testing.assert_close(fast, plain_changed, rtol=1e-5, atol=1e-6)
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        with torch.inference_mode():
            torch.testing.assert_close(twin(onset, apex), plain_changed, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fuse_gelu", [True, False])
def test_linear_gelu_fused_or_after_gives_the_plain_result(fuse_gelu, monkeypatch, tiny_model, make_pair):
    """The linear layers' GELU runs fused into oneDNN's product (AVX-512) or in place after it (AVX2
    only): both choices give what the plain path gives, whichever this machine picks."""
    from tsfgui.model import ops

    monkeypatch.setattr(ops, "_FUSE_LINEAR_GELU", fuse_gelu)
    onset, apex = make_pair(2, 32)
    model = tiny_model.fuse()
    with torch.inference_mode():
        fast = model(onset, apex)
        with fast_kernels(False):
            plain = model(onset, apex)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-6)


def test_a_model_without_rotary_position_agrees_fast_and_plain(make_pair):
    model = TSFmicro(TSFmicroConfig.tiny(rotary=False)).eval().fuse()
    onset, apex = make_pair(2, 32)
    with torch.inference_mode():
        fast = model(onset, apex)
        with fast_kernels(False):
            plain = model(onset, apex)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-6)
