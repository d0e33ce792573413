"""Measure the TSFmicro model: size, FLOPs, speed and utilisation of every path, in one run.

    python bench/model.py                 # the paper's 3-class model, CPU, float32 (and bf16 where native)
    python bench/model.py --isa avx2      # the same with torch, oneDNN and MKL capped to AVX2
    python bench/model.py --ops           # also the fused-vs-plain figures per kind of layer
    python bench/model.py --budget        # also where one core's time goes, and the utilisation ceiling
    python bench/model.py --device cuda   # on a GPU (float32 and bfloat16)
    python bench/model.py --quick         # a tiny model, for a smoke test

What it prints, all measured in this run (the machine may be shared: the paths are timed in
interleaved rounds — one run of each path per round — so a load that comes and goes hits them all
alike; compare the ratios):

* the CPU: its name, its instruction sets (AVX2, AVX-512, AVX-512-VNNI, AVX-512-BF16, AMX), the
  level torch's kernels run at, and any cap in force; the kernel each kind of layer runs on;
* parameters; GFLOP per onset/apex pair — the analytic count of convolutions and matrix products,
  cross-checked with ``FlopCounterMode`` on the plain path;
* per batch size, frames/s (one frame = one onset/apex pair) of the optimised path, the plain path
  (public operators, explicit attention) and the optimised path with a cached onset embedding (the
  engine's case), each with its utilisation: achieved GFLOP/s ÷ the ``torch.mm`` rate (2048², fp32)
  measured in the same rounds;
* bfloat16, only where the CPU has native bf16 instructions (or on a GPU): speed and agreement of
  its predicted classes with float32.

``--cpu-time`` runs everything on one thread and times it by that thread's CPU time
(``time.thread_time``): frames per CPU-second and the kernels' single-core efficiency against
``torch.mm`` on one core, figures that other processes' load hardly changes (a shared 2-core machine
makes two-thread wall-clock figures swing tenfold, the model's many short parallel regions far more
than one large matrix product). With one thread the split of a batch by image across threads
(``tsfgui.model.image_parallel``) does not apply: its gain shows in the wall-clock figures only.

``--budget`` adds, per batch size, where one pair's CPU time goes on one core (linear layers, dense
convolutions, the attention's products timed alone and the rest of it, depthwise convolutions,
element-wise work, framework) against ``torch.mm``'s rate on one core, and the utilisation ceiling: what
the model would reach if every matrix product ran at that rate and the rest took what it takes now
(``tsfgui.model.op_budget``).

``--isa avx2`` runs the benchmark again in a child process with ``ATEN_CPU_CAPABILITY=avx2``,
``ONEDNN_MAX_CPU_ISA=AVX2`` and ``MKL_ENABLE_INSTRUCTIONS=AVX2`` (they take effect only before
torch is imported): on an AVX-512 machine this approximates an AVX2-only CPU of the same core, and
says so in its output. ``main(argv)`` returns an exit code, so ``tsfgui bench model`` can call it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from typing import Callable, Sequence

import torch

from tsfgui.arguments import positive_int
from tsfgui.model import (
    TSFmicro, TSFmicroConfig, configure_threads, count_flops, fast_kernels, select_device, tune_allocator,
)
from tsfgui.model import image_parallel, ops, retention
from tsfgui.model.cpu_features import cpu_features, run_capped
from tsfgui.model.op_budget import measure_budget


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


#: the clock the rounds are timed with: wall clock, or (``--cpu-time``) this thread's CPU time
_CLOCK: Callable[[], float] = time.perf_counter


def interleaved(paths: dict[str, Callable[[], object]], device: torch.device, rounds: int,
                min_seconds: float) -> dict[str, list[float]]:
    """Seconds per run of each path, timed in rounds (each path once per round, after one warm-up
    run each), at least ``rounds`` rounds and ``min_seconds`` in all."""
    for fn in paths.values():
        fn()
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in paths}
    start = time.perf_counter()
    done = 0
    while done < rounds or time.perf_counter() - start < min_seconds:
        for name, fn in paths.items():
            t0 = _CLOCK()
            fn()
            _sync(device)
            times[name].append(_CLOCK() - t0)
        done += 1
        if done >= 10 * max(rounds, 1):
            break
    return times


def _load() -> str:
    """The 1-minute load average (a shared machine's figures fall with it)."""
    try:
        return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    except OSError:
        return "load average unknown"


def flop_counter_gflop(model: TSFmicro, onset: torch.Tensor, apex: torch.Tensor, fast: bool) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), fast_kernels(fast), FlopCounterMode(display=False) as counter:
        model(onset, apex)
    return counter.get_total_flops() / onset.shape[0] / 1e9


