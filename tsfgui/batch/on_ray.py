"""Batch analysis on a Ray cluster (``tsfgui analyze --cluster``): one Ray task per input, beside the local
process pool of :mod:`tsfgui.batch.local` and doing the same work.

Each task runs :func:`~tsfgui.batch.one_input.analyze_one` on a worker, which writes the input's result folder
itself (on a real cluster the output folder must be on a filesystem every node mounts at the same path, as must
the inputs and the weights): the same temp-and-rename writes and ``done.json`` as a local run, so a re-run skips
finished inputs wherever they ran. A task reserves ``cpus_per_input`` CPUs (torch uses that many threads) and,
when the cluster has GPUs, one GPU; each worker process loads the model once and keeps it for its next inputs.

Faults: a worker that dies (killed, out of memory, node lost) is replaced and its input run again from the start
by Ray (``max_retries``); so is one that raised a transient error (:data:`~tsfgui.cluster.TRANSIENT_ERRORS`). An
input that fails by itself (not a video, unreadable, an error inside torch or OpenCV) is reported once as failed,
with the same message as a local run, and the others finish. A retried
input first removes what the dead attempt left (its ``.part`` files and ``done.json``): no partial file ever
looks finished and no row is written twice. Ctrl+C cancels the running tasks; a re-run resumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from tsfgui.cluster import (TRANSIENT_ERRORS, ClusterError, ProgressBoard, ProgressReporter, as_completed, ray_cluster,
                            require_ray)
from tsfgui.cluster.gather import MAX_RETRIES

from .one_input import InputOutcome, analyze_one, failure_message

CPUS_PER_INPUT = 1  # decoding, face tracking and signals of one input keep about one core busy

_MODELS: dict[tuple, object] = {}


def _model(weights: str | None):
    """The model of ``weights``, loaded once per worker process (None without weights)."""
    if not weights:
        return None
    stat = Path(weights).stat()
    key = (str(Path(weights).resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _MODELS:
        from tsfgui.model import TSFmicro

        _MODELS.clear()
        _MODELS[key] = TSFmicro.from_pretrained(weights)
    return _MODELS[key]


def input_task(path: Path, target: Path, weights: str | None, settings: dict, device: str | None, board, key: str,
               threads: int) -> InputOutcome:
    """Body of one input's Ray task (runs on a worker)."""
    from tsfgui.model import configure_threads

    configure_threads(threads, pin=True)
    try:
        return analyze_one(path, target, model=_model(weights), weights=weights, settings=settings, device=device,
                           progress=ProgressReporter(board, key))
    except TRANSIENT_ERRORS:
        raise  # Ray runs the input again
    except Exception as exc:  # noqa: BLE001 - the input's own fault, whatever it is: reported once
        return InputOutcome(path, target, "failed", message=failure_message(exc))


def check_cluster_options(jobs: int = 1) -> None:
    """Before any work, :class:`~tsfgui.cluster.ClusterError` when Ray is missing or ``--jobs`` is given too."""
    require_ray()
    if jobs > 1:
        raise ClusterError("--jobs sizes the local process pool; with --cluster, Ray spreads the inputs over the "
                           "cluster's CPUs: leave --jobs out")


def analyze_on_cluster(paths: Sequence[Path], targets: Sequence[Path], *, weights: str | None, settings: dict,
                       device: str | None, address: str = "auto", cpus_per_input: int = CPUS_PER_INPUT, show_progress: bool = True,
                       describe: Callable[[InputOutcome], str] = str,
                       on_progress: Callable[[dict], None] | None = None, **local_options) -> list[InputOutcome]:
    """Analyse ``paths`` into ``targets`` as Ray tasks on the cluster at ``address``; the outcomes in input order.
    (:func:`~tsfgui.batch.local.analyze_batch` checks the weights once before it calls this.)

    ``on_progress`` gets the progress board's snapshot (job key → :class:`~tsfgui.cluster.progress.Progress`,
    with the worker's PID) a few times a second while the batch runs, and once more when it ends.
    """
    from tqdm import tqdm

    ray = require_ray()
    with ray_cluster(address, **local_options) as info:
        if device == "cuda" and info.gpus < 1:
            raise ClusterError(f"--device cuda: the {info.describe()} has no GPU; leave --device out")
        gpus = 1 if info.gpus >= 1 and device != "cpu" else 0
        board = ray.remote(ProgressBoard).options(num_cpus=0).remote()
        task = ray.remote(input_task).options(num_cpus=cpus_per_input, num_gpus=gpus, max_retries=MAX_RETRIES,
                                              retry_exceptions=list(TRANSIENT_ERRORS))
        keys = [str(i) for i in range(len(paths))]
        refs = {task.remote(p, t, weights, settings, device, board, k, cpus_per_input): i
                for i, (p, t, k) in enumerate(zip(paths, targets, keys))}
        outcomes: dict[int, InputOutcome] = {}
        bar = tqdm(total=0, unit="frame", disable=not show_progress, desc=f"0/{len(paths)} inputs")
        if show_progress:
            tqdm.write(f"tsfgui: {len(paths)} input(s) on the {info.describe()}")

        def draw() -> None:
            snapshot = ray.get(board.snapshot.remote())
            if on_progress is not None:
                on_progress(snapshot)
            running = {int(k): p for k, p in snapshot.items() if int(k) not in outcomes}
            done = sum(o.frames for o in outcomes.values()) + sum(p.done for p in running.values())
            total = sum(o.frames for o in outcomes.values()) + sum(p.total or p.done for p in running.values())
            bar.total = max(total, done)
            bar.n = done
            bar.set_description(f"{len(outcomes)}/{len(paths)} inputs, {len(running)} running")
            bar.refresh()

        try:
            for ref, outcome, error in as_completed(list(refs), on_tick=draw if (show_progress or on_progress) else None):
                i = refs[ref]
                if error is not None:  # died more often than the retries allow, or a transient error persisted
                    outcome = InputOutcome(paths[i], targets[i], "failed", message=_one_line(error))
                outcomes[i] = outcome
                if show_progress:
                    tqdm.write(describe(outcome))
            if show_progress or on_progress:
                draw()  # the final count (and every attempt, even one that ended between two ticks)
        finally:
            bar.close()
    return [outcomes[i] for i in range(len(paths))]


def _one_line(error: BaseException) -> str:
    text = [line for line in str(error).strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
