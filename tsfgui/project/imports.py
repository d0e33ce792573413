"""Annotations from other tools and from the datasets, imported as one coder's events.

Formats (``fmt``; guessed from the file when not given):

- ``eaf``: ELAN. Time-aligned annotations of one tier (``tier``), or of the tiers whose names say
  ``expression`` (what tsfgui writes), or of the only tier that has any. Kind from the tier name
  (micro/macro) or the duration. Values as tsfgui writes them (``label; AU 1+2; apex 25; note: …``) or
  free text (the label); action units, notes and labels may also come from dependent tiers named so
  (``AU``/``FACS``, ``note``/``comment``, ``label``/``emotion``). Linked to the recording named by the
  file's media.
- ``boris``: BORIS exports (``.csv``, ``.tsv``, ``.xlsx``): aggregated (``Start (s)``/``Stop (s)``),
  tabular events (``Time`` with ``Status`` START/STOP) or the import sheet tsfgui writes (``time``,
  ``code``, ``modifier`` in start/stop row pairs). The behaviour/code names the kind, the modifier the label.
- ``csv``: tsfgui's event table (``onset_frame``/``apex_frame``/``offset_frame`` or ``onset_s`` …,
  ``label``, ``kind``, ``aus``, ``note``, optionally ``recording``).
- ``json``: tsfgui's ``events.json``, the project export, or a sample's ground truth (``tsfgui sample``).
  A project export must hold one rater's events (``--coder NAME --final``); rejected events are skipped.
- the datasets' sheets: ``casme2`` (CASME II), ``samm`` (SAMM), ``casme3`` (CAS(ME)^3 part A),
  ``samm-lv`` (SAMM Long Videos), ``casme-sq`` (CAS(ME)^2 ``code_final``). Their frame numbers are the
  numbers in the frame files' names; they are matched to frame-folder recordings by subject and clip.

Everything is read and checked first; a malformed file is refused with the file, the row (or line, or
annotation) and the reason, and nothing of it is imported.
"""

from __future__ import annotations

import csv
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from .database import ProjectError
from .decisions import check_event
from .facs import FacsError, normalize_aus
from .records import Change, Recording

if TYPE_CHECKING:
    from .project import Project

FORMATS = ("eaf", "boris", "csv", "json", "casme2", "samm", "casme3", "samm-lv", "casme-sq")


class ImportFileError(ProjectError):
    """A file that cannot be imported; the message names the file, where in it, and why."""


@dataclass
class Annotation:
    """One event read from a file, before it is placed on a recording.

    ``unit``: ``index`` (0-based frame positions), ``number`` (the number in a frame file's name) or
    ``seconds``. ``recording``: the recording the file names for it (media file, clip), if any."""

    where: str
    onset: float
    apex: float | None
    offset: float
    unit: str
    label: str | None = None
    kind: str | None = None
    aus: str = ""
    note: str = ""
    recording: str | None = None
    subject: str | None = None
    apex_index: int | None = None   # an apex given as a frame index whatever ``unit`` is (tsfgui's ELAN values)


# ELAN ------------------------------------------------------------------------------------------------------

def parse_value(text: str | None) -> dict:
    """Fields of an annotation value as tsfgui writes it: ``label; micro; AU 1+2; apex 25; status edited;
    note: …`` (each part optional; the status is the exporting coder's and is not imported); a value
    with no such parts is the label, with a trailing probability dropped."""
    out: dict = {}
    parts = [p.strip() for p in (text or "").split(";")]
    label = parts[0] if parts else ""
    for p in parts[1:]:
        low = p.lower()
        if low in ("micro", "macro"):
            out["kind"] = low
        elif low.startswith("status "):
            continue
        elif low.startswith("au "):
            out["aus"] = p[3:].strip()
        elif low.startswith("apex "):
            out["apex"] = p[5:].strip()
        elif low.startswith("note:"):
            out["note"] = p[5:].strip()
        elif p:
            out["note"] = (out.get("note", "") + " " + p).strip()
    label = re.sub(r"\s*\(\d*\.?\d+\)\s*$", "", label).strip()  # "negative (0.83)"
    if label and label not in ("-", "?"):
        out["label"] = label
    return out


