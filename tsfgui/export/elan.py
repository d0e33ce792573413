"""The ELAN annotation file (EAF 3.0, ``<name>.eaf``) linked to the video, valid against ELAN's
``EAFv3.0.xsd``."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

from tsfgui.engine.spotting import SpottedInterval
from tsfgui.io.atomic import atomic_path

from .registry import ExportData, Writer, register

MIME_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".avi": "video/x-msvideo",
              ".mkv": "video/x-matroska", ".webm": "video/webm", ".mpg": "video/mpeg", ".mpeg": "video/mpeg",
              ".wmv": "video/x-ms-wmv", ".ogv": "video/ogg", ".3gp": "video/3gpp", ".wav": "audio/x-wav"}


def write_eaf(path: str | Path, events: Sequence[SpottedInterval], fps: float, media: str | Path | None = None,
              author: str = "tsfgui") -> Path:
    """An ELAN annotation file (EAF 3.0) linked to ``media``, with tiers ``micro-expressions`` and
    ``macro-expressions`` (onset→offset spans; value: class and probability, or the moving region when
    no model ran) and ``apex`` (one frame at each apex). Times in milliseconds at ``fps``."""
    tiers: dict[str, list[tuple[int, int, str]]] = {"micro-expressions": [], "macro-expressions": [], "apex": []}
    for e in sorted(events, key=lambda e: e.onset):
        value = f"{e.label} ({e.probability:.2f})" if e.label and e.probability is not None else f"{e.region} movement"
        tiers[f"{e.kind}-expressions"].append((e.onset, e.offset, value))
        tiers["apex"].append((e.apex, e.apex + 1, f"apex, score {e.score:.1f}"))
    return write_eaf_tiers(path, tiers, fps, media=media, author=author)


def write_eaf_tiers(path: str | Path, tiers: Mapping[str, Sequence[tuple[int, int, str]]], fps: float,
                    media: str | Path | None = None, author: str = "tsfgui") -> Path:
    """An ELAN annotation file (EAF 3.0) linked to ``media`` with one time-aligned tier per entry of
    ``tiers``: its name → ``(first frame, last frame, value)`` spans. Times in milliseconds at ``fps``."""
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

    count = 0
    elements = []
    for name, spans in tiers.items():
        tier = ET.Element("TIER", {"TIER_ID": name, "LINGUISTIC_TYPE_REF": "tsfgui-event"})
        for start, end, value in spans:
            count += 1
            annotation = ET.SubElement(tier, "ANNOTATION")
            aligned = ET.SubElement(annotation, "ALIGNABLE_ANNOTATION", {
                "ANNOTATION_ID": f"a{count}", "TIME_SLOT_REF1": slot(start),
                "TIME_SLOT_REF2": slot(max(end, start + 1))})
            ET.SubElement(aligned, "ANNOTATION_VALUE").text = value
        elements.append(tier)
    ET.SubElement(header, "PROPERTY", {"NAME": "lastUsedAnnotationId"}).text = str(count)
    for tier in elements:
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


def _write(path: Path, data: ExportData) -> int:
    write_eaf(path, data.events, data.fps, media=data.media)
    return len(data.events)


register(Writer("eaf", "events", ".eaf", "{stem}.eaf", "ELAN annotation", _write))
