"""Headless batch analysis: many videos or frame folders → one result folder each, resumable.

Inputs run one after another with the model loaded once, or with ``jobs`` > 1 in a process pool
(each worker loads the model once and takes its share of the CPU cores). What each input gets is
described in :mod:`tsfgui.batch.one_input`. One bad input never stops a batch: whatever goes wrong
with it (a damaged file, an error in torch or OpenCV, a worker process killed or out of memory)
becomes a ``failed`` outcome with its message, and the others finish; a worker that dies is replaced.
Bad weights are refused once, before any input starts.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tsfgui.engine.flow import SIGNALS_VERSION
from tsfgui.engine.spotting import SpotSettings

from .inputs import FoundInputs, NoInputsError, find_inputs, no_inputs_message, output_dir
from .one_input import InputOutcome, analyze_one, failure_message


@dataclass
class BatchReport:
    outcomes: list[InputOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[InputOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


_WORKER_MODEL = None
_WORKER_STARTED = None  # queue: (input number, worker pid) as each input starts
WORKER_DIED = "the process analysing it died (killed, or out of memory); the other inputs went on"


def _init_worker(weights: str | None, threads: int, started=None) -> None:
    """Process-pool initializer: each worker loads the model once and uses its share of the cores."""
    global _WORKER_MODEL, _WORKER_STARTED
    from tsfgui.model import configure_threads

    _WORKER_STARTED = started
    configure_threads(threads, pin=True)
    if weights:
        from tsfgui.model import TSFmicro

        _WORKER_MODEL = TSFmicro.from_pretrained(weights)


def _analyze_in_worker(number: int, path: Path, target: Path, weights: str | None, settings: dict,
                       device: str | None) -> InputOutcome:
    if _WORKER_STARTED is not None:
        _WORKER_STARTED.put((number, os.getpid()))
    return _analyze_safely(path, target, model=_WORKER_MODEL, weights=weights, settings=settings, device=device)


def _analyze_safely(path: Path, target: Path, **kwargs) -> InputOutcome:
    """:func:`analyze_one`, with any error of this input turned into its ``failed`` outcome."""
    try:
        return analyze_one(path, target, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one input's failure, whatever it is, must not stop the batch
        return InputOutcome(path, target, "failed", message=failure_message(exc))


def analyze_batch(inputs: Sequence[str | Path], out: str | Path, *, weights: str | None = None,
                  device: str | None = None, fps: float | None = None, lag_s: float = 0.2, batch_size: int = 8,
                  jobs: int = 1, show_progress: bool = True, spotting: SpotSettings | None = None,
                  per_frame_model: bool = False, cluster: str | None = None, exact: bool = False) -> BatchReport:
    """Analyse every input into ``out``: one after another with the model loaded once, or with
    ``jobs`` > 1 in that many processes (each with its share of the CPU cores), or with ``cluster``
    (``"auto"`` or a head's address) as Ray tasks (:mod:`tsfgui.batch.on_ray`). ``spotting``: the
    thresholds of :mod:`tsfgui.engine.spotting` (default :class:`SpotSettings`). With weights, the
    model classifies the spotted intervals; ``per_frame_model`` also runs it on every frame.
    ``fps`` is the frame rate of frame folders (videos keep their own). Inputs are searched for under
    the paths given (:func:`~tsfgui.batch.inputs.find_inputs`); with ``exact`` each path is one input
    as it is (a project's recordings), and the outcomes are in the order of ``inputs``.

    Raises :class:`~tsfgui.model.weights.WeightsError` for unusable weights before any input starts,
    and :class:`NoInputsError` when nothing to analyse is found."""
    from dataclasses import asdict

    from tqdm import tqdm

    settings = {"fps": fps, "lag_s": lag_s, "batch_size": batch_size}
    if per_frame_model:
        settings["per_frame_model"] = True  # part of the identity: the other mode, a new run
    # part of the identity: other thresholds — the defaults too, which a new version may change — or
    # signals computed another way give other events, so a re-run after an upgrade redoes the input
    settings["spotting"] = asdict(spotting or SpotSettings())
    settings["signals_version"] = SIGNALS_VERSION
    out = Path(out)
    found = FoundInputs([Path(p) for p in inputs]) if exact else find_inputs(inputs)
    if not found.inputs:
        raise NoInputsError(no_inputs_message(inputs, found))
    model = None
    if weights:  # loaded here even for a pool: bad weights are refused once, up front
        from tsfgui.model import TSFmicro

        model = TSFmicro.from_pretrained(weights)
    report = BatchReport([InputOutcome(folder, out, "skipped", message=why) for folder, why in found.stills])
    if show_progress:
        for o in report.outcomes:
            tqdm.write(_describe(o))
    taken: set[str] = set()
    paths = found.inputs
    targets = [output_dir(out, p, taken) for p in paths]
    if cluster:
        from .on_ray import analyze_on_cluster

        report.outcomes += analyze_on_cluster(paths, targets, weights=weights, settings=settings, device=device,
                                              address=cluster, show_progress=show_progress, describe=_describe)
        return report
    if jobs > 1 and len(paths) > 1:
        report.outcomes += _analyze_parallel(paths, targets, weights, settings, device, jobs, show_progress)
        return report
    overall = tqdm(total=len(paths), unit="file", desc="all inputs", disable=not show_progress, position=0)
    for path, target in zip(paths, targets):
        bar = tqdm(unit="frame", desc=path.name[:40], disable=not show_progress, position=1, leave=False)

        def progress(done: int, total: int | None, bar=bar) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        try:
            outcome = _analyze_safely(path, target, model=model, weights=weights, settings=settings, device=device,
                                      progress=progress)
        finally:
            bar.close()
        report.outcomes.append(outcome)
        overall.update(1)
        if show_progress:
            tqdm.write(_describe(outcome))
    overall.close()
    return report


def _analyze_parallel(paths: list[Path], targets: list[Path], weights: str | None, settings: dict,
                      device: str | None, jobs: int, show_progress: bool) -> list[InputOutcome]:
    """The inputs in a pool of ``jobs`` processes, one input per worker at a time. When a worker dies,
    the input it was running fails and a new pool takes the rest (inputs the dead pool took down with
    it run again). Should the dead worker's input be unknown, the inputs that were running are run
    again one at a time: the one that kills its worker alone fails."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from tqdm import tqdm

    from tsfgui.model import available_cpus

    jobs = min(jobs, len(paths))
    threads = max(1, available_cpus() // jobs)
    overall = tqdm(total=len(paths), unit="file", desc=f"all inputs ({jobs} jobs)", disable=not show_progress)
    outcomes: dict[int, InputOutcome] = {}
    waiting = deque(range(len(paths)))
    suspects: deque[int] = deque()  # running when a worker of unknown input died: retried alone
    # spawn, not fork: a forked child of a process with running torch/OpenCV threads can deadlock
    context = multiprocessing.get_context("spawn")
    started = context.SimpleQueue()  # put() writes at once: a worker killed right after has said it

    def record(i: int, outcome: InputOutcome) -> None:
        outcomes[i] = outcome
        overall.update(1)
        if show_progress:
            tqdm.write(_describe(outcome))

    while waiting or suspects:
        alone = bool(suspects)
        size = 1 if alone else jobs
        pool = ProcessPoolExecutor(size, mp_context=context, initializer=_init_worker,
                                   initargs=(weights, available_cpus() if alone else threads, started))
        workers: dict = {}  # pid → Process, to read how each ended
        running: dict = {}
        lost: list[int] = []
        try:
            while True:
                source = suspects if alone else waiting
                while source and len(running) < size:
                    i = source.popleft()
                    running[pool.submit(_analyze_in_worker, i, paths[i], targets[i], weights, settings, device)] = i
                    workers.update(getattr(pool, "_processes", None) or {})
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    if future.exception() is None:
                        record(running.pop(future), future.result())
                if any(f.exception() is not None for f in finished):  # the pool is broken
                    lost = [running.pop(f) for f in list(running) if not f.done() or f.exception() is not None]
                    for future in list(running):
                        record(running.pop(future), future.result())
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if not lost:
            continue
        ran_on: dict[int, int] = {}
        while not started.empty():
            number, pid = started.get()
            ran_on[number] = pid
        died = {pid for pid, process in workers.items() if process.exitcode not in (None, 0, -signal.SIGTERM)}
        culprits = [i for i in lost if ran_on.get(i) in died]
        if alone and not culprits:
            culprits = lost  # it ran alone: it was the one
        for i in culprits:
            record(i, InputOutcome(paths[i], targets[i], "failed", message=WORKER_DIED))
        others = [i for i in lost if i not in culprits]
        if culprits:
            waiting.extendleft(reversed(others))
        else:
            suspects.extend(others)
    overall.close()
    return [outcomes[i] for i in range(len(paths))]


def _describe(o: InputOutcome) -> str:
    if o.status == "failed":
        return f"FAILED  {o.path}: {o.message}"
    if o.status == "skipped":
        return f"skipped {o.path} ({o.message}{': ' + str(o.out_dir) if o.message == 'finished earlier' else ''})"
    extra = f"  warning: {o.message}" if o.message else ""
    return f"done    {o.path}: {o.frames} frames in {o.seconds:.1f} s → {o.out_dir}{extra}"