def read_eaf(path: Path, tier: str | None = None) -> list[Annotation]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ImportFileError(f"{path}: not a readable ELAN file ({exc})") from None
    if root.tag != "ANNOTATION_DOCUMENT":
        raise ImportFileError(f"{path}: not an ELAN file (root element <{root.tag}>)")
    slots: dict[str, int | None] = {}
    for s in root.iter("TIME_SLOT"):
        value = s.get("TIME_VALUE")
        slots[s.get("TIME_SLOT_ID", "")] = int(value) if value not in (None, "") else None
    media = next((m.get("RELATIVE_MEDIA_URL") or m.get("MEDIA_URL") for m in root.iter("MEDIA_DESCRIPTOR")), None)
    hint = Path(media.split("/")[-1]).stem if media else None
    tiers = {t.get("TIER_ID", ""): t for t in root.iter("TIER")}
    with_aligned = [n for n, t in tiers.items() if t.find("ANNOTATION/ALIGNABLE_ANNOTATION") is not None]
    if tier is not None:
        if tier not in tiers:
            raise ImportFileError(f"{path}: no tier '{tier}'; its tiers: {', '.join(tiers) or 'none'}")
        if tier not in with_aligned:
            raise ImportFileError(f"{path}: tier '{tier}' has no time-aligned annotations")
        chosen = [tier]
    else:
        chosen = [n for n in with_aligned if "expression" in n.lower()] or (with_aligned if len(with_aligned) == 1 else [])
        if not chosen:
            raise ImportFileError(f"{path}: choose the tier to import with --tier; tiers with annotations: "
                                  f"{', '.join(with_aligned) or 'none'}")
    out = []
    for name in chosen:
        kind = "micro" if "micro" in name.lower() else "macro" if "macro" in name.lower() else None
        dependent = _dependent_values(tiers, name)
        for a in tiers[name].iter("ALIGNABLE_ANNOTATION"):
            aid = a.get("ANNOTATION_ID", "?")
            where = f"tier '{name}', annotation {aid}"
            t1, t2 = slots.get(a.get("TIME_SLOT_REF1", "")), slots.get(a.get("TIME_SLOT_REF2", ""))
            if t1 is None or t2 is None:
                raise ImportFileError(f"{path}: {where}: a time slot without a time (unaligned annotations "
                                      f"cannot be imported)")
            fields = parse_value(a.findtext("ANNOTATION_VALUE"))
            apex = fields.pop("apex", None)
            if apex is not None and not apex.isdigit():
                raise ImportFileError(f"{path}: {where}: apex '{apex}' is not a frame number")
            fields.setdefault("kind", kind)
            fields.update(dependent.get(aid, {}))
            out.append(Annotation(where, t1 / 1000.0, None, t2 / 1000.0, "seconds", recording=hint,
                                  apex_index=None if apex is None else int(apex), **fields))
    return out


def _dependent_values(tiers: dict, parent: str) -> dict[str, dict[str, str]]:
    """Fields from the tiers that depend on ``parent`` (ELAN's symbolic association): a child tier named
    like ``AU``/``FACS`` gives the action units, ``note``/``comment`` the note, ``label``/``emotion`` the
    label, keyed by the parent annotation's id."""
    out: dict[str, dict[str, str]] = {}
    for name, tier in tiers.items():
        if tier.get("PARENT_REF") != parent:
            continue
        low = name.lower()
        field = ("aus" if re.search(r"\bau|facs|action", low) else "note" if re.search(r"note|comment", low)
                 else "label" if re.search(r"label|emotion|class", low) else None)
        if field is None:
            continue
        for ref in tier.iter("REF_ANNOTATION"):
            value = (ref.findtext("ANNOTATION_VALUE") or "").strip()
            if value:
                out.setdefault(ref.get("ANNOTATION_REF", ""), {})[field] = value
    return out


# tables (CSV, TSV, XLSX) ----------------------------------------------------------------------------------

