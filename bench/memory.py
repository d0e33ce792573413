"""Peak memory of `tsfgui analyze` versus video length: videos of several lengths are made by cycling
the bundled sample's frames (MJPG, 640×480, 30 fps) and analysed in a child process each; its peak
resident set size is read from the OS (``resource.getrusage``). Flat figures mean memory does not grow
with the length of the footage."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tsfgui.arguments import positive_float
from tsfgui.samples.excerpt import write_sample_excerpt


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` in a fresh child (via a wrapper, so earlier children do not count); MB and seconds."""
    wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tsfgui bench memory", description=__doc__)
    parser.add_argument("--minutes", type=positive_float, nargs="+", default=[1.0, 4.0], help="video lengths (default 1 4)")
    parser.add_argument("--weights", default=None, help="weights to analyse with (default: none)")
    args = parser.parse_args(argv)
    tsfgui = str(Path(sys.executable).with_name("tsfgui"))
    print(f"{'minutes':>8s} {'frames':>8s} {'peak RSS MB':>12s} {'seconds':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            video = Path(tmp) / f"long-{minutes:g}.avi"
            frames = int(minutes * 60 * 30)
            write_sample_excerpt(video, frames)  # the sample cycled
            cmd = [tsfgui, "analyze", str(video), "--out", str(Path(tmp) / "out"), "-q"]
            if args.weights:
                cmd += ["--weights", args.weights]
            mb, seconds = peak_rss_mb(cmd)
            print(f"{minutes:8g} {frames:8d} {mb:12.0f} {seconds:8.0f}")
            video.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
