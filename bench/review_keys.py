"""How long the review window takes to answer a key on a big project: the time from the key press to
the refreshed window (the decision written, the queue, counts, agreement and the event redrawn), on
the GUI thread, for N (next event) and A (accept) — in one recording's queue and in the whole project's.

The project has ``--recordings`` copies of the bundled sample, each with ``--events`` proposals and
another coder's decisions on half of them (agreement and the *other coders* column have work to do).

    PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen python bench/review_keys.py [--recordings 20] [--events 180]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tsfgui.project import Project  # noqa: E402
from tsfgui.resources import SAMPLE_VIDEO  # noqa: E402

from review_loop import cpu_flags  # noqa: E402


def build(folder: Path, recordings: int, events: int) -> Path:
    path = folder / "bench.tsfproj"
    with Project.create(path) as p:
        copies = []
        for i in range(recordings):
            c = folder / f"rec{i:03d}.mp4"
            shutil.copy(SAMPLE_VIDEO, c)
            with c.open("ab") as fh:  # another fingerprint for each copy
                fh.write(i.to_bytes(4, "little"))
            copies.append(c)
        for rec in p.add_recordings(copies).added:
            step = max(1, (rec.frame_count - 20) // events)
            proposals = [dict(onset=o, apex=o + 3, offset=o + 8, kind="micro", label="negative", score=4.0)
                         for o in range(0, step * events, step)][:events]
            p.save_run(rec.id, identity="bench", weights=None, weights_fingerprint=None, settings={},
                       class_names=["negative", "positive", "surprise"], frames=rec.frame_count or 0, seconds=0.0,
                       warning="", proposals=proposals)
            for e in p.proposals(rec.id)[::2]:
                p.decide("B", e.proposal_id, "accepted")
    return path


def time_keys(window, key, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        QTest.keyClick(window.table, key)
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recordings", type=int, default=20)
    parser.add_argument("--events", type=int, default=180)
    parser.add_argument("--keys", type=int, default=20, help="presses of each key to time")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    from tsfgui.ui.review.window import ReviewWindow

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TSFGUI_CONFIG_DIR"] = tmp
        t = time.perf_counter()
        path = build(Path(tmp), args.recordings, args.events)
        built = time.perf_counter() - t
        t = time.perf_counter()
        window = ReviewWindow(path, coder="A")
        window.show()
        window.activateWindow()
        app.processEvents()
        opened = time.perf_counter() - t
        print(f"machine: {cpu_flags()}")
        print(f"{args.recordings} recordings × {args.events} proposals, coder B decided half (built in {built:.0f} s); "
              f"window opened in {opened:.2f} s")
        for scope in ("recording", "project"):
            if scope == "project":
                window.whole_project_action.trigger()
            n = time_keys(window, Qt.Key.Key_N, args.keys)
            a = time_keys(window, Qt.Key.Key_A, args.keys)
            print(f"{scope:>9} queue ({len(window.queue.events)} events): "
                  f"N median {1000 * statistics.median(n):.0f} ms, max {1000 * max(n):.0f} ms; "
                  f"A median {1000 * statistics.median(a):.0f} ms, max {1000 * max(a):.0f} ms")
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
