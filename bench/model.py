"""Measure the TSFmicro model: size, FLOPs, speed, utilisation, and the bfloat16 path.

    python bench/model.py                 # the paper's 3-class model, CPU, float32 and bfloat16
    python bench/model.py --device cuda   # the same figures on a GPU
    python bench/model.py --quick         # a tiny model, for a smoke test

Prints (figures are measured in this run; the machine may be shared, so compare ratios):

* parameters; GFLOP per onset/apex pair — the analytic count of convolutions and matrix products
  (reported), cross-checked with ``torch.utils.flop_counter.FlopCounterMode`` on the plain path,
  where attention is an explicit matrix product it can see (it does not count the fused CPU
  attention kernel nor oneDNN's fused operators, also shown);
* frames/s (one frame = one onset/apex pair) at batch 1 and 8, float32, ``torch.inference_mode``,
  for the optimised path and for the plain path (public operators, explicit attention) in the same
  run, and with a cached reference embedding (the engine's case of one onset for many frames);
* this machine's large-matmul rate (``torch.mm``, 4096², float32) and the model FLOP utilisation
  (achieved GFLOP/s ÷ that rate); the oneDNN matmul rate is shown too, because the optimised path
  runs its matrix products through oneDNN, which on some CPUs is faster than ``torch.mm``;
* the bfloat16 path (weights and activations in bfloat16, CPU AVX-512 BF16 or GPU): speed and
  agreement of its predictions with float32 on the same inputs.

``main(argv)`` returns an exit code, so ``tsfgui bench model`` can call it.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from typing import Callable, Sequence

import torch

from tsfgui.model import (
    TSFmicro, TSFmicroConfig, configure_threads, count_flops, fast_kernels, select_device, tune_allocator,
)

#: the authors' public implementation of the same architecture on the project's 2-core machines
REFERENCE = {"gflop": 13.4, "fps_b1": 6.1, "fps_b8": 7.5}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn: Callable[[], object], device: torch.device, min_runs: int, min_seconds: float) -> list[float]:
    """Wall-clock seconds of ``fn`` per run (after one warm-up run), at least ``min_runs`` runs."""
    fn()
    _sync(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
        if len(times) >= 10 * max(min_runs, 1):
            break
    return times


def matmul_gflops(device: torch.device, n: int = 4096, dtype: torch.dtype = torch.float32) -> float:
    """Best-of rate of an ``n×n @ n×n`` matrix product with ``torch.mm``."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = _time(lambda: torch.mm(a, b), device, 3, 1.0)
    return 2 * n ** 3 / min(times) / 1e9


def onednn_gflops(n: int = 4096) -> float | None:
    """Best-of rate of the same product through oneDNN (the optimised path's linear layers), CPU only."""
    try:
        op = torch.ops.mkldnn._linear_pointwise
        a, b = torch.randn(n, n), torch.randn(n, n)
        with torch.inference_mode():
            times = _time(lambda: op(a, b, None, "none", [], ""), torch.device("cpu"), 3, 1.0)
        return 2 * n ** 3 / min(times) / 1e9
    except (AttributeError, RuntimeError):
        return None


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


