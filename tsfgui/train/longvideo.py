"""The long-video spotting datasets in their published layouts: SAMM Long Videos, CAS(ME)^2, CAS(ME)^3 part A.

Each reader turns a dataset root into :class:`LongVideo` items: a folder of frames (ordered by the number
in their file names), its frame rate and its ground-truth intervals (frame indices of that folder, kind
``micro`` or ``macro``). Sheets are read by column name, the header row found by name wherever it is;
a row that does not match the frame folders is reported with its sheet row and left out.

* ``samm-lv``: ``SAMM_longvideos/006_1/006_1_0001.jpg …`` (200 fps) and
  ``SAMM_LongVideos_V*_Release.xlsx`` — columns ``Filename`` (``006_1_3`` = video ``006_1``, expression 3),
  ``Onset``, ``Apex``, ``Offset``, ``Type`` (``Macro`` or ``Micro - 1/2``).
* ``casme2-lv``: ``rawpic/s15/15_0101disgustingteeth/img1.jpg …`` (30 fps) and ``CAS(ME)^2code_final*.xlsx``.
  Its first sheet has no header row as published: the columns are, in order, participant number, video
  name with expression number (``anger1_1``), onset, apex, offset, AUs, estimated emotion, expression
  type (``macro-expression`` / ``micro-expression``), self-reported emotion; a header row with those names
  is used when present. Two naming sheets map participant numbers to subject folders (``1`` → ``s15``)
  and video names to codes (``anger1`` → ``0401``, the ``15_0401…`` folder).
* ``casme3-lv``: ``…/spNO.1/a/color/0.jpg …`` (or without ``color/``; 30 fps) and the part A label sheets
  (``cas(me)3_part_A_*label*.xlsx``) with ``Subject``, ``Filename``, ``Onset``, ``Apex``, ``Offset`` and, where
  present, a type column; without one, a sheet named ``…MaE…`` holds macro- and any other micro-expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tsfgui.engine.megc import Span
from tsfgui.io import ImageFolderSource, SourceError

from .datasets import DatasetError, _blank, _int, read_sheet

LV_DATASETS: dict[str, float] = {"samm-lv": 200.0, "casme2-lv": 30.0, "casme3-lv": 30.0}
"""The long-video datasets and their frame rates."""


@dataclass
class LongVideo:
    """One long video: ``name``, its frame ``folder``, ``fps`` and ground-truth ``truth`` (frame indices)."""

    name: str
    subject: str
    folder: Path
    fps: float
    truth: list[Span] = field(default_factory=list)


@dataclass
class LongVideoSet:
    """The videos of a dataset and the sheet rows left out (``skipped``: one line each, row and reason)."""

    dataset: str
    sheets: list[Path]
    videos: list[LongVideo]
    skipped: list[str] = field(default_factory=list)


def _kind(text: object) -> str | None:
    t = str(text).strip().lower().replace(" ", "")
    if t.startswith("macro") or t in ("mae", "macro-expression"):
        return "macro"
    if t.startswith("micro") or t in ("me", "micro-expression"):
        return "micro"
    return None


def _sheets(root: Path, annotations: str | Path | None, patterns: list[str], what: str) -> list[Path]:
    if annotations is not None:
        path = Path(annotations)
        if not path.is_file():
            raise DatasetError(f"annotation sheet '{path}' does not exist; give the {what} sheet with --annotations")
        return [path]
    for pattern in patterns:
        hits = sorted(p for p in root.rglob(pattern) if not p.name.startswith("~$"))
        if hits:
            return hits
    raise DatasetError(f"no {what} annotation sheet ({', '.join(patterns)}) under '{root}'; "
                       "give the dataset's root folder or --annotations FILE")


class _Videos:
    """Videos by name, each opened once to map frame numbers to indices."""

    def __init__(self, dataset: str, fps: float):
        self.dataset, self.fps = dataset, fps
        self.videos: dict[str, LongVideo] = {}
        self.sources: dict[str, ImageFolderSource | None] = {}
        self.skipped: list[str] = []

    def add(self, name: str, subject: str, folder: Path | None, onset_cell, offset_cell, kind: str | None,
            where: str) -> None:
        if folder is None or not folder.is_dir():
            self.skipped.append(f"{where}: no frame folder for video '{name}' ({folder or 'not found'})")
            return
        if name not in self.sources:
            try:
                self.sources[name] = ImageFolderSource(folder, fps=self.fps)
            except SourceError as exc:
                self.sources[name] = None
                self.skipped.append(f"{where}: frames of '{folder}' cannot be read: {exc}")
            if self.sources[name] is not None:
                self.videos[name] = LongVideo(name, subject, folder, self.fps)
        source = self.sources[name]
        if source is None:
            return
        onset, offset = _int(onset_cell), _int(offset_cell)
        if kind is None:
            self.skipped.append(f"{where}: expression type is neither micro nor macro")
            return
        if onset is None or offset is None or offset <= 0:
            self.skipped.append(f"{where}: onset {onset_cell!r} / offset {offset_cell!r} are not frame numbers")
            return
        try:
            first, last = source.index_of(onset), source.index_of(offset)
        except (KeyError, ValueError, SourceError) as exc:
            self.skipped.append(f"{where}: {exc}")
            return
        if last < first:
            self.skipped.append(f"{where}: offset {offset} comes before onset {onset}")
            return
        self.videos[name].truth.append(Span(first, last, kind))


def load_samm_lv(root: Path, annotations: str | Path | None = None) -> LongVideoSet:
    sheets = _sheets(root, annotations, ["SAMM_LongVideos*.xlsx", "SAMM*Long*.xlsx"], "SAMM Long Videos")
    frames = next((c for c in (root / "SAMM_longvideos", *root.glob("*/SAMM_longvideos")) if c.is_dir()), root)
    videos = _Videos("samm-lv", LV_DATASETS["samm-lv"])
    for sheet in sheets:
        table = read_sheet(sheet, ["Filename", "Onset", "Offset", "Type"])
        for rec in table.to_dict("records"):
            parts = str(rec["Filename"]).strip().split("_")
            name = "_".join(parts[:2])
            videos.add(name, parts[0], frames / name, rec["Onset"], rec["Offset"], _kind(rec["Type"]),
                       f"{sheet.name} row {rec['__row__']}")
    return LongVideoSet("samm-lv", sheets, list(videos.videos.values()), videos.skipped)


_CASME2_COLUMNS = ["participant", "video", "onset", "apex", "offset", "aus", "emotion", "type", "self-report"]


def load_casme2_lv(root: Path, annotations: str | Path | None = None) -> LongVideoSet:
    import pandas as pd

    sheets = _sheets(root, annotations, ["CAS(ME)^2code_final*.xlsx", "CAS(ME)*code*.xlsx", "*code_final*.xlsx"],
                     "CAS(ME)^2")
    sheet = sheets[0]
    try:
        with pd.ExcelFile(sheet, engine="openpyxl") as xls:
            tables = [pd.read_excel(xls, sheet_name=i, header=None, dtype=object) for i in range(len(xls.sheet_names))]
    except Exception as exc:  # noqa: BLE001 (openpyxl raises many kinds)
        raise DatasetError(f"annotation sheet '{sheet}' cannot be read ({exc}); check that it is an .xlsx file") from None
    codes, subjects = _casme2_naming(tables[1:], sheet)
    main = tables[0]
    first = [str(v).strip().lower() for v in main.iloc[0].tolist()] if len(main) else []
    start = 1 if "onset" in first else 0
    frames = next((c for c in (root / "rawpic", *root.glob("*/rawpic")) if c.is_dir()), root)
    videos = _Videos("casme2-lv", LV_DATASETS["casme2-lv"])
    for i in range(start, len(main)):
        row = main.iloc[i].tolist()
        if len(row) < 8 or all(_blank(v) for v in row[:5]):
            continue
        rec = dict(zip(_CASME2_COLUMNS, row))
        where = f"{sheet.name} row {i + 1}"
        participant = _int(rec["participant"])
        video_name = str(rec["video"]).strip().split("_")[0]
        subject = subjects.get(participant)
        code = codes.get(video_name.lower())
        if subject is None or code is None:
            videos.skipped.append(f"{where}: participant {rec['participant']!r} or video '{video_name}' is not in "
                                  "the naming sheets")
            continue
        folder = next(iter(sorted((frames / f"s{subject}").glob(f"{subject}_{code}*"))), None)
        videos.add(f"s{subject}/{subject}_{code}", f"s{subject}", folder, rec["onset"], rec["offset"],
                   _kind(rec["type"]), where)
    return LongVideoSet("casme2-lv", sheets, list(videos.videos.values()), videos.skipped)


def _casme2_naming(tables: list, sheet: Path) -> tuple[dict[str, str], dict[int, str]]:
    """(video name → 4-digit code, participant number → subject number) from the naming sheets, found by
    their content (a 4-digit code next to a name; a row ending in subject and participant numbers)."""
    codes: dict[str, str] = {}
    subjects: dict[int, str] = {}
    for table in tables:
        for row in table.itertuples(index=False):
            cells = [str(v).strip() for v in row if not _blank(v)]
            if len(cells) >= 2 and re.fullmatch(r"\d{3,4}(\.0)?", cells[0]) and re.fullmatch(r"[A-Za-z]+\d*", cells[1]):
                codes[cells[1].lower()] = cells[0].split(".")[0].zfill(4)
            elif len(cells) >= 2 and all(re.fullmatch(r"s?\d+(\.0)?", c) for c in cells[-2:]):
                subjects[int(float(cells[-1]))] = str(int(float(cells[-2].lstrip("s"))))
    if not codes or not subjects:
        raise DatasetError(f"annotation sheet '{sheet}' lacks the naming sheets (participant → subject, "
                           "video name → code) of CAS(ME)^2; use the published CAS(ME)^2code_final.xlsx")
    return codes, subjects


def load_casme3_lv(root: Path, annotations: str | Path | None = None) -> LongVideoSet:
    sheets = _sheets(root, annotations, ["cas(me)3_part_A*label*.xlsx", "*part_A*label*.xlsx"], "CAS(ME)^3 part A")
    videos = _Videos("casme3-lv", LV_DATASETS["casme3-lv"])
    folders: dict[tuple[str, str], Path] = {}
    for folder in root.rglob("*"):
        if folder.is_dir() and folder.parent.name.lower().startswith("spno"):
            folders[(folder.parent.name.lower(), folder.name.lower())] = folder / "color" if (folder / "color").is_dir() else folder
    for sheet in sheets:
        table = read_sheet(sheet, ["Subject", "Filename", "Onset", "Offset"])
        type_column = next((c for c in table.columns if c.lower() in ("type", "expression type", "me/mae")), None)
        default = "macro" if "mae" in sheet.name.lower() else "micro"
        for rec in table.to_dict("records"):
            subject, clip = str(rec["Subject"]).strip(), str(rec["Filename"]).strip()
            kind = _kind(rec[type_column]) if type_column else default
            videos.add(f"{subject}/{clip}", subject, folders.get((subject.lower(), clip.lower())), rec["Onset"],
                       rec["Offset"], kind, f"{sheet.name} row {rec['__row__']}")
    return LongVideoSet("casme3-lv", sheets, list(videos.videos.values()), videos.skipped)


_READERS = {"samm-lv": load_samm_lv, "casme2-lv": load_casme2_lv, "casme3-lv": load_casme3_lv}


def load_long_videos(dataset: str, root: str | Path, annotations: str | Path | None = None) -> LongVideoSet:
    """The videos and ground truth of a long-video dataset (``samm-lv``, ``casme2-lv``, ``casme3-lv``)."""
    if dataset not in _READERS:
        raise DatasetError(f"unknown long-video dataset '{dataset}'; choose from {', '.join(_READERS)}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset root '{root}' is not a folder; give the folder the dataset was unpacked into")
    found = _READERS[dataset](root, annotations)
    if not found.videos:
        raise DatasetError(f"no {dataset} video under '{root}' matches its annotation sheet "
                           f"({', '.join(str(s) for s in found.sheets)}); first problems: {found.skipped[:3]}")
    return found
