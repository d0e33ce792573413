"""Live mode as a user sees it: the app's window, a camera at 30 fps, the full model, in one run.

    tsfgui bench live                      # 10 s, the paper's model (random weights: same speed)
    tsfgui bench live --isa avx2 --seconds 20   # capped to AVX2, 20 s measured after the model loads
    tsfgui bench live --per-frame-model    # the model on every newest frame instead of on spotted events

The bundled sample's frames, cycled into a video longer than the run (the sample itself lasts 10 s, and
a camera does not stop), are fed in real time through the path a webcam takes (a reader thread that keeps
only the newest frame); the main window runs offscreen with the full TSFmicro in live mode, two-stage
by default (faces and signals on the newest frames, the model on each spotted event in a thread of its
own) or with ``--per-frame-model`` on every newest frame (the model gets all cores but one). Printed:
the camera's frame rate, the frames the window showed per second, the analysis rate (newest frames
analysed per second), the frames dropped as stale, how far the newest analysed frame lags the shown
one, the longest stall of the window's event loop (a 5-ms timer's largest gap) and, two-stage, the
events spotted and classified and how long after its offset each appeared. Timings depend on the machine and its load: these are figures to read, not
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
    parser.add_argument("--per-frame-model", action="store_true",
                        help="run the model on every newest frame (default: on each spotted event)")
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
        window.set_per_frame_model(args.per_frame_model)
        window.show()
        appeared: list[tuple[int, int]] = []  # (frame shown when an event appeared, its offset), measuring only
        measuring = [False]
        analysed = [0]  # results of the live analysis (one per newest frame taken)
        window.session.live_result.connect(lambda result: analysed.__setitem__(0, analysed[0] + 1))
        window.session.events_changed.connect(
            lambda events: measuring[0] and events and appeared.append((window.live.shown, events[-1].offset)))
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
        analysed0 = analysed[0]
        measuring[0] = True
        timer = QTimer()
        timer.timeout.connect(tick)
        last[0] = time.perf_counter()
        timer.start(5)
        pump(args.seconds)
        timer.stop()
        elapsed = time.perf_counter() - started
        measuring[0] = False
        camera, _, dropped = window.session.live_stats
        analysis = (analysed[0] - analysed0) / elapsed  # over the measurement only, not the model's loading
        shown = (window.live.shown - shown0) / elapsed
        ran_out = window.live.shown >= camera_frames - 1
        newest = max(window.session.results) if window.session.results else -1
        window.close()
        pump(30.0, until=lambda: window.workers_ended)
    how = "on every newest frame" if args.per_frame_model else "on each spotted event"
    print(f"live, full model {how}, {args.seconds:g} s of the sample fed at 30 fps:")
    print(f"  camera {camera:.1f} fps; window showed {shown:.1f} frames/s; analysis {analysis:.1f} newest frames/s; "
          f"{dropped} stale frames dropped; the newest analysed frame {window.live.shown - newest} frames behind the "
          f"shown one; longest event-loop stall {1000 * max(gaps, default=0.0):.1f} ms over {len(gaps)} timer ticks")
    if not args.per_frame_model:
        delays = sorted((shown - offset) / 30.0 for shown, offset in appeared)
        print(f"  {len(appeared)} events spotted and classified during the measurement"
              + (f", each shown {delays[0]:.1f}–{delays[-1]:.1f} s after its offset (median "
                 f"{delays[len(delays) // 2]:.1f} s)" if delays else ""))
    if ran_out:
        print("  the camera video ended during the measurement (the model took long to load): the rates are too low")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
