"""Writing results to files. Every file is written to a temporary name and renamed when complete, so
a crash never leaves a half file that looks whole."""

from __future__ import annotations

import csv
import math
import os
from typing import Iterable, Sequence

from tsfgui.io.atomic import atomic_write

from .results import DIFF_KEYS, POSE_KEYS, FrameResult


def frame_columns(class_names: Sequence[str]) -> list[str]:
    """Columns of the per-frame CSV (named in the spirit of OpenFace's output)."""
    return (["frame", "timestamp_ms", "face_detected", "face_quality", "face_score", "face_x0", "face_y0", "face_x1",
             "face_y1", "reference_frame"] + [f"diff_{k}" for k in DIFF_KEYS]
            + [f"flow_{k}" for k in DIFF_KEYS] + list(POSE_KEYS)
            + [f"p_{name}" for name in class_names] + ["label", "confidence"])


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}"


def frame_row(result: FrameResult, class_names: Sequence[str]) -> list[str]:
    """One CSV row for ``result`` (empty cells where a figure does not exist)."""
    face = result.face
    box = [_number(v, 2) for v in face.bbox] if face is not None else [""] * 4
    probs = ([_number(float(p)) for p in result.probabilities] if result.probabilities is not None
             else [""] * len(class_names))
    return ([str(result.index), _number(result.timestamp_ms, 3), "1" if face is not None else "0",
             face.quality.name.lower() if face is not None else "lost", _number(face.score, 3) if face else "", *box,
             "" if result.reference_index is None else str(result.reference_index)]
            + [_number(result.diff.get(k)) for k in DIFF_KEYS] + [_number(result.flow.get(k)) for k in DIFF_KEYS]
            + ([_number(v, 5) for v in result.pose] if result.pose is not None else [""] * len(POSE_KEYS)) + probs
            + [result.label or "", _number(result.confidence)])


def write_frames_csv(results: Iterable[FrameResult], path: str | os.PathLike, class_names: Sequence[str]) -> int:
    """Write one row per result (in the order given) to ``path`` atomically; returns the row count."""
    count = 0
    with atomic_write(path, newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(frame_columns(class_names))
        for result in results:
            writer.writerow(frame_row(result, class_names))
            count += 1
    return count
