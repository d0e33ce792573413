"""Headless batch analysis: many videos or frame folders → one result folder each, resumable.

Each input gets ``OUT/<name>/frames.csv`` (one row per frame, see :mod:`tsfgui.engine.exports`) and
``events.csv``/``events.json`` (spotted intervals, see :mod:`tsfgui.engine.spotting`), a BORIS import
sheet, an ELAN ``.eaf`` file and a summary plot (:mod:`tsfgui.engine.reports`).

With a model the analysis has two stages by default: stage 1 (decode, track, difference signals,
spotting) runs on every frame without the model; stage 2 classifies each spotted interval with
TSFmicro on its own onset and apex frames (:mod:`tsfgui.engine.interval_labels`), the pair the model
is trained on. ``per_frame_model`` also runs the model on every frame against its rolling-lag
reference (the ``p_<class>`` columns of ``frames.csv``): what changed in the last 0.2 s, which is
not an expression, at the cost of the model on every frame.
The rows are streamed into a temporary file that is renamed only when the input is complete, so memory
does not grow with video length and a crash never leaves half a CSV looking whole. A finished input
also gets ``done.json`` (what was analysed, with which weights and settings); a re-run skips inputs
whose ``done.json`` matches and redoes the others from the start. A failing input is reported and
skipped; the others finish.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from tsfgui.io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, SourceDamagedError, SourceError, open_source
from tsfgui.io.atomic import atomic_write

from .analyzer import Analyzer
from .exports import frame_columns, frame_row
from .interval_labels import classify_intervals
from .pairing import RollingLag
from .reports import write_boris_sheet, write_eaf, write_events_csv, write_events_json, write_summary_plot
from .spotting import SignalRecorder, SpotSettings, SpottedInterval


@dataclass
class InputOutcome:
    """What happened to one input: ``done``, ``skipped`` (finished earlier) or ``failed``."""

    path: Path
    out_dir: Path
    status: str
    frames: int = 0
    seconds: float = 0.0
    message: str = ""


@dataclass
class BatchReport:
    outcomes: list[InputOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[InputOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def expand_inputs(paths: Sequence[str | Path]) -> list[Path]:
    """Videos and frame folders named by ``paths``: a folder holding images is one frame folder; any
    other folder contributes the videos inside it (recursively, sorted)."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir() and not any(c.suffix.lower() in IMAGE_EXTENSIONS for c in p.iterdir() if c.is_file()):
            found.extend(sorted(c for c in p.rglob("*") if c.is_file() and c.suffix.lower() in VIDEO_EXTENSIONS))
        else:
            found.append(p)
    return found


def output_dir(out: Path, source: Path, taken: set[str]) -> Path:
    """``out/<stem>``, with a short hash of the full path added when two inputs share a name."""
    name = source.stem if source.is_file() else source.name
    if name in taken:
        name = f"{name}-{hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:6]}"
    taken.add(name)
    return out / name


def _identity(source: Path, weights: str | None, settings: dict) -> dict:
    stat = source.stat()
    wstat = Path(weights).stat() if weights else None
    return {"input": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "weights": str(Path(weights).resolve()) if weights else None,
            "weights_mtime_ns": wstat.st_mtime_ns if wstat else None, "settings": settings}


