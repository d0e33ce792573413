"""The analysis loop shared by the app, the batch CLI and the tests: frames in, FrameResults out.

For every frame: track the face (:class:`~tsfgui.face.FaceTracker`), pick a reference (onset) frame
by a :mod:`~tsfgui.engine.pairing` policy, measure the difference apex − onset globally and per
facial region, and run TSFmicro on the pair. Frames are batched for the model (``batch_size``;
1 for live use); a result that waits for no model call leaves at once, the others at least every
:data:`FLUSH_FRAMES` frames or :data:`FLUSH_SECONDS` seconds even when no batch fills, and every result
computed before an error reaches the consumer before the error does. The spatial branch only sees reference frames, so
its output is cached per frame: each frame is embedded once however often it serves as a reference.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

import cv2
import numpy as np
import torch

from tsfgui.face import FaceObservation, FaceTracker, FrameFaces, detect_and_align, region_masks
from tsfgui.face.tracking_process import can_track_in_process, idle_cpus, track_in_process
from tsfgui.io import Frame, FrameSource
from tsfgui.io.read_ahead import read_ahead
from tsfgui.model import TSFmicro, available_cpus, configure_threads, select_device, tune_allocator
from tsfgui.model.explain import HEATMAP_KINDS, explain

from tsfgui.face.pose import head_pose

from .difference import temporal_signal
from .flow import FacePatches, RegionFlow
from .pairing import FrameHistory, FrameRecord, ReferencePolicy, default_policy
from .results import FrameResult

#: Results are handed on after at most this many frames (or ``batch_size`` when larger), full batch or not.
FLUSH_FRAMES = 32
#: … and after at most this many seconds since the last hand-over.
FLUSH_SECONDS = 1.0
#: Frames the tracking thread of :meth:`Analyzer.analyze` may run ahead of the signals.
TRACK_AHEAD = 4
#: Sources of at least this many frames are decoded and tracked in a child process by default: starting
#: it (a fresh Python with OpenCV and dlib's models) costs about a second of CPU, which the ~2–3 ms a frame
#: it saves on two idle cores repays after several hundred frames (and on cores busy with other work, never).
PROCESS_MIN_FRAMES = 1800
#: … and only when at least this many CPUs stand idle as the analysis starts: on cores that other work keeps
#: busy the two processes get no more CPU than the threads, and the hand-over and the child's start cost more.
MIN_IDLE_CPUS = 1.5
#: OpenCV's worker threads for the signals' small images (a 112-px flow, one face crop): its parallel loops
#: gain no time there and cost CPU (on 2 cores, 5–10 % of the signals' CPU time), while the pipeline's threads
#: and the tracking process keep the cores busy already. Set for the process when an Analyzer is made.
OPENCV_THREADS = 1


@dataclass
class AnalyzerStats:
    """Counters of one run: frames seen, frames the model ran on, reference embeddings computed, and
    seconds spent per step (face tracking; difference, flow and pose signals; the model), wall and CPU."""

    frames: int = 0
    analysed: int = 0
    no_face: int = 0
    embedded: int = 0
    face_seconds: float = 0.0
    signal_seconds: float = 0.0
    #: CPU seconds of the thread doing the work (``time.thread_time``): what tracking and the signals
    #: cost whatever else the machine runs (wall seconds above grow with the load, these much less)
    face_cpu_seconds: float = 0.0
    signal_cpu_seconds: float = 0.0
    #: CPU seconds the tracking process took to start (Python, OpenCV, dlib's models), when there was one
    tracking_start_cpu_seconds: float = 0.0
    model_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    @property
    def frames_per_second(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.frames / elapsed if elapsed > 0 else 0.0


@dataclass
class _Pending:
    result: FrameResult
    reference_crop: np.ndarray | None = None


class Analyzer:
    """Runs the whole pipeline over frames of one source.

    ``model`` may be None: faces and difference signals are still computed (no predictions).
    ``heatmaps`` lists the explanations computed for every analysed frame (``attention``,
    ``rollout``, ``gradcam``); a plain run computes none, and :meth:`explain` gives them for one
    frame on request. ``device`` defaults to CUDA when present, else the CPU; ``reserve_cpus``
    leaves cores to other work (live use: the camera reader and the UI). ``tracking_process``: decode and
    track in a child process in :meth:`analyze` (True), in threads of this one (False), or the child where it
    pays (None: a video file or frame folder of at least :data:`PROCESS_MIN_FRAMES` frames, two CPUs or more
    for this analysis and :data:`MIN_IDLE_CPUS` idle as it starts, a tracker that has followed no frame yet);
    the results are the same either way.
    """

    def __init__(self, model: TSFmicro | None = None, *, tracker: FaceTracker | None = None,
                 policy: ReferencePolicy | None = None, batch_size: int = 8, heatmaps: Sequence[str] = (),
                 device: str | torch.device | None = None, embedding_cache: int = 64, reserve_cpus: int = 0,
                 tracking_process: bool | None = None):
        unknown = set(heatmaps) - set(HEATMAP_KINDS)
        if unknown:
            raise ValueError(f"unknown heatmap kind(s) {sorted(unknown)}; choose from {', '.join(HEATMAP_KINDS)}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.device = select_device(device)
        self.tracking_process = tracking_process
        cv2.setNumThreads(OPENCV_THREADS)
        self._cpus = max(available_cpus() - reserve_cpus, 1)
        if self.device.type == "cpu":
            self._cpus = configure_threads(reserve=reserve_cpus)
            tune_allocator()  # reuse the model's multi-MB buffers instead of re-faulting them each pass
        self.model = model.eval().to(self.device) if model is not None else None
        self.tracker = tracker or FaceTracker()
        self.policy = policy or default_policy()
        self.batch_size = batch_size
        self.heatmaps = tuple(heatmaps)
        self.stats = AnalyzerStats()
        self._embedding_cache_size = embedding_cache
        self._embeddings: OrderedDict[int, torch.Tensor] = OrderedDict()
        self._crops: dict[int, np.ndarray] = {}  # recent frames, within the policy's horizon
        self._reference_crops: OrderedDict[int, np.ndarray] = OrderedDict()  # frames used as references
        self._history = FrameHistory(self.policy.horizon_ms)
        self._previous: tuple[int, np.ndarray] | None = None
        self._source: FrameSource | None = None
        self._flow = RegionFlow()
        self._patches = FacePatches()  # recent frames around the face: the flow's reference, cut like the frame

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.model.class_names) if self.model is not None else ()

    # --- main loop -------------------------------------------------------------------------------
    def analyze(self, source: FrameSource, *, start: int = 0, stop: int | None = None,
                should_stop: Callable[[], bool] | None = None) -> Iterator[FrameResult]:
        """Results for the frames of ``source`` (``start``…``stop``), in order. ``should_stop`` is
        polled between frames so long runs can be interrupted."""
        self._source = source
        if start or stop is not None:
            end = stop if stop is not None else len(source)
            frames: Iterable[Frame] = (source.read(i) for i in range(start, end))
            yield from self.run(frames, should_stop=should_stop)
            return
        if self._in_process(source):  # decoding and tracking in a child: dlib holds the GIL, a thread barely overlaps
            tracked = self._tracked_in_process(source, should_stop)
        else:  # three threads in a pipeline: decoding (its own decoder: read() stays free), face tracking,
            # and the signals and the model here
            tracked = read_ahead(self._tracked(read_ahead(source), should_stop), depth=TRACK_AHEAD)
        try:
            yield from self._run_tracked(tracked, should_stop)
        finally:
            tracked.close()  # stops both threads at once when the consumer stops early

    def run(self, frames: Iterable[Frame], *, should_stop: Callable[[], bool] | None = None) -> Iterator[FrameResult]:
        """Results for any iterable of :class:`~tsfgui.io.Frame` (a source, a live gate, a list), each
        frame tracked and analysed in the calling thread (live use: always the newest frame).

        When the frames end with an error (a damaged file), the results of every frame before it are
        yielded first, then the error is raised."""
        yield from self._run_tracked(self._tracked(frames, should_stop), should_stop)

    def _in_process(self, source: FrameSource) -> bool:
        if self.tracking_process is False or not self.tracker.fresh or not can_track_in_process(source):
            return False
        if self.tracking_process:
            return True
        if self._cpus < 2 or (source.info.frame_count or 0) < PROCESS_MIN_FRAMES:
            return False
        idle = idle_cpus()  # this process is idle now: what stands idle is what the analysis may have
        return idle is None or idle >= MIN_IDLE_CPUS

    def _tracked_in_process(self, source: FrameSource,
                            should_stop: Callable[[], bool] | None) -> Iterator[tuple[Frame, FrameFaces]]:
        """Each frame with its faces from the tracking process (its time counted in ``stats``)."""
        tracked = track_in_process(source, self.tracker.settings, should_stop=should_stop)
        try:
            for item in tracked:
                self.stats.face_seconds += item.seconds
                self.stats.face_cpu_seconds += item.cpu_seconds
                self.stats.tracking_start_cpu_seconds += item.start_cpu_seconds
                yield item.frame, item.faces
        finally:
            tracked.close()  # stops the child at once when the consumer stops early

    def _tracked(self, frames: Iterable[Frame],
                 should_stop: Callable[[], bool] | None) -> Iterator[tuple[Frame, FrameFaces]]:
        """Each frame with its faces (the tracker's time counted in ``stats.face_seconds``)."""
        for frame in frames:
            if should_stop is not None and should_stop():
                return
            started, cpu = time.perf_counter(), time.thread_time()
            # the primary face's crop is cut by the signals' thread: tracking is the longer of the two
            faces = self.tracker.update(frame[2], index=frame[0], timestamp_ms=frame[1], crops=False)
            self.stats.face_seconds += time.perf_counter() - started
            self.stats.face_cpu_seconds += time.thread_time() - cpu
            yield frame, faces

    def _run_tracked(self, tracked: Iterable[tuple[Frame, FrameFaces]],
                     should_stop: Callable[[], bool] | None) -> Iterator[FrameResult]:
        pending: list[_Pending] = []
        waiting = 0  # frames in ``pending`` that wait for the model
        handed_over = time.monotonic()
        most = max(FLUSH_FRAMES, self.batch_size)
        try:
            for (index, timestamp_ms, image), faces in tracked:
                if should_stop is not None and should_stop():
                    break
                started, cpu = time.perf_counter(), time.thread_time()
                try:
                    pending.append(self._signals(index, timestamp_ms, image, faces))
                finally:
                    self.stats.signal_seconds += time.perf_counter() - started
                    self.stats.signal_cpu_seconds += time.thread_time() - cpu
                waiting += pending[-1].reference_crop is not None
                if (waiting in (0, self.batch_size) or len(pending) >= most
                        or time.monotonic() - handed_over >= FLUSH_SECONDS):
                    ready, pending, waiting = pending, [], 0
                    yield from self._flush(ready)
                    handed_over = time.monotonic()
        except Exception:
            ready, pending = pending, []
            yield from self._flush(ready)  # nothing computed before the error is lost
            raise
        if pending:
            yield from self._flush(pending)

    def _signals(self, index: int, timestamp_ms: float, image: np.ndarray, faces: FrameFaces) -> _Pending:
        """Pose, reference choice, difference and flow signals of one tracked frame."""
        face: FaceObservation | None = faces.primary
        if face is not None:
            face.cut_crop(image)
        self.stats.frames += 1
        result = FrameResult(index, timestamp_ms, face, faces_in_frame=len(faces.faces),
                             class_names=self.class_names)
        if face is None or face.crop is None:
            self.stats.no_face += 1
            self._history.add(FrameRecord(index, timestamp_ms, has_face=False))
            self._previous = None
            return _Pending(result)
        pose = head_pose(face.landmarks, (image.shape[1], image.shape[0]))
        result.pose = None if pose is None else pose.rotation
        motion = float("inf")
        if self._previous is not None and self._previous[0] == index - 1:
            motion = _mean_abs_diff(self._previous[1], face.crop)
        self._previous = (index, face.crop)
        record = FrameRecord(index, timestamp_ms, has_face=True, motion=motion)
        self._history.add(record)
        self._crops[index] = face.crop
        self._patches.add(index, image, face.matrix, face.size)
        if self.policy.keeps(index):
            self._keep_reference(index, face.crop)
        self._trim_crops()
        reference = self.policy.choose(self._history, record)
        reference_crop = self._reference_crop(reference) if reference is not None else None
        if reference_crop is None:
            return _Pending(result)
        result.reference_index = reference
        masks = region_masks(face.landmarks_crop, face.size)
        signal = temporal_signal(reference_crop, face.crop, masks)
        result.diff = {"global": signal.magnitude * 255.0, **{k: v * 255.0 for k, v in signal.regions.items()}}
        flow_reference = self._patches.cut(reference, face.matrix, face.size)
        result.flow = self._flow.measure(reference_crop if flow_reference is None else flow_reference, face.crop,
                                         face.landmarks_crop, masks, timestamp_ms)
        result.motion, result.drift = self._flow.motion, self._flow.drift
        return _Pending(result, reference_crop)

    def _trim_crops(self) -> None:
        keep = {r.index for r in self._history.records}
        for index in [i for i in self._crops if i not in keep]:
            del self._crops[index]

    def _reference_crop(self, index: int) -> np.ndarray | None:
        """The aligned crop of frame ``index``: recent, recently used as a reference, or (a marked
        onset elsewhere in a seekable file) read and aligned on its own."""
        crop = self._crops.get(index)
        if crop is None:
            crop = self._reference_crops.get(index)
        if crop is None and self._source is not None and self._source.info.seekable:
            faces = detect_and_align(self._source.read(index).image, template=self.tracker.settings.template,
                                     detector=self.tracker.detector, predictor=self.tracker.predictor)
            crop = faces.primary.crop if faces.primary is not None else None
        if crop is not None:
            self._keep_reference(index, crop)
        return crop

    def _keep_reference(self, index: int, crop: np.ndarray) -> None:
        self._reference_crops[index] = crop
        self._reference_crops.move_to_end(index)
        while len(self._reference_crops) > 16:
            self._reference_crops.popitem(last=False)

    # --- model -----------------------------------------------------------------------------------
    def _flush(self, pending: list[_Pending]) -> Iterator[FrameResult]:
        batch = [p for p in pending if p.reference_crop is not None]
        if batch and self.model is not None:
            started = time.perf_counter()
            self._predict(batch)
            self.stats.model_seconds += time.perf_counter() - started
            self.stats.analysed += len(batch)
        for p in pending:
            yield p.result

    @torch.inference_mode()
    def _predict(self, batch: list[_Pending]) -> None:
        model = self.model
        apex = model.preprocess([p.result.face.crop for p in batch])
        onset = model.preprocess([p.reference_crop for p in batch])
        references = [p.result.reference_index for p in batch]
        missing = [i for i, ref in enumerate(references) if ref not in self._embeddings
                   and references.index(ref) == i]
        if missing:
            embedded = model.embed_reference(onset[missing])
            self.stats.embedded += len(missing)
            for row, i in enumerate(missing):
                self._remember(references[i], embedded[row:row + 1])
        reference = torch.cat([self._embeddings[ref] for ref in references])
        for ref in references:
            self._embeddings.move_to_end(ref)
        features = model.forward_features(onset, apex, reference=reference)
        probabilities = model.forward_head(features).float().softmax(dim=1).cpu().numpy()
        for p, probs in zip(batch, probabilities):
            p.result.probabilities = probs
        if self.heatmaps:
            maps = self._heatmaps(onset, apex, reference, features)
            for i, p in enumerate(batch):
                p.result.heatmaps = {name: values[i] for name, values in maps.items()}

    def _remember(self, index: int, embedding: torch.Tensor) -> None:
        self._embeddings[index] = embedding
        while len(self._embeddings) > self._embedding_cache_size:
            self._embeddings.popitem(last=False)

    def _heatmaps(self, onset: torch.Tensor, apex: torch.Tensor, reference: torch.Tensor,
                  features: torch.Tensor) -> dict[str, np.ndarray]:
        return explain(self.model, onset, apex, self.heatmaps, reference=reference, features=features)

    def explain(self, result: FrameResult, kinds: Sequence[str] = HEATMAP_KINDS,
                target: int | str | None = None) -> dict[str, np.ndarray]:
        """Heatmaps (14×14, crop space, in [0, 1]) for one analysed frame; ``target`` picks the class
        Grad-CAM explains (default: the predicted one). Needs the reference crop, so call it while
        the frame is recent, or with a seekable source."""
        if self.model is None or result.face is None or result.face.crop is None or result.reference_index is None:
            raise ValueError(f"frame {result.index} was not analysed ({result.status}); nothing to explain")
        reference_crop = self._reference_crop(result.reference_index)
        if reference_crop is None:
            raise ValueError(f"the reference frame {result.reference_index} of frame {result.index} is not available")
        with torch.inference_mode():
            onset = self.model.preprocess([reference_crop])
            apex = self.model.preprocess([result.face.crop])
            return {kind: values[0] for kind, values in explain(self.model, onset, apex, kinds, target=target).items()}


def _mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two crops on a 4× smaller grey version (the mean of the channels;
    a cheap motion measure)."""
    sa = a[::4, ::4].sum(axis=2, dtype=np.int16)
    sb = b[::4, ::4].sum(axis=2, dtype=np.int16)
    return float(np.abs(sa - sb).mean()) / a.shape[2]
