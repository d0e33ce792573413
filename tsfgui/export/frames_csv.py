"""The per-frame CSV (``frames.csv``): one row per analysed frame, in the spirit of OpenFace's output.
Rows can be streamed (:func:`frames_csv_stream`) so that an hour of video never sits in memory."""

from __future__ import annotations

import csv
import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from tsfgui.engine.results import DIFF_KEYS, POSE_KEYS, FrameResult
from tsfgui.io.atomic import atomic_write

from .registry import ExportData, Writer, register


def frame_columns(class_names: Sequence[str]) -> list[str]:
    """Columns of the per-frame CSV (named in the spirit of OpenFace's output)."""
    return (["frame", "timestamp_ms", "face_detected", "face_quality", "face_score", "face_x0", "face_y0", "face_x1",
             "face_y1", "reference_frame"] + [f"diff_{k}" for k in DIFF_KEYS]
            + [f"flow_{k}" for k in DIFF_KEYS] + [f"motion_{k}" for k in DIFF_KEYS] + list(POSE_KEYS)
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
            + [_number(result.motion.get(k), 3) for k in DIFF_KEYS]
            + ([_number(v, 5) for v in result.pose] if result.pose is not None else [""] * len(POSE_KEYS)) + probs
            + [result.label or "", _number(result.confidence)])


class FramesCsvSink:
    """Rows appended one result at a time; :attr:`rows` counts them."""

    def __init__(self, writer, class_names: Sequence[str]) -> None:
        self._writer = writer
        self._names = tuple(class_names)
        self.rows = 0

    def add(self, result: FrameResult) -> None:
        self._writer.writerow(frame_row(result, self._names))
        self.rows += 1


@contextmanager
def frames_csv_stream(path: str | os.PathLike, class_names: Sequence[str]) -> Iterator[FramesCsvSink]:
    """Open ``path`` for streamed rows (header written); renamed into place only when the block ends
    without an error."""
    with atomic_write(path, newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(frame_columns(class_names))
        yield FramesCsvSink(writer, class_names)


def write_frames_csv(results: Iterable[FrameResult], path: str | os.PathLike, class_names: Sequence[str]) -> int:
    """Write one row per result (in the order given) to ``path`` atomically; returns the row count."""
    with frames_csv_stream(path, class_names) as sink:
        for result in results:
            sink.add(result)
    return sink.rows


def _write(path: Path, data: ExportData) -> int:
    return write_frames_csv(data.results, path, data.class_names)


register(Writer("frames-csv", "frames", ".csv", "frames.csv", "CSV", _write))
