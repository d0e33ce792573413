"""Headless batch analysis: many videos or frame folders → one result folder each, resumable.

Inputs run one after another with the model loaded once, or with ``jobs`` > 1 in a process pool
(each worker loads the model once and takes its share of the CPU cores). What each input gets is
described in :mod:`tsfgui.batch.one_input`. A failing input is reported and skipped; the others finish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tsfgui.engine.spotting import SpotSettings
from tsfgui.io import SourceError

from .inputs import expand_inputs, output_dir
from .one_input import InputOutcome, analyze_one


@dataclass
class BatchReport:
    outcomes: list[InputOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[InputOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


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
                  per_frame_model: bool = False, cluster: str | None = None) -> BatchReport:
    """Analyse every input into ``out``: one after another with the model loaded once, or with
    ``jobs`` > 1 in that many processes (each with its share of the CPU cores), or with ``cluster``
    (``"auto"`` or a head's address) as Ray tasks (:mod:`tsfgui.batch.on_ray`). ``spotting``: the
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
    if cluster:
        from .on_ray import analyze_on_cluster

        report.outcomes = analyze_on_cluster(paths, targets, weights=weights, settings=settings, device=device,
                                             address=cluster, show_progress=show_progress, describe=_describe)
        return report
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
