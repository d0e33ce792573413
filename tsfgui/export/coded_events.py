"""Coded events: the tool's proposals and each coder's decisions (a project's result), for ELAN, BORIS,
CSV and JSON. :attr:`ExportData.coded` maps a rater (``tool`` or a coder's name) to its events.

- ``coded-eaf``: one ELAN tier per rater (``tool proposals``, then the coders by name); the value of
  each annotation is ``label; kind; AU 1+2; apex 25; status edited; note: …`` (parts left out when
  empty), which ``tsfgui project import`` reads back.
- ``coded-boris``: the BORIS import sheet, a start and a stop row per event; the comment names the
  rater, the status, the AUs and the note.
- ``coded-csv`` / ``coded-json``: one row/object per event with :data:`CODED_COLUMNS`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tsfgui.io.atomic import atomic_write

from .boris import write_boris_rows
from .elan import write_eaf_tiers
from .registry import CodedEvent, ExportData, Writer, register

#: The rater name of the tool's proposals, and its ELAN tier.
TOOL = "tool"
TOOL_TIER = "tool proposals"
CODED_COLUMNS = ["recording", "rater", "status", "onset_frame", "apex_frame", "offset_frame", "onset_s", "apex_s",
                 "offset_s", "kind", "label", "probability", "score", "region", "aus", "note", "decided_at"]


def annotation_value(e: CodedEvent, rater: str) -> str:
    """``label; kind; AU …; apex N; status …; note: …`` (the tool's: ``label (p); kind; apex N``)."""
    label = e.label or "-"
    if rater == TOOL and e.probability is not None and e.label:
        label = f"{e.label} ({e.probability:.2f})"
    parts = [label, e.kind]
    if e.aus:
        parts.append(f"AU {e.aus}")
    parts.append(f"apex {e.apex}")
    if rater != TOOL:
        parts.append(f"status {e.status}")
    if e.note:
        parts.append(f"note: {e.note.replace(';', ',')}")
    return "; ".join(parts)


def coded_records(data: ExportData) -> list[dict]:
    """One dict per event and rater with the :data:`CODED_COLUMNS` (times in seconds at ``data.fps``)."""
    fps = data.fps
    return [{"recording": data.title, "rater": rater, "status": e.status, "onset_frame": e.onset, "apex_frame": e.apex,
             "offset_frame": e.offset, "onset_s": round(e.onset / fps, 3), "apex_s": round(e.apex / fps, 3),
             "offset_s": round(e.offset / fps, 3), "kind": e.kind, "label": e.label,
             "probability": None if e.probability is None else round(e.probability, 4),
             "score": None if e.score is None else round(e.score, 2), "region": e.region, "aus": e.aus,
             "note": e.note, "decided_at": e.decided_at}
            for rater, events in data.coded.items() for e in sorted(events, key=lambda e: (e.onset, e.offset))]


def _eaf(path: Path, data: ExportData) -> int:
    tiers = {(TOOL_TIER if rater == TOOL else rater): [(e.onset, e.offset, annotation_value(e, rater))
                                                       for e in sorted(events, key=lambda e: e.onset)]
             for rater, events in data.coded.items()}
    write_eaf_tiers(path, tiers, data.fps, media=data.media)
    return sum(len(v) for v in tiers.values())


def _boris(path: Path, data: ExportData) -> int:
    rows = []
    for rater, events in data.coded.items():
        for e in sorted(events, key=lambda e: e.onset):
            comment = "; ".join(p for p in (rater if rater != TOOL else "tool proposal",
                                            e.status if rater != TOOL else "", f"AU {e.aus}" if e.aus else "",
                                            f"apex {e.apex / data.fps:.3f} s", e.note) if p)
            rows.append((e.onset / data.fps, e.offset / data.fps, f"{e.kind}-expression", e.label or "", comment))
    write_boris_rows(path, rows, subject=data.subject)
    return len(rows)


def _csv(path: Path, data: ExportData) -> int:
    records = coded_records(data)
    with atomic_write(path, newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CODED_COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in records)
    return len(records)


def _json(path: Path, data: ExportData) -> int:
    records = coded_records(data)
    with atomic_write(path, encoding="utf-8") as fh:
        json.dump({"recording": data.title, "fps": data.fps, "media": None if data.media is None else str(data.media),
                   "events": records}, fh, indent=2)
    return len(records)


register(Writer("coded-eaf", "coded", ".eaf", "{stem}.eaf", "ELAN annotation (proposals and coders)", _eaf))
register(Writer("coded-boris", "coded", ".xlsx", "{stem}_boris.xlsx", "BORIS import sheet (proposals and coders)",
                _boris))
register(Writer("coded-csv", "coded", ".csv", "{stem}.csv", "CSV (proposals and coders)", _csv))
register(Writer("coded-json", "coded", ".json", "{stem}.json", "JSON (proposals and coders)", _json))
