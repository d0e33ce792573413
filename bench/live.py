"""Live mode as a user sees it: the app's window, a camera at 30 fps, the full model, in one run.

    tsfgui bench live                      # 10 s, the paper's model (random weights: same speed)
    tsfgui bench live --isa avx2 --seconds 20   # capped to AVX2, 20 s measured after the model loads

The bundled sample's frames, cycled into a video longer than the run (the sample itself lasts 10 s, and
a camera does not stop), are fed in real time through the path a webcam takes (a reader thread that keeps
only the newest frame); the main window runs offscreen with the full TSFmicro in live mode (the
model gets all cores but one). Printed: the camera's frame rate, the frames the window showed per
second, the analysis rate (newest frames analysed per second), the frames dropped as stale, how far
the newest analysed frame lags the shown one, and the longest stall of the window's event loop (a
5-ms timer's largest gap). Timings depend on the machine and its load: these are figures to read, not
to assert.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

#: Seconds of camera before the measurement, allowed for the model to load and give its first result.
WARM_UP_S = 120.0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from tsfgui.arguments import positive_float

    parser = argparse.ArgumentParser(prog="tsfgui bench live", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="seconds of live run (default 10)")
    parser.add_argument("--weights", default=None, help="weights file (default: the full model, random weights)")
    parser.add_argument("--isa", choices=("native", "avx2", "avx512"), default="native",
                        help="cap torch, oneDNN and MKL to this instruction set (default: what the CPU has)")
    args = parser.parse_args(argv)
    from tsfgui.model.cpu_features import cpu_features, run_capped
    from tsfgui.samples.excerpt import write_sample_excerpt

    if args.isa != "native":
        code = run_capped(args.isa, __file__, argv)
        if code is not None:
            return code
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch
    from PySide6.QtCore import QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from tsfgui.io import VideoFileSource
    from tsfgui.model import TSFmicro, available_cpus
    from tsfgui.ui.main_window import MainWindow

    print(f"CPU: {cpu_features().describe()}; {available_cpus()} CPUs, torch {torch.__version__}")
    if args.isa != "native":
        print(f"  instruction set capped to {args.isa.upper()} by environment: an approximation of such a CPU")
    app = QApplication.instance() or QApplication([])
    quiet = "propagateSizeHints"  # the offscreen platform's notice, once per resize
    qInstallMessageHandler(lambda kind, context, text: None if quiet in text else print(text, file=sys.stderr))
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights
        if weights is None:
            torch.manual_seed(0)
            weights = str(Path(tmp) / "full.safetensors")
            TSFmicro().save_pretrained(weights)
        window = MainWindow(weights=weights)
        window.show()
        gaps: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        def pump(seconds: float, until=None) -> None:
            end = time.perf_counter() + seconds
            while time.perf_counter() < end and not (until and until()):
                app.processEvents()
                time.sleep(0.001)

        camera_video = Path(tmp) / "camera.avi"
        camera_frames = int((WARM_UP_S + args.seconds + 5.0) * 30)
        write_sample_excerpt(camera_video, camera_frames)  # the sample cycled
        window.live.open(lambda: VideoFileSource(camera_video), realtime=True)
        pump(WARM_UP_S, until=lambda: window.live.shown >= 0 and bool(window.session.results))  # model loaded, first result
        shown0, started = window.live.shown, time.perf_counter()
        timer = QTimer()
        timer.timeout.connect(tick)
        last[0] = time.perf_counter()
        timer.start(5)
        pump(args.seconds)
        timer.stop()
        elapsed = time.perf_counter() - started
        camera, analysis, dropped = window.session.live_stats
        shown = (window.live.shown - shown0) / elapsed
        ran_out = window.live.shown >= camera_frames - 1
        newest = max(window.session.results) if window.session.results else -1
        window.close()
        pump(30.0, until=lambda: window.workers_ended)
    print(f"live, full model, {args.seconds:g} s of the sample fed at 30 fps:")
    print(f"  camera {camera:.1f} fps; window showed {shown:.1f} frames/s; analysis {analysis:.1f} newest frames/s; "
          f"{dropped} stale frames dropped; the newest analysed frame {window.live.shown - newest} frames behind the "
          f"shown one; longest event-loop stall {1000 * max(gaps, default=0.0):.1f} ms over {len(gaps)} timer ticks")
    if ran_out:
        print("  the camera video ended during the measurement (the model took long to load): the rates are too low")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
