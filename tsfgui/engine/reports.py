"""Files for the tools psychologists already use, and a picture of a whole analysis.

- BORIS import sheet (``events_boris.xlsx``): BORIS imports events from ``.xlsx`` with the columns
  ``time`` (seconds), ``subject``, ``code``, ``modifier``, ``comment``; a state event is a start row
  and a stop row at the same code.
- Summary plot (``summary.png``): the difference magnitude over the whole video, globally and per
  region, with the spotted intervals shaded in the colour of their predicted class.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from tsfgui.io.atomic import atomic_path, atomic_write

from .results import DIFF_KEYS
from .spotting import SignalRecorder, SpottedInterval

EVENT_COLUMNS = ["onset_frame", "apex_frame", "offset_frame", "onset_s", "apex_s", "offset_s", "kind", "label",
                 "probability", "score", "region"]
BORIS_COLUMNS = ["time", "subject", "code", "modifier", "comment"]
CLASS_COLOURS = ["#e05050", "#50c85a", "#f5c828", "#5a8cfa", "#c86ee6", "#78dcdc", "#f0965a"]
NO_CLASS_COLOUR = "#9a9a9a"


def class_colour(label: str | None, class_names: Sequence[str]) -> str:
    """The colour of ``label`` among ``class_names`` (grey for no label or an unknown one)."""
    names = list(class_names)
    return CLASS_COLOURS[names.index(label) % len(CLASS_COLOURS)] if label in names else NO_CLASS_COLOUR


def event_records(events: Sequence[SpottedInterval], fps: float) -> list[dict]:
    """One dict per interval with the :data:`EVENT_COLUMNS` (times in seconds at ``fps``)."""
    return [{"onset_frame": e.onset, "apex_frame": e.apex, "offset_frame": e.offset,
             "onset_s": round(e.onset / fps, 3), "apex_s": round(e.apex / fps, 3), "offset_s": round(e.offset / fps, 3),
             "kind": e.kind, "label": e.label, "probability": None if e.probability is None else round(e.probability, 4),
             "score": round(e.score, 2), "region": e.region} for e in events]


def write_events_csv(path: str | Path, events: Sequence[SpottedInterval], fps: float) -> Path:
    """The spotted intervals as CSV (:data:`EVENT_COLUMNS`; empty cells where a value is missing)."""
    import csv

    with atomic_write(path, newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=EVENT_COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in event_records(events, fps))
    return Path(path)


def write_events_json(path: str | Path, events: Sequence[SpottedInterval], fps: float) -> Path:
    """The spotted intervals as JSON: ``{"fps": …, "events": [records]}``."""
    import json

    with atomic_write(path, encoding="utf-8") as fh:
        json.dump({"fps": fps, "events": event_records(events, fps)}, fh, indent=2)
    return Path(path)


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


def _peak_envelope(t: np.ndarray, values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` samples: the maximum of each run of consecutive frames, so that a
    short burst in an hour of video stays visible (plain decimation would skip it)."""
    step = -(-len(t) // max_points) if len(t) > max_points else 1
    if step == 1:
        return t, values
    n = len(t) // step * step
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN run (no face) stays NaN
        peaks = np.nanmax(values[:n].reshape(-1, step, values.shape[1]), axis=1)
    return t[:n:step], peaks


def write_summary_plot(path: str | Path, recorder: SignalRecorder, events: Sequence[SpottedInterval], fps: float,
                       class_names: Sequence[str] = (), title: str = "") -> Path:
    """A PNG timeline of the difference signals with the spotted intervals shaded by class."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    index, values = recorder.signals()
    t, values = _peak_envelope(index / fps, values, max_points=4000)  # ~3 per pixel column; peaks kept
    fig = Figure(figsize=(14, 4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for i, key in enumerate(DIFF_KEYS):
        ax.plot(t, values[:, i], lw=1.4 if key == "global" else 0.7, label=key,
                color="black" if key == "global" else None)
    names = list(class_names)
    spans: dict[str, list[tuple[float, float]]] = {}
    for e in events:  # one collection per colour: thousands of intervals stay light
        spans.setdefault(class_colour(e.label, names), []).append((e.onset / fps, (e.offset - e.onset) / fps))
    for c, ranges in spans.items():
        ax.broken_barh(ranges, (0, 1), transform=ax.get_xaxis_transform(), facecolors=c, alpha=0.35, lw=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("|apex − onset| (grey levels)")
    ax.set_title(title or f"{len(events)} spotted intervals")
    handles, labels = ax.get_legend_handles_labels()
    handles += [Patch(color=class_colour(n, names), alpha=0.35, label=n) for n in names]
    if not names:
        handles.append(Patch(color=NO_CLASS_COLOUR, alpha=0.35, label="spotted (no model)"))
    ax.legend(handles=handles, loc="upper right", fontsize=8, ncol=2)
    ax.margins(x=0)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


MIME_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".avi": "video/x-msvideo",
              ".mkv": "video/x-matroska", ".webm": "video/webm", ".mpg": "video/mpeg", ".mpeg": "video/mpeg",
              ".wmv": "video/x-ms-wmv", ".ogv": "video/ogg", ".3gp": "video/3gpp", ".wav": "audio/x-wav"}


def write_eaf(path: str | Path, events: Sequence[SpottedInterval], fps: float, media: str | Path | None = None,
              author: str = "tsfgui") -> Path:
    """An ELAN annotation file (EAF 3.0) linked to ``media``, with tiers ``micro-expressions`` and
    ``macro-expressions`` (onset→offset spans; value: class and probability, or the moving region when
    no model ran) and ``apex`` (one frame at each apex). Times in milliseconds at ``fps``."""
    import os
    import xml.etree.ElementTree as ET
    from datetime import datetime, timezone

    path = Path(path)
    doc = ET.Element("ANNOTATION_DOCUMENT", {
        "AUTHOR": author, "DATE": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "FORMAT": "3.0", "VERSION": "3.0", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"})
    header = ET.SubElement(doc, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    if media is not None:
        media = Path(media).resolve()
        relative = os.path.relpath(media, path.resolve().parent)
        ET.SubElement(header, "MEDIA_DESCRIPTOR", {
            "MEDIA_URL": media.as_uri(), "MIME_TYPE": MIME_TYPES.get(media.suffix.lower(), "unknown"),
            "RELATIVE_MEDIA_URL": Path(relative).as_posix() if relative.startswith("..") else f"./{Path(relative).as_posix()}"})
    order = ET.SubElement(doc, "TIME_ORDER")
    slots: list[int] = []

    def slot(frame: int) -> str:
        slots.append(int(round(frame * 1000.0 / fps)))
        slot_id = f"ts{len(slots)}"
        ET.SubElement(order, "TIME_SLOT", {"TIME_SLOT_ID": slot_id, "TIME_VALUE": str(slots[-1])})
        return slot_id

    tiers = {name: ET.Element("TIER", {"TIER_ID": name, "LINGUISTIC_TYPE_REF": "tsfgui-event"})
             for name in ("micro-expressions", "macro-expressions", "apex")}
    count = 0

    def annotate(tier: str, start: int, end: int, value: str) -> None:
        nonlocal count
        count += 1
        annotation = ET.SubElement(tiers[tier], "ANNOTATION")
        aligned = ET.SubElement(annotation, "ALIGNABLE_ANNOTATION", {
            "ANNOTATION_ID": f"a{count}", "TIME_SLOT_REF1": slot(start), "TIME_SLOT_REF2": slot(max(end, start + 1))})
        ET.SubElement(aligned, "ANNOTATION_VALUE").text = value

    for e in sorted(events, key=lambda e: e.onset):
        value = f"{e.label} ({e.probability:.2f})" if e.label and e.probability is not None else f"{e.region} movement"
        annotate(f"{e.kind}-expressions", e.onset, e.offset, value)
        annotate("apex", e.apex, e.apex + 1, f"apex, score {e.score:.1f}")
    ET.SubElement(header, "PROPERTY", {"NAME": "lastUsedAnnotationId"}).text = str(count)
    for tier in tiers.values():
        doc.append(tier)
    ET.SubElement(doc, "LINGUISTIC_TYPE", {"LINGUISTIC_TYPE_ID": "tsfgui-event", "TIME_ALIGNABLE": "true",
                                           "GRAPHIC_REFERENCES": "false"})
    for stereotype, description in (
            ("Time_Subdivision", "Time subdivision of parent annotation's time interval, no time gaps allowed "
                                 "within this interval"),
            ("Symbolic_Subdivision", "Symbolic subdivision of a parent annotation. Annotations refering to the "
                                     "same parent are ordered"),
            ("Symbolic_Association", "1-1 association with a parent annotation"),
            ("Included_In", "Time alignable annotations within the parent annotation's time interval, gaps are "
                            "allowed")):
        ET.SubElement(doc, "CONSTRAINT", {"STEREOTYPE": stereotype, "DESCRIPTION": description})
    ET.indent(doc)
    with atomic_path(path, suffix=".eaf") as tmp:
        ET.ElementTree(doc).write(tmp, encoding="UTF-8", xml_declaration=True)
    return path
