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
    rows = []
    for e in sorted(events, key=lambda e: e.onset):
        comment = (f"apex {e.apex / fps:.3f} s; score {e.score:.1f} ({e.region})"
                   + (f"; p={e.probability:.2f}" if e.probability is not None else ""))
        rows.append((e.onset / fps, e.offset / fps, f"{e.kind}-expression", e.label or "", comment))
    return write_boris_rows(path, rows, subject)


def write_boris_rows(path: str | Path, events: Sequence[tuple[float, float, str, str, str]],
                     subject: str = "participant") -> Path:
    """The BORIS import sheet of state events ``(start s, stop s, code, modifier, comment)``: a start
    row and a stop row each."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "events"
    sheet.append(BORIS_COLUMNS)
    for start, stop, code, modifier, comment in events:
        sheet.append([round(start, 3), subject, code, modifier, comment])
        sheet.append([round(stop, 3), subject, code, modifier, comment])
    with atomic_path(path, suffix=".xlsx") as tmp:
        book.save(tmp)
    return Path(path)


def _write(path: Path, data: ExportData) -> int:
    write_boris_sheet(path, data.events, data.fps, subject=data.subject)
    return len(data.events)


register(Writer("boris-xlsx", "events", ".xlsx", "events_boris.xlsx", "BORIS import sheet", _write))
