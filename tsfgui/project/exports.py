"""A project's events as files, one per recording, through the export registry (``coded-*`` writers).

Without ``final``: the tool's proposals and, per coder (all, or ``coder``), every event the coder decided
on (accepted, rejected, edited, added) with its status. With ``final``: only ``coder``'s accepted,
edited and added events — the corrected result.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from tsfgui.export import CodedEvent, ExportData, writer

from .database import ProjectError
from .records import TOOL, Event

if TYPE_CHECKING:
    from .project import Project

FORMATS = ("eaf", "boris", "csv", "json")


def coded(e: Event) -> CodedEvent:
    return CodedEvent(e.onset, e.apex, e.offset, e.kind, e.label, e.status, e.aus, e.note, e.probability, e.score,
                      e.region, e.decided_at)


def export_project(project: "Project", fmt: str, out: str | os.PathLike, *, coder: str | None = None,
                   final: bool = False) -> list[Path]:
    """Write one ``fmt`` file per recording with events into ``out``; returns the files written."""
    if fmt not in FORMATS:
        raise ProjectError(f"unknown export format '{fmt}'; choose one of {', '.join(FORMATS)}")
    if final and coder is None:
        raise ProjectError("--final exports one coder's result: give --coder NAME")
    coders = [project.coder(coder, create=False).name] if coder else [c.name for c in project.coders()]
    w = writer(f"coded-{fmt}")
    out = Path(out)
    written: list[Path] = []
    taken: set[str] = set()
    for rec in project.recordings():
        raters: dict[str, list[CodedEvent]] = {}
        if not final:
            raters[TOOL] = [coded(e) for e in project.proposals(rec.id)]
        for name in coders:
            events = project.events(rec.id, name)
            chosen = [e for e in events if e.final] if final else [e for e in events if e.status != "proposed"]
            if chosen or not final:
                raters[name] = [coded(e) for e in chosen]
        if not any(raters.values()):
            continue
        stem = rec.name if rec.name not in taken else f"{rec.name}-{rec.id}"
        taken.add(stem)
        path = w.default_path(out, stem)
        w.write(path, ExportData(fps=rec.fps, media=rec.location if rec.kind == "video" else None, title=rec.name,
                                 subject=rec.subject or "participant", coded=raters))
        written.append(path)
    project.log_export(fmt, out.resolve(), coder, final, len(written))
    return written
