"""One input of a batch, analysed into its own result folder, resumable.

With a model the analysis has two stages by default: stage 1 (decode, track, difference signals,
spotting) runs on every frame without the model; stage 2 classifies each spotted interval with
TSFmicro on its own onset and apex frames (:mod:`tsfgui.engine.interval_labels`), the pair the model
is trained on. ``per_frame_model`` also runs the model on every frame against its rolling-lag
reference (the ``p_<class>`` columns of ``frames.csv``): what changed in the last 0.2 s, which is
not an expression, at the cost of the model on every frame.

The input gets ``frames.csv`` (streamed: one row per frame, renamed into place only when complete, so
memory does not grow with video length and a crash never leaves half a CSV looking whole) and every
other ``events``/``summary`` format of :mod:`tsfgui.export`. A finished input
also gets ``done.json`` (what was analysed, with which weights and settings); a re-run skips it when
``done.json`` matches and redoes it from the start otherwise.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tsfgui import export
from tsfgui.engine import Analyzer, RollingLag
from tsfgui.engine.interval_labels import FaceBoxes, classify_intervals
from tsfgui.engine.spotting import SignalRecorder, SpotSettings
from tsfgui.io import SourceDamagedError, SourceError, open_source
from tsfgui.io.atomic import atomic_write


@dataclass
class InputOutcome:
    """What happened to one input: ``done``, ``skipped`` (finished earlier) or ``failed``."""

    path: Path
    out_dir: Path
    status: str
    frames: int = 0
    seconds: float = 0.0
    message: str = ""
    #: seconds per stage of a finished analysis (see :func:`analyze_one`)
    stages: dict[str, float] = field(default_factory=dict)
    #: CPU seconds of stage 1's tracking thread and signals thread (``Analyzer.stats``)
    thread_cpu: dict[str, float] = field(default_factory=dict)


#: The key of ``InputOutcome.stages`` for stage 1's wall time; tracking (its own thread), the signals,
#: the per-frame model and the rest of the analysis thread overlap inside it.
STAGE1 = "stage 1 (decoding, tracking, signals)"


def failure_message(exc: BaseException) -> str:
    """One line for the report: our own errors as they are (they name the file and what to do), any
    other error with its kind (an error inside torch or OpenCV)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, (SourceError, OSError)) and text:
        return text
    return f"analysis failed ({type(exc).__name__}: {text or 'no message'})"


def _identity(source: Path, weights: str | None, settings: dict) -> dict:
    stat = source.stat()
    wstat = Path(weights).stat() if weights else None
    identity = {"input": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                "weights": str(Path(weights).resolve()) if weights else None,
                "weights_mtime_ns": wstat.st_mtime_ns if wstat else None, "settings": settings}
    return json.loads(json.dumps(identity))  # as done.json reads back (tuples become lists)


def analyze_one(source_path: Path, out_dir: Path, *, model, weights: str | None, settings: dict,
                device: str | None = None, progress: Callable[[int, int | None], None] | None = None,
                tracking_process: bool | None = None) -> InputOutcome:
    """Analyse one input into ``out_dir`` (skipped when its ``done.json`` matches). ``tracking_process``:
    where stage 1 decodes and tracks (see :class:`~tsfgui.engine.Analyzer`; the results are the same)."""
    start = time.perf_counter()
    identity = _identity(source_path, weights, settings)
    done_file = out_dir / "done.json"
    if done_file.is_file():
        try:
            if json.loads(done_file.read_text()).get("identity") == identity:
                return InputOutcome(source_path, out_dir, "skipped", message="finished earlier")
        except (OSError, ValueError):
            pass
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in [done_file, *out_dir.glob(".*.part")]:  # an interrupted or outdated run restarts cleanly
        stale.unlink(missing_ok=True)
    warning = ""
    per_frame = model is not None and settings.get("per_frame_model", False)
    fps = settings.get("fps") if source_path.is_dir() else None  # --fps is a frame folder's; videos keep theirs
    with open_source(source_path, fps=fps) as source:
        announced = source.info.frame_count
        analyzer = Analyzer(model if per_frame else None, policy=RollingLag(lag_s=settings["lag_s"]),
                            batch_size=settings["batch_size"], device=device, tracking_process=tracking_process)
        names = analyzer.class_names  # the per-frame probability columns: none in the two-stage default
        recorder = SignalRecorder()
        boxes = FaceBoxes()  # stage 2 landmarks the tracked face instead of detecting it again
        stage1 = time.perf_counter()
        frames = export.writer("frames-csv")
        with export.frames_csv_stream(frames.default_path(out_dir, out_dir.name), names) as rows:
            try:
                for result in analyzer.analyze(source):
                    rows.add(result)
                    recorder.add(result)
                    boxes.add(result)
                    if progress is not None:
                        progress(rows.rows, source.info.frame_count)
            except SourceDamagedError as exc:  # the frames before the damage are kept, and it is said
                warning = str(exc)
        count = rows.rows
        info = source.info
    stats = analyzer.stats
    stage1 = time.perf_counter() - stage1
    # tracking runs in its own thread (and decoding in another), overlapped with the signals and the model
    stages = {STAGE1: stage1, "face tracking": stats.face_seconds,
              "signals (difference, flow, pose)": stats.signal_seconds, "model on every frame": stats.model_seconds,
              "CSV rows, recorder, waiting for frames": stage1 - stats.signal_seconds - stats.model_seconds}
    mark = time.perf_counter()
    events = recorder.spot(info.fps, settings.get("spotting") and SpotSettings(**settings["spotting"]))
    stages["spotting"] = time.perf_counter() - mark
    mark = time.perf_counter()
    if model is not None and events:  # each interval's class from its own onset and apex frames
        with open_source(source_path, fps=fps) as source:
            events = classify_intervals(model, source, events, device=device, tracker=analyzer.tracker,
                                        boxes=boxes)
    stages["model on spotted intervals"] = time.perf_counter() - mark
    mark = time.perf_counter()
    classes = tuple(model.class_names) if model is not None else ()
    data = export.ExportData(fps=info.fps, class_names=classes, events=events, signals=recorder,
                             media=source_path if source_path.is_file() else None, title=source_path.name)
    for writer in export.writers("events") + export.writers("summary"):
        writer.write(writer.default_path(out_dir, out_dir.name), data)
    stages["event files and summary plot"] = time.perf_counter() - mark
    summary = {"identity": identity, "frames": count, "frames_announced": announced, "frames_decoded": count,
               "events": len(events), "fps": info.fps, "width": info.width,
               "height": info.height, "classes": list(classes), "per_frame_model": per_frame, "warning": warning,
               "seconds": round(time.perf_counter() - start, 2),
               "seconds_per_stage": {k: round(v, 3) for k, v in stages.items()}}
    with atomic_write(done_file, encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2)
    thread_cpu = {"face tracking": stats.face_cpu_seconds, "signals (difference, flow, pose)": stats.signal_cpu_seconds}
    return InputOutcome(source_path, out_dir, "done", count, time.perf_counter() - start, warning, stages, thread_cpu)