def fps(model: TSFmicro, batch: int, device: torch.device, dtype: torch.dtype, fast: bool, seconds: float,
        cached_reference: bool = False) -> tuple[float, float]:
    """(frames/s from the median run, from the best run)."""
    onset, apex = _inputs(model.config, batch, device, dtype)
    with torch.inference_mode(), fast_kernels(fast):
        if cached_reference:
            onset, ref = onset[:1], model.embed_reference(onset[:1])
            run = lambda: model(onset, apex, reference=ref)  # noqa: E731
        else:
            run = lambda: model(onset, apex)  # noqa: E731
        times = _time(run, device, 3 if batch > 1 else 8, seconds)
    return batch / statistics.median(times), batch / min(times)


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/model.py", description="Measure the TSFmicro model (see module docstring).")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all available CPUs)")
    p.add_argument("--label-scheme", default="megc3", help="label scheme of the model (default megc3)")
    p.add_argument("--weights", default=None, help="a weights file to measure instead of a random model")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8], help="batch sizes (default 1 8)")
    p.add_argument("--seconds", type=float, default=2.0, help="minimum time per speed figure (default 2)")
    p.add_argument("--no-plain", action="store_true", help="skip the plain-path comparison")
    p.add_argument("--no-bf16", action="store_true", help="skip the bfloat16 path")
    p.add_argument("--agree-pairs", type=int, default=64, help="pairs for the bfloat16 agreement check")
    p.add_argument("--quick", action="store_true", help="tiny model and short runs (smoke test)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    device = select_device(None if args.device == "auto" else args.device)
    threads = configure_threads(args.threads) if device.type == "cpu" else torch.get_num_threads()
    tuned = tune_allocator()
    cfg = TSFmicroConfig.tiny(label_scheme=args.label_scheme) if args.quick else TSFmicroConfig(label_scheme=args.label_scheme)
    model = TSFmicro.from_pretrained(args.weights) if args.weights else TSFmicro(cfg)
    model = model.eval().to(device)
    cfg = model.config
    seconds = 0.2 if args.quick else args.seconds
    out: dict[str, object] = {"device": str(device), "threads": threads, "torch": torch.__version__,
                              "cpu": platform.processor() or platform.machine(), "allocator_tuned": tuned}

    print(f"TSFmicro benchmark — torch {torch.__version__}, device {device}, {threads} CPU threads"
          f"{', glibc allocator tuned' if tuned else ''}")
    if device.type == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(device)}")
    params = model.num_parameters()
    analytic = sum(count_flops(cfg).values()) / 1e9
    print(f"model: {cfg.label_scheme} ({len(cfg.class_names)} classes), input {cfg.img_size}², "
          f"{params / 1e6:.2f} M parameters")
    onset1, apex1 = _inputs(cfg, 1, torch.device("cpu"), torch.float32)
    m_cpu = model if device.type == "cpu" else copy.deepcopy(model).cpu()
    fc_plain = flop_counter_gflop(m_cpu, onset1, apex1, fast=False)
    fc_fast = flop_counter_gflop(m_cpu, onset1, apex1, fast=True)
    print(f"GFLOP per frame pair: {analytic:.3g} (analytic: convolutions + matrix products, reported); "
          f"without the spatial branch (cached onset embedding): {sum(v for k, v in count_flops(cfg).items() if not k.startswith('spatial.')) / 1e9:.3g}")
    print(f"  FlopCounterMode, plain path: {fc_plain:.3g}  "
          f"(optimised path: {fc_fast:.3g} — fused attention and oneDNN operators are not counted)")
    out.update(parameters=params, gflop_analytic=analytic, gflop_flopcounter_plain=fc_plain,
               gflop_flopcounter_fast=fc_fast)

    mm = matmul_gflops(device, 1024 if args.quick else 4096)
    dnn = onednn_gflops(1024 if args.quick else 4096) if device.type == "cpu" else None
    print(f"large matmul, float32: torch.mm {mm:.0f} GFLOP/s" + (f", oneDNN {dnn:.0f} GFLOP/s" if dnn else ""))
    out.update(matmul_gflops=mm, onednn_gflops=dnn)

    rows = []

    flops_parts = count_flops(cfg)
    cached_gflop = sum(v for k, v in flops_parts.items() if not k.startswith("spatial.")) / 1e9

    def report(name: str, batch: int, f_med: float, f_best: float, gflop: float | None = None) -> None:
        achieved = f_med * (analytic if gflop is None else gflop)
        line = (f"  {name:<34} batch {batch:>2}: {f_med:6.1f} frames/s (best {f_best:5.1f}), "
                f"{achieved:6.0f} GFLOP/s, MFU {100 * achieved / mm:5.1f} % of torch.mm")
        if dnn:
            line += f" ({100 * achieved / dnn:4.1f} % of oneDNN)"
        print(line)
        rows.append({"path": name, "batch": batch, "fps": f_med, "fps_best": f_best, "gflops": achieved,
                     "mfu_mm": achieved / mm, "mfu_onednn": achieved / dnn if dnn else None})

    print("speed, float32, inference mode (one frame = one onset/apex pair):")
    for b in args.batches:
        report("optimised", b, *fps(model, b, device, torch.float32, True, seconds))
        if not args.no_plain:
            report("plain (public ops, explicit attn)", b, *fps(model, b, device, torch.float32, False, seconds))
    if 8 in args.batches or not args.batches:
        b = max(args.batches)
        # one onset for the whole batch, embedded once beforehand: the spatial branch is not run
        report("optimised, cached onset embedding", b,
               *fps(model, b, device, torch.float32, True, seconds, cached_reference=True), gflop=cached_gflop)

    if not args.no_bf16:
        try:
            m16 = copy.deepcopy(model).to(torch.bfloat16)
            print("speed, bfloat16 weights and activations:")
            for b in args.batches:
                report("bfloat16", b, *fps(m16, b, device, torch.bfloat16, True, seconds))
            agree = agreement(model, m16, device, 8 if args.quick else args.agree_pairs, 8)
            print(f"  bfloat16 vs float32 on {8 if args.quick else args.agree_pairs} random pairs: predicted class "
                  f"agrees {100 * agree['argmax_agreement']:.1f} %, max |Δp| {agree['max_prob_diff']:.4f}, "
                  f"logit relative error {agree['logit_rel_err']:.4f}"
                  + ("" if args.weights else " (random weights: predictions are close to uniform, so the "
                                               "agreement is a weak check; pass --weights for a trained model)"))
            out["bf16_agreement"] = agree
        except RuntimeError as exc:  # a device without bfloat16 kernels
            print(f"  bfloat16 path unavailable here: {exc}")

    if device.type == "cpu" and not args.quick and cfg.img_size == 224:
        by = {(r["path"], r["batch"]): r["fps"] for r in rows}
        ref = []
        for b, key in ((1, "fps_b1"), (8, "fps_b8")):
            if ("optimised", b) in by:
                ref.append(f"batch {b}: {by[('optimised', b)] / REFERENCE[key]:.1f}× its {REFERENCE[key]} frames/s")
        if ref:
            print("vs the authors' implementation measured on the project's 2-core machines "
                  f"({REFERENCE['gflop']} GFLOP/pair): " + "; ".join(ref) + " (different runs: indicative)")
        if ("plain (public ops, explicit attn)", 1) in by and ("optimised", 1) in by:
            print(f"optimised vs plain path, same run: batch 1 {by[('optimised', 1)] / by[('plain (public ops, explicit attn)', 1)]:.2f}×"
                  + (f", batch 8 {by[('optimised', 8)] / by[('plain (public ops, explicit attn)', 8)]:.2f}×"
                     if ("optimised", 8) in by and ("plain (public ops, explicit attn)", 8) in by else ""))
    out["speed"] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
