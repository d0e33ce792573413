"""Progress over a cluster: workers report to one small actor, the driver reads it to draw one bar.

:class:`ProgressBoard` is a plain class made into a Ray actor by the driver (``ray.remote(ProgressBoard)``), so
this module imports without Ray. Workers report through a :class:`ProgressReporter`, which sends at most a few
messages a second and never waits for an answer.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass


@dataclass
class Progress:
    """One job's progress as last reported: units done, the total when known, the worker process and its node."""

    done: int = 0
    total: int | None = None
    pid: int = 0
    node: str = ""
    attempt: int = 0      # how many times a worker started this job (more than 1 after a retry)


class ProgressBoard:
    """The latest progress of each job, keyed by the driver's job key (run as a Ray actor)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Progress] = {}

    def start(self, key: str, pid: int, node: str) -> None:
        """A worker started ``key`` (again, after a retry): its count restarts from zero."""
        old = self._jobs.get(key)
        self._jobs[key] = Progress(0, None, pid, node, (old.attempt if old else 0) + 1)

    def report(self, key: str, done: int, total: int | None) -> None:
        job = self._jobs.setdefault(key, Progress())
        job.done, job.total = done, total

    def snapshot(self) -> dict[str, Progress]:
        return dict(self._jobs)


class ProgressReporter:
    """Worker side: ``start`` once per attempt, then ``(done, total)`` as a callback; sends at most every
    ``interval_s`` seconds (and always the first and the final count)."""

    def __init__(self, board, key: str, interval_s: float = 0.25) -> None:
        self.board, self.key, self.interval_s = board, key, interval_s
        self._last = 0.0
        if board is not None:
            import ray

            node = ray.get_runtime_context().get_node_id()
            board.start.remote(key, os.getpid(), node)

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if self.board is not None and (now - self._last >= self.interval_s or done == 1 or done == total):
            self._last = now
            self.board.report.remote(self.key, done, total)
