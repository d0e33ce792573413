"""The BORIS import sheet (``events_boris.xlsx``): BORIS imports events from ``.xlsx`` with the columns
``time`` (seconds), ``subject``, ``code``, ``modifier``, ``comment``; a state event is a start row and
a stop row at the same code."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from tsfgui.engine.spotting import SpottedInterval
from tsfgui.io.atomic import atomic_path

from .registry import ExportData, Writer, register

BORIS_COLUMNS = ["time", "subject", "code", "modifier", "comment"]


def write_boris_sheet(path: str | Path, events: Sequence[SpottedInterval], fps: float,
                      subject: str = "participant") -> Path:
    """An ``.xlsx`` BORIS imports: per spotted interval a start row (onset) and a stop row (offset).
    The code is ``micro-expression``/``macro-expression``; the modifier the predicted class."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "events"
    sheet.append(BORIS_COLUMNS)
    for e in sorted(events, key=lambda e: e.onset):
        code = f"{e.kind}-expression"
        comment = (f"apex {e.apex / fps:.3f} s; score {e.score:.1f} ({e.region})"
                   + (f"; p={e.probability:.2f}" if e.probability is not None else ""))
        sheet.append([round(e.onset / fps, 3), subject, code, e.label or "", comment])
        sheet.append([round(e.offset / fps, 3), subject, code, e.label or "", comment])
    with atomic_path(path, suffix=".xlsx") as tmp:
        book.save(tmp)
    return Path(path)


def _write(path: Path, data: ExportData) -> int:
    write_boris_sheet(path, data.events, data.fps, subject=data.subject)
    return len(data.events)


register(Writer("boris-xlsx", "events", ".xlsx", "events_boris.xlsx", "BORIS import sheet", _write))
