"""Batch analysis on a local Ray cluster against the local process pool, on the same inputs, in one run.

Writes ``--inputs`` clips of the bundled sample (its first ``--frames`` frames, 640×480, a face with planted
movements), analyses them with ``analyze --jobs N`` (the process pool) and with ``analyze --cluster`` on a local
Ray cluster of N CPUs (one task per input, one CPU each), and prints for each: wall time, frames/s over all
inputs, frames/s per CPU, and the cluster's start-up time apart. No model (the two-stage default without weights:
stage 1 is what sets the speed of a batch on CPUs).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tsfgui.arguments import positive_int


def write_clips(folder: Path, count: int, frames: int) -> list[Path]:
    from tsfgui.samples.excerpt import write_sample_excerpt

    return [write_sample_excerpt(folder / f"clip{i:02d}.avi", frames) for i in range(count)]


def timed(clips: list[Path], out: Path, **options) -> tuple[float, int]:
    from tsfgui.batch import analyze_batch

    start = time.perf_counter()
    report = analyze_batch(clips, out, show_progress=False, **options)
    elapsed = time.perf_counter() - start
    bad = [o for o in report.outcomes if o.status != "done"]
    if bad:
        raise SystemExit(f"bench cluster: {bad[0].path} {bad[0].status}: {bad[0].message}")
    return elapsed, sum(o.frames for o in report.outcomes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tsfgui bench cluster", description=__doc__)
    parser.add_argument("--inputs", type=positive_int, default=4, help="clips to analyse (default 4)")
    parser.add_argument("--frames", type=positive_int, default=60, help="frames per clip (default 60)")
    parser.add_argument("--cpus", type=positive_int, default=2,
                        help="processes of the pool and CPUs of the local Ray cluster (default 2)")
    args = parser.parse_args(argv)
    from tsfgui.cluster import ClusterError, ray_cluster
    from tsfgui.model.cpu_features import cpu_features

    print(f"CPU: {cpu_features().describe()}")
    with tempfile.TemporaryDirectory(prefix="tsfgui-bench-cluster-") as tmp:
        folder = Path(tmp)
        clips = write_clips(folder, args.inputs, args.frames)
        pool_s, frames = timed(clips, folder / "pool", jobs=args.cpus)
        start = time.perf_counter()
        try:
            with ray_cluster("local", num_cpus=args.cpus, object_store_memory=100 * 1024 * 1024) as info:
                started_s = time.perf_counter() - start
                ray_s, _ = timed(clips, folder / "ray", cluster="auto")
        except ClusterError as exc:
            raise SystemExit(f"bench cluster: {exc}") from None
    print(f"{args.inputs} inputs × {args.frames} frames, no model; {info.describe()} started in {started_s:.1f} s")
    print("| engine | wall s | frames/s | frames/s per CPU |")
    print("|---|---|---|---|")
    for name, seconds in ((f"process pool, --jobs {args.cpus}", pool_s), (f"Ray, {args.cpus} CPUs", ray_s)):
        print(f"| {name} | {seconds:.1f} | {frames / seconds:.1f} | {frames / seconds / args.cpus:.1f} |")
    print(f"Ray / pool wall time: {ray_s / pool_s:.2f}")
    return 0