def _table(path: Path) -> list[list[str]]:
    """All rows of a CSV/TSV/XLSX file as text cells (the first sheet of a workbook)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                return [["" if v is None else _cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            finally:
                book.close()
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc})") from None
    except Exception as exc:  # noqa: BLE001 (openpyxl raises many kinds for a damaged workbook)
        raise ImportFileError(f"{path}: not a readable spreadsheet ({exc})") from None
    dialect = csv.excel_tab if suffix == ".tsv" or ("\t" in text.split("\n", 1)[0] and "," not in text.split("\n", 1)[0]) else csv.excel
    return [row for row in csv.reader(text.splitlines(), dialect)]


def _cell(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _header(rows: list[list[str]], *wanted: Sequence[str]) -> tuple[int, dict[str, int]] | None:
    """The first row holding one name of each group in ``wanted`` (case-insensitive): (row, name → column)."""
    for i, row in enumerate(rows[:60]):
        cells = {c.strip().lower(): j for j, c in enumerate(row) if c.strip()}
        if all(any(n.lower() in cells for n in group) for group in wanted):
            return i, cells
    return None


def _get(row: list[str], cols: dict[str, int], *names: str) -> str:
    for n in names:
        j = cols.get(n.lower())
        if j is not None and j < len(row):
            return row[j].strip()
    return ""


def _number(path: Path, where: str, what: str, text: str, blank_ok: bool = False) -> float | None:
    if text == "" and blank_ok:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isnan(value):
        raise ImportFileError(f"{path}: {where}: {what} '{text}' is not a number")
    return value


def read_events_csv(path: Path, rows: list[list[str]] | None = None) -> list[Annotation]:
    rows = rows if rows is not None else _table(path)
    found = _header(rows, ("onset_frame", "onset_s"), ("offset_frame", "offset_s"))
    if found is None:
        raise ImportFileError(f"{path}: line 1: no onset_frame/offset_frame (or onset_s/offset_s) columns")
    at, cols = found
    seconds = "onset_frame" not in cols
    suffix = "_s" if seconds else "_frame"
    _one_rater(path, [_get(row, cols, "rater") for row in rows[at + 1:]])
    out = []
    for i, row in enumerate(rows[at + 1:], start=at + 2):
        if not any(c.strip() for c in row) or _get(row, cols, "status") == "rejected":
            continue
        where = f"line {i}"
        on = _number(path, where, "onset", _get(row, cols, "onset" + suffix))
        off = _number(path, where, "offset", _get(row, cols, "offset" + suffix))
        apex = _number(path, where, "apex", _get(row, cols, "apex" + suffix), blank_ok=True)
        out.append(Annotation(where, on, apex, off, "seconds" if seconds else "index",
                              label=_get(row, cols, "label") or None, kind=_get(row, cols, "kind") or None,
                              aus=_get(row, cols, "aus", "action_units"), note=_get(row, cols, "note", "comment"),
                              recording=_get(row, cols, "recording") or None))
    return out


def read_boris(path: Path, rows: list[list[str]] | None = None) -> list[Annotation]:
    rows = rows if rows is not None else _table(path)
    found = (_header(rows, ("start (s)",), ("stop (s)",))
             or _header(rows, ("time",), ("status", "behavior type"), ("behavior",))
             or _header(rows, ("time",), ("code",)))
    if found is None:
        raise ImportFileError(f"{path}: not a BORIS export: no 'Start (s)'/'Stop (s)', 'Time'/'Status'/'Behavior' "
                              f"or 'time'/'code' header row")
    at, cols = found
    out: list[Annotation] = []
    open_: dict[str, tuple[int, float, list[str]]] = {}

    def annotation(where, start, stop, behaviour, row):
        low = behaviour.lower()
        kind = "micro" if "micro" in low else "macro" if "macro" in low else None
        label = _get(row, cols, "modifiers", "modifier", "modifier #1", "modifier 1") or (None if kind else behaviour)
        return Annotation(where, start, None, stop, "seconds", label=label or None, kind=kind,
                          note=_get(row, cols, "comment", "comment start"),
                          recording=_media(_get(row, cols, "media file name", "media file", "media")))

    for i, row in enumerate(rows[at + 1:], start=at + 2):
        if not any(c.strip() for c in row):
            continue
        where = f"row {i}"
        behaviour = _get(row, cols, "behavior", "code")
        if "start (s)" in cols:
            start = _number(path, where, "start", _get(row, cols, "start (s)"))
            stop = _number(path, where, "stop", _get(row, cols, "stop (s)"))
            out.append(annotation(where, start, stop, behaviour, row))
            continue
        t = _number(path, where, "time", _get(row, cols, "time"))
        status = _get(row, cols, "status", "behavior type").upper()  # BORIS 8 names the column "Behavior type"
        key = behaviour + "\0" + _get(row, cols, "subject")
        if status == "POINT":
            raise ImportFileError(f"{path}: {where}: '{behaviour}' is a point event; only state events "
                                  f"(START/STOP) have an onset and an offset")
        starts = status == "START" or (status != "STOP" and key not in open_)  # no START/STOP: rows alternate
        if starts:
            if key in open_:
                raise ImportFileError(f"{path}: {where}: '{behaviour}' starts again before it stopped "
                                      f"(row {open_[key][0]})")
            open_[key] = (i, t, row)
        else:
            if key not in open_:
                raise ImportFileError(f"{path}: {where}: '{behaviour}' stops without a start")
            first, start, start_row = open_.pop(key)
            out.append(annotation(f"rows {first}-{i}", start, t, behaviour, start_row))
    if open_:
        row_no = min(v[0] for v in open_.values())
        raise ImportFileError(f"{path}: row {row_no}: an event starts and never stops")
    return out


def _media(text: str) -> str | None:
    return Path(text.replace("\\", "/").split("/")[-1]).stem if text else None


# JSON --------------------------------------------------------------------------------------------------------

def read_json(path: Path) -> list[Annotation]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ImportFileError(f"{path}: not readable JSON ({exc})") from None
    events = doc.get("events") if isinstance(doc, dict) else None
    if not isinstance(events, list):
        raise ImportFileError(f"{path}: no 'events' list (expected tsfgui's events.json, a project export or a "
                              f"sample's ground truth)")
    hint = doc.get("recording") if isinstance(doc.get("recording"), str) else None
    if isinstance(doc.get("video"), dict) and doc["video"].get("file"):
        hint = Path(doc["video"]["file"]).stem
    _one_rater(path, [e.get("rater", "") for e in events if isinstance(e, dict)])
    out = []
    for i, e in enumerate(events, start=1):
        where = f"event {i}"
        if not isinstance(e, dict):
            raise ImportFileError(f"{path}: {where}: not an object")
        if e.get("status") == "rejected":
            continue
        frames = "onset_frame" in e or "onset" in e
        key = (lambda n: f"{n}_frame" if f"{n}_frame" in e else n) if frames else (lambda n: f"{n}_s")
        try:
            on, off = float(e[key("onset")]), float(e[key("offset")])
            apex = e.get(key("apex"))
            apex = None if apex is None else float(apex)
        except KeyError as exc:
            raise ImportFileError(f"{path}: {where}: {exc.args[0]} is missing") from None
        except (TypeError, ValueError):
            raise ImportFileError(f"{path}: {where}: onset/apex/offset must be numbers") from None
        aus = e.get("aus", "")
        if isinstance(aus, list):
            aus = "+".join(str(a) for a in aus)
        out.append(Annotation(where, on, apex, off, "index" if frames else "seconds", label=e.get("label"),
                              kind=e.get("kind"), aus=str(aus or ""), note=str(e.get("note") or ""),
                              recording=e.get("recording") or hint))
    return out


def _one_rater(path: Path, raters: Sequence[str]) -> None:
    """A tsfgui export of several raters is one coder's events only when it holds one rater's."""
    names = sorted({r for r in raters if r})
    if len(names) > 1:
        raise ImportFileError(f"{path}: holds the events of {len(names)} raters ({', '.join(names)}); import a file "
                              f"of one (tsfgui project export … --coder NAME --final)")


# the datasets' sheets ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SheetLayout:
    """Column names of a dataset's annotation sheet and how a row names its recording."""

    subject: tuple[str, ...]
    clip: tuple[str, ...]
    onset: tuple[str, ...]
    apex: tuple[str, ...]
    offset: tuple[str, ...]
    emotion: tuple[str, ...] = ()
    aus: tuple[str, ...] = ("Action Units", "AU", "AUs")
    kind: tuple[str, ...] = ()
    recording: Callable[[str, str], tuple[str, str]] = lambda subject, clip: (subject, clip)
    headerless: tuple[str, ...] = field(default=())   # column order of a sheet without a header row
    default_kind: str | None = "micro"


