"""The temporal branch: a retentive vision backbone (RMT form of RetNet) over ``apex − onset``.

Structure (paper, and the authors' public configuration of RMT):

* **Stem**, overall stride 2: four 3×3 convolutions, each followed by BatchNorm, GELU between them
  — ``in→d/2`` (stride 2), ``d/2→d/2``, ``d/2→d``, ``d→d`` with ``d = embed_dims[0]``. The stride
  sits in the first convolution; the other three keep the resolution.
* **Four stages** of retention blocks on grids of 112, 56, 28 and 14 tokens per side (224 input),
  separated by **patch merging** = 3×3 convolution with stride 2 and BatchNorm. Stem stride 2 times
  three stride-2 mergings gives the overall stride 16 that ends at 14×14×512; the last stage has no
  merging after it.
* **Block**: ``x += DWConv3×3(x)`` (conditional position encoding), ``x += MaSA(LN(x))``,
  ``x += FFN(LN(x))`` with ``FFN = fc2(g + DWConv3×3(g)), g = GELU(fc1(x))`` (hidden = 3×dim).
  Drop-path rates rise linearly from 0 to 0.1 over the five blocks.
* **Manhattan self-attention (MaSA)**: per head ``h`` a decay ``γ_h = 1 − 2^(−init − range·h/heads)``;
  the score of query ``n`` for key ``m`` gets ``(|Δrow| + |Δcol|)·log γ_h`` added before the
  softmax, i.e. the attention weights are multiplied by ``γ_h^(|Δrow|+|Δcol|)`` and renormalised.
  Stages 1–2 use the *decomposed* form: attention along each row with the 1-D decay
  ``|Δcol|·log γ``, then along each column with ``|Δrow|·log γ`` on the row result (values of the
  second pass = output of the first; queries and keys are the same for both). Stages 3–4 use the
  full 2-D mask. A 5×5 depthwise convolution of V (LePE) is added to the attention output before the
  output projection.

Choices where the paper is silent, all as in the RMT code the authors build on:

* Queries and keys get RMT's rotary position (channel pairs rotated by the raster index of the token,
  :func:`~tsfgui.model.ops.rotary_cis`); ``TSFmicroConfig.rotary=False`` leaves it out.
* Scores are scaled by ``head_dim^-½``; Q, K and V come from one fused linear layer (``qkv``) —
  mathematically the same as three separate projections (legacy weights are concatenated on import).
* The decay rates are constants derived from the configuration, not learned and not stored in
  weights files.
* Initialisation: linear weights truncated-normal (std 0.02) with zero bias, LayerNorm (1, 0),
  convolutions PyTorch's default.

Tensors inside the backbone are ``(B, H, W, C)`` (channels-last) throughout: linear layers act on
the last dimension directly, and a ``permute`` gives the channels-last NCHW view the convolutions
take, so no layout copies are made between layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import ops
from .config import TSFmicroConfig

__all__ = [
    "decay_gammas", "manhattan_decay_mask", "axial_decay_mask", "ManhattanRetention", "RetBlock",
    "RetStage", "RetentiveBackbone", "ConvBN", "init_weights", "count_backbone_flops",
]


# decay masks ------------------------------------------------------------------------------------------

def decay_gammas(num_heads: int, init: float, heads_range: float) -> torch.Tensor:
    """Per-head decay ``γ_h = 1 − 2^(−init − range·h/heads)``, ``h = 0 … heads−1`` (float64)."""
    h = torch.arange(num_heads, dtype=torch.float64)
    return 1.0 - 2.0 ** (-init - heads_range * h / num_heads)


def manhattan_decay_mask(h: int, w: int, gammas: torch.Tensor) -> torch.Tensor:
    """Log-space 2-D decay ``(heads, h·w, h·w)``: entry ``[k, n, m] = (|r_n − r_m| + |c_n − c_m|)·log γ_k``.

    Tokens are in raster order (``n = r·w + c``). Added to the scores before the softmax.
    """
    r = torch.arange(h, dtype=torch.float64).repeat_interleave(w)
    c = torch.arange(w, dtype=torch.float64).repeat(h)
    dist = (r[:, None] - r[None, :]).abs() + (c[:, None] - c[None, :]).abs()
    return dist[None] * torch.log(gammas.to(torch.float64))[:, None, None]


def axial_decay_mask(n: int, gammas: torch.Tensor) -> torch.Tensor:
    """Log-space 1-D decay ``(heads, n, n)``: ``[k, i, j] = |i − j|·log γ_k`` (decomposed form)."""
    i = torch.arange(n, dtype=torch.float64)
    return (i[:, None] - i[None, :]).abs()[None] * torch.log(gammas.to(torch.float64))[:, None, None]


@dataclass
class RelPos:
    """Per-resolution constants of one stage: decay mask(s) and rotary tables (see :meth:`RetStage.rel_pos`)."""

    mask: torch.Tensor | None  # (1, heads, L, L) full form
    mask_row: torch.Tensor | None  # (1, heads, W, W): along a row (decay over |Δcol|)
    mask_col: torch.Tensor | None  # (1, heads, H, H): along a column (decay over |Δrow|)
    cos: torch.Tensor | None  # rotary tables (h, w, 1, d/2), the same for queries and keys
    sin: torch.Tensor | None
    cis: torch.Tensor | None  # complex64 version (float32 and the 16-bit types, which rotate in float32)


# layers -----------------------------------------------------------------------------------------------

def init_weights(module: nn.Module) -> None:
    """Truncated-normal (std 0.02) linear weights with zero bias; LayerNorm weight 1, bias 0."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def fold_batchnorm(weight: torch.Tensor, bias: torch.Tensor,
                   bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of a convolution or linear layer with the eval-mode BatchNorm after it
    folded in (output channels first)."""
    with torch.no_grad():
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        folded = weight * scale.reshape(-1, *([1] * (weight.ndim - 1)))
        return folded.detach(), ((bias - bn.running_mean) * scale + bn.bias).detach()


class FoldsBatchNorm(nn.Module):
    """A layer followed by a BatchNorm that :meth:`fuse` folds together once for inference; training
    mode drops the folded pair, moving the module moves it. Subclasses say what to fold (:meth:`_fold`)."""

    def __init__(self) -> None:
        super().__init__()
        self.folded: tuple[torch.Tensor, torch.Tensor] | None = None

    def _fold(self) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def folded_or_now(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The folded ``(weight, bias)``: the one :meth:`fuse` kept, or folded now."""
        return self.folded or self._fold()

    def fuse(self) -> None:
        """Fold the BatchNorm into the layer before it, once (inference)."""
        self.folded = self._fold()

    def train(self, mode: bool = True):
        if mode:
            self.folded = None
        return super().train(mode)

    def _apply(self, fn, recurse=True):
        if self.folded is not None:
            self.folded = tuple(fn(t) for t in self.folded)
        return super()._apply(fn, recurse)


