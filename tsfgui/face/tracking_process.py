"""Decode and track faces in a child process, so that the analysis' signals run truly in parallel.

dlib's HOG detector and shape predictor hold Python's GIL while they work, so a tracking *thread* and
the signals' thread barely overlap on a two-core machine. :func:`track_in_process` runs decoding and
:class:`~tsfgui.face.FaceTracker` in a spawned child (which never imports torch) and hands each frame
back with its faces: the pixels through a ring of shared-memory slots (no pickling of frames), the
faces (a few KB of landmarks and matrices) through a pipe. Frames come in order, none is dropped,
and the results are those of the tracker run in the calling process on the same frames.

Errors keep their meaning: an error of the source in the child (a damaged file) reaches the caller
after every frame before it, as the same exception; a child that dies is reported with its exit
code. Closing the iterator (``break``, an exception, Ctrl+C in the caller) stops the child at once
and frees the shared memory. The child ignores SIGINT: Ctrl+C at a terminal reaches the whole process
group, and the parent, not the child, decides what stopping means.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import types
import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Callable, Iterator

import numpy as np

from tsfgui.io import Frame, FrameSource, ImageFolderSource, VideoFileSource

from .observation import FrameFaces
from .tracker import FaceTracker, TrackerSettings

__all__ = ["TrackedFrame", "TrackingProcessError", "can_track_in_process", "idle_cpus", "track_in_process"]

#: Frames the child may decode and track ahead of the caller (shared-memory slots).
SLOTS = 8
#: Seconds the caller waits for the child to stop on its own before terminating it.
STOP_TIMEOUT_S = 5.0
#: Sources whose state a child process can rebuild (a path and settings; no open handle survives pickling).
_PORTABLE = (VideoFileSource, ImageFolderSource)


class TrackingProcessError(RuntimeError):
    """The tracking process ended without saying why (killed, out of memory, a crash in a native library)."""


@dataclass
class TrackedFrame:
    """One frame, its faces, and the wall and CPU seconds the tracker spent on it in the child;
    ``start_cpu_seconds``: on the first frame, the CPU seconds the child took to start (0 on the others)."""

    frame: Frame
    faces: FrameFaces
    seconds: float
    cpu_seconds: float
    start_cpu_seconds: float = 0.0


def can_track_in_process(source: FrameSource) -> bool:
    """True when ``source`` can be reopened in a child (a video file or a frame folder), this process
    may start children (a daemonic pool worker may not) and it may use at least two CPUs."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return type(source) in _PORTABLE and cpus >= 2 and not mp.current_process().daemon