def _casme2_subject(subject: str, clip: str) -> tuple[str, str]:
    return (f"sub{int(subject):02d}" if subject.isdigit() else subject), clip


def _samm_subject(subject: str, clip: str) -> tuple[str, str]:
    return (f"{int(subject):03d}" if subject.isdigit() else subject), clip


def _samm_lv(subject: str, clip: str) -> tuple[str, str]:
    return _samm_subject(subject, clip)[0], clip.rsplit("_", 1)[0]  # 006_1_2 is an event of video 006_1


def _casme_sq(subject: str, clip: str) -> tuple[str, str]:
    return (f"s{int(subject):02d}" if subject.isdigit() else subject), clip.split("_")[0]  # anger1_1 → anger1


SHEETS: dict[str, SheetLayout] = {
    "casme2": SheetLayout(("Subject",), ("Filename",), ("OnsetFrame",), ("ApexFrame",), ("OffsetFrame",),
                          ("Estimated Emotion",), recording=_casme2_subject),
    "samm": SheetLayout(("Subject",), ("Filename",), ("Onset Frame",), ("Apex Frame",), ("Offset Frame",),
                        ("Estimated Emotion",), recording=_samm_subject),
    "casme3": SheetLayout(("Subject",), ("Filename",), ("Onset",), ("Apex",), ("Offset",),
                          ("emotion", "Estimated Emotion", "Emotion"), aus=("AU", "Action Units", "AUs")),
    "samm-lv": SheetLayout(("Subject",), ("Filename",), ("Onset",), ("Apex",), ("Offset",), (),
                           kind=("Type",), recording=_samm_lv, default_kind=None),
    "casme-sq": SheetLayout(("subject",), ("video",), ("onset",), ("apex",), ("offset",), ("emotion",),
                            aus=("au",), kind=("type",), recording=_casme_sq, default_kind=None,
                            headerless=("subject", "video", "onset", "apex", "offset", "au", "emotion", "type",
                                        "self-report")),
}


