"""The spatial branch ("position calibration module"): a shallow ViT over the onset frame.

The onset frame (normalised, ``B×3×224×224``) is resized to the fused-map resolution (14×14) and
every pixel becomes a token (patch size 1, 196 tokens): a linear embedding ``3 → 512`` (the same as
a 1×1 convolution), plus a learned position embedding, then 2 pre-norm Transformer blocks (4 heads,
MLP ratio 4, GELU, qkv bias), a final LayerNorm, and the tokens reshaped to ``14×14×512``. There is
no class token.

Choices where the paper is silent (as in the authors' code): the resize is bilinear with
antialiasing (what ``torchvision.transforms.Resize`` does to tensors), LayerNorm ε = 1e-6, no
drop-path, truncated-normal (std 0.02) init of linear layers and of the position embedding, the
embedding layer keeps PyTorch's default (Kaiming-uniform) init of a 1×1 convolution.

Tokens are in raster order (row by row), so token ``n`` is pixel ``(n // 14, n % 14)``; attention
matrices returned by :meth:`SpatialViT.forward` with ``need_weights=True`` are
``(B, heads, 196, 196)`` with rows = queries, columns = keys.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import ops
from .retention import init_weights

__all__ = ["SpatialViT", "resize_reference"]


def resize_reference(onset: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a normalised ``(B, C, H, W)`` batch to ``size×size`` (bilinear, antialiased)."""
    if onset.shape[-2:] == (size, size):
        return onset
    x = onset if onset.dtype in (torch.float32, torch.float64) else onset.float()  # no bf16/fp16 kernel
    out = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return out.to(onset.dtype)


class SpatialAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None, need_weights: bool = False):
        b, n, c = x.shape
        qkv = ops.linear(x, self.qkv.weight, self.qkv.bias).unflatten(-1, (3, self.num_heads, self.head_dim))
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # (B, heads, N, d) strided views
        weights = None
        if need_weights:
            weights = ops.attention_weights(q, k)
            out = torch.matmul(weights, v)
        else:
            out = ops.attention(q, k, v)
        out = out.transpose(1, 2).reshape(b, n, c)
        return ops.linear(out, self.proj.weight, self.proj.bias, residual=residual), weights


class SpatialBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = SpatialAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.ModuleDict({"fc1": nn.Linear(dim, hidden), "fc2": nn.Linear(hidden, dim)})

    def forward(self, x: torch.Tensor, need_weights: bool = False):
        x, weights = self.attn(self.norm1(x), residual=x, need_weights=need_weights)
        fc1, fc2 = self.mlp["fc1"], self.mlp["fc2"]
        h = ops.linear(self.norm2(x), fc1.weight, fc1.bias, act="gelu")
        return ops.linear(h, fc2.weight, fc2.bias, residual=x), weights


class SpatialViT(nn.Module):
    """Shallow ViT with patch size 1 on a ``size×size`` image; output ``(B, size, size, dim)``."""

    def __init__(self, size: int, dim: int, depth: int, num_heads: int, mlp_ratio: float, in_chans: int = 3):
        super().__init__()
        self.size, self.dim = size, dim
        self.patch_embed = nn.Linear(in_chans, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, size * size, dim))
        self.blocks = nn.ModuleList(SpatialBlock(dim, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.apply(init_weights)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        # the embedding is a 1×1 convolution in the paper: keep that layer's default init
        nn.init.kaiming_uniform_(self.patch_embed.weight, a=math.sqrt(5))
        bound = 1.0 / math.sqrt(in_chans)
        nn.init.uniform_(self.patch_embed.bias, -bound, bound)

    def forward(self, image: torch.Tensor, need_weights: bool = False):
        """``image``: ``(B, C, size, size)``. Returns ``(tokens as (B, size, size, dim), attentions)``
        where ``attentions`` is a list (one ``(B, heads, N, N)`` per block) or ``None``."""
        b, c, h, w = image.shape
        if (h, w) != (self.size, self.size):
            raise ValueError(f"spatial branch expects {self.size}×{self.size} input, got {h}×{w}")
        tokens = image.permute(0, 2, 3, 1).reshape(b, h * w, c)
        x = ops.linear(tokens, self.patch_embed.weight, self.patch_embed.bias) + self.pos_embed
        attns = [] if need_weights else None
        for blk in self.blocks:
            x, a = blk(x, need_weights)
            if need_weights:
                attns.append(a)
        x = self.norm(x)
        return x.view(b, h, w, self.dim), attns
