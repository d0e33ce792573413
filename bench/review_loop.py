"""The event looper never blocks the window: the longest stall of the GUI event loop while events of
the bundled sample are loaded, aligned and magnified in the worker and looped at 0.25×.

A 1 ms probe timer runs on the GUI thread; a stall is the longest gap between two of its ticks. The
same probe runs first with the window idle, for a ratio measured in the same run (the CPU is noisy).

    PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen python bench/review_loop.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tsfgui.engine.event_loop import event_window  # noqa: E402
from tsfgui.resources import SAMPLE_VIDEO  # noqa: E402
from tsfgui.ui.review.event_view import EventView  # noqa: E402


class StallProbe:
    """Records the longest gap between ticks of a 1 ms timer on the GUI thread."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.last = 0
        self.longest_ms = 0

    def start(self) -> None:
        self.longest_ms = 0
        self.clock.start()
        self.last = 0
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.longest_ms = max(self.longest_ms, now - self.last)
        self.last = now

    def stop(self) -> int:
        self.timer.stop()
        return self.longest_ms


def spin(ms: int) -> None:
    """Run the GUI event loop for ``ms`` milliseconds."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(signal, timeout_ms: int = 30_000) -> float:
    """Run the event loop until ``signal`` fires; seconds waited."""
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    start = time.perf_counter()
    loop.exec()
    signal.disconnect(loop.quit)
    return time.perf_counter() - start


def cpu_flags() -> str:
    try:
        flags = open("/proc/cpuinfo").read().split("flags")[1].split("\n")[0]
    except (OSError, IndexError):
        return platform.machine()
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f" {f}" in flags]
    return f"{platform.machine()} ({', '.join(wanted) or 'no AVX2'}), {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factors", type=int, nargs="+", default=[10, 20])
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    events = json.loads(SAMPLE_VIDEO.with_suffix(".json").read_text())["events"]
    view = EventView()
    view.resize(1100, 420)
    view.show()
    probe = StallProbe()
    probe.start()
    spin(2000)
    idle = probe.stop()
    probe.start()
    view.open_recording(str(SAMPLE_VIDEO))  # the worker loads dlib's face models
    spin(3000)
    opening = probe.stop()

    load_s, magnify_s = [], []
    probe.start()
    for i, e in enumerate(events):
        window = event_window(e["onset"], e["offset"], 30.0, 300, e["apex"])
        view.set_magnification(False)
        view.show_event(f"e{i}", window)
        load_s.append(wait_for(view.clipShown))
        for factor in args.factors:
            view.factor_slider.setValue(factor)
            view.set_magnification(True)
            magnify_s.append(wait_for(view.magnifiedShown))
        spin(500)  # looping at 0.25× with the magnified crop
    busy = probe.stop()
    view.close_recording()
    app.processEvents()

    print(f"machine: {cpu_flags()}")
    print(f"{len(events)} events of the sample (about 44 frames each, 224 px crops), factors {args.factors}")
    print(f"worker: decode + align {1000 * sum(load_s) / len(load_s):.0f} ms per event, "
          f"magnify {1000 * sum(magnify_s) / len(magnify_s):.0f} ms per factor (wall time seen by the window)")
    print(f"longest GUI event-loop stall: {busy} ms while loading, magnifying and looping; "
          f"{idle} ms idle (ratio {busy / max(idle, 1):.1f})")
    print(f"opening a recording: {opening} ms (dlib's detector and landmark model load while holding Python's GIL)")
    view.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
