"""Results of remote work as they finish, with retries left to Ray and a clean stop on Ctrl+C."""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

# Errors that may pass when the same work runs again (a shared filesystem or a network hiccup). Ray retries a task
# that raised one of these (``retry_exceptions``); any other exception is the input's own fault and is reported
# once. A worker that dies (killed, out of memory, node lost) is retried by Ray in any case (``max_retries``).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, ConnectionError, InterruptedError, BlockingIOError)

MAX_RETRIES = 3


def as_completed(refs: Sequence, *, poll_s: float = 0.25,
                 on_tick: Callable[[], None] | None = None) -> Iterator[tuple[object, object, BaseException | None]]:
    """Yield ``(ref, result, None)`` or ``(ref, None, error)`` for each of ``refs`` as it finishes.

    ``error`` is the exception a task raised (unwrapped from Ray's ``RayTaskError``) or Ray's own error when its
    worker died more often than the retries allow. ``on_tick`` runs about every ``poll_s`` seconds while waiting
    (to draw progress). When the caller stops early, or on Ctrl+C, the work still pending is cancelled.
    """
    import ray

    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=poll_s)
            if on_tick is not None:
                on_tick()
            for ref in ready:
                try:
                    yield ref, ray.get(ref), None
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
                    yield ref, None, cause
                except ray.exceptions.RayError as exc:  # worker crashed past its retries, node lost, cancelled
                    yield ref, None, exc
    finally:
        cancel(pending)


def cancel(refs: Sequence) -> None:
    """Cancel remote tasks that have not finished (their workers are stopped; nothing they wrote looks finished)."""
    if not refs:
        return
    import ray

    for ref in refs:
        try:
            ray.cancel(ref, force=True, recursive=True)
        except (ValueError, TypeError, ray.exceptions.RayError):  # actor tasks cannot be forced
            try:
                ray.cancel(ref, recursive=True)
            except (ValueError, TypeError, ray.exceptions.RayError):
                pass
