"""Where one forward pass's time goes, against the machine's matrix-product rate.

The model's utilisation (its counted FLOPs per second over ``torch.mm``'s) can fall short for two
reasons: its matrix products and convolutions run below ``torch.mm``'s rate, or time goes to work the
count leaves out — the attention's mask and softmax, depthwise convolutions (a handful of FLOPs over
megabytes), activations, norms, copies. :func:`measure_budget` tells them apart on one core, every
operator timed by the thread's CPU time under a dispatch mode (so other processes' load hardly
changes the figures), the attention's two products timed alone at the same shapes, and
:attr:`Budget.ceiling` is the utilisation the model would reach if every counted product ran exactly at
``torch.mm``'s rate and everything else took what it takes now: the most that faster matrix kernels
alone could give on this CPU; :attr:`Budget.ceiling_torch_kernels` the same with the attention's
products at the rate ``torch.matmul`` reaches for them alone (their head dimensions are small).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["Budget", "OpClass", "measure_budget", "op_class", "counted_flops", "CLASSES"]

LINEAR = "linear layers"
DENSE_CONV = "dense convolutions"
ATTN_PRODUCTS = "attention: its two matrix products"
ATTN_REST = "attention: mask, softmax, the rest"
DEPTHWISE = "depthwise convolutions"
ELEMENTWISE = "element-wise, norms, copies"
FRAMEWORK = "framework (Python, dispatch)"
#: the classes in the order they are printed; the first three are the counted products
CLASSES = (LINEAR, DENSE_CONV, ATTN_PRODUCTS, ATTN_REST, DEPTHWISE, ELEMENTWISE, FRAMEWORK)
PRODUCTS = (LINEAR, DENSE_CONV, ATTN_PRODUCTS)

_LINEAR_OPS = {"aten.linear", "aten.addmm", "aten.mm", "aten.bmm", "aten.matmul", "aten.baddbmm",
               "mkldnn._linear_pointwise"}
_CONV_OPS = {"aten.conv2d", "aten.convolution", "aten._convolution", "mkldnn._convolution_pointwise"}
_ATTENTION_OPS = {"aten.scaled_dot_product_attention"}


def _tensors(args) -> list[torch.Tensor]:
    return [a for a in args if isinstance(a, torch.Tensor)]


def _conv_groups(name: str, args) -> int:
    if name == "aten.conv2d" and len(args) > 6:
        return int(args[6])
    if name in ("aten.convolution", "aten._convolution") and len(args) > 8:
        return int(args[8])
    if name == "mkldnn._convolution_pointwise" and len(args) > 6:
        return int(args[6])
    return 1


def op_class(name: str, args) -> str:
    """The class of one operator call (``name`` as ``str(func.overloadpacket)``)."""
    if name in _LINEAR_OPS:
        return LINEAR
    if name in _CONV_OPS:
        return DEPTHWISE if _conv_groups(name, args) > 1 else DENSE_CONV
    if name in _ATTENTION_OPS:
        return ATTN_PRODUCTS  # split into products and the rest by measure_budget
    return ELEMENTWISE


def counted_flops(name: str, args, out) -> float:
    """FLOPs of one call as the model's analytic count takes them (2 per multiply-add; products only)."""
    ins = _tensors(args)
    if not ins or not isinstance(out, torch.Tensor):
        return 0.0
    x = ins[0]
    if name in _LINEAR_OPS and name not in ("aten.bmm", "aten.mm", "aten.matmul", "aten.baddbmm", "aten.addmm"):
        return 2.0 * x.numel() * out.shape[-1]  # x (…, K) → out (…, N)
    if name in ("aten.mm", "aten.bmm", "aten.matmul", "aten.baddbmm", "aten.addmm"):
        k = ins[-1].shape[-2] if ins[-1].dim() >= 2 else ins[-1].shape[-1]
        return 2.0 * out.numel() * k
    if name in _CONV_OPS:
        w = ins[1] if len(ins) > 1 else None
        if w is None or w.dim() != 4:
            return 0.0
        return 2.0 * out.numel() * w.shape[1] * w.shape[2] * w.shape[3]
    if name in _ATTENTION_OPS:
        q, k, v = ins[:3]
        lead = q.numel() // (q.shape[-2] * q.shape[-1])
        return 2.0 * lead * q.shape[-2] * k.shape[-2] * (q.shape[-1] + v.shape[-1])
    return 0.0


@dataclass
class OpClass:
    name: str
    seconds: float = 0.0   # CPU seconds per pair
    gflop: float = 0.0     # counted GFLOP per pair
    calls: int = 0         # calls per forward pass

    def excess(self, mm_gflops: float) -> float:
        """Seconds per pair beyond what its counted FLOPs take at ``torch.mm``'s rate."""
        return self.seconds - self.gflop / mm_gflops


