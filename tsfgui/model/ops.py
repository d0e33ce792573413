"""Low-level building blocks shared by the two branches: fused CPU kernels with plain fallbacks.

Why this module exists: on the x86 CPUs this tool targets, PyTorch's ``F.linear`` goes to MKL's
SGEMM, which on AMD processors runs an AVX2 code path — about half of what the same cores reach
through oneDNN with AVX-512 (measured with ``bench/model.py``). oneDNN is reachable from eager
PyTorch through the ``torch.ops.mkldnn._linear_pointwise`` / ``_convolution_pointwise`` operators
(the ones TorchInductor emits on CPU); they also fuse the activation (GELU, Swish) or the residual
addition into the matrix product, which removes a pass over memory per layer.

These operators are private and have no autograd formula, so every helper here uses them only when
all of this holds, and otherwise computes the same thing with public operators:

* the fast kernels are enabled (:func:`fast_kernels`, on by default);
* tensors are on the CPU, in ``float32`` or ``bfloat16``;
* no gradient is being recorded for them (``torch.inference_mode``/``torch.no_grad``, or inputs and
  weights that do not require grad).

The fallback path (``fast_kernels(False)``) also computes attention explicitly
(``softmax(QKᵀ·s + mask)·V``) instead of with ``F.scaled_dot_product_attention``: it is the
reference the tests compare the fast path with, and the path on which
``torch.utils.flop_counter.FlopCounterMode`` sees every matrix product.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

import torch
import torch.nn.functional as F

from .cpu_features import cpu_features

__all__ = [
    "fast_kernels", "fast_kernels_enabled", "native_bf16", "kernel_plan", "linear", "conv2d", "attention", "attention_weights",
    "drop_path", "rotary_cis", "apply_rotary", "nhwc_to_nchw", "nchw_to_nhwc", "prepack_linear",
    "depthwise_plus_input", "images_independent",
]

_state = threading.local()
_FAST_DEFAULT = True


def _mkldnn_ops_available() -> bool:
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        torch.ops.mkldnn._linear_pointwise.default  # noqa: B018 (resolves the op or raises)
        torch.ops.mkldnn._convolution_pointwise.default  # noqa: B018
        return True
    except (AttributeError, RuntimeError):
        return False


_HAVE_MKLDNN = _mkldnn_ops_available()


def _bf16_supported() -> bool:
    """oneDNN runs bfloat16 here *with native instructions* (AVX-512-BF16 or AMX, not capped off).

    ``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` alone also says yes on AVX-512 CPUs without
    BF16, where oneDNN emulates it more slowly than float32; the CPU's flags decide.
    """
    try:
        emulated_or_native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
    return emulated_or_native and cpu_features().native_bf16


_HAVE_MKLDNN_BF16 = _HAVE_MKLDNN and _bf16_supported()


def native_bf16() -> bool:
    """Whether bfloat16 inference on this CPU runs on native instructions (the only case it is offered)."""
    return _HAVE_MKLDNN_BF16


def images_independent(module: torch.nn.Module) -> bool:
    """Whether ``module`` treats the images of a batch independently, so that splitting the batch
    gives the same result: it is in eval mode and so is every BatchNorm layer in it (a BatchNorm that
    trains, as when precise-BN statistics are gathered with the rest of the model in eval mode,
    normalises with the statistics of the batch it is given)."""
    return not module.training and not any(m.training for m in module.modules()
                                            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))


def fast_kernels_enabled() -> bool:
    """Whether fused kernels and ``scaled_dot_product_attention`` are used (per thread; default on)."""
    return getattr(_state, "fast", _FAST_DEFAULT)


@contextlib.contextmanager
def fast_kernels(enabled: bool = True) -> Iterator[None]:
    """Turn the fast kernels on or off inside a ``with`` block (this thread only).

    ``fast_kernels(False)`` gives the plain reference computation (public operators, explicit
    attention); results agree with the fast path to float32 rounding.
    """
    previous = fast_kernels_enabled()
    _state.fast = bool(enabled)
    try:
        yield
    finally:
        _state.fast = previous


def _onednn_ok(*tensors: torch.Tensor | None) -> bool:
    """True when the private oneDNN operators may run on these tensors (see module docstring)."""
    if not _HAVE_MKLDNN or not fast_kernels_enabled():
        return False
    first = tensors[0]
    if first.device.type != "cpu" or first.dtype not in (torch.float32, torch.bfloat16):
        return False
    if first.dtype == torch.bfloat16 and not _HAVE_MKLDNN_BF16:  # CPU without AVX-512 (BF16)
        return False
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        return False
    return True


def _activate(y: torch.Tensor, act: str) -> torch.Tensor:
    if act == "none":
        return y
    if act == "gelu":
        return F.gelu(y)
    if act == "swish":
        return F.silu(y)
    raise ValueError(f"unknown activation {act!r}")


class _PackedWeight:
    """A copy derived from a weight and kept on the weight tensor: oneDNN's blocked copy of a linear
    layer's weight (``_tsf_packed``), a depthwise kernel with the identity folded in (``_tsf_identity``).

    Valid while the weight keeps its storage, dtype and version (an optimiser step or ``copy_``
    bumps the version, ``.to()`` moves the storage): :func:`linear` re-packs otherwise (a weight
    made under ``torch.inference_mode`` has no version, so only a move is seen there). It is never
    copied or pickled (a copy of the model packs again on first use).
    """

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: tuple[tuple, torch.Tensor] | None = None

    def __deepcopy__(self, memo: dict) -> "_PackedWeight":
        return _PackedWeight()

    def __reduce__(self):
        return (_PackedWeight, ())


def prepack_linear(weight: torch.Tensor) -> None:
    """Mark ``weight`` (``out × in``) to be used in oneDNN's blocked layout by :func:`linear`'s fast
    path: packed once at its first use (for that call's row count) instead of on every call.

    On one core of a 2-core AMD EPYC this makes the 14×14-token layers (spatial branch, last stage,
    head) 5–10 % faster in isolation and the whole model 1–2 % faster; the result is the same to
    float32 rounding.
    """
    if _HAVE_MKLDNN and not hasattr(weight, "_tsf_packed"):
        weight._tsf_packed = _PackedWeight()


def _weight_key(weight: torch.Tensor) -> tuple:
    """What identifies a weight's values for a copy derived from it: storage, version, dtype, shape."""
    version = -1 if weight.is_inference() else weight._version  # inference tensors keep no version counter
    return (weight.data_ptr(), version, weight.dtype, tuple(weight.shape))


def _packed(weight: torch.Tensor, rows: int) -> torch.Tensor:
    holder = getattr(weight, "_tsf_packed", None)
    if holder is None or not _PACK_LINEAR:
        return weight
    key = _weight_key(weight)
    state = holder.state
    if state is None or state[0] != key:
        state = (key, torch.ops.mkldnn._reorder_linear_weight(weight.detach(), max(int(rows), 1)))
        holder.state = state
    return state[1]


#: Whether ``x + depthwise(x)`` runs as one convolution with the identity folded into the kernel
#: (:func:`depthwise_plus_input`): a switch to measure the two against each other.
_FOLD_IDENTITY = True


def _plus_identity(weight: torch.Tensor) -> torch.Tensor:
    """A depthwise kernel ``(C, 1, k, k)`` with 1 added at its centre tap, kept on the weight
    (``_tsf_identity``, like the packed linear weights) until the weight changes."""
    holder = getattr(weight, "_tsf_identity", None)
    if holder is None:
        holder = weight._tsf_identity = _PackedWeight()
    key = _weight_key(weight)
    state = holder.state
    if state is None or state[0] != key:
        folded = weight.detach().clone()
        folded[:, :, weight.shape[2] // 2, weight.shape[3] // 2] += 1
        state = holder.state = (key, folded)
    return state[1]


def depthwise_plus_input(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                         padding: int) -> torch.Tensor:
    """``x + depthwise_conv(x)`` (stride 1, same size) for an NCHW-shaped (ideally channels-last) ``x``.

    Fast path: one convolution whose kernel has 1 added at its centre tap — the identity folded into
    the kernel, so the result is the same sum without a pass over memory to add ``x`` (0.07–0.9 ms
    less per TSFmicro layer on one core of the AMD EPYC, AVX2 and AVX-512). The two agree to float32
    rounding (``(w + 1)·x`` against ``w·x + x`` at the centre tap).
    """
    odd = weight.shape[2] % 2 == 1 and weight.shape[3] % 2 == 1
    # float32 only: 1 + w in bfloat16 would keep 8 bits of w
    if _FOLD_IDENTITY and odd and x.dtype == torch.float32 and _onednn_ok(x, weight, bias):
        return F.conv2d(x, _plus_identity(weight), bias, 1, padding, 1, weight.shape[0])
    return conv2d(x, weight, bias, 1, padding, weight.shape[0], residual=x)


#: Packing on (default) or off for every weight: a switch to measure the two against each other.
_PACK_LINEAR = True

#: Whether a linear layer's GELU runs as oneDNN's fused epilogue (erf form, the same function as
#: ``F.gelu``). With AVX-512 the epilogue costs less than a separate pass; with AVX2 only it costs more
#: than the product alone plus ATen's in-place GELU — 0.3–1.2 ms per TSFmicro layer on one core of the
#: AMD EPYC capped to AVX2 (``bench/model.py --ops`` prints both) — so the choice follows oneDNN's ISA.
_FUSE_LINEAR_GELU = cpu_features().onednn_avx512


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, act: str = "none",
           residual: torch.Tensor | None = None) -> torch.Tensor:
    """``act(x·Wᵀ + b) + residual`` over the last dim of ``x`` (``act`` ∈ none, gelu, swish).

    With ``residual`` the activation must be ``"none"``; the fast path fuses either into the GEMM
    (with the weight in oneDNN's layout when :func:`prepack_linear` marked it).
    """
    if residual is not None and act != "none":
        raise ValueError("linear: residual and activation cannot be combined")
    if _onednn_ok(x, weight, bias, residual):
        weight = _packed(weight, x.numel() // max(x.shape[-1], 1))
        if residual is not None:
            return torch.ops.mkldnn._linear_pointwise.binary(x, residual, weight, bias, "add")
        if act == "gelu" and _FUSE_LINEAR_GELU:
            return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "gelu", [], "none")
        if act == "gelu":
            return torch.ops.aten.gelu_(torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], ""))
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, act, [], "")
    y = _activate(F.linear(x, weight, bias), act)
    return y if residual is None else y + residual


def kernel_plan() -> dict[str, str]:
    """Which kernel each kind of layer runs on here (for benchmarks and logs)."""
    fused = _HAVE_MKLDNN and fast_kernels_enabled()
    return {
        "cpu": cpu_features().isa_class,
        "linear": ("oneDNN (weights packed after fuse()), residual fused, GELU " +
                   ("fused" if _FUSE_LINEAR_GELU else "in place after (cheaper without AVX-512)"))
                  if fused else "F.linear (MKL)",
        "conv + activation": "oneDNN, activation fused" if fused else "F.conv2d",
        "conv alone, depthwise conv + residual": "F.conv2d (oneDNN via ATen), residual added in place",
        "depthwise conv + its own input": ("one F.conv2d, the identity folded into the kernel's centre"
                                           if fast_kernels_enabled() and _FOLD_IDENTITY else "F.conv2d + addition"),
        "attention": "F.scaled_dot_product_attention" if fast_kernels_enabled() else "explicit softmax(QKᵀ)V",
        "bfloat16": "native (oneDNN)" if _HAVE_MKLDNN_BF16 else "not offered (no native bf16 here)",
    }


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int = 1,
           padding: int = 0, groups: int = 1, act: str = "none",
           residual: torch.Tensor | None = None) -> torch.Tensor:
    """``act(conv(x)) `` or ``conv(x) + residual`` for NCHW-shaped (ideally channels-last) tensors.

    The fused oneDNN operator is used only to fuse an activation: for a convolution alone or a
    depthwise one plus a residual it is no faster than ATen's convolution (which reaches oneDNN
    too) followed by an in-place addition, on AVX2 and on AVX-512 (``bench/model.py --ops``).
    """
    if residual is not None and act != "none":
        raise ValueError("conv2d: residual and activation cannot be combined")
    if act == "none" and _onednn_ok(x, weight, bias, residual):
        y = F.conv2d(x, weight, bias, stride, padding, 1, groups)
        return y if residual is None else y.add_(residual)
    if _onednn_ok(x, weight, bias, residual):
        pad, st, dil = [padding, padding], [stride, stride], [1, 1]
        if residual is not None:
            return torch.ops.mkldnn._convolution_pointwise.binary(
                x, residual, weight, bias, pad, st, dil, groups, "add", None, None, [], None)
        algo = "none" if act == "gelu" else ""
        return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, pad, st, dil, groups, act, [], algo)
    y = _activate(F.conv2d(x, weight, bias, stride, padding, 1, groups), act)
    return y if residual is None else y + residual


def attention_weights(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None,
                      scale: float | None = None) -> torch.Tensor:
    """``softmax(q·kᵀ·scale + mask)`` for ``(..., L, d)`` tensors: the attention matrix, explicitly."""
    s = q.shape[-1] ** -0.5 if scale is None else scale
    scores = torch.matmul(q, k.transpose(-1, -2))
    if s != 1.0:
        scores = scores * s
    if mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-1)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
              scale: float | None = None) -> torch.Tensor:
    """``softmax(q·kᵀ·scale + mask)·v`` for ``(N, heads, L, d)`` tensors (any strides, last dim dense).

    Fast path: ``F.scaled_dot_product_attention`` with the additive float mask (fused, never forms
    the L×L matrix in memory at once on CPU); reference path: the explicit product.
    """
    if fast_kernels_enabled():
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    return torch.matmul(attention_weights(q, k, mask, scale), v)


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth: drop the whole residual branch per sample with probability ``p``."""
    if p <= 0.0 or not training:
        return x
    keep = 1.0 - p
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return x * x.new_empty(shape).bernoulli_(keep).div_(keep)


# rotary position (as in the RMT code the authors build on) -----------------------------------------

def rotary_cis(h: int, w: int, head_dim: int, device: torch.device | None = None,
               dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos, sin)`` tables of shape ``(h, w, 1, head_dim/2)`` for the rotary position of RMT.

    Token ``(r, c)`` has the raster index ``n = r·w + c``; channel pair ``j`` is rotated by
    ``n·θ_j`` with ``θ_j = 10000^(−j/(head_dim/2 − 1))`` (``linspace(0, 1)`` exponents, as in
    RMT). The same tables turn queries and keys (the attention scale is the attention's).
    """
    half = head_dim // 2
    exps = torch.linspace(0.0, 1.0, half, dtype=torch.float64)
    theta = 1.0 / (10000.0 ** exps)
    n = torch.arange(h * w, dtype=torch.float64)
    ang = n[:, None] * theta[None, :]
    cos = torch.cos(ang).reshape(h, w, 1, half)
    sin = torch.sin(ang).reshape(h, w, 1, half)
    return cos.to(device=device, dtype=dtype), sin.to(device=device, dtype=dtype)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                 cis: torch.Tensor | None = None) -> torch.Tensor:
    """Rotate channel pairs of ``x`` ``(B, H, W, heads, d)`` (any strides, last dim dense).

    Pair ``(x₀, x₁)`` becomes ``(x₀·cos − x₁·sin, x₁·cos + x₀·sin)``; returns a new contiguous
    tensor. ``cis`` (``cos + i·sin`` as complex64) makes it one complex multiplication (float32,
    and bfloat16/float16 rotated in float32).
    """
    *lead, d = x.shape
    if cis is not None and x.dtype in (torch.bfloat16, torch.float16):
        # no complex type for these: rotate in float32 (one multiplication), store back
        return apply_rotary(x.float(), cos, sin, cis).to(x.dtype)
    pairs = x.unflatten(-1, (d // 2, 2))
    if cis is not None and x.dtype == torch.float32 and pairs.storage_offset() % 2 == 0 and \
            all(s % 2 == 0 for s in pairs.stride()[:-1]):
        return torch.view_as_real(torch.view_as_complex(pairs) * cis).flatten(-2)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    x0, x1 = pairs.unbind(-1)
    return torch.stack((x0 * cos - x1 * sin, x1 * cos + x0 * sin), dim=-1).flatten(-2)


# layout helpers ---------------------------------------------------------------------------------------

def nhwc_to_nchw(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, W, C)`` → ``(B, C, H, W)`` view (channels-last memory when ``x`` is contiguous)."""
    return x.permute(0, 3, 1, 2)


def nchw_to_nhwc(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` → contiguous ``(B, H, W, C)`` (a view for channels-last input, else one copy)."""
    return x.permute(0, 2, 3, 1).contiguous()