class ConvBN(FoldsBatchNorm):
    """Convolution + BatchNorm (+ GELU) on NCHW-shaped channels-last tensors.

    In eval mode the fast path runs the convolution with the BatchNorm folded in and the GELU fused;
    :meth:`fuse` folds it once (inference), else each forward folds it.
    """

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, act: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def _fold(self) -> tuple[torch.Tensor, torch.Tensor]:
        return fold_batchnorm(self.conv.weight, self.conv.bias, self.bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv, bn = self.conv, self.bn
        act = "gelu" if self.act else "none"
        if not bn.training and ops._onednn_ok(x, conv.weight):
            weight, bias = self.folded_or_now()
            return ops.conv2d(x, weight.to(x.dtype), bias.to(x.dtype), conv.stride[0], conv.padding[0], 1, act)
        y = bn(F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding))
        return F.gelu(y) if self.act else y


class DWConv(nn.Module):
    """Depthwise ``k×k`` convolution of a ``(B, H, W, C)`` tensor, optionally plus a residual."""

    def __init__(self, dim: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, kernel, 1, kernel // 2, groups=dim)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        c = self.conv
        res = None if residual is None else ops.nhwc_to_nchw(residual)
        y = ops.conv2d(ops.nhwc_to_nchw(x), c.weight, c.bias, 1, c.padding[0], c.groups, residual=res)
        return ops.nchw_to_nhwc(y)

    def plus_input(self, x: torch.Tensor) -> torch.Tensor:
        """``x + DWConv(x)``: on the fast path one convolution with the identity folded into its kernel
        (:func:`~tsfgui.model.ops.depthwise_plus_input`)."""
        c = self.conv
        return ops.nchw_to_nhwc(ops.depthwise_plus_input(ops.nhwc_to_nchw(x), c.weight, c.bias, c.padding[0]))


class ManhattanRetention(nn.Module):
    """Manhattan self-attention with LePE (see module docstring); decomposed or full 2-D form."""

    def __init__(self, dim: int, num_heads: int, decomposed: bool, lepe_kernel: int = 5, rotary: bool = True):
        super().__init__()
        self.dim, self.num_heads, self.decomposed, self.rotary = dim, num_heads, decomposed, rotary
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.lepe = DWConv(dim, lepe_kernel)
        self.proj = nn.Linear(dim, dim)

    def _qk(self, qkv: torch.Tensor, rel: RelPos) -> tuple[torch.Tensor, torch.Tensor]:
        """Queries and keys ``(B, H, W, heads, d)`` from the ``qkv`` projection, rotated (rotary
        position) in one pass over both: the same table turns a query and a key of one token."""
        c, nh, d = self.dim, self.num_heads, self.head_dim
        qk = qkv[..., :2 * c].unflatten(-1, (2 * nh, d))
        if self.rotary:
            qk = ops.apply_rotary(qk, rel.cos, rel.sin, rel.cis)
        return qk[..., :nh, :], qk[..., nh:, :]

    def core(self, x: torch.Tensor, rel: RelPos) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention output before LePE and projection, ``(B, H, W, C)``, and the value tensor."""
        b, h, w, c = x.shape
        nh, d = self.num_heads, self.head_dim
        qkv = ops.linear(x, self.qkv.weight, self.qkv.bias)
        q, k = self._qk(qkv, rel)
        v = qkv[..., 2 * c:]
        v5 = v.unflatten(-1, (nh, d))
        scale = d ** -0.5
        if self.decomposed:
            # along each row (keys of the same row), decay over |Δcol|
            o = ops.attention(q.flatten(0, 1).transpose(1, 2), k.flatten(0, 1).transpose(1, 2),
                              v5.flatten(0, 1).transpose(1, 2), rel.mask_row, scale=scale)
            o = o.transpose(1, 2).reshape(b, h, w, nh, d)
            # along each column on the row result, decay over |Δrow|; one call per image keeps all
            # three operands as strided views (the kernel reads the column order directly)
            cols = [
                ops.attention(q[i].permute(1, 2, 0, 3), k[i].permute(1, 2, 0, 3), o[i].permute(1, 2, 0, 3),
                              rel.mask_col, scale=scale).permute(2, 0, 1, 3)
                for i in range(b)
            ]
            out = cols[0].unsqueeze(0) if b == 1 else torch.stack(cols)
            out = out.reshape(b, h, w, c)
        else:
            o = ops.attention(q.flatten(1, 2).transpose(1, 2), k.flatten(1, 2).transpose(1, 2),
                              v5.flatten(1, 2).transpose(1, 2), rel.mask, scale=scale)
            out = o.transpose(1, 2).reshape(b, h, w, c)
        return out, v

    def forward(self, x: torch.Tensor, rel: RelPos, residual: torch.Tensor | None = None) -> torch.Tensor:
        out, v = self.core(x, rel)
        # attention output + DWConv5×5(V); V made dense first: oneDNN's depthwise convolution of the
        # strided slice of qkv costs more than the copy (1.04 against 0.53 + 0.11 ms at 112², one core)
        out = self.lepe(v.contiguous(), residual=out)
        return ops.linear(out, self.proj.weight, self.proj.bias, residual=residual)


class FFN(nn.Module):
    """``fc2(g + DWConv(g))`` with ``g = GELU(fc1(x))``."""

    def __init__(self, dim: int, hidden: int, kernel: int = 3):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = DWConv(hidden, kernel)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        g = ops.linear(x, self.fc1.weight, self.fc1.bias, act="gelu")
        g = self.dwconv.plus_input(g)
        return ops.linear(g, self.fc2.weight, self.fc2.bias, residual=residual)


class RetBlock(nn.Module):
    """One retention block: CPE, MaSA, FFN, each with a residual (pre-norm for MaSA and FFN)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, decomposed: bool, drop_path: float,
                 lepe_kernel: int, cpe_kernel: int, ffn_kernel: int, rotary: bool):
        super().__init__()
        self.cpe = DWConv(dim, cpe_kernel)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = ManhattanRetention(dim, num_heads, decomposed, lepe_kernel, rotary)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.ffn = FFN(dim, int(dim * mlp_ratio), ffn_kernel)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor, rel: RelPos) -> torch.Tensor:
        x = self.cpe.plus_input(x)
        if self.training and self.drop_path > 0:
            x = x + ops.drop_path(self.attn(self.norm1(x), rel), self.drop_path, True)
            return x + ops.drop_path(self.ffn(self.norm2(x)), self.drop_path, True)
        x = self.attn(self.norm1(x), rel, residual=x)
        return self.ffn(self.norm2(x), residual=x)