def idle_cpus(window_s: float = 0.1) -> float | None:
    """How many CPUs of the machine stood idle over the next ``window_s`` seconds (``/proc/stat``), None
    where that cannot be read (not Linux). Work split between two processes only gains where a second
    core is free: on cores other work keeps busy it only adds the cost of handing frames over."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return values[3] + (values[4] if len(values) > 4 else 0), sum(values)  # idle + iowait, all

    try:
        idle0, total0 = sample()
        time.sleep(window_s)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    cpus = os.cpu_count() or 1
    return cpus * (idle1 - idle0) / (total1 - total0) if total1 > total0 else None


def track_in_process(source: FrameSource, settings: TrackerSettings, *,
                     should_stop: Callable[[], bool] | None = None, slots: int = SLOTS) -> Iterator[TrackedFrame]:
    """Every frame of ``source`` (a :func:`can_track_in_process` source) with its faces (crops left out,
    as ``FaceTracker.update(crops=False)``), decoded and tracked in a child process ``slots`` frames ahead.

    When the frames end, ``source.info`` (and a video's ``frames_decoded``) take what the child's
    decoding found, as iterating the source here would have set them.
    """
    if slots < 1:
        raise ValueError(f"slots must be at least 1, not {slots}")
    info = source.info
    slot_bytes = max(int(info.width) * int(info.height) * 3, 1)
    ctx = mp.get_context("spawn")
    memory = shared_memory.SharedMemory(create=True, size=slot_bytes * slots)
    receive, send = ctx.Pipe(duplex=False)
    free, stop = ctx.Semaphore(slots), ctx.Event()
    child = ctx.Process(target=_child, name="tsfgui-tracking", daemon=True,
                        args=(source, settings, memory.name, slot_bytes, slots, send, free, stop))
    try:
        _start(child)
    except BaseException:
        memory.close()
        memory.unlink()
        raise
    send.close()  # the child holds the only write end: its death ends the pipe
    try:
        while True:
            if should_stop is not None and should_stop():
                return
            message = _receive(receive, child)
            kind = message[0]
            if kind == "frame":
                _, index, timestamp_ms, slot, shape, inline, faces, seconds, cpu, start_cpu = message
                if inline is None:
                    count = int(np.prod(shape))
                    view = np.frombuffer(memory.buf, np.uint8, count, slot * slot_bytes)
                    image = view.reshape(shape).copy()
                    del view  # no view may outlive the shared memory
                    free.release()
                else:
                    image = inline
                yield TrackedFrame(Frame(index, timestamp_ms, image), faces, seconds, cpu, start_cpu)
            elif kind == "end":
                _take_stream_state(source, message[1])
                return
            else:  # "error": the frames before it have been handed on
                _take_stream_state(source, message[2])
                raise message[1]
    finally:
        stop.set()
        receive.close()  # a child blocked on sending sees a broken pipe and ends
        child.join(STOP_TIMEOUT_S)
        if child.is_alive():
            child.terminate()
            child.join(STOP_TIMEOUT_S)
        memory.close()
        memory.unlink()


def _receive(receive, child) -> tuple:
    """The child's next message; :class:`TrackingProcessError` when it died without one."""
    while not receive.poll(0.5):
        if not child.is_alive() and not receive.poll(0):
            break
    try:
        return receive.recv()
    except EOFError:
        pass
    child.join(1.0)
    code = child.exitcode
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    raise TrackingProcessError(f"the face tracking process ended unexpectedly ({how}), perhaps out of memory; "
                               "analyse the file again (or with fewer jobs at once)")


def _start(child) -> None:
    """Start ``child`` (1) without the caller's ``__main__``: the child needs nothing of it, and a spawned
    child would otherwise run it again (a script without ``if __name__ == "__main__"`` would start over);
    (2) with SIGINT ignored from its first instruction (a spawned Python keeps an ignored SIGINT ignored;
    a blocked one is unblocked by the exec), where this thread may change signal handlers; the child ignores
    it itself as well. A Ctrl+C in the few milliseconds of the start itself is lost (press it again)."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        if threading.current_thread() is not threading.main_thread():
            child.start()
            return
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            child.start()
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _stream_state(source: FrameSource) -> dict:
    return {"info": source.info, "frames_decoded": getattr(source, "frames_decoded", None)}


def _take_stream_state(source: FrameSource, state: dict | None) -> None:
    if not state:
        return
    source.info = state["info"]
    if hasattr(source, "frames_decoded"):
        source.frames_decoded = state["frames_decoded"]


def _child(source: FrameSource, settings: TrackerSettings, memory_name: str, slot_bytes: int, slots: int,
           send, free, stop) -> None:
    """The child: decode, track, hand each frame on; an error is sent after the frames before it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import cv2

    cv2.setNumThreads(1)  # one core for this process; the parent's signals use the other
    memory = shared_memory.SharedMemory(name=memory_name)
    try:
        tracker = FaceTracker(settings)
        start_cpu = time.process_time()  # Python, OpenCV and dlib's models loaded: what starting cost
        slot = 0
        for index, timestamp_ms, image in source:  # (a decoding thread here only cost CPU: the parent has the other core)
            if stop.is_set():
                return
            started, cpu = time.perf_counter(), time.thread_time()
            faces = tracker.update(image, index=index, timestamp_ms=timestamp_ms, crops=False)
            seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu
            inline = None
            if image.dtype == np.uint8 and image.nbytes <= slot_bytes:
                while not free.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                np.frombuffer(memory.buf, np.uint8, image.nbytes, slot * slot_bytes)[:] = image.reshape(-1)
                used, slot = slot, (slot + 1) % slots
            else:  # a frame larger than a slot travels through the pipe
                inline, used = image, -1
            send.send(("frame", index, timestamp_ms, used, image.shape, inline, faces, seconds, cpu, start_cpu))
            start_cpu = 0.0
        send.send(("end", _stream_state(source)))
    except (BrokenPipeError, EOFError):
        return  # the parent stopped listening: it has what it wants
    except BaseException as exc:  # noqa: BLE001 - every error reaches the parent, as itself where it can
        try:
            send.send(("error", _portable(exc), _stream_state(source)))
        except (BrokenPipeError, EOFError):
            pass
    finally:
        memory.close()
        send.close()


def _portable(exc: BaseException) -> BaseException:
    """``exc`` when it survives pickling as itself, else a RuntimeError with its kind and message."""
    try:
        copy = pickle.loads(pickle.dumps(exc))
        if type(copy) is type(exc) and str(copy) == str(exc):
            return exc
    except Exception:  # noqa: BLE001 - any failure to pickle means: send its text instead
        pass
    return RuntimeError(f"{type(exc).__name__} in the face tracking process: {exc}")
