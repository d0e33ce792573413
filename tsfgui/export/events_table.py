"""The spotted intervals as a table: ``events.csv`` and ``events.json`` (onset, apex, offset in frames
and seconds, kind, class and probability, score, region, flags such as ``head motion``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

from tsfgui.engine.spotting import SpottedInterval
from tsfgui.io.atomic import atomic_write

from .registry import ExportData, Writer, register

EVENT_COLUMNS = ["onset_frame", "apex_frame", "offset_frame", "onset_s", "apex_s", "offset_s", "kind", "label",
                 "probability", "score", "region", "flags"]


def event_records(events: Sequence[SpottedInterval], fps: float) -> list[dict]:
    """One dict per interval with the :data:`EVENT_COLUMNS` (times in seconds at ``fps``)."""
    return [{"onset_frame": e.onset, "apex_frame": e.apex, "offset_frame": e.offset,
             "onset_s": round(e.onset / fps, 3), "apex_s": round(e.apex / fps, 3), "offset_s": round(e.offset / fps, 3),
             "kind": e.kind, "label": e.label, "probability": None if e.probability is None else round(e.probability, 4),
             "score": round(e.score, 2), "region": e.region, "flags": "; ".join(e.flags)} for e in events]


def write_events_csv(path: str | Path, events: Sequence[SpottedInterval], fps: float) -> Path:
    """The spotted intervals as CSV (:data:`EVENT_COLUMNS`; empty cells where a value is missing)."""
    with atomic_write(path, newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=EVENT_COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in event_records(events, fps))
    return Path(path)


def write_events_json(path: str | Path, events: Sequence[SpottedInterval], fps: float) -> Path:
    """The spotted intervals as JSON: ``{"fps": …, "events": [records]}``."""
    with atomic_write(path, encoding="utf-8") as fh:
        json.dump({"fps": fps, "events": event_records(events, fps)}, fh, indent=2)
    return Path(path)


def _csv(path: Path, data: ExportData) -> int:
    write_events_csv(path, data.events, data.fps)
    return len(data.events)


def _json(path: Path, data: ExportData) -> int:
    write_events_json(path, data.events, data.fps)
    return len(data.events)


register(Writer("events-csv", "events", ".csv", "events.csv", "CSV", _csv))
register(Writer("events-json", "events", ".json", "events.json", "JSON", _json))