class RetStage(nn.Module):
    """A stage of retention blocks sharing one decay (and rotary tables) at one resolution."""

    def __init__(self, dim: int, depth: int, num_heads: int, mlp_ratio: float, decomposed: bool,
                 decay_init: float, decay_range: float, drop_paths: list[float], lepe_kernel: int,
                 cpe_kernel: int, ffn_kernel: int, rotary: bool):
        super().__init__()
        self.dim, self.num_heads, self.decomposed, self.rotary = dim, num_heads, decomposed, rotary
        self.register_buffer("gammas", decay_gammas(num_heads, decay_init, decay_range).float(), persistent=False)
        self._gammas64 = decay_gammas(num_heads, decay_init, decay_range)
        self.blocks = nn.ModuleList(
            RetBlock(dim, num_heads, mlp_ratio, decomposed, drop_paths[i], lepe_kernel, cpe_kernel,
                     ffn_kernel, rotary)
            for i in range(depth)
        )
        self._cache: dict[tuple, RelPos] = {}

    def decay_mask(self, h: int, w: int) -> torch.Tensor:
        """The stage's full 2-D log-space decay ``(heads, h·w, h·w)`` (float64)."""
        return manhattan_decay_mask(h, w, self._gammas64)

    def rel_pos(self, h: int, w: int, device: torch.device, dtype: torch.dtype) -> RelPos:
        """Masks and rotary tables for an ``h×w`` grid, built once per (size, device, dtype)."""
        key = (h, w, str(device), dtype)
        rel = self._cache.get(key)
        if rel is not None:
            return rel
        with torch.inference_mode(False), torch.no_grad():  # cached tensors must work with autograd too
            g = self._gammas64
            conv = dict(device=device, dtype=dtype)
            mask = mask_row = mask_col = None
            if self.decomposed:
                mask_row = axial_decay_mask(w, g)[None].to(**conv)
                mask_col = axial_decay_mask(h, g)[None].to(**conv)
            else:
                mask = manhattan_decay_mask(h, w, g)[None].to(**conv)
            cos = sin = cis = None
            if self.rotary:
                cos, sin = ops.rotary_cis(h, w, self.dim // self.num_heads, device, dtype)
                if dtype in (torch.float32, torch.bfloat16, torch.float16):
                    cis = torch.complex(cos.float(), sin.float())
            rel = RelPos(mask, mask_row, mask_col, cos, sin, cis)
        self._cache[key] = rel
        return rel

    def _apply(self, fn, recurse=True):  # moving the module drops the cached constants
        self._cache = {}
        return super()._apply(fn, recurse)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h, w, _ = x.shape
        rel = self.rel_pos(h, w, x.device, x.dtype)
        for blk in self.blocks:
            x = blk(x, rel)
        return x


class PatchMerging(nn.Module):
    """3×3 stride-2 convolution + BatchNorm between stages, ``(B, H, W, C) → (B, H/2, W/2, C')``."""

    def __init__(self, dim: int, out_dim: int):
        super().__init__()
        self.reduction = ConvBN(dim, out_dim, 3, 2, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ops.nchw_to_nhwc(self.reduction(ops.nhwc_to_nchw(x)))


#: Images per chunk the temporal branch runs a larger inference batch in (0: the whole batch at once),
#: with at most :data:`_TEMPORAL_CHUNK_THREADS` intra-op threads. On one core of the 2-core AMD EPYC,
#: batch 8, CPU time, other engineers' jobs on the other core (load average 6–8): chunks of 2 were
#: 1.10–1.16× the whole batch capped to AVX2 and 1.13× natively (chunks of 1: 1.05–1.13×, of 4: 1.03×);
#: at load ~3 the same speed (1.00×). With 2 threads at load ~3.5 chunks were 0.67× (4× as many parallel regions,
#: each waiting for a thread the other jobs preempt), so only a single-threaded model chunks.
_TEMPORAL_CHUNK = 2
_TEMPORAL_CHUNK_THREADS = 1


class RetentiveBackbone(nn.Module):
    """The temporal branch: stem + stages + patch mergings; input NCHW, output ``(B, h, w, C)``."""

    def __init__(self, config: TSFmicroConfig):
        super().__init__()
        cfg = config
        d0 = cfg.embed_dims[0]
        self.stem = nn.Sequential(
            ConvBN(cfg.in_chans, d0 // 2, 3, 2, act=True),
            ConvBN(d0 // 2, d0 // 2, 3, 1, act=True),
            ConvBN(d0 // 2, d0, 3, 1, act=True),
            ConvBN(d0, d0, 3, 1, act=False),
        )
        n = cfg.num_stages
        total = sum(cfg.depths)
        rates = [cfg.drop_path_rate * i / (total - 1) if total > 1 else 0.0 for i in range(total)]
        self.stages = nn.ModuleList()
        self.merges = nn.ModuleList()
        start = 0
        for i in range(n):
            self.stages.append(RetStage(
                cfg.embed_dims[i], cfg.depths[i], cfg.num_heads[i], cfg.mlp_ratio, cfg.decomposed[i],
                cfg.decay_init, cfg.decay_ranges[i], rates[start:start + cfg.depths[i]], cfg.lepe_kernel,
                cfg.cpe_kernel, cfg.ffn_kernel, cfg.rotary,
            ))
            start += cfg.depths[i]
            if i < n - 1:
                self.merges.append(PatchMerging(cfg.embed_dims[i], cfg.embed_dims[i + 1]))
        self.apply(init_weights)

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        """``x``: ``(B, C, H, W)`` (channels-last preferred). Returns ``(B, h, w, C)``, and with
        ``return_stages`` also the list of every stage's output ``(B, h_i, w_i, C_i)``.

        For inference on the fast path with one intra-op thread, a batch larger than
        :data:`_TEMPORAL_CHUNK` images runs through in chunks of that many (the images are independent;
        training keeps the whole batch for its BatchNorm statistics): the first stages' activations of
        a whole batch of 8 (10 MB per image and tensor at 112×112×192) overflow caches shared with
        other processes, those of 2 images less so.
        """
        chunk = _TEMPORAL_CHUNK if torch.get_num_threads() <= _TEMPORAL_CHUNK_THREADS else 0
        if chunk and x.shape[0] > chunk and ops.fast_kernels_enabled() and ops.images_independent(self):
            parts = [self._forward(part, return_stages) for part in x.split(chunk)]
            if not return_stages:
                return torch.cat(parts)
            return (torch.cat([p[0] for p in parts]),
                    [torch.cat([p[1][i] for p in parts]) for i in range(len(parts[0][1]))])
        return self._forward(x, return_stages)

    def _forward(self, x: torch.Tensor, return_stages: bool):
        x = self.stem(x)
        x = ops.nchw_to_nhwc(x)
        stages = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if return_stages:
                stages.append(x)
            if i < len(self.merges):
                x = self.merges[i](x)
        return (x, stages) if return_stages else x


def count_backbone_flops(config: TSFmicroConfig) -> dict[str, float]:
    """Analytic FLOPs (2 per multiply-add) of the temporal branch's convolutions and matrix products.

    Element-wise work (norms, activations, softmax, the mask addition) is not counted, like
    ``FlopCounterMode``. Returns a dict part → FLOPs for one image pair.
    """
    cfg = config
    out: dict[str, float] = {}
    s = cfg.img_size // 2
    d0 = cfg.embed_dims[0]
    conv = lambda cin, cout, k, hw, groups=1: 2.0 * cin // groups * cout * k * k * hw * hw  # noqa: E731
    out["stem"] = conv(cfg.in_chans, d0 // 2, 3, s) + conv(d0 // 2, d0 // 2, 3, s) + conv(d0 // 2, d0, 3, s) \
        + conv(d0, d0, 3, s)
    for i, (dim, depth, heads) in enumerate(zip(cfg.embed_dims, cfg.depths, cfg.num_heads)):
        n = s * s
        hid = int(dim * cfg.mlp_ratio)
        per = 0.0
        per += conv(dim, dim, cfg.cpe_kernel, s, dim)
        per += 2.0 * n * dim * 3 * dim + 2.0 * n * dim * dim  # qkv + proj
        per += conv(dim, dim, cfg.lepe_kernel, s, dim)
        if cfg.decomposed[i]:
            per += 2 * (2.0 * 2 * n * s * dim)  # rows and columns: QKᵀ and PV over s keys each
        else:
            per += 2.0 * 2 * n * n * dim
        per += 2.0 * 2 * n * dim * hid + conv(hid, hid, cfg.ffn_kernel, s, hid)
        out[f"stage{i + 1}"] = per * depth
        if i < cfg.num_stages - 1:
            out[f"merge{i + 1}"] = conv(dim, cfg.embed_dims[i + 1], 3, s // 2)
            s //= 2
    return out

