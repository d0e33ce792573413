"""Connecting to a Ray cluster, or starting a local one, when the optional extra is installed."""

from __future__ import annotations

import logging
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

INSTALL_HINT = "pip install 'tsfgui[cluster]'"
LOCAL = "auto"


class ClusterError(Exception):
    """Ray is missing, or the cluster cannot be reached; the message says what to do."""


def require_ray():
    """The ``ray`` module, or :class:`ClusterError` telling how to install it."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--cluster needs Ray, which is not installed; install it with: {INSTALL_HINT}") from None
    return ray


def is_address(value: str) -> bool:
    """Whether ``value`` can name a Ray cluster: ``auto``, ``local`` or ``HOST:PORT``."""
    return value in (LOCAL, "local") or ":" in value


@dataclass(frozen=True)
class ClusterInfo:
    """What the driver is connected to."""

    address: str
    cpus: float
    gpus: float
    started_here: bool    # a local cluster started by this process (shut down when done)

    def describe(self) -> str:
        where = "local Ray cluster" if self.started_here else f"Ray cluster at {self.address}"
        gpus = f", {self.gpus:g} GPU(s)" if self.gpus else ", no GPU"
        return f"{where}: {self.cpus:g} CPU(s){gpus}"


@contextmanager
def ray_cluster(address: str | None = LOCAL, **local_options) -> Iterator[ClusterInfo]:
    """Connect this process to Ray for the duration of the ``with`` block.

    ``address``: ``"auto"`` (or None) joins the cluster running on this machine (``ray start --head``, or
    ``RAY_ADDRESS``) and starts a local one when there is none; ``"local"`` always starts a new local one;
    anything else (``"10.0.0.5:6379"``) must be the address of a reachable cluster's head. A process already
    connected (``ray.init`` called before, as the tests do) keeps its connection. ``local_options`` go to
    ``ray.init`` with ``"local"`` (``num_cpus``, ``object_store_memory`` …). Only a cluster
    started here is shut down at the end.
    """
    ray = require_ray()
    target = None if address in (None, LOCAL) else address
    if target not in (None, "local"):  # Ray itself would wait for minutes on an address nobody answers
        why = _unreachable(target)
        if why:
            raise ClusterError(f"cannot reach the Ray cluster at '{address}': {why} (start its head with "
                               "'ray start --head --port PORT', or use --cluster auto for a local one)")
    if ray.is_initialized():
        yield _info(ray, started_here=False)
        return
    options = dict(include_dashboard=False, logging_level=logging.ERROR, configure_logging=True)
    try:
        ray.init(address=target, **options, **(local_options if target == "local" else {}))
    except (ConnectionError, TimeoutError, RuntimeError, ValueError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(f"cannot reach the Ray cluster at '{address}': {first} (start one with "
                           "'ray start --head', or use --cluster auto for a local one)") from None
    started = _started_locally(ray)
    try:
        yield _info(ray, started_here=started)
    finally:
        ray.shutdown()


def _unreachable(address: str, timeout_s: float = 5.0) -> str | None:
    """Why nothing answers at ``HOST:PORT`` (None when something does)."""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return f"'{port}' is not a port number"
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
            return None
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


def _started_locally(ray) -> bool:
    """Whether ``ray.init`` started the head node in this process (not a connection to a running one)."""
    node = getattr(ray._private.worker, "_global_node", None)
    return bool(node is not None and node.is_head())


def _info(ray, *, started_here: bool) -> ClusterInfo:
    res = ray.cluster_resources()
    ctx = ray.get_runtime_context()
    address = getattr(ctx, "gcs_address", None) or "?"
    return ClusterInfo(str(address), float(res.get("CPU", 0)), float(res.get("GPU", 0)), started_here)