@dataclass
class Budget:
    batch: int
    mm_gflops: float                 # torch.mm 2048², one core, CPU time
    forward_seconds: float           # one pair, uninstrumented forward pass, one core
    gflop: float                     # counted GFLOP per pair (the operators' sum)
    classes: dict[str, OpClass] = field(default_factory=dict)

    @property
    def utilisation(self) -> float:
        return self.gflop / self.forward_seconds / self.mm_gflops

    @property
    def not_products_seconds(self) -> float:
        """Per pair: the time of everything but the counted products."""
        return sum(c.seconds for n, c in self.classes.items() if n not in PRODUCTS)

    @property
    def ceiling(self) -> float:
        """Utilisation if every counted product ran at ``torch.mm``'s rate and the rest took what it takes."""
        at_rate = self.gflop / self.mm_gflops
        return at_rate / (at_rate + self.not_products_seconds)

    @property
    def ceiling_torch_kernels(self) -> float:
        """Utilisation if the linear layers and dense convolutions ran at ``torch.mm``'s rate, the
        attention's products took what ``torch.matmul`` takes for them alone (the best torch's own
        kernels give at those shapes) and the rest what it takes now."""
        attn = self.classes.get(ATTN_PRODUCTS, OpClass(ATTN_PRODUCTS))
        at_rate = (self.gflop - attn.gflop) / self.mm_gflops
        return self.gflop / self.mm_gflops / (at_rate + attn.seconds + self.not_products_seconds)


class _OpTimer(TorchDispatchMode):
    """Times every operator the forward pass dispatches (top level only) by the thread's CPU time."""

    def __init__(self) -> None:
        super().__init__()
        self.classes: dict[str, OpClass] = {}
        self.attention_shapes: list[tuple[torch.Size, torch.Size, torch.Size]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func.overloadpacket)
        t0 = time.thread_time()
        out = func(*args, **(kwargs or {}))
        spent = time.thread_time() - t0
        cls = op_class(name, args)
        entry = self.classes.setdefault(cls, OpClass(cls))
        entry.seconds += spent
        entry.calls += 1
        entry.gflop += counted_flops(name, args, out) / 1e9
        if name in _ATTENTION_OPS:
            q, k, v = _tensors(args)[:3]
            self.attention_shapes.append((q.shape, k.shape, v.shape))
        return out


def _products_alone(shapes: list[tuple[torch.Size, torch.Size, torch.Size]], dtype: torch.dtype,
                    rounds: int) -> float:
    """CPU seconds of the attention calls' two products (QKᵀ, then P·V) alone, on dense tensors."""
    total = 0.0
    for qs, ks, vs in shapes:
        q, k, v = torch.randn(qs, dtype=dtype), torch.randn(ks, dtype=dtype), torch.randn(vs, dtype=dtype)
        kt = k.transpose(-2, -1).contiguous()
        p = torch.empty(*qs[:-1], ks[-2], dtype=dtype)
        o = torch.empty(*qs[:-1], vs[-1], dtype=dtype)
        torch.matmul(q, kt, out=p)
        torch.matmul(p, v, out=o)
        best = float("inf")
        for _ in range(rounds):
            t0 = time.thread_time()
            torch.matmul(q, kt, out=p)
            torch.matmul(p, v, out=o)
            best = min(best, time.thread_time() - t0)
        total += best
    return total


def _cpu_seconds(fn: Callable[[], object], rounds: int) -> float:
    fn()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best


def measure_budget(forward: Callable[[], object], batch: int, *, rounds: int = 3,
                   dtype: torch.dtype = torch.float32, mm_size: int = 2048) -> Budget:
    """Where ``forward`` (one inference pass over ``batch`` pairs, on the CPU) spends its time on one core.

    Everything runs with one intra-op thread (restored afterwards); each figure is the best of
    ``rounds`` by the thread's CPU time. ``forward`` is timed plain for the utilisation and under a
    dispatch mode for the classes; what the plain pass takes beyond the operators' sum is framework.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.randn(mm_size, mm_size), torch.randn(mm_size, mm_size)
        mm_gflops = 2.0 * mm_size ** 3 / _cpu_seconds(lambda: torch.mm(a, b), rounds) / 1e9
        forward_s = _cpu_seconds(forward, rounds)
        best: _OpTimer | None = None
        for _ in range(rounds):
            with _OpTimer() as timer:
                forward()
            if best is None or sum(c.seconds for c in timer.classes.values()) < \
                    sum(c.seconds for c in best.classes.values()):
                best = timer
        assert best is not None
        products = _products_alone(best.attention_shapes, dtype, rounds)
    finally:
        torch.set_num_threads(threads)
    classes = {n: OpClass(n, c.seconds / batch, c.gflop / batch, c.calls) for n, c in best.classes.items()}
    attention = classes.pop(ATTN_PRODUCTS, None)
    if attention is not None:
        alone = min(products / batch, attention.seconds)
        classes[ATTN_PRODUCTS] = OpClass(ATTN_PRODUCTS, alone, attention.gflop, attention.calls)
        classes[ATTN_REST] = OpClass(ATTN_REST, attention.seconds - alone, 0.0, attention.calls)
    operators = sum(c.seconds for c in classes.values())
    classes[FRAMEWORK] = OpClass(FRAMEWORK, max(0.0, forward_s / batch - operators))
    ordered = {n: classes[n] for n in CLASSES if n in classes}
    gflop = sum(c.gflop for c in ordered.values())
    return Budget(batch, mm_gflops, forward_s / batch, gflop, ordered)
