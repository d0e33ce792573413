"""``tsfgui eval-spotting``: spotting on a long-video dataset scored with the MEGC protocol.

For each video of the dataset (:mod:`tsfgui.train.longvideo`): the frames are analysed (faces, flow,
pose; no model), the signals kept in ``OUT/signals/<video>.npz``, spotting runs with the given
:class:`~tsfgui.engine.spotting.SpotSettings`, and the proposals are matched to the ground truth
(:mod:`tsfgui.engine.megc`). Each video's result is written to ``OUT/videos/<video>.json`` as soon as it
is done, so an interrupted run resumes where it stopped (a different setting re-spots the stored
signals without analysing again). The pooled figures go to ``OUT/megc.json`` and ``OUT/megc.md``; every
file is written to a temporary name and renamed.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np

from tsfgui.engine import Analyzer
from tsfgui.engine.flow import SIGNALS_VERSION
from tsfgui.engine.megc import Span, pooled, score_video, MegcTally
from tsfgui.engine.spotting import SignalRecorder, SpotSettings, spot_arrays
from tsfgui.io import ImageFolderSource
from tsfgui.io.atomic import atomic_path, atomic_write

from .longvideo import LongVideo, load_long_videos


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def video_signals(video: LongVideo, path: Path, report: Callable[[str], None]) -> dict[str, np.ndarray]:
    """The signals of one video: read from ``path`` when stored, else analysed and stored there."""
    if path.is_file():
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    recorder = SignalRecorder()
    started = time.perf_counter()
    with ImageFolderSource(video.folder, fps=video.fps) as source:
        total = len(source)
        for result in Analyzer(None).analyze(source):
            recorder.add(result)
            done = len(recorder)
            if done % 500 == 0:
                rate = done / (time.perf_counter() - started)
                report(f"  {video.name}: {done}/{total} frames, {rate:.0f} frames/s")
    arrays = recorder.arrays()
    with atomic_path(path, suffix=".part.npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return arrays


def evaluate(dataset: str, root: str | Path, out: str | Path, *, annotations: str | Path | None = None,
             settings: SpotSettings | None = None, report: Callable[[str], None] = print) -> dict:
    """Run spotting on every video of ``dataset`` under ``root`` and score it; returns the summary written
    to ``out/megc.json``."""
    settings = settings or SpotSettings()
    found = load_long_videos(dataset, root, annotations)
    out = Path(out)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    (out / "signals").mkdir(parents=True, exist_ok=True)
    for line in found.skipped:
        report(f"skipped: {line}")
    # as stored (tuples become lists), with the version of the signals the intervals were spotted on
    identity = json.loads(json.dumps({**asdict(settings), "signals_version": SIGNALS_VERSION}))
    rows, tallies = [], []
    for k, video in enumerate(found.videos, 1):
        name = _safe(video.name)
        result_path = out / "videos" / f"{name}.json"
        if result_path.is_file():
            stored = json.loads(result_path.read_text(encoding="utf-8"))
            if stored.get("settings") == identity:
                rows.append(stored)
                tallies.append(_tally(stored["counts"]))
                report(f"[{k}/{len(found.videos)}] {video.name}: done before")
                continue
        report(f"[{k}/{len(found.videos)}] {video.name}: {video.folder}")
        arrays = video_signals(video, out / "signals" / f"{name}.v{SIGNALS_VERSION}.npz", report)
        intervals = spot_arrays(arrays, video.fps, settings)
        proposals = [Span(i.onset, i.offset, i.kind) for i in intervals]
        tally = score_video(proposals, video.truth)
        row = {"video": video.name, "subject": video.subject, "folder": str(video.folder), "fps": video.fps,
               "frames": int(len(arrays["index"])), "settings": identity,
               "proposals": [i.to_dict() for i in intervals], "truth": [asdict(t) for t in video.truth],
               "counts": tally.counts}
        with atomic_write(result_path, encoding="utf-8") as fh:
            json.dump(row, fh, indent=1)
        rows.append(row)
        tallies.append(tally)
        o = tally.score()
        report(f"  {len(proposals)} proposals, {o.truth} ground truth, {o.hits} TP")
    total = pooled(tallies)
    summary = {"dataset": dataset, "root": str(root), "sheets": [str(s) for s in found.sheets],
               "protocol": "MEGC: per video, a proposal is a TP when IoU >= 0.5 with an unmatched ground-truth "
                           "interval of its kind; TP, FP, FN pooled over videos",
               "settings": identity, "videos": len(rows), "skipped_rows": found.skipped, **total.to_dict(),
               "per_video": [{"video": r["video"], "frames": r["frames"], **_tally(r["counts"]).to_dict()}
                             for r in rows]}
    with atomic_write(out / "megc.json", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=1)
    with atomic_write(out / "megc.md", encoding="utf-8") as fh:
        fh.write(markdown(summary))
    return summary


def _tally(counts: dict) -> MegcTally:
    tally = MegcTally()
    tally.counts = {k: list(v) for k, v in counts.items()}
    return tally


def markdown(summary: dict) -> str:
    """The summary as a Markdown report: pooled figures, then one row per video."""
    lines = [f"# Spotting on {summary['dataset']} (MEGC protocol)", "", f"Root: `{summary['root']}`, "
             f"{summary['videos']} videos; {summary['protocol']}.", "",
             "| | ground truth | proposals | TP | FP | FN | precision | recall | F1 |", "|---|---|---|---|---|---|---|---|---|"]
    for kind in ("micro", "macro", "overall"):
        s = summary[kind]
        lines.append(f"| {kind} | {s['truth']} | {s['proposals']} | {s['tp']} | {s['fp']} | {s['fn']} | "
                     f"{s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} |")
    lines += ["", "| video | frames | micro TP/prop/truth | macro TP/prop/truth | overall F1 |", "|---|---|---|---|---|"]
    for r in summary["per_video"]:
        mi, ma = r["micro"], r["macro"]
        lines.append(f"| {r['video']} | {r['frames']} | {mi['tp']}/{mi['proposals']}/{mi['truth']} | "
                     f"{ma['tp']}/{ma['proposals']}/{ma['truth']} | {r['overall']['f1']:.4f} |")
    if summary["skipped_rows"]:
        lines += ["", f"{len(summary['skipped_rows'])} annotation rows left out:", ""]
        lines += [f"- {line}" for line in summary["skipped_rows"]]
    return "\n".join(lines) + "\n"
