"""Analysis results kept on disk, so re-opening a file with the same model and settings is instant.

A cache entry is one ``.npz`` file of plain arrays (no pickles: loading runs no code) named by a hash
of what determines the results: the source (path, size, modification time), the weights file (path,
size, modification time, or none), the reference policy and the analysis settings. It is written
atomically once an analysis has finished; an unreadable or foreign entry counts as a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from tsfgui.face import FaceObservation, Quality

from tsfgui.io.atomic import atomic_write
from .results import DIFF_KEYS, FrameResult

FORMAT = "tsfgui-results-6"  # 2: flow and pose; 3: flow against the reference cut with the frame's alignment; 4: patch motion; 5: drift; 6: drift mirrored
_QUALITIES = list(Quality)


def default_cache_dir() -> Path:
    """``$TSFGUI_CACHE_DIR``, else ``$XDG_CACHE_HOME/tsfgui/results``, else ``~/.cache/tsfgui/results``."""
    if os.environ.get("TSFGUI_CACHE_DIR"):
        return Path(os.environ["TSFGUI_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tsfgui" / "results"


def _file_identity(path: str | os.PathLike | None) -> list:
    if path is None:
        return [None]
    p = Path(path).resolve()
    if p.is_dir():  # a frame folder: its file names, sizes and times
        return [str(p)] + sorted((c.name, c.stat().st_size, c.stat().st_mtime_ns) for c in p.iterdir() if c.is_file())
    st = p.stat()
    return [str(p), st.st_size, st.st_mtime_ns]


def cache_key(source: str | os.PathLike, weights: str | os.PathLike | None, settings: dict) -> str:
    """Hash of everything that determines the results of an analysis."""
    text = json.dumps([FORMAT, _file_identity(source), _file_identity(weights), settings], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class ResultsCache:
    """Stores and loads complete analyses by :func:`cache_key`."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def save(self, key: str, results: Iterable[FrameResult], class_names: Sequence[str]) -> Path:
        """Write the results (ordered by frame) of a finished analysis."""
        items = sorted(results, key=lambda r: r.index)
        n, c = len(items), len(class_names)
        arrays = {
            "index": np.array([r.index for r in items], np.int64),
            "timestamp_ms": np.array([r.timestamp_ms for r in items], np.float64),
            "faces_in_frame": np.array([r.faces_in_frame for r in items], np.int16),
            "has_face": np.array([r.face is not None for r in items]),
            "reference": np.array([-1 if r.reference_index is None else r.reference_index for r in items], np.int64),
            "diff": np.array([[r.diff.get(k, np.nan) for k in DIFF_KEYS] for r in items], np.float32).reshape(n, -1),
            "flow": np.array([[r.flow.get(k, np.nan) for k in DIFF_KEYS] for r in items], np.float32).reshape(n, -1),
            "motion": np.array([[r.motion.get(k, np.nan) for k in DIFF_KEYS] for r in items], np.float32).reshape(n, -1),
            "drift": np.array([[r.drift.get(k, (np.nan, np.nan)) for k in DIFF_KEYS] for r in items],
                              np.float32).reshape(n, len(DIFF_KEYS), 2),
            "pose": np.array([r.pose if r.pose is not None else (np.nan,) * 3 for r in items], np.float32).reshape(n, 3),
            "probabilities": np.array([r.probabilities if r.probabilities is not None else np.full(c, np.nan)
                                       for r in items], np.float32).reshape(n, c),
            "track_id": np.zeros(n, np.int32), "quality": np.zeros(n, np.int8), "bbox": np.zeros((n, 4), np.float32),
            "score": np.zeros(n, np.float32), "landmarks": np.zeros((n, 68, 2), np.float32),
            "matrix": np.zeros((n, 2, 3), np.float64), "inverse": np.zeros((n, 2, 3), np.float64),
            "size": np.zeros(n, np.int32),
        }
        for i, r in enumerate(items):
            f = r.face
            if f is None:
                continue
            arrays["track_id"][i], arrays["quality"][i] = f.track_id, _QUALITIES.index(f.quality)
            arrays["bbox"][i], arrays["score"][i], arrays["landmarks"][i] = f.bbox, f.score, f.landmarks
            arrays["matrix"][i], arrays["inverse"][i], arrays["size"][i] = f.matrix, f.inverse, f.size
        meta = json.dumps({"format": FORMAT, "class_names": list(class_names)})
        path = self.path(key)
        with atomic_write(path, "wb") as fh:
            np.savez_compressed(fh, meta=np.array(meta), **arrays)
        return path

    def load(self, key: str) -> list[FrameResult] | None:
        """The cached results for ``key``, or None when there are none (or the entry is unusable)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT:
                    return None
                a = {k: data[k] for k in data.files if k != "meta"}
        except (OSError, ValueError, KeyError):
            return None
        names = tuple(meta["class_names"])
        results = []
        for i in range(len(a["index"])):
            face = None
            if a["has_face"][i]:
                face = FaceObservation(int(a["track_id"][i]), _QUALITIES[int(a["quality"][i])],
                                       tuple(float(v) for v in a["bbox"][i]), float(a["score"][i]),
                                       a["landmarks"][i].copy(), None, a["matrix"][i].copy(), a["inverse"][i].copy(),
                                       int(a["size"][i]))
            diff = {k: float(v) for k, v in zip(DIFF_KEYS, a["diff"][i]) if not np.isnan(v)}
            # every key is there: entries of other formats are not read
            flow = {k: float(v) for k, v in zip(DIFF_KEYS, a["flow"][i]) if not np.isnan(v)}
            motion = {k: float(v) for k, v in zip(DIFF_KEYS, a["motion"][i]) if not np.isnan(v)}
            drift = {k: (float(v[0]), float(v[1])) for k, v in zip(DIFF_KEYS, a["drift"][i]) if not np.isnan(v).any()}
            pose = a["pose"][i]
            probs = a["probabilities"][i]
            ref = int(a["reference"][i])
            results.append(FrameResult(int(a["index"][i]), float(a["timestamp_ms"][i]), face,
                                       int(a["faces_in_frame"][i]), None if ref < 0 else ref, diff,
                                       None if np.isnan(probs).all() or probs.size == 0 else probs.copy(), names,
                                       flow=flow, motion=motion, drift=drift, pose=None if np.isnan(pose).any()
                                       else tuple(float(v) for v in pose)))
        return results