def read_sheet(path: Path, name: str, rows: list[list[str]] | None = None) -> list[Annotation]:
    layout = SHEETS[name]
    rows = rows if rows is not None else _table(path)
    found = _header(rows, layout.subject, layout.clip, layout.onset, layout.offset)
    if found is None and layout.headerless:
        found = (-1, {n.lower(): j for j, n in enumerate(layout.headerless)})
    if found is None:
        raise ImportFileError(f"{path}: no header row with the {name} columns "
                              f"{', '.join(g[0] for g in (layout.subject, layout.clip, layout.onset, layout.offset))}")
    at, cols = found
    out = []
    for i, row in enumerate(rows[at + 1:], start=at + 2):
        if not any(c.strip() for c in row):
            continue
        where = f"row {i}"
        subject, clip = _get(row, cols, *layout.subject), _get(row, cols, *layout.clip)
        if not subject or not clip:
            raise ImportFileError(f"{path}: {where}: subject or clip name is empty")
        on = _number(path, where, "onset", _get(row, cols, *layout.onset))
        off_text = _get(row, cols, *layout.offset)
        off = _number(path, where, "offset", off_text, blank_ok=True)
        apex_text = _get(row, cols, *layout.apex)
        apex = None if not re.fullmatch(r"\d+(\.0+)?", apex_text) else float(apex_text)  # '/' = not marked
        if off is None or off <= 0:  # SAMM/CASME II mark an unknown offset with 0 or '/'
            raise ImportFileError(f"{path}: {where}: offset '{off_text}' is not marked; this event cannot be placed")
        kind_text = _get(row, cols, *layout.kind).lower() if layout.kind else ""
        kind = "micro" if "micro" in kind_text else "macro" if "macro" in kind_text else layout.default_kind
        subj, rec = layout.recording(subject, clip)
        out.append(Annotation(where, on, apex, off, "number", label=_get(row, cols, *layout.emotion).lower() or None,
                              kind=kind, aus=_get(row, cols, *layout.aus), recording=rec, subject=subj))
    return out


# placing annotations on recordings -----------------------------------------------------------------------------

def guess_format(path: Path) -> str:
    """The format of ``path`` from its name and, for tables, its header row."""
    suffix = path.suffix.lower()
    if suffix == ".eaf":
        return "eaf"
    if suffix == ".json":
        return "json"
    if suffix not in (".csv", ".tsv", ".xlsx", ".xlsm", ".xls"):
        raise ImportFileError(f"{path}: unknown annotation format '{suffix}'; give --format "
                              f"({', '.join(FORMATS)})")
    rows = _table(path)
    if _header(rows, ("onset_frame", "onset_s"), ("offset_frame", "offset_s")):
        return "csv"
    if _header(rows, ("start (s)",), ("stop (s)",)) or _header(rows, ("time",), ("behavior", "code")):
        return "boris"
    for name in ("casme2", "samm", "samm-lv", "casme3"):
        layout = SHEETS[name]
        if _header(rows, layout.subject, layout.clip, layout.onset, layout.offset, *([layout.kind] if layout.kind else [])):
            return name
    raise ImportFileError(f"{path}: the format cannot be told from its columns; give --format ({', '.join(FORMATS)})")