def _inputs(cfg: TSFmicroConfig, batch: int, device: torch.device, dtype: torch.dtype, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    onset = torch.randn(batch, 3, cfg.img_size, cfg.img_size, generator=g)
    apex = onset + 0.25 * torch.randn(batch, 3, cfg.img_size, cfg.img_size, generator=g)
    cl = torch.channels_last
    return (onset.to(device, dtype).contiguous(memory_format=cl), apex.to(device, dtype).contiguous(memory_format=cl))


def _model_run(model: TSFmicro, batch: int, device: torch.device, dtype: torch.dtype, fast: bool,
               cached_reference: bool = False, split: bool = True) -> Callable[[], object]:
    onset, apex = _inputs(model.config, batch, device, dtype)
    ref = None
    if cached_reference:
        with torch.inference_mode(), fast_kernels(fast):
            onset = onset[:1]
            ref = model.embed_reference(onset)

    def run() -> object:
        image_parallel._ENABLED = split  # the batch split by image across threads, or not
        try:
            with torch.inference_mode(), fast_kernels(fast):
                return model(onset, apex, reference=ref)
        finally:
            image_parallel._ENABLED = True

    return run


def agreement(model32: TSFmicro, model16: TSFmicro, device: torch.device, n: int, batch: int) -> dict[str, float]:
    """Compare bfloat16 predictions with float32 on ``n`` random pairs."""
    same = 0
    max_dp = 0.0
    rel = []
    with torch.inference_mode():
        for i in range(0, n, batch):
            b = min(batch, n - i)
            onset, apex = _inputs(model32.config, b, device, torch.float32, seed=100 + i)
            l32 = model32(onset, apex).float()
            l16 = model16(onset.bfloat16(), apex.bfloat16()).float()
            same += int((l32.argmax(1) == l16.argmax(1)).sum())
            max_dp = max(max_dp, float((l32.softmax(1) - l16.softmax(1)).abs().max()))
            rel.append(float((l32 - l16).norm() / l32.norm().clamp_min(1e-12)))
    return {"argmax_agreement": same / n, "max_prob_diff": max_dp, "logit_rel_err": max(rel)}


def layer_figures(rounds: int) -> list[tuple[str, float, float]]:
    """(layer, fused ms, plain ms) for the model's typical layers at batch 1, interleaved."""
    import torch.nn.functional as F  # noqa: F401 (the plain path is ops' fallback)

    g = torch.Generator().manual_seed(0)
    cl = torch.channels_last

    def lin(m: int, k: int, n: int, act: str):
        x, w, b = torch.randn(m, k, generator=g), torch.randn(n, k, generator=g) * 0.05, torch.randn(n, generator=g)
        return lambda: ops.linear(x, w, b, act=act)

    def conv(c: int, o: int, h: int, k: int, s: int, act: str, groups: int = 1, res: bool = False):
        x = torch.randn(1, c, h, h, generator=g).contiguous(memory_format=cl)
        w = (torch.randn(o, c // groups, k, k, generator=g) * 0.05).contiguous(memory_format=cl)
        b = torch.randn(o, generator=g)
        r = torch.randn(1, o, h // s, h // s, generator=g).contiguous(memory_format=cl) if res else None
        return lambda: ops.conv2d(x, w, b, s, k // 2, groups, act, residual=r)

    def fused_conv_alone(c: int, o: int, h: int, k: int, s: int, groups: int = 1, res: bool = False):
        # what the oneDNN fused operator does for a convolution without activation (not used by the model)
        x = torch.randn(1, c, h, h, generator=g).contiguous(memory_format=cl)
        w = (torch.randn(o, c // groups, k, k, generator=g) * 0.05).contiguous(memory_format=cl)
        b = torch.randn(o, generator=g)
        r = torch.randn(1, o, h // s, h // s, generator=g).contiguous(memory_format=cl) if res else None
        pad, st, dil = [k // 2] * 2, [s, s], [1, 1]
        if r is not None:
            return lambda: torch.ops.mkldnn._convolution_pointwise.binary(
                x, r, w, b, pad, st, dil, groups, "add", None, None, [], None)
        return lambda: torch.ops.mkldnn._convolution_pointwise(x, w, b, pad, st, dil, groups, "none", [], "")

    cases = {
        "linear 12544×64→192 (stage 1 qkv)": (lin(12544, 64, 192, "none"), None),
        "linear+GELU 12544×64→192 (stage 1 FFN)": (lin(12544, 64, 192, "gelu"), None),
        "linear+GELU 784×256→768 (stage 3 FFN)": (lin(784, 256, 768, "gelu"), None),
        "linear+GELU 196×512→2048 (ViT MLP)": (lin(196, 512, 2048, "gelu"), None),
        "conv3×3+GELU 32→32 @112 (stem)": (conv(32, 32, 112, 3, 1, "gelu"), None),
        "conv3×3/2 64→128 @112 (merge)": (conv(64, 128, 112, 3, 2, "none"), fused_conv_alone(64, 128, 112, 3, 2)),
        "dwconv3×3+residual 192 @112 (FFN)": (conv(192, 192, 112, 3, 1, "none", 192, True),
                                              fused_conv_alone(192, 192, 112, 3, 1, 192, True)),
    }
    out = []
    with torch.inference_mode():
        for name, (fn, fused_alone) in cases.items():
            def fast_fn(fn=fn, fused_alone=fused_alone):
                if fused_alone is not None:
                    return fused_alone()
                with fast_kernels(True):
                    return fn()

            def plain_fn(fn=fn):
                with fast_kernels(False):
                    return fn()

            t = interleaved({"fused": fast_fn, "plain": plain_fn}, torch.device("cpu"), rounds, 0.0)
            out.append((name, 1e3 * statistics.median(t["fused"]), 1e3 * statistics.median(t["plain"])))
    return out


def gelu_epilogue_figures(rounds: int) -> list[tuple[str, float, float]]:
    """(layer, ms with GELU fused into oneDNN's product, ms with the product then an in-place GELU)
    for the model's linear + GELU layers at batch 1, interleaved: what ``ops._FUSE_LINEAR_GELU``
    chooses between by instruction set."""
    g = torch.Generator().manual_seed(0)
    out = []
    with torch.inference_mode():
        for m, k, n, where in ((12544, 64, 192, "stage-1 FFN"), (3136, 128, 384, "stage-2 FFN"),
                               (784, 256, 768, "stage-3 FFN"), (196, 512, 2048, "ViT MLP")):
            x, b = torch.randn(m, k, generator=g), torch.randn(n, generator=g)
            w = torch.ops.mkldnn._reorder_linear_weight(torch.randn(n, k, generator=g) * 0.05, m)

            def fused(x=x, w=w, b=b):
                return torch.ops.mkldnn._linear_pointwise(x, w, b, "gelu", [], "none")

            def after(x=x, w=w, b=b):
                return torch.ops.aten.gelu_(torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], ""))

            t = interleaved({"fused": fused, "after": after}, torch.device("cpu"), rounds, 0.0)
            out.append((f"linear+GELU {m}×{k}→{n} ({where})", 1e3 * statistics.median(t["fused"]),
                        1e3 * statistics.median(t["after"])))
    return out


#: torch.profiler's operator names grouped into what they spend the time on.
_PROFILE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("matrix products (linear, matmul, bmm, oneDNN linear)", ("linear", "addmm", "matmul", "bmm", "mm", "baddbmm",
                                                             "linear_pointwise", "mkldnn_linear")),
    ("convolutions", ("conv2d", "convolution", "convolution_pointwise", "mkldnn_convolution", "slow_conv2d_forward",
                      "thnn_conv2d", "mkldnn_convolution_pointwise")),
    ("attention (softmax, scaled dot product)", ("softmax", "scaled_dot_product_attention",
                                                 "scaled_dot_product_flash_attention_for_cpu")),
    ("layout: copies, contiguous, permute/transpose copies, reorders", ("copy_", "contiguous", "clone", "to_dense",
                                                                        "reorder", "_to_copy", "to")),
    ("normalisation", ("layer_norm", "native_layer_norm", "batch_norm", "group_norm")),
    ("element-wise (add, mul, gelu, exp …)", ("add", "add_", "mul", "mul_", "gelu", "exp", "sub", "div", "silu",
                                              "sigmoid", "where", "cat", "pow", "sum", "mean", "cumsum")),
    ("allocation (empty, resize)", ("empty", "empty_strided", "resize_", "zeros", "ones", "full", "new_empty")),
    ("views (no data moved: select, view, as_strided, permute …)", ("select", "view", "as_strided", "permute",
                                                                    "transpose", "reshape", "slice", "unsqueeze",
                                                                    "flatten", "expand", "split", "chunk")),
)


def profile_table(model: TSFmicro, batch: int, device: torch.device,
                  runs: int) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """torch.profiler over ``runs`` forward passes of the optimised path at ``batch``: self CPU time
    per group of operators and per operator (shares of the total), largest first."""
    from torch.profiler import ProfilerActivity, profile

    run = _model_run(model, batch, device, torch.float32, True)
    run()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(runs):
            run()
    totals: dict[str, float] = {}
    operators: dict[str, float] = {}
    for event in prof.key_averages():
        operators[event.key] = operators.get(event.key, 0.0) + event.self_cpu_time_total
        name = event.key.split("::")[-1]
        bare = name.lstrip("_")
        group = next((g for g, names in _PROFILE_GROUPS if bare in names or bare.removesuffix("_") in names), None)
        if group is None:
            group = f"other ({name})" if event.self_cpu_time_total > 0 else "other"
        totals[group] = totals.get(group, 0.0) + event.self_cpu_time_total
    whole = sum(totals.values()) or 1.0

    def shares(values: dict[str, float]) -> list[tuple[str, float]]:
        return [(name, value / whole) for name, value in sorted(values.items(), key=lambda kv: -kv[1])]

    return shares(totals), shares(operators)


def print_budget(model: TSFmicro, batch: int, rounds: int) -> dict:
    """Print (and return) where one pair's CPU time goes on one core at ``batch`` (``tsfgui.model.op_budget``)."""
    budget = measure_budget(_model_run(model, batch, torch.device("cpu"), torch.float32, True), batch, rounds=rounds)
    mm = budget.mm_gflops
    print(f"where one pair's time goes, batch {batch}, one core by CPU time (best of {rounds}); torch.mm 2048² "
          f"{mm:.1f} GFLOP/s on one core; {_load()}:")
    print(f"  {'class':<38} {'ms/pair':>8} {'share':>6} {'GFLOP':>6} {'GFLOP/s':>8} {'beyond torch.mm rate':>21}")
    for c in budget.classes.values():
        rate = f"{c.gflop / c.seconds:8.1f}" if c.gflop and c.seconds > 0 else f"{'—':>8}"
        print(f"  {c.name:<38} {1000 * c.seconds:8.2f} {100 * c.seconds / budget.forward_seconds:5.1f}% "
              f"{c.gflop:6.3f} {rate} {1000 * c.excess(mm):18.2f} ms")
    print(f"  the whole pass: {1000 * budget.forward_seconds:.1f} ms/pair, {budget.gflop:.2f} GFLOP counted, "
          f"{100 * budget.utilisation:.1f} % of torch.mm on one core")
    print(f"  ceiling with every matrix product at torch.mm's rate, the rest as now: {100 * budget.ceiling:.1f} %; "
          f"with the attention's products as fast as torch.matmul makes them alone: "
          f"{100 * budget.ceiling_torch_kernels:.1f} %")
    return {"batch": batch, "mm_gflops": mm, "forward_ms": 1000 * budget.forward_seconds, "gflop": budget.gflop,
            "utilisation": budget.utilisation, "ceiling": budget.ceiling,
            "ceiling_torch_kernels": budget.ceiling_torch_kernels,
            "classes": {n: {"ms": 1000 * c.seconds, "gflop": c.gflop, "calls": c.calls}
                        for n, c in budget.classes.items()}}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/model.py", description="Measure the TSFmicro model (see module docstring).")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.add_argument("--isa", choices=("native", "avx2", "avx512"), default="native",
                   help="cap torch, oneDNN and MKL to this instruction set (default: what the CPU has)")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: all available CPUs)")
    p.add_argument("--label-scheme", default="megc3", help="label scheme of the model (default megc3)")
    p.add_argument("--weights", default=None, help="a weights file to measure instead of a random model")
    p.add_argument("--batches", type=positive_int, nargs="+", default=[1, 8], help="batch sizes (default 1 8)")
    p.add_argument("--rounds", type=positive_int, default=5, help="interleaved rounds per batch size (default 5)")
    p.add_argument("--seconds", type=float, default=0.0, help="minimum time per batch size (default 0)")
    p.add_argument("--no-plain", action="store_true", help="skip the plain-path comparison")
    p.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                   help="bfloat16 path: auto = only with native bf16 instructions or on a GPU (default)")
    p.add_argument("--agree-pairs", type=positive_int, default=64, help="pairs for the bfloat16 agreement check")
    p.add_argument("--ops", action="store_true", help="also time fused vs plain kernels per kind of layer")
    p.add_argument("--profile", action="store_true",
                   help="also show where the optimised path's time goes (torch.profiler, per group of operators)")
    p.add_argument("--budget", action="store_true",
                   help="also show, per batch size on one core, where the time goes against torch.mm's rate and "
                        "the utilisation ceiling if every matrix product ran at that rate")
    p.add_argument("--cpu-time", action="store_true",
                   help="one thread, timed by its CPU time (time.thread_time) instead of the wall clock: the "
                        "kernels' single-core efficiency, which other processes' load hardly changes")
    p.add_argument("--quick", action="store_true", help="tiny model and short runs (smoke test)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.isa != "native":
        code = run_capped(args.isa, __file__, argv)
        if code is not None:
            return code
    device = select_device(None if args.device == "auto" else args.device)
    global _CLOCK
    if args.cpu_time and device.type != "cpu":
        print("--cpu-time measures the CPU only", file=sys.stderr)
        return 2
    if args.cpu_time:  # with one intra-op thread every kernel runs on the calling thread: its CPU time is theirs
        args.threads, _CLOCK = 1, time.thread_time
    threads = configure_threads(args.threads) if device.type == "cpu" else torch.get_num_threads()
    tuned = tune_allocator()
    cfg = TSFmicroConfig.tiny(label_scheme=args.label_scheme) if args.quick else TSFmicroConfig(label_scheme=args.label_scheme)
    model = TSFmicro.from_pretrained(args.weights) if args.weights else TSFmicro(cfg)
    model = model.eval().to(device).fuse()  # as load_model prepares it: BatchNorms folded, weights packed
    cfg = model.config
    rounds = 2 if args.quick else args.rounds
    feats = cpu_features()
    out: dict[str, object] = {"device": str(device), "threads": threads, "torch": torch.__version__,
                              "cpu": feats.describe(), "isa_class": feats.isa_class, "isa_cap": args.isa,
                              "allocator_tuned": tuned, "clock": "thread CPU time" if args.cpu_time else "wall"}

    print(f"TSFmicro benchmark — torch {torch.__version__}, device {device}, {threads} CPU threads"
          f"{', glibc allocator tuned' if tuned else ''}"
          + ("; timed by the thread's CPU time (--cpu-time: frames per CPU-second of one core)" if args.cpu_time else ""))
    print(f"CPU: {feats.describe()}")
    if args.isa != "native":
        print(f"  instruction set capped to {args.isa.upper()} by environment on this CPU: an approximation of "
              f"an {args.isa.upper()}-only CPU with the same cores, caches and memory, not a measurement on one")
    if device.type == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(device)}")
    elif device.type == "cpu":
        print("kernels: " + "; ".join(f"{k}: {v}" for k, v in ops.kernel_plan().items()))
        chunk = retention._TEMPORAL_CHUNK if threads <= retention._TEMPORAL_CHUNK_THREADS else 0
        print("temporal branch: " + (f"inference batches above {chunk} images run in chunks of {chunk}" if chunk
                                     else "the whole batch at once") + f" ({threads} thread{'s' if threads > 1 else ''})")
        if threads > 1 and image_parallel._ENABLED:
            print(f"batches of {threads} or more pairs: split by image across the {threads} threads, one intra-op "
                  "thread each (tsfgui.model.image_parallel)")
    params = model.num_parameters()
    parts = count_flops(cfg)
    analytic = sum(parts.values()) / 1e9
    cached_gflop = sum(v for k, v in parts.items() if not k.startswith("spatial.")) / 1e9
    print(f"model: {cfg.label_scheme} ({len(cfg.class_names)} classes), input {cfg.img_size}², "
          f"{params / 1e6:.2f} M parameters")
    onset1, apex1 = _inputs(cfg, 1, torch.device("cpu"), torch.float32)
    m_cpu = model if device.type == "cpu" else copy.deepcopy(model).cpu()
    fc_plain = flop_counter_gflop(m_cpu, onset1, apex1, fast=False)
    print(f"GFLOP per frame pair: {analytic:.3g} analytic (convolutions + matrix products), {fc_plain:.3g} by "
          f"FlopCounterMode on the plain path; {cached_gflop:.3g} with the onset embedding cached")
    out.update(parameters=params, gflop_analytic=analytic, gflop_flopcounter_plain=fc_plain,
               gflop_cached_reference=cached_gflop)

    n = 512 if args.quick else 2048
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    mm_flop = 2.0 * n ** 3

    def mm() -> object:
        return torch.mm(a, b)

    rows = []
    print("speed, float32, inference mode (one frame = one onset/apex pair); medians of interleaved rounds, "
          f"utilisation = GFLOP/s ÷ torch.mm {n}² GFLOP/s in the same rounds:")
    for batch in args.batches:
        paths: dict[str, Callable[[], object]] = {"torch.mm": mm,
                                                  "optimised": _model_run(model, batch, device, torch.float32, True)}
        if not args.no_plain:
            paths["plain (public ops, explicit attention)"] = _model_run(model, batch, device, torch.float32, False)
        if batch > 1:
            paths["optimised, onset embedding cached"] = _model_run(model, batch, device, torch.float32, True, True)
        if device.type == "cpu" and 2 <= threads <= batch:
            paths["optimised, not split by image"] = _model_run(model, batch, device, torch.float32, True,
                                                                split=False)
        times = interleaved(paths, device, rounds, args.seconds)
        mm_rate = mm_flop / statistics.median(times.pop("torch.mm")) / 1e9
        print(f"  batch {batch}: torch.mm {mm_rate:.0f} GFLOP/s; {_load()}")
        for name, t in times.items():
            gflop = cached_gflop if "cached" in name else analytic
            fps_med, fps_best = batch / statistics.median(t), batch / min(t)
            achieved = fps_med * gflop
            print(f"    {name:<40} {fps_med:7.2f} frames/s (best {fps_best:6.2f}), {achieved:6.0f} GFLOP/s, "
                  f"{100 * achieved / mm_rate:5.1f} % of torch.mm")
            rows.append({"path": name, "batch": batch, "fps": fps_med, "fps_best": fps_best, "gflops": achieved,
                         "mm_gflops": mm_rate, "utilisation": achieved / mm_rate})
        by = {r["path"]: r["fps"] for r in rows if r["batch"] == batch}
        plain = by.get("plain (public ops, explicit attention)")
        if plain:
            print(f"    optimised ÷ plain, same rounds: {by['optimised'] / plain:.2f}×")
        whole = by.get("optimised, not split by image")
        if whole:
            print(f"    split by image ÷ not split, same rounds: {by['optimised'] / whole:.2f}×")
    out["speed"] = rows

    native = device.type == "cuda" or (device.type == "cpu" and ops.native_bf16())
    if args.bf16 == "on" or (args.bf16 == "auto" and native):
        try:
            m16 = copy.deepcopy(model).to(torch.bfloat16)
            print("bfloat16 weights and activations" + ("" if native else " (NOT native here: emulated)") + ":")
            for batch in args.batches:
                times = interleaved({"float32": _model_run(model, batch, device, torch.float32, True),
                                     "bfloat16": _model_run(m16, batch, device, torch.bfloat16, True)},
                                    device, rounds, args.seconds)
                f32, f16 = (batch / statistics.median(times[k]) for k in ("float32", "bfloat16"))
                print(f"  batch {batch}: bfloat16 {f16:.2f} frames/s, float32 {f32:.2f} frames/s in the same "
                      f"rounds: {f16 / f32:.2f}×")
                rows.append({"path": "bfloat16", "batch": batch, "fps": f16, "fps_float32_same_rounds": f32})
            pairs = 8 if args.quick else args.agree_pairs
            agree = agreement(model, m16, device, pairs, 8)
            print(f"  bfloat16 vs float32 on {pairs} random pairs: predicted class agrees "
                  f"{100 * agree['argmax_agreement']:.1f} %, max |Δp| {agree['max_prob_diff']:.4f}, "
                  f"logit relative error {agree['logit_rel_err']:.4f}"
                  + ("" if args.weights else " (random weights: a weak check; pass --weights for a trained model)"))
            out["bf16_agreement"] = agree
        except RuntimeError as exc:  # a device without bfloat16 kernels
            print(f"  bfloat16 path unavailable here: {exc}")
    elif args.bf16 == "off":
        print("bfloat16: not run (--bf16 off)")
    else:
        print("bfloat16: not run — no native bf16 instructions (AVX-512-BF16 or AMX) for the kernels here "
              "(absent or capped off), where it is slower than float32 (--bf16 on runs it anyway)")

    if args.ops and device.type == "cpu":
        print("per kind of layer, batch 1, fused oneDNN operator vs plain ATen (medians of interleaved runs):")
        layers = layer_figures(3 if args.quick else max(rounds, 5))
        for name, fused, plain in layers:
            print(f"  {name:<42} fused {fused:7.2f} ms, plain {plain:7.2f} ms: fused {plain / fused:4.2f}×")
        out["layers"] = [{"layer": n_, "fused_ms": f, "plain_ms": p} for n_, f, p in layers]
        print("GELU after a linear layer, batch 1: fused into oneDNN's product vs in place after it "
              f"(the model uses {'fused' if ops._FUSE_LINEAR_GELU else 'in place after'} here):")
        gelus = gelu_epilogue_figures(3 if args.quick else max(rounds, 5))
        for name, fused, after in gelus:
            print(f"  {name:<42} fused {fused:7.2f} ms, after {after:7.2f} ms: fused {after / fused:4.2f}×")
        out["gelu_epilogue"] = [{"layer": n_, "fused_ms": f, "after_ms": a} for n_, f, a in gelus]
    if args.profile and device.type == "cpu":
        for batch in args.batches:
            table, operators = profile_table(model, batch, device, 2 if args.quick else 3)
            print(f"where the optimised path's CPU time goes at batch {batch} (torch.profiler, self time of "
                  "each operator, all threads):")
            for name, share in table:
                if share >= 0.001:
                    print(f"  {100 * share:5.1f} %  {name}")
            print("  the largest operators: " + ", ".join(f"{name} {100 * share:.1f} %"
                                                         for name, share in operators[:10]))
            out.setdefault("profile", {})[str(batch)] = {"groups": table, "operators": operators[:30]}
    if args.budget and device.type == "cpu":
        out["budget"] = [print_budget(model, batch, 2 if args.quick else 3) for batch in args.batches]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
