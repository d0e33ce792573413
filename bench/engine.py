"""End-to-end analysis speed on the bundled sample: decode → track → pair → TSFmicro, in one run.

Prints frames/s of the whole pipeline for offline analysis (batch 8) and live use (batch 1), the
share of time spent in the model, and the same without a model (faces and difference signals only).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from tsfgui.arguments import positive_int
from tsfgui.engine import Analyzer
from tsfgui.face import FaceTracker
from tsfgui.io import VideoFileSource
from tsfgui.model import TSFmicro, select_device

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_interview.mp4"


def measure(model, frames: int, batch: int, device) -> tuple[float, float, int]:
    with VideoFileSource(SAMPLE) as source:
        analyzer = Analyzer(model, tracker=FaceTracker(), batch_size=batch, device=device)
        start = time.perf_counter()
        count = sum(1 for _ in analyzer.analyze(source, stop=frames))
        elapsed = time.perf_counter() - start
    return count / elapsed, analyzer.stats.model_seconds / elapsed, analyzer.stats.analysed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tsfgui bench engine", description=__doc__)
    parser.add_argument("--frames", type=positive_int, default=120, help="frames of the sample to analyse (default 120)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    torch.manual_seed(0)
    model = TSFmicro().eval()
    print(f"pipeline on {args.frames} frames of {SAMPLE.name} (640x480), full TSFmicro, device {device}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'configuration':32s} {'frames/s':>9s} {'model share':>12s} {'analysed':>9s}")
    for name, model_, batch in (("faces + signals, no model", None, 8), ("offline, batch 8", model, 8),
                                ("live, batch 1", model, 1)):
        fps, share, analysed = measure(model_, args.frames, batch, device)
        print(f"{name:32s} {fps:9.1f} {share:11.0%} {analysed:9d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
