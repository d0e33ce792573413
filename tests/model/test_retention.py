"""Manhattan self-attention against explicit, loop-by-loop computations of the formulas."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tsfgui.model import TSFmicroConfig, fast_kernels
from tsfgui.model.retention import (
    ManhattanRetention, RetentiveBackbone, axial_decay_mask, decay_gammas, manhattan_decay_mask,
)


def test_decay_rates_follow_the_paper_formula():
    # γ_h = 1 − 2^(−init − range·h/heads), init 2, ranges 4 and 6, 2 heads
    torch.testing.assert_close(decay_gammas(2, 2.0, 4.0), torch.tensor([0.75, 1 - 2.0 ** -4], dtype=torch.float64))
    torch.testing.assert_close(decay_gammas(2, 2.0, 6.0), torch.tensor([0.75, 1 - 2.0 ** -5], dtype=torch.float64))


def test_decay_mask_equals_the_manhattan_formula():
    h, w = 3, 4
    gammas = decay_gammas(2, 2.0, 4.0)
    mask = manhattan_decay_mask(h, w, gammas)
    assert mask.shape == (2, 12, 12)
    for k in range(2):
        for n in range(h * w):
            for m in range(h * w):
                dist = abs(n // w - m // w) + abs(n % w - m % w)
                assert math.isclose(math.exp(mask[k, n, m].item()), gammas[k].item() ** dist, rel_tol=1e-12)
    axial = axial_decay_mask(5, gammas)
    assert math.isclose(math.exp(axial[1, 0, 4].item()), gammas[1].item() ** 4, rel_tol=1e-12)


def _rotate(x: torch.Tensor, n: int) -> torch.Tensor:
    """RMT's rotary position of one head vector at raster index n, written out pair by pair."""
    d = x.shape[-1]
    half = d // 2
    out = x.clone()
    for j in range(half):
        theta = 10000.0 ** (-(j / (half - 1) if half > 1 else 0.0))
        c, s = math.cos(n * theta), math.sin(n * theta)
        x0, x1 = x[2 * j], x[2 * j + 1]
        out[2 * j], out[2 * j + 1] = x0 * c - x1 * s, x1 * c + x0 * s
    return out


def _explicit_inputs(layer: ManhattanRetention, x: torch.Tensor):
    b, h, w, c = x.shape
    nh, d = layer.num_heads, layer.head_dim
    qkv = x @ layer.qkv.weight.T + layer.qkv.bias
    q, k, v = qkv[..., :c], qkv[..., c:2 * c], qkv[..., 2 * c:]
    q = q.reshape(b, h, w, nh, d).clone()
    k = k.reshape(b, h, w, nh, d).clone()
    v = v.reshape(b, h, w, nh, d)
    for bi in range(b):
        for r in range(h):
            for col in range(w):
                for hd in range(nh):
                    q[bi, r, col, hd] = _rotate(q[bi, r, col, hd], r * w + col)
                    k[bi, r, col, hd] = _rotate(k[bi, r, col, hd], r * w + col)
    return q, k, v


