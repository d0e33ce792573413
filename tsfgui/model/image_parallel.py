"""Inference batches split across CPU threads by image instead of by operator.

torch runs each operator of a forward pass on all its intra-op threads, with a barrier at the end of
every operator: TSFmicro has hundreds of them per pass, many of them short and memory-bound. With
``T ≥ 2`` threads and a batch of at least ``T`` images, :func:`split_across_threads` instead gives each
of ``T`` Python threads a share of the images and runs them concurrently with one intra-op thread
each (torch releases the GIL inside operators): no barriers, and each core keeps its own images'
activations in its caches. The images are independent at inference, so the result is the same as
the whole batch's (the same kernels on fewer rows).

While the shares run, torch's thread count is 1 process-wide (``torch.set_num_threads`` is global),
and restored afterwards; one split runs at a time (another caller meanwhile takes the ordinary path).
"""

from __future__ import annotations

import threading
from typing import Callable

import torch

__all__ = ["split_across_threads"]

_LOCK = threading.Lock()

#: On (default) or off: a switch to measure the two against each other.
_ENABLED = True


def _shares(batch: int, parts: int) -> list[slice]:
    base, extra = divmod(batch, parts)
    out, start = [], 0
    for i in range(parts):
        n = base + (1 if i < extra else 0)
        out.append(slice(start, start + n))
        start += n
    return out


def split_across_threads(fn: Callable[[slice], torch.Tensor], batch: int,
                         device: torch.device) -> torch.Tensor | None:
    """``torch.cat([fn(share) for share in shares])`` with each share of the batch's images computed in
    its own thread, one intra-op thread each; ``None`` (nothing run) where that does not apply: not on
    the CPU, fewer than 2 threads or fewer images than threads, gradients recorded, switched off, or
    another split under way.

    ``fn`` gets a ``slice`` of the batch and returns that share's result (images along dim 0). It runs
    under inference mode when the caller is in it (else under ``no_grad``).
    """
    threads = torch.get_num_threads()
    if (not _ENABLED or device.type != "cpu" or threads < 2 or batch < threads or torch.is_grad_enabled()
            or not _LOCK.acquire(blocking=False)):
        return None
    inference = torch.is_inference_mode_enabled()
    results: list[torch.Tensor | None] = [None] * threads
    errors: list[BaseException] = []

    def work(i: int, share: slice) -> None:
        try:
            with torch.inference_mode(inference), torch.no_grad():
                results[i] = fn(share)
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    try:
        torch.set_num_threads(1)
        workers = [threading.Thread(target=work, args=(i, share), name=f"tsfgui-images-{i}", daemon=True)
                   for i, share in enumerate(_shares(batch, threads))]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        torch.set_num_threads(threads)
        _LOCK.release()
    if errors:
        raise errors[0]
    return torch.cat(results)
