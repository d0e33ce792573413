"""Ray, the optional distributed engine (``pip install 'tsfgui[cluster]'``): connecting to a cluster or starting a
local one, cluster-wide progress, and waiting on remote work with retries and a clean Ctrl+C.

Nothing here imports Ray at import time, so every command works without the extra; only ``--cluster`` needs it.

- :mod:`~tsfgui.cluster.connect`: :func:`require_ray` (a one-line error naming the extra), :func:`ray_cluster`
  (connect to ``auto`` / an address, or start a local cluster; shut down only what it started).
- :mod:`~tsfgui.cluster.progress`: a small actor the workers report progress to and the driver reads.
- :mod:`~tsfgui.cluster.gather`: results as they finish, pending work cancelled on Ctrl+C or an error.
"""

from .connect import INSTALL_HINT, ClusterError, ClusterInfo, is_address, ray_cluster, require_ray
from .gather import TRANSIENT_ERRORS, as_completed
from .progress import ProgressBoard, ProgressReporter

__all__ = ["INSTALL_HINT", "ClusterError", "ClusterInfo", "is_address", "ray_cluster", "require_ray",
           "TRANSIENT_ERRORS", "as_completed", "ProgressBoard", "ProgressReporter"]
