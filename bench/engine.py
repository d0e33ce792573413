"""How much faster than real time `tsfgui analyze` runs, stage by stage, in one run.

    tsfgui bench engine                      # 5 min of 640×480 30 fps video, the two-stage default
    tsfgui bench engine --minutes 1 --isa avx2

The input is the bundled sample's frames cycled into an MJPG video of ``--minutes`` (640×480, 30 fps;
~18 planted events per minute). What runs is exactly what ``tsfgui analyze --weights …`` runs (the
same function): stage 1 — decoding (in a reader thread), face tracking, difference/flow/pose signals
and spotting — on every frame, then stage 2, the full TSFmicro (random weights unless ``--weights``:
the speed is the same) on each spotted interval's onset and apex. Printed: × real time, frames/s,
the share of each stage, and, on the first ``--per-frame-seconds`` of the same video in the same run,
the two-stage default against ``--per-frame-model`` (the model on every frame as well).

On a shared machine the wall-clock figures fall with the load; the CPU-seconds this process used
(all its threads) do much less: "× real time per busy core" is video seconds ÷ CPU-seconds, what one
fully available core would give; two cores give up to twice that where the work runs in parallel
(the model's threads, decoding ahead of tracking).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tsfgui.arguments import positive_float
from tsfgui.samples.excerpt import write_sample_excerpt


def _make_video(path: Path, minutes: float) -> int:
    """The bundled sample cycled into ``minutes`` of 640×480 30 fps MJPG; the frame count."""
    frames = int(minutes * 60 * 30)
    write_sample_excerpt(path, frames)
    return frames


def _cpu() -> float:
    """CPU seconds of this process (all its threads) and of its children that have ended (the tracking process)."""
    import os

    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def _timed(run):
    """``run()``'s result and the CPU seconds this process and its children spent in it."""
    cpu = _cpu()
    out = run()
    return out, _cpu() - cpu


def _reset_peak_memory() -> bool:
    """Start this process' peak resident memory afresh (Linux: ``/proc/self/clear_refs``); False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_mb(pid: int | str, key: str) -> float:
    """A memory figure (``VmRSS``, ``VmHWM``) of process ``pid`` in MB from ``/proc``; 0 where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