def read_annotations(path: str | Path, fmt: str | None = None, tier: str | None = None) -> list[Annotation]:
    """Every annotation of ``path`` (see the module docstring for the formats)."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"annotation file not found: '{path}'")
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise ImportFileError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    if tier is not None and fmt != "eaf":
        raise ImportFileError(f"{path}: --tier applies to ELAN files only")
    if fmt == "eaf":
        return read_eaf(path, tier)
    if fmt == "json":
        return read_json(path)
    if fmt == "csv":
        return read_events_csv(path)
    if fmt == "boris":
        return read_boris(path)
    return read_sheet(path, fmt)


def _find_recording(project: "Project", a: Annotation, path: Path) -> Recording:
    recs = project.recordings()
    if a.recording is None:
        if len(recs) == 1:
            return recs[0]
        raise ImportFileError(f"{path}: {a.where}: the file does not say which recording it annotates; give "
                              f"--recording (the project has {len(recs)})")
    hits = [r for r in recs if a.recording in (r.name, r.location.name)
            and (a.subject is None or a.subject in (r.location.parent.name, r.subject))]
    if not hits and a.subject is not None:
        hits = [r for r in recs if r.name == a.recording]
    if len(hits) != 1:
        what = "no recording" if not hits else f"{len(hits)} recordings"
        raise ImportFileError(f"{path}: {a.where}: {what} named '{a.recording}'"
                              f"{f' of subject {a.subject}' if a.subject else ''} in the project; add it, or give "
                              f"--recording")
    return hits[0]


def _frames(rec: Recording) -> Callable[[float, str], int]:
    numbers: dict[int, int] = {}
    if rec.kind == "folder":
        from tsfgui.io import ImageFolderSource, SourceError

        try:
            source = ImageFolderSource(rec.location, fps=rec.fps)
            numbers = {n: i for i, n in enumerate(source.frame_numbers) if n is not None}
            source.close()
        except SourceError as exc:
            raise ProjectError(str(exc)) from None

    def to_index(value: float, unit: str) -> int:
        if unit == "seconds":
            return int(round(value * rec.fps))
        if unit == "number":
            if rec.kind == "folder":
                if int(value) not in numbers:
                    raise ProjectError(f"frame {int(value)} is not in '{rec.location.name}'")
                return numbers[int(value)]
            return int(value) - 1  # the datasets count a video's frames from 1
        return int(value)

    return to_index


def place(project: "Project", annotations: Sequence[Annotation], path: Path,
          recording: Recording | None = None) -> list[dict]:
    """The annotations as events on the project's recordings: frames converted, every field checked."""
    out = []
    converters: dict[int, Callable[[float, str], int]] = {}
    for a in annotations:
        try:
            rec = recording or _find_recording(project, a, path)
            if not rec.exists and a.unit == "number" and rec.kind == "folder":
                raise ProjectError(f"recording '{rec.path}' is missing on disk; relink it first")
            to_index = converters.setdefault(rec.id, _frames(rec))
            onset, offset = to_index(a.onset, a.unit), to_index(a.offset, a.unit)
            if a.apex_index is not None:
                apex = a.apex_index
            elif a.apex is None:  # ELAN and BORIS mark no apex: the middle frame
                apex = (onset + offset) // 2
            else:
                apex = to_index(a.apex, a.unit)
            try:
                aus = normalize_aus(a.aus)
            except FacsError as exc:
                raise ProjectError(f"action units {exc}") from None
            item = {"recording_id": rec.id, "onset": onset, "apex": apex, "offset": offset, "label": a.label,
                    "aus": aus, "note": a.note}
            if a.kind:
                item["kind"] = a.kind
            out.append(check_event(rec, item))
        except ImportFileError:
            raise
        except ProjectError as exc:
            raise ImportFileError(f"{path}: {a.where}: {exc}") from None
    return out


def import_file(project: "Project", coder: str, path: str | Path, *, fmt: str | None = None, tier: str | None = None,
                recording: str | int | None = None) -> tuple[Change, int]:
    """Import the annotations of ``path`` as ``coder``'s added events (one undoable change).
    Returns the change and the number of events."""
    path = Path(path)
    annotations = read_annotations(path, fmt, tier)
    if not annotations:
        raise ImportFileError(f"{path}: no annotations found")
    rec = project.recording(recording) if recording is not None else None
    events = place(project, annotations, path, rec)
    return project.import_events(coder, events, path.name), len(events)