def analyze_one(source_path: Path, out_dir: Path, *, model, weights: str | None, settings: dict,
                device: str | None = None, progress: Callable[[int, int | None], None] | None = None) -> InputOutcome:
    """Analyse one input into ``out_dir`` (skipped when its ``done.json`` matches)."""
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
    with open_source(source_path, fps=settings.get("fps")) as source:
        analyzer = Analyzer(model if per_frame else None, policy=RollingLag(lag_s=settings["lag_s"]),
                            batch_size=settings["batch_size"], device=device)
        names = analyzer.class_names  # the per-frame probability columns: none in the two-stage default
        count = 0
        recorder = SignalRecorder()
        with atomic_write(out_dir / "frames.csv", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(frame_columns(names))
            try:
                for result in analyzer.analyze(source):
                    writer.writerow(frame_row(result, names))
                    recorder.add(result)
                    count += 1
                    if progress is not None:
                        progress(count, source.info.frame_count)
            except SourceDamagedError as exc:  # the frames before the damage are kept, and it is said
                warning = str(exc)
        info = source.info
    events = recorder.spot(info.fps, settings.get("spotting") and SpotSettings(**settings["spotting"]))
    if model is not None and events:  # each interval's class from its own onset and apex frames
        with open_source(source_path, fps=settings.get("fps")) as source:
            events = classify_intervals(model, source, events, device=device, tracker=analyzer.tracker)
    write_events(out_dir, events, info.fps)
    write_boris_sheet(out_dir / "events_boris.xlsx", events, info.fps)
    classes = tuple(model.class_names) if model is not None else ()
    write_summary_plot(out_dir / "summary.png", recorder, events, info.fps, classes, title=source_path.name)
    write_eaf(out_dir / f"{out_dir.name}.eaf", events, info.fps, media=source_path if source_path.is_file() else None)
    summary = {"identity": identity, "frames": count, "events": len(events), "fps": info.fps, "width": info.width, "height": info.height,
               "classes": list(classes), "per_frame_model": per_frame, "warning": warning, "seconds": round(time.perf_counter() - start, 2)}
    with atomic_write(done_file, encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2)
    return InputOutcome(source_path, out_dir, "done", count, time.perf_counter() - start, warning)


def write_events(out_dir: Path, events: Sequence[SpottedInterval], fps: float) -> None:
    """``events.csv`` and ``events.json`` of the spotted intervals (times in seconds at ``fps``)."""
    write_events_csv(out_dir / "events.csv", events, fps)
    write_events_json(out_dir / "events.json", events, fps)


_WORKER_MODEL = None


def _init_worker(weights: str | None, threads: int) -> None:
    """Process-pool initializer: each worker loads the model once and uses its share of the cores."""
    global _WORKER_MODEL
    from tsfgui.model import configure_threads

    configure_threads(threads, pin=True)
    if weights:
        from tsfgui.model import TSFmicro

        _WORKER_MODEL = TSFmicro.from_pretrained(weights)


def _analyze_in_worker(path: Path, target: Path, weights: str | None, settings: dict, device: str | None) -> InputOutcome:
    try:
        return analyze_one(path, target, model=_WORKER_MODEL, weights=weights, settings=settings, device=device)
    except (SourceError, OSError, ValueError) as exc:
        return InputOutcome(path, target, "failed", message=str(exc))


def analyze_batch(inputs: Sequence[str | Path], out: str | Path, *, weights: str | None = None,
                  device: str | None = None, fps: float | None = None, lag_s: float = 0.2, batch_size: int = 8,
                  jobs: int = 1, show_progress: bool = True, spotting: SpotSettings | None = None,
                  per_frame_model: bool = False) -> BatchReport:
    """Analyse every input into ``out``: one after another with the model loaded once, or with
    ``jobs`` > 1 in that many processes (each with its share of the CPU cores). ``spotting``: the
    thresholds of :mod:`tsfgui.engine.spotting` (default :class:`SpotSettings`). With weights, the
    model classifies the spotted intervals; ``per_frame_model`` also runs it on every frame."""
    from dataclasses import asdict

    from tqdm import tqdm

    settings = {"fps": fps, "lag_s": lag_s, "batch_size": batch_size}
    if per_frame_model:
        settings["per_frame_model"] = True  # part of the identity: the other mode, a new run
    if spotting is not None and spotting != SpotSettings():
        settings["spotting"] = asdict(spotting)  # part of the identity: other thresholds, a new run
    out = Path(out)
    report = BatchReport()
    taken: set[str] = set()
    paths = expand_inputs(inputs)
    targets = [output_dir(out, p, taken) for p in paths]
    if jobs > 1 and len(paths) > 1:
        return _analyze_parallel(paths, targets, weights, settings, device, jobs, show_progress)
    model = None
    if weights:
        from tsfgui.model import TSFmicro

        model = TSFmicro.from_pretrained(weights)
    overall = tqdm(total=len(paths), unit="file", desc="all inputs", disable=not show_progress, position=0)
    for path, target in zip(paths, targets):
        bar = tqdm(unit="frame", desc=path.name[:40], disable=not show_progress, position=1, leave=False)

        def progress(done: int, total: int | None, bar=bar) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        try:
            outcome = analyze_one(path, target, model=model, weights=weights, settings=settings, device=device,
                                  progress=progress)
        except (SourceError, OSError, ValueError) as exc:
            outcome = InputOutcome(path, target, "failed", message=str(exc))
        finally:
            bar.close()
        report.outcomes.append(outcome)
        overall.update(1)
        if show_progress:
            tqdm.write(_describe(outcome))
    overall.close()
    return report


def _analyze_parallel(paths: list[Path], targets: list[Path], weights: str | None, settings: dict,
                      device: str | None, jobs: int, show_progress: bool) -> BatchReport:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    from tsfgui.model import available_cpus

    jobs = min(jobs, len(paths))
    threads = max(1, available_cpus() // jobs)
    report = BatchReport()
    overall = tqdm(total=len(paths), unit="file", desc=f"all inputs ({jobs} jobs)", disable=not show_progress)
    # spawn, not fork: a forked child of a process with running torch/OpenCV threads can deadlock
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                             initargs=(weights, threads)) as pool:
        futures = {pool.submit(_analyze_in_worker, p, t, weights, settings, device): i
                   for i, (p, t) in enumerate(zip(paths, targets))}
        outcomes: dict[int, InputOutcome] = {}
        for future in as_completed(futures):
            outcome = future.result()
            outcomes[futures[future]] = outcome
            overall.update(1)
            if show_progress:
                tqdm.write(_describe(outcome))
    overall.close()
    report.outcomes = [outcomes[i] for i in range(len(paths))]
    return report


def _describe(o: InputOutcome) -> str:
    if o.status == "failed":
        return f"FAILED  {o.path}: {o.message}"
    if o.status == "skipped":
        return f"skipped {o.path} (finished earlier: {o.out_dir})"
    extra = f"  warning: {o.message}" if o.message else ""
    return f"done    {o.path}: {o.frames} frames in {o.seconds:.1f} s → {o.out_dir}{extra}"
