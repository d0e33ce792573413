"""Runs the engine over a whole source in a background worker (superqt generator worker).

The worker opens the source and takes the session's model (:class:`~tsfgui.session.ModelService`,
read from its file at the first use) in its own thread, analyses every frame and yields
messages the UI applies on its thread: ``("model", description, device)`` once (and
``("classes", names)`` when the model is not run on every frame), then batches
``("results", [FrameResult, …], frames_done)`` at most every ``interval_s``. Results are compacted
(no pixel data), so keeping one per frame of a long video stays small. Quitting is cooperative:
the UI calls ``worker.quit()`` and the loop stops between frames.
"""

from __future__ import annotations

import time
from typing import Iterator

from superqt.utils import GeneratorWorker, thread_worker

from tsfgui.engine import Analyzer, FrameResult, ReferencePolicy
from tsfgui.io import SourceDamagedError, open_source
from tsfgui.session import ModelService, describe_model

from .threads import relaying_errors


def device_name(device) -> str:
    """A person's name for a torch device: the GPU's model name, or "CPU"."""
    import torch

    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(device)}"
    return "Apple GPU (MPS)" if device.type == "mps" else "CPU"


def _analyse(target: str, fps: float | None, models: ModelService, batch_size: int,
             interval_s: float, policy: ReferencePolicy | None, per_frame_model: bool = False) -> Iterator[tuple]:
    model = models.get()
    source = open_source(target, fps=fps)
    try:
        # two stages by default: the model classifies spotted intervals afterwards, not every frame
        analyzer = Analyzer(model if per_frame_model else None, batch_size=batch_size, policy=policy)
        yield ("model", describe_model(model), device_name(analyzer.device), models.warning())
        if model is not None and not per_frame_model:
            yield ("classes", tuple(model.class_names))
        chunk: list[FrameResult] = []
        last = time.perf_counter()
        done = 0
        try:
            for result in analyzer.analyze(source):
                chunk.append(result.compact())
                done += 1
                if time.perf_counter() - last >= interval_s:
                    yield ("results", chunk, done)
                    chunk, last = [], time.perf_counter()
        except SourceDamagedError as exc:  # keep what was analysed, then report the damage
            yield ("results", chunk, done)
            chunk = []
            yield ("warning", str(exc))
        yield ("results", chunk, done)
    finally:
        source.close()


def start_analysis(target: str, models: ModelService, *, fps: float | None = None, batch_size: int = 8,
                   interval_s: float = 0.1, policy: ReferencePolicy | None = None,
                   per_frame_model: bool = False) -> GeneratorWorker:
    """Create (not start) the worker that analyses ``target`` (stage 1: faces and signals; with
    ``per_frame_model`` also the session's model on every frame); connect its signals, then ``.start()``."""
    # ignore_errors: the caller connects `errored` and shows the message; superqt must not re-raise it
    return thread_worker(relaying_errors, start_thread=False, ignore_errors=True)(
        _analyse, target, fps, models, batch_size, interval_s, policy, per_frame_model)


def _live(make_source, models: ModelService, policy: ReferencePolicy | None, realtime: bool, on_frame,
          stop) -> Iterator[tuple]:
    from tsfgui.engine import LatestFrame

    model = models.get()
    source = make_source()
    gate = LatestFrame(source, realtime=realtime, on_frame=on_frame, stop=stop)
    try:
        analyzer = Analyzer(model, batch_size=1, policy=policy, reserve_cpus=1)  # one core for camera and UI
        yield ("opened", source.info)
        yield ("model", describe_model(model), device_name(analyzer.device), models.warning())
        for result in analyzer.run(gate, should_stop=stop.is_set):
            stats = gate.stats
            yield ("live", result.compact(), stats.source_fps, stats.analysis_fps, stats.dropped)
    finally:
        gate.close()
        source.close()


def start_live(make_source, models: ModelService, *, policy: ReferencePolicy | None = None,
               realtime: bool = False, on_frame=None, stop=None) -> GeneratorWorker:
    """Create (not start) the worker of a live session: ``make_source()`` runs in the worker (opening
    a camera may take seconds); every frame goes to ``on_frame`` (reader thread) for display, the
    newest one to the model. Set the ``stop`` event to end it; the camera is released in the worker."""
    return thread_worker(relaying_errors, start_thread=False, ignore_errors=True)(_live, make_source, models, policy,
                                                                                 realtime, on_frame, stop)
