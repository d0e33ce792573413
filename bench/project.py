"""How a project file behaves as it grows: time to record one decision (one transaction with
``synchronous = FULL`` in WAL mode), to undo one, to open the file (``PRAGMA quick_check`` included),
to list a recording's events and the status table, and the file's size, for a project holding many
hours of per-frame signals. The recordings are copies of one small real video (so each has its own
fingerprint); the runs' signals are random arrays of an hour's length at 30 fps each.

    tsfgui bench project [--recordings 20] [--decisions 300]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from tsfgui.arguments import positive_int

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_interview.mp4"
KEYS = ("diff_global", "diff_brows", "diff_eyes", "diff_nose", "diff_mouth", "flow_global", "flow_brows",
        "flow_eyes", "flow_nose", "flow_mouth", "pose_Rx", "pose_Ry", "pose_Rz")


def main(argv=None) -> int:
    from tsfgui.project import Project

    ap = argparse.ArgumentParser(prog="tsfgui bench project", description=__doc__.split("\n\n")[0])
    ap.add_argument("--recordings", type=positive_int, default=20, help="recordings, one hour of signals each")
    ap.add_argument("--decisions", type=positive_int, default=300, help="decisions to time")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    frames = 30 * 3600
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        p = Project.create(tmp / "bench.tsfproj")
        copies = []
        for i in range(args.recordings):
            c = tmp / f"rec{i:03d}.mp4"
            shutil.copy(SAMPLE, c)
            with c.open("ab") as fh:  # a different last MiB: a different recording to the fingerprint
                fh.write(i.to_bytes(4, "little"))
            copies.append(c)
        recs = p.add_recordings(copies).added
        t0 = time.perf_counter()
        for r in recs:
            signals = {k: rng.normal(size=frames).astype(np.float32) for k in KEYS}
            signals["frame"] = np.arange(frames, dtype=np.int32)
            proposals = [dict(onset=o, apex=o + 5, offset=o + 12, kind="micro", label="negative", score=4.0)
                         for o in range(0, frames - 20, 600)]
            p.save_run(r.id, identity="bench", weights=None, weights_fingerprint=None, settings={}, class_names=[],
                       frames=frames, seconds=0.0, warning="", proposals=proposals, signals=signals)
        store_s = time.perf_counter() - t0
        first = p.proposals(recs[0].id)
        decide, undo = [], []
        for k in range(args.decisions):
            e = first[k % len(first)]
            t = time.perf_counter()
            p.decide("A", e.proposal_id, "accepted" if k % 2 else "rejected", aus="1+2", note=f"n{k}")
            decide.append(time.perf_counter() - t)
        for _ in range(min(50, args.decisions)):
            t = time.perf_counter()
            p.undo("A")
            undo.append(time.perf_counter() - t)
        t = time.perf_counter()
        events = p.events(recs[0].id, "A")
        events_s = time.perf_counter() - t
        t = time.perf_counter()
        p.status_rows()
        status_s = time.perf_counter() - t
        p.close()
        t = time.perf_counter()
        Project.open(tmp / "bench.tsfproj").close()
        open_s = time.perf_counter() - t
        size = (tmp / "bench.tsfproj").stat().st_size
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; SQLite WAL, synchronous=FULL")
    print(f"{args.recordings} recordings x 1 h at 30 fps ({args.recordings * frames:,} frames of {len(KEYS)} "
          f"signals), {len(first)} proposals each: stored in {store_s:.1f} s; file {size / 1e6:.0f} MB")
    print(f"record a decision: median {statistics.median(decide) * 1e3:.1f} ms, max {max(decide) * 1e3:.1f} ms "
          f"({args.decisions} decisions)")
    print(f"undo: median {statistics.median(undo) * 1e3:.1f} ms (the stack replayed from the history)")
    print(f"events of one recording ({len(events)}): {events_s * 1e3:.0f} ms; status table: {status_s * 1e3:.0f} ms")
    print(f"open (with quick_check): {open_s * 1e3:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