def _finish(layer: ManhattanRetention, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    b, h, w, c = x.shape
    qkv = x @ layer.qkv.weight.T + layer.qkv.bias
    v = qkv[..., 2 * c:].permute(0, 3, 1, 2)
    lepe = F.conv2d(v, layer.lepe.conv.weight, layer.lepe.conv.bias, padding=layer.lepe.conv.padding,
                    groups=c).permute(0, 2, 3, 1)
    return (out.reshape(b, h, w, c) + lepe) @ layer.proj.weight.T + layer.proj.bias


def _softmax_attend(qv, keys, values, log_decay):
    scores = torch.stack([qv @ kv for kv in keys]) / math.sqrt(qv.shape[0]) + log_decay
    p = torch.softmax(scores, dim=0)
    return sum(pi * vi for pi, vi in zip(p, values))


@pytest.mark.parametrize("fast", [True, False])
def test_decomposed_retention_equals_rows_then_columns(fast):
    torch.manual_seed(3)
    b, h, w, c, nh = 2, 3, 4, 8, 2
    layer = ManhattanRetention(c, nh, decomposed=True, lepe_kernel=5, rotary=True).eval()
    gammas = decay_gammas(nh, 2.0, 4.0).float()
    x = torch.randn(b, h, w, c)
    from tsfgui.model.retention import RetStage

    stage = RetStage(c, 1, nh, 3.0, True, 2.0, 4.0, [0.0], 5, 3, 3, True)
    rel = stage.rel_pos(h, w, x.device, x.dtype)
    with torch.inference_mode(), fast_kernels(fast):
        got = layer(x, rel)
        q, k, v = _explicit_inputs(layer, x)
        log_g = torch.log(gammas)
        # pass 1: along each row, keys = the same row, decay over |Δcol|
        rows = torch.zeros_like(v)
        for bi in range(b):
            for r in range(h):
                for col in range(w):
                    for hd in range(nh):
                        decay = torch.tensor([abs(col - j) for j in range(w)]) * log_g[hd]
                        rows[bi, r, col, hd] = _softmax_attend(q[bi, r, col, hd], k[bi, r, :, hd], v[bi, r, :, hd], decay)
        # pass 2: along each column on the row result, decay over |Δrow|
        cols = torch.zeros_like(v)
        for bi in range(b):
            for r in range(h):
                for col in range(w):
                    for hd in range(nh):
                        decay = torch.tensor([abs(r - i) for i in range(h)]) * log_g[hd]
                        cols[bi, r, col, hd] = _softmax_attend(q[bi, r, col, hd], k[bi, :, col, hd], rows[bi, :, col, hd], decay)
        want = _finish(layer, cols, x)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fast", [True, False])
def test_full_retention_equals_the_2d_manhattan_formula(fast):
    torch.manual_seed(4)
    b, h, w, c, nh = 1, 3, 3, 8, 2
    layer = ManhattanRetention(c, nh, decomposed=False, lepe_kernel=5, rotary=True).eval()
    from tsfgui.model.retention import RetStage

    stage = RetStage(c, 1, nh, 3.0, False, 2.0, 6.0, [0.0], 5, 3, 3, True)
    gammas = decay_gammas(nh, 2.0, 6.0).float()
    x = torch.randn(b, h, w, c)
    rel = stage.rel_pos(h, w, x.device, x.dtype)
    with torch.inference_mode(), fast_kernels(fast):
        got = layer(x, rel)
        q, k, v = _explicit_inputs(layer, x)
        out = torch.zeros_like(v)
        keys_pos = [(i, j) for i in range(h) for j in range(w)]
        for r in range(h):
            for col in range(w):
                for hd in range(nh):
                    decay = torch.tensor([abs(r - i) + abs(col - j) for i, j in keys_pos]) * torch.log(gammas[hd])
                    out[0, r, col, hd] = _softmax_attend(
                        q[0, r, col, hd], [k[0, i, j, hd] for i, j in keys_pos], [v[0, i, j, hd] for i, j in keys_pos], decay)
        want = _finish(layer, out, x)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_backbone_reaches_14x14x512_from_224():
    cfg = TSFmicroConfig()
    net = RetentiveBackbone(cfg).eval()
    assert [s.decomposed for s in net.stages] == [True, True, False, False]
    assert [len(s.blocks) for s in net.stages] == [1, 1, 2, 1]
    assert [b.drop_path for s in net.stages for b in s.blocks] == pytest.approx([0, 0.025, 0.05, 0.075, 0.1])
    with torch.inference_mode():
        out = net(torch.randn(1, 3, 224, 224).contiguous(memory_format=torch.channels_last))
    assert out.shape == (1, 14, 14, 512)


@pytest.mark.parametrize("fold", [True, False])
def test_a_depthwise_convolution_plus_its_input_is_the_sum_folded_or_not(fold, monkeypatch):
    """``x + DWConv(x)`` (the blocks' position encoding and the FFN's convolution) on the fast path runs
    one convolution with 1 added at its kernel's centre: the same sum as the plain convolution plus the
    input, and a changed kernel is folded again."""
    from tsfgui.model import ops
    from tsfgui.model.retention import DWConv

    monkeypatch.setattr(ops, "_FOLD_IDENTITY", fold)
    torch.manual_seed(5)
    for kernel in (3, 5):
        layer = DWConv(12, kernel).eval()
        x = torch.randn(2, 9, 7, 12)
        with torch.inference_mode():
            got = layer.plus_input(x)
            with fast_kernels(False):
                want = x + layer(x)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
        with torch.no_grad():
            layer.conv.weight.mul_(-2.0)
        kept = layer.conv.weight.detach().clone()
        with torch.inference_mode():
            got = layer.plus_input(x)
            with fast_kernels(False):
                want_changed = x + layer(x)
        assert not torch.allclose(want_changed, want)
        torch.testing.assert_close(got, want_changed, rtol=1e-5, atol=1e-6)
        assert torch.equal(layer.conv.weight, kept)  # the layer's own kernel is untouched
        if fold and ops._HAVE_MKLDNN:
            folded = layer.conv.weight._tsf_identity.state[1]
            centre = torch.zeros_like(folded)
            centre[:, :, kernel // 2, kernel // 2] = 1
            torch.testing.assert_close(folded - kept, centre)


@pytest.mark.parametrize("chunk", [0, 1, 2, 3])
def test_the_temporal_branch_in_chunks_equals_the_whole_batch(chunk, monkeypatch, make_pair):
    """An inference batch runs through the temporal branch in chunks of images (the cache-friendly
    path); outputs and stage maps equal the whole batch's and the plain path's, for any remainder."""
    from tsfgui.model import TSFmicro, retention

    model = TSFmicro(TSFmicroConfig.tiny()).eval().fuse()
    onset, apex = make_pair(5, 32)
    with torch.inference_mode():
        with fast_kernels(False):
            plain, plain_stages = model.forward_temporal(onset, apex, return_stages=True)
        monkeypatch.setattr(retention, "_TEMPORAL_CHUNK", chunk)
        monkeypatch.setattr(retention, "_TEMPORAL_CHUNK_THREADS", torch.get_num_threads())
        got, got_stages = model.forward_temporal(onset, apex, return_stages=True)
        logits = model(onset, apex)
        with fast_kernels(False):
            plain_logits = model(onset, apex)
    torch.testing.assert_close(got, plain, rtol=1e-5, atol=1e-5)
    assert len(got_stages) == len(plain_stages)
    for a, b in zip(got_stages, plain_stages):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits, plain_logits, rtol=1e-5, atol=1e-5)
