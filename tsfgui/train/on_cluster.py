"""Cross-validation folds as Ray tasks (``tsfgui eval --cluster``): one task per fold, a GPU each when the cluster
has GPUs, the crops shipped once through Ray's object store. The driver writes each fold's record as it arrives
(:func:`tsfgui.train.trainer.cross_validate`), so an interrupted run resumes at the unfinished folds; a fold whose
worker dies is retried by Ray, and a fold that fails by itself is reported once while the others finish.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from tsfgui.cluster import TRANSIENT_ERRORS, ClusterError, as_completed, ray_cluster, require_ray
from tsfgui.cluster.gather import MAX_RETRIES
from tsfgui.train.preprocess import PairCrops
from tsfgui.train.trainer import FoldJob, FoldRunner, run_fold


class FoldsFailed(RuntimeError):
    """Some folds failed on the cluster (the finished ones are kept); the message names each."""


def fold_task(job: FoldJob, pairs: Sequence[PairCrops], threads: int) -> dict:
    """Body of one fold's Ray task: torch uses the task's CPUs; the device is the task's GPU when it has one."""
    from tsfgui.model import configure_threads

    configure_threads(threads, pin=True)
    return run_fold(job, pairs, progress=False)


def cluster_fold_runner(address: str = "auto", *, cpus_per_fold: int = 1, **local_options) -> FoldRunner:
    """A :data:`~tsfgui.train.trainer.FoldRunner` that runs the folds on the Ray cluster at ``address``."""
    require_ray()  # the one-line install hint before any work

    def run(jobs: Sequence[FoldJob], pairs: Sequence[PairCrops]) -> Iterator[dict]:
        if not jobs:
            return
        with ray_cluster(address, **local_options) as info:
            ray = require_ray()
            wanted = jobs[0].recipe.device
            if wanted is not None and wanted.startswith("cuda") and info.gpus < 1:
                raise ClusterError(f"--device {wanted}: the {info.describe()} has no GPU; leave --device out")
            gpus = 1 if info.gpus >= 1 and (wanted is None or wanted.startswith("cuda")) else 0
            task = ray.remote(fold_task).options(num_cpus=cpus_per_fold, num_gpus=gpus, max_retries=MAX_RETRIES,
                                                 retry_exceptions=list(TRANSIENT_ERRORS), name="tsfgui-fold")
            crops = ray.put(list(pairs))
            refs = {task.remote(job, crops, cpus_per_fold): job for job in jobs}
            failed: list[str] = []
            for ref, record, error in as_completed(list(refs)):
                if error is None:
                    yield record
                else:
                    failed.append(f"{refs[ref].fold.name}: {_one_line(error)}")
            if failed:
                raise FoldsFailed(f"{len(failed)} fold(s) failed on the cluster (the others are kept): "
                                  + "; ".join(failed))

    return run


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[-1] if text else ''}".rstrip(": ")