class _ChildrenMemory:
    """The largest resident memory of this process' children (the tracking process), sampled twice a second
    from ``/proc`` while it runs (a spawned child's own peak counts the parent's pages it had before exec)."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import os

        me = str(os.getpid())
        while not self._stop.wait(0.5):
            total = 0.0
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                        total += _status_mb(stat.parent.name, "VmRSS")
                except (OSError, IndexError):
                    continue
            self.peak = max(self.peak, total)

    def __enter__(self) -> "_ChildrenMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _report(name: str, outcome, seconds_of_video: float, cpu: float) -> None:
    total = outcome.seconds
    print(f"{name}: {outcome.frames} frames in {total:.1f} s = {outcome.frames / total:.1f} frames/s, "
          f"{seconds_of_video / total:.2f}× real time; {cpu:.1f} CPU-seconds = {seconds_of_video / cpu:.2f}× real "
          f"time per busy core")
    from tsfgui.batch.one_input import STAGE1

    if outcome.thread_cpu:
        print("    CPU time of stage 1's threads: " + ", ".join(
            f"{name} {1000 * secs / outcome.frames:.2f} ms/frame" for name, secs in outcome.thread_cpu.items()))
    for stage, secs in outcome.stages.items():
        if secs > 0.0005:
            name = stage if stage == STAGE1 or STAGE1 not in outcome.stages or stage not in _INSIDE_STAGE1 \
                else f"  {stage}{' (overlapped: own process or thread)' if stage == 'face tracking' else ''}"
            print(f"    {name:<52} {secs:8.2f} s {100 * secs / total:5.1f} %  "
                  f"({1000 * secs / outcome.frames:6.2f} ms/frame)")


_INSIDE_STAGE1 = ("face tracking", "signals (difference, flow, pose)", "model on every frame",
                  "CSV rows, recorder, waiting for frames")


def _stage1_parts(clip: Path, frames: int, rounds: int) -> None:
    """Stage 1 on ``clip`` with and without each of its speed-ups, alternated ``rounds`` times."""
    import statistics

    import cv2

    from tsfgui.engine import Analyzer
    from tsfgui.engine.analyzer import OPENCV_THREADS
    from tsfgui.face import FaceTracker, TrackerSettings
    from tsfgui.io import VideoFileSource
    from tsfgui.io.read_ahead import read_ahead

    # this process, the tracking process (the child), tracking, signals: CPU seconds
    cpu_figures: list[tuple[float, float, float, float]] = []

    def run(search_every: int | None, threads: int, opencv_threads: int | None = None) -> tuple[float, float]:
        settings = TrackerSettings() if search_every is None else TrackerSettings(search_every=search_every)
        analyzer = Analyzer(None, tracker=FaceTracker(settings), tracking_process=threads == 4)
        if opencv_threads is not None:  # the Analyzer set its own: this run undoes it
            cv2.setNumThreads(opencv_threads)
        with VideoFileSource(clip) as source:
            start, cpu, mine = time.perf_counter(), _cpu(), time.process_time()
            results = {4: lambda: analyzer.analyze(source), 3: lambda: analyzer.analyze(source),
                       2: lambda: analyzer.run(read_ahead(source)), 1: lambda: analyzer.run(iter(source))}[threads]()
            for _ in results:
                pass
            total, cpu, mine = time.perf_counter() - start, _cpu() - cpu, time.process_time() - mine
        cv2.setNumThreads(OPENCV_THREADS)
        if search_every is None and threads == 4 and opencv_threads is None:
            cpu_figures.append((mine, cpu - mine - analyzer.stats.tracking_start_cpu_seconds,
                                analyzer.stats.face_cpu_seconds, analyzer.stats.signal_cpu_seconds))
        return total, analyzer.stats.face_seconds

    variants = {"stage 1 as analyze runs it (tracking process)": (None, 4),
                "OpenCV's parallel loops in the analysis (before)": (None, 4, cv2.getNumberOfCPUs()),
                "decoding and tracking in threads (before)": (None, 3),
                "whole-frame detection at every scheduled one (before)": (1, 4),
                "tracking in the analysis thread (before)": (None, 2),
                "decoding in the analysis thread too": (None, 1)}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            times[name].append(run(*variant))
    print(f"  stage 1 without the model on these {frames} frames, {rounds} alternated rounds (medians):")
    base = statistics.median(t for t, _ in times["stage 1 as analyze runs it (tracking process)"])
    for name, pairs in times.items():
        total, face = statistics.median(t for t, _ in pairs), statistics.median(f for _, f in pairs)
        print(f"    {name:<55} {1000 * total / frames:6.1f} ms/frame (tracking {1000 * face / frames:5.1f}), "
              f"{total / base:4.2f}× the time of analyze's")
    mine, child, track, signals = (1000 * statistics.median(c[k] for c in cpu_figures) / frames for k in range(4))
    bound = max(mine, child)
    print(f"  CPU time per frame, as analyze runs it (medians; CPU time grows far less with the load than wall "
          f"time): the analysis process {mine:.1f} ms (signals {signals:.1f}, receiving frames, the rest "
          f"{mine - signals:.1f}), the tracking process {child:.1f} ms (tracking {track:.1f}, decoding and "
          f"hand-over {child - track:.1f}; its start, about a CPU-second an input, left out).")
    print(f"  On 2 otherwise idle cores like these the busier process bounds the rate: {bound:.1f} ms/frame ≈ "
          f"{1000 / 30 / bound:.1f}× real time at 30 fps (an estimate from CPU time, not a wall-clock measurement; "
          "waiting for each other and shared caches can only lower it)")


def _stage2_alignment(clip: Path, pairs: int = 20) -> None:
    """Stage 2's alignment of an onset/apex pair with the face detected on the whole onset frame
    (before) and landmarked in the box the tracker recorded (now), on the same frames, alternated."""
    import statistics

    from tsfgui.engine import Analyzer
    from tsfgui.engine.interval_labels import FaceBoxes
    from tsfgui.face import FaceTracker, align_pair
    from tsfgui.io import VideoFileSource

    tracker, boxes = FaceTracker(), FaceBoxes()
    with VideoFileSource(clip) as source:
        pairs = max(1, min(pairs, (len(source) - 7) // 10 + 1))
        for result in Analyzer(None, tracker=tracker).analyze(source, start=0, stop=min(len(source), 10 * pairs)):
            boxes.add(result)
        models = dict(template=tracker.settings.template, detector=tracker.detector, predictor=tracker.predictor)
        times: dict[str, list[float]] = {"detected on the whole onset frame (before)": [], "tracked box": []}
        for k in range(pairs):
            onset, apex = source.read(10 * k).image, source.read(10 * k + 6).image
            for name, box in (("detected on the whole onset frame (before)", None), ("tracked box", boxes.get(10 * k))):
                start = time.perf_counter()
                align_pair(onset, [apex], box=box, **models)
                times[name].append(time.perf_counter() - start)
    before, now = (statistics.median(t) for t in times.values())
    print(f"  stage 2, aligning one onset/apex pair ({pairs} pairs, medians): detected on the whole onset frame "
          f"(before) {1000 * before:.1f} ms, in the tracked box {1000 * now:.1f} ms: {before / now:.1f}× cheaper")


def _load() -> str:
    import os

    return "load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="tsfgui bench engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=positive_float, default=5.0, help="length of the input video (default 5)")
    parser.add_argument("--weights", default=None, help="weights file (default: the full model, random weights)")
    parser.add_argument("--per-frame-seconds", type=float, default=10.0,
                        help="seconds of video for the two-stage vs per-frame-model comparison (0: skip; default 10)")
    parser.add_argument("--parts-seconds", type=float, default=10.0,
                        help="seconds of video for stage 1 with and without each speed-up (0: skip; default 10)")
    parser.add_argument("--compare-rounds", type=int, default=0,
                        help="then analyse the video again this many times with tracking in threads (before) and "
                             "in a child process, alternated (default 0)")
    parser.add_argument("--isa", choices=("native", "avx2", "avx512"), default="native",
                        help="cap torch, oneDNN and MKL to this instruction set (default: what the CPU has)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
    args = parser.parse_args(argv)
    for name in ("per_frame_seconds", "parts_seconds"):
        if not getattr(args, name) >= 0:
            parser.error(f"--{name.replace('_', '-')} must be 0 or more, not {getattr(args, name)}")
    from tsfgui.model.cpu_features import cpu_features, run_capped

    if args.isa != "native":
        code = run_capped(args.isa, __file__, argv)
        if code is not None:
            return code
    import torch

    from tsfgui.batch.one_input import STAGE1, analyze_one
    from tsfgui.model import TSFmicro, available_cpus

    print(f"CPU: {cpu_features().describe()}; {available_cpus()} CPUs, torch {torch.__version__}; {_load()} "
          "(other processes share these CPUs: read the ratios, and CPU-seconds rather than wall time)")
    if args.isa != "native":
        print(f"  instruction set capped to {args.isa.upper()} by environment: an approximation of such a CPU")
    torch.manual_seed(0)
    model = TSFmicro.from_pretrained(args.weights) if args.weights else TSFmicro().eval()
    settings = {"fps": None, "lag_s": 0.2, "batch_size": 8}
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "long.avi"
        frames = _make_video(video, args.minutes)
        print(f"input: {frames} frames of 640×480 at 30 fps ({args.minutes:g} min, MJPG), model "
              f"{'from ' + args.weights if args.weights else 'full TSFmicro, random weights'}")
        reset = _reset_peak_memory()
        with _ChildrenMemory() as children:
            outcome, cpu = _timed(lambda: analyze_one(video, Path(tmp) / "two-stage", model=model,
                                                      weights=args.weights, settings=settings, device=args.device))
        _report("two-stage analysis (the default)", outcome, frames / 30.0, cpu)
        import json

        events = json.loads((outcome.out_dir / "events.json").read_text())["events"]
        print(f"    {len(events)} spotted intervals, each classified by the model; peak resident memory "
              f"{'during the analysis' if reset else 'of this process'} {_status_mb('self', 'VmHWM'):.0f} MB, of "
              f"the tracking process {children.peak:.0f} MB (sampled); {_load()}")
        for round_ in range(args.compare_rounds):
            print(f"  round {round_ + 1} of {args.compare_rounds}, alternated, same video ({_load()}):")
            for name, in_process in (("decoding and tracking in threads (before)", False),
                                     ("decoding and tracking in a child process", None)):
                out, cpu = _timed(lambda: analyze_one(video, Path(tmp) / f"compare-{round_}-{in_process}", model=model,
                                                      weights=args.weights, settings=settings, device=args.device,
                                                      tracking_process=in_process))
                print(f"    {name:<45} {frames / 30.0 / out.seconds:5.2f}× real time, {out.seconds:6.1f} s, "
                      f"{cpu:6.1f} CPU-s; stage 1 {1000 * out.stages[STAGE1] / out.frames:5.2f} ms/frame")
        if args.per_frame_seconds > 0:
            clip = Path(tmp) / "clip.avi"
            clip_frames = _make_video(clip, args.per_frame_seconds / 60.0)
            print(f"on the first {args.per_frame_seconds:g} s ({clip_frames} frames), same run:")
            two, cpu_two = _timed(lambda: analyze_one(clip, Path(tmp) / "clip-two", model=model,
                                                      weights=args.weights, settings=settings, device=args.device))
            every, cpu_every = _timed(lambda: analyze_one(
                clip, Path(tmp) / "clip-every", model=model, weights=args.weights,
                settings={**settings, "per_frame_model": True}, device=args.device))
            _report("  two-stage", two, clip_frames / 30.0, cpu_two)
            _report("  --per-frame-model", every, clip_frames / 30.0, cpu_every)
            print(f"  two-stage is {every.seconds / two.seconds:.1f}× faster than the model on every frame")
        if args.parts_seconds > 0:
            clip = Path(tmp) / "parts.avi"
            clip_frames = _make_video(clip, args.parts_seconds / 60.0)
            print(f"on the first {args.parts_seconds:g} s ({clip_frames} frames), same run:")
            _stage1_parts(clip, clip_frames, rounds=2)
            _stage2_alignment(clip)
        print(_load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
