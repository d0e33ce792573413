"""Where the model runs: device choice and CPU thread settings."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import torch

__all__ = ["select_device", "available_cpus", "configure_threads", "tune_allocator"]


def select_device(preferred: str | torch.device | None = None) -> torch.device:
    """The device to run on: ``preferred`` if given (``"cpu"``, ``"cuda:1"`` …), else CUDA when
    present, else Apple's MPS when present, else the CPU.

    Raises ``ValueError`` when ``preferred`` names a device this machine does not have.
    """
    if preferred is not None:
        dev = torch.device(preferred)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {str(dev)!r} requested, but this machine has no usable CUDA GPU")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(dev)!r} requested, but only {torch.cuda.device_count()} CUDA GPU(s) exist")
        if dev.type == "mps" and not _mps_available():
            raise ValueError("device 'mps' requested, but Apple's Metal backend is not available here")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_cpus() -> int:
    """CPUs this process may run on (respects affinity masks and container CPU sets)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


_pinned_threads: int | None = None


def configure_threads(num_threads: int | None = None, reserve: int = 0, pin: bool = False) -> int:
    """Set torch's intra-op threads to ``num_threads`` (default: the available CPUs minus
    ``reserve``, at least 1) and inter-op threads to 1; returns the intra-op count.

    ``pin`` makes ``num_threads`` this process's share for good: later calls without a number (every
    :class:`~tsfgui.engine.Analyzer` makes one) take the pinned count instead of all CPUs, so the
    worker processes of ``tsfgui analyze --jobs N`` keep to their share of the cores.

    One intra-op pool per process, sized to the CPUs the process may use, is the fastest setting
    for this model on small machines: more threads than cores only adds contention. ``reserve``
    leaves cores to other work (e.g. 1 for a video decoding thread on a 4-core laptop). The
    inter-op setting can only be made before torch runs parallel work; later calls keep it.
    """
    global _pinned_threads
    if num_threads is None:
        num_threads = max((_pinned_threads or available_cpus()) - reserve, 1)
    n = max(int(num_threads), 1)
    if pin:
        _pinned_threads = n
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set or parallel work already started
        pass
    return n


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_allocator_tuned = False


def tune_allocator() -> bool:
    """Keep freed large blocks in the C heap for reuse (glibc only; returns whether it applied).

    The model's early stages allocate and free tensors of several MB per layer. glibc serves blocks
    that large with fresh ``mmap`` pages and unmaps them on free, so every forward pass page-faults
    (and zero-fills) the same memory again: on a 2-core machine that is about 10 % of the time at
    batch 1 and more at batch 8 (measured by ``bench/model.py``). Raising the mmap threshold to its
    maximum (32 MiB) and the trim threshold to 1 GiB makes the allocator reuse those blocks. The
    cost is that the process keeps up to its peak working set mapped. Process-wide; call once, early.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)) and bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30)) \
        and bool(mallopt(_M_TOP_PAD, 16 * 1024 * 1024))
    _allocator_tuned = ok
    return ok


def device_name(device: torch.device) -> str:
    """A person's name for a torch device: the GPU's model name, or "CPU"."""
    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(device)}"
    return "Apple GPU (MPS)" if device.type == "mps" else "CPU"
