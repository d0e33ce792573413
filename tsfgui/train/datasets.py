"""Dataset adapters: one per published layout, each turning an annotation sheet + frame folders into samples.

Every adapter reads its sheet **by column name** (the header row is found by name too, so preamble rows
such as SAMM's 13 are skipped wherever they are), maps the dataset's own emotion words to a label scheme
(:data:`SCHEMES_BY_DATASET`) and checks each row against the folders. A row whose clip folder is missing,
whose onset/apex/offset frame is not there, or whose images cannot be read is reported with its sheet row
and path in a :class:`DatasetReport` and left out; the run goes on without it.

Frames are found by the integer in their file names (``img46.jpg``, ``006_05562.jpg``, ``46.jpg``), never by
a formatted name, because zero padding differs between copies of the same dataset.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tsfgui.io import ImageFolderSource, SourceError

log = logging.getLogger(__name__)

DATASETS = ("casme2", "samm", "casme3a", "megc2019", "smic")


class DatasetError(Exception):
    """A dataset that cannot be read at all (no sheet, no column, wrong root); the message says what to do."""


# label schemes -------------------------------------------------------------------------------------------

def _norm(word: object) -> str:
    text = str(word).strip().lower()
    return {"other": "others", "happy": "happiness", "sad": "sadness", "surprised": "surprise",
            "angry": "anger", "disgusted": "disgust", "fearful": "fear"}.get(text, text)


_NEGATIVE = ("repression", "anger", "contempt", "disgust", "fear", "sadness")

#: Emotion word (normalised: lowercase, singular "others") → class name, per scheme. Words not listed are
#: dropped from that scheme (e.g. CASME II fear/sadness in the 5-class protocol, "others" in MEGC 3-class).
SCHEME_MAPS: dict[str, dict[str, str]] = {
    "megc3": {**{w: "negative" for w in _NEGATIVE}, "negative": "negative", "happiness": "positive",
              "positive": "positive", "surprise": "surprise"},
    "casme2_5": {w: w for w in ("happiness", "repression", "disgust", "surprise", "others")},
    "samm5": {w: w for w in ("anger", "contempt", "happiness", "surprise", "others")},
    "casme3_4": {"happiness": "positive", "surprise": "surprise", "others": "others",
                 **{w: "negative" for w in ("anger", "disgust", "fear", "sadness")}},
    "casme3_7": {w: w for w in ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "others")},
}

#: Label schemes each dataset can be trained with (the first is the default).
SCHEMES_BY_DATASET: dict[str, tuple[str, ...]] = {
    "casme2": ("casme2_5", "megc3"),
    "samm": ("samm5", "megc3"),
    "casme3a": ("casme3_4", "casme3_7"),
    "megc2019": ("megc3",),
    "smic": ("megc3",),
}


def get_label_scheme(name: str):
    from tsfgui.model import get_label_scheme as get

    return get(name)


def class_index(scheme: str, emotion: str) -> int | None:
    """Index of ``emotion`` (any spelling the datasets use) in ``scheme``; None when the scheme drops it."""
    name = SCHEME_MAPS[scheme].get(_norm(emotion))
    return None if name is None else get_label_scheme(scheme).class_names.index(name)


# samples and the report ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    """One annotated micro-expression clip. Frame numbers are the integers in the file names."""

    dataset: str
    subject: str
    clip: str
    folder: Path
    onset: int
    apex: int | None          # None: not numeric in the sheet; estimated during preprocessing
    offset: int
    emotion: str
    label: int
    row: int                  # 1-based row in the sheet as a spreadsheet shows it (0 without a sheet)
    action_units: str = ""

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.clip}"


@dataclass
class Skipped:
    row: int
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}: " if self.row else ""
        return f"{where}{self.path}: {self.reason}"


@dataclass
class DatasetReport:
    """What an adapter read: rows seen, samples kept, rows skipped (with why), labels dropped by the scheme."""

    dataset: str
    scheme: str
    rows: int = 0
    samples: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    dropped_by_scheme: dict[str, int] = field(default_factory=dict)
    apex_estimated: list[str] = field(default_factory=list)

    def skip(self, row: int, path: Path | str, reason: str) -> None:
        item = Skipped(row, str(path), reason)
        self.skipped.append(item)
        log.warning("%s: skipped %s", self.dataset, item)

    def merge(self, other: "DatasetReport") -> None:
        self.rows += other.rows
        self.samples += other.samples
        self.skipped += other.skipped
        self.apex_estimated += other.apex_estimated
        for k, v in other.dropped_by_scheme.items():
            self.dropped_by_scheme[k] = self.dropped_by_scheme.get(k, 0) + v

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "scheme": self.scheme, "rows": self.rows, "samples": self.samples,
                "skipped": len(self.skipped), "skipped_rows": [vars(s) for s in self.skipped],
                "dropped_by_scheme": dict(self.dropped_by_scheme), "apex_estimated": list(self.apex_estimated)}

    def summary(self) -> str:
        dropped = sum(self.dropped_by_scheme.values())
        return (f"{self.dataset}: {self.rows} rows, {self.samples} samples used, {len(self.skipped)} skipped"
                f"{f', {dropped} not in scheme {self.scheme}' if dropped else ''}")


@dataclass
class Dataset:
    """Samples of one dataset under one label scheme, and the report of how they were read."""

    name: str
    scheme: str
    samples: list[Sample]
    report: DatasetReport

    @property
    def class_names(self) -> tuple[str, ...]:
        return get_label_scheme(self.scheme).class_names

    @property
    def subjects(self) -> list[str]:
        return sorted({s.subject for s in self.samples})

    def without(self, keys: Iterable[str]) -> "Dataset":
        drop = set(keys)
        return Dataset(self.name, self.scheme, [s for s in self.samples if s.key not in drop], self.report)


# sheets ------------------------------------------------------------------------------------------------------

def read_sheet(path: Path, required: Iterable[str], sheet: str | int | None = None):
    """The annotation table of ``path`` with the header row found by name (preamble rows skipped).

    Returns a DataFrame with stripped column names and a ``__row__`` column holding the spreadsheet row
    number (1-based) of each record.
    """
    import pandas as pd

    required = list(required)
    try:
        with pd.ExcelFile(path, engine="openpyxl") as xls:
            names = xls.sheet_names
            if sheet is None or (isinstance(sheet, str) and sheet not in names):
                if isinstance(sheet, str):
                    log.info("sheet %r not in %s; using the first sheet %r", sheet, path.name, names[0])
                sheet = 0
            raw = pd.read_excel(xls, sheet_name=sheet, header=None, dtype=object)
    except Exception as exc:  # noqa: BLE001 (openpyxl raises many kinds)
        raise DatasetError(f"annotation sheet '{path}' cannot be read ({exc}); check that it is an .xlsx file") from None
    want = {c.lower() for c in required}
    header_at = None
    for i in range(min(len(raw), 60)):
        cells = {str(v).strip().lower() for v in raw.iloc[i].tolist() if v is not None and str(v) != "nan"}
        if want <= cells:
            header_at = i
            break
    if header_at is None:
        raise DatasetError(f"annotation sheet '{path}' has no header row with the columns {required}; "
                           f"is this the right file for this dataset?")
    header = [str(v).strip() if v is not None and str(v) != "nan" else f"_col{j}"
              for j, v in enumerate(raw.iloc[header_at].tolist())]
    table = raw.iloc[header_at + 1:].copy()
    table.columns = header
    table["__row__"] = [header_at + 2 + k for k in range(len(table))]
    # blank rows (trailing formatting) are not records
    table = table[[not all(_blank(v) for v in rec) for rec in table[required].itertuples(index=False)]]
    return table


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _column(table, *names: str) -> str:
    """The first of ``names`` present (case-insensitive) in ``table``."""
    lower = {c.lower(): c for c in table.columns}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    raise DatasetError(f"the annotation sheet has none of the columns {list(names)}")


def _int(value: object) -> int | None:
    if _blank(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if float(value).is_integer() else None
    text = str(value).strip()
    return int(text) if re.fullmatch(r"\d+(\.0+)?", text) else None


def _find_sheet(root: Path, patterns: Iterable[str], what: str) -> Path:
    for pat in patterns:
        hits = sorted(p for p in root.rglob(pat) if not p.name.startswith("~$"))
        if hits:
            return hits[0]
    raise DatasetError(f"no {what} annotation sheet ({', '.join(patterns)}) under '{root}'; "
                       f"give --annotations or the dataset's root folder")


# one row → one sample ----------------------------------------------------------------------------------------

def _make_sample(report: DatasetReport, *, dataset: str, scheme: str, subject: str, clip: str, folder: Path,
                 onset_cell, apex_cell, offset_cell, emotion, row: int, aus: str = "") -> Sample | None:
    report.rows += 1
    label = class_index(scheme, emotion)
    if label is None:
        word = _norm(emotion)
        report.dropped_by_scheme[word] = report.dropped_by_scheme.get(word, 0) + 1
        return None
    if not folder.is_dir():
        report.skip(row, folder, "clip folder not found (the row does not match the frame folders)")
        return None
    try:
        source = ImageFolderSource(folder, fps=200.0)
    except SourceError as exc:
        report.skip(row, folder, f"frames cannot be read: {exc}")
        return None
    numbers = [n for n in source.frame_numbers if n is not None]
    onset = _int(onset_cell)
    offset = _int(offset_cell)
    apex = _int(apex_cell)
    if onset is None:
        report.skip(row, folder, f"onset frame {onset_cell!r} is not a frame number")
        return None
    if offset is None or offset <= 0:  # SAMM/CASME II mark unknown offsets with 0 or '/'
        offset = max(numbers)
    for what, n in (("onset", onset), ("apex", apex), ("offset", offset)):
        if n is not None and n not in source._index_by_number:
            report.skip(row, folder / f"*{n}.*", f"{what} frame {n} is missing "
                                                 f"(folder has frames {numbers[0]}…{numbers[-1]})")
            return None
    if offset < onset:
        report.skip(row, folder, f"offset frame {offset} comes before onset frame {onset}")
        return None
    if apex is not None and not onset <= apex <= offset:
        log.info("row %d: apex %d outside onset %d…offset %d; kept as annotated", row, apex, onset, offset)
    if apex is None:
        report.apex_estimated.append(f"row {row}: {folder} (apex cell {apex_cell!r})")
    report.samples += 1
    return Sample(dataset, subject, clip, folder, onset, apex, offset, _norm(emotion), label, row, str(aus or ""))


# adapters ----------------------------------------------------------------------------------------------------

def load_casme2(root: str | Path, scheme: str = "casme2_5", *, annotations: str | Path | None = None,
                cropped: bool | None = None) -> Dataset:
    """CASME II: ``CASME2_RAW_selected/sub01/EP02_01f/img46.jpg`` (or ``Cropped/sub01/EP02_01f/reg_img46.jpg``)
    and ``CASME2-coding-*.xlsx``."""
    root = Path(root)
    _check_scheme("casme2", scheme)
    sheet = Path(annotations) if annotations else _find_sheet(root, ["CASME2-coding-*.xlsx", "CASME2*.xlsx"], "CASME II")
    frames = _casme2_frames(root, cropped)
    table = read_sheet(sheet, ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion"])
    aus = _optional(table, "Action Units")
    report = DatasetReport("casme2", scheme)
    samples = []
    for rec in table.to_dict("records"):
        subj_num = _int(rec["Subject"])
        subject = f"sub{subj_num:02d}" if subj_num is not None else str(rec["Subject"]).strip()
        clip = str(rec["Filename"]).strip()
        s = _make_sample(report, dataset="casme2", scheme=scheme, subject=subject, clip=clip,
                         folder=frames / subject / clip, onset_cell=rec["OnsetFrame"], apex_cell=rec["ApexFrame"],
                         offset_cell=rec["OffsetFrame"], emotion=rec["Estimated Emotion"], row=int(rec["__row__"]),
                         aus=rec.get(aus, "") if aus else "")
        if s:
            samples.append(s)
    return Dataset("casme2", scheme, samples, report)


def _casme2_frames(root: Path, cropped: bool | None) -> Path:
    names = ["Cropped"] if cropped else (["CASME2_RAW_selected"] if cropped is False else
                                          ["CASME2_RAW_selected", "Cropped"])
    for n in names:
        for cand in (root / n, *root.glob(f"*/{n}")):
            if cand.is_dir():
                return cand
    if any(root.glob("sub[0-9]*")):
        return root
    raise DatasetError(f"no CASME II frame folder ({' or '.join(names)}) under '{root}'")


def load_samm(root: str | Path, scheme: str = "samm5", *, annotations: str | Path | None = None) -> Dataset:
    """SAMM: ``SAMM/006/006_1_2/006_05562.jpg`` and ``SAMM_Micro_FACS_Codes_v2.xlsx`` (13 preamble rows)."""
    root = Path(root)
    _check_scheme("samm", scheme)
    sheet = Path(annotations) if annotations else _find_sheet(root, ["SAMM_Micro_FACS_Codes*.xlsx", "SAMM*.xlsx"], "SAMM")
    frames = next((c for c in (root / "SAMM", *root.glob("*/SAMM")) if c.is_dir()), root)
    table = read_sheet(sheet, ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion"])
    aus = _optional(table, "Action Units")
    report = DatasetReport("samm", scheme)
    samples = []
    for rec in table.to_dict("records"):
        n = _int(rec["Subject"])
        subject = f"{n:03d}" if n is not None else str(rec["Subject"]).strip()
        clip = str(rec["Filename"]).strip()
        s = _make_sample(report, dataset="samm", scheme=scheme, subject=subject, clip=clip,
                         folder=frames / subject / clip, onset_cell=rec["Onset Frame"], apex_cell=rec["Apex Frame"],
                         offset_cell=rec["Offset Frame"], emotion=rec["Estimated Emotion"], row=int(rec["__row__"]),
                         aus=rec.get(aus, "") if aus else "")
        if s:
            samples.append(s)
    return Dataset("samm", scheme, samples, report)


def load_casme3a(root: str | Path, scheme: str = "casme3_4", *, annotations: str | Path | None = None) -> Dataset:
    """CAS(ME)^3 part A: ``{subject}/{Filename}/{n}.jpg`` (or ``…/{Filename}/color/{n}.jpg``) and
    ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` (sheet ``label``)."""
    root = Path(root)
    _check_scheme("casme3a", scheme)
    sheet = Path(annotations) if annotations else _find_sheet(root, ["cas(me)3_part_A_ME_label*.xlsx", "*part_A*.xlsx"],
                                                              "CAS(ME)^3 part A")
    table = read_sheet(sheet, ["Subject", "Filename", "Onset", "Apex", "Offset"], sheet="label")
    emotion = _column(table, "emotion", "Estimated Emotion", "Emotion")
    aus = _optional(table, "AU", "Action Units", "AUs")
    frames = next((c for c in (root / "part_A", root / "Part_A_ME_clip", root) if c.is_dir()), root)
    report = DatasetReport("casme3a", scheme)
    samples = []
    for rec in table.to_dict("records"):
        subject = str(rec["Subject"]).strip()
        clip = str(rec["Filename"]).strip()
        folder = frames / subject / clip
        if (folder / "color").is_dir():
            folder = folder / "color"
        s = _make_sample(report, dataset="casme3a", scheme=scheme, subject=subject, clip=clip, folder=folder,
                         onset_cell=rec["Onset"], apex_cell=rec["Apex"], offset_cell=rec["Offset"],
                         emotion=rec[emotion], row=int(rec["__row__"]), aus=rec.get(aus, "") if aus else "")
        if s:
            samples.append(s)
    return Dataset("casme3a", scheme, samples, report)


_SMIC_CLASSES = {"negative": "negative", "positive": "positive", "surprise": "surprise"}


def load_smic(root: str | Path, scheme: str = "megc3") -> Dataset:
    """SMIC-HS: ``s01/micro/{negative,positive,surprise}/{clip}/*.bmp``; onset/offset = first/last frame,
    apex estimated (SMIC marks none)."""
    root = Path(root)
    _check_scheme("smic", scheme)
    base = next((c for c in (root / "HS", root / "SMIC-HS", root) if c.is_dir() and any(c.glob("s*/micro"))), None)
    if base is None:
        raise DatasetError(f"no SMIC-HS subject folders (s01/micro/…) under '{root}'")
    report = DatasetReport("smic", scheme)
    samples = []
    for folder in sorted(base.glob("s*/micro/*/*")):
        if not folder.is_dir():
            continue
        subject, emotion = folder.parents[1].name, folder.parent.name
        try:
            numbers = ImageFolderSource(folder, fps=100.0).frame_numbers
        except SourceError as exc:
            report.rows += 1
            report.skip(0, folder, f"frames cannot be read: {exc}")
            continue
        s = _make_sample(report, dataset="smic", scheme=scheme, subject=subject, clip=folder.name, folder=folder,
                         onset_cell=numbers[0], apex_cell=None, offset_cell=numbers[-1],
                         emotion=_SMIC_CLASSES.get(emotion.lower(), emotion), row=0)
        if s:
            samples.append(s)
    return Dataset("smic", scheme, samples, report)


def load_megc2019(casme2: str | Path | None, samm: str | Path | None, smic: str | Path | None = None) -> Dataset:
    """The MEGC 2019 composite: CASME II + SAMM (+ SMIC-HS when given) in 3 classes; subjects keep their
    dataset prefix so LOSO leaves out one person of one dataset."""
    parts = []
    if casme2:
        parts.append(load_casme2(casme2, "megc3"))
    if samm:
        parts.append(load_samm(samm, "megc3"))
    if smic:
        parts.append(load_smic(smic, "megc3"))
    if not parts:
        raise DatasetError("the MEGC 2019 composite needs at least one of the CASME II, SAMM or SMIC roots")
    report = DatasetReport("megc2019", "megc3")
    samples = []
    for part in parts:
        report.merge(part.report)
        samples += [Sample(s.dataset, f"{part.name}_{s.subject}", s.clip, s.folder, s.onset, s.apex, s.offset,
                           s.emotion, s.label, s.row, s.action_units) for s in part.samples]
    return Dataset("megc2019", "megc3", samples, report)


def _optional(table, *names: str) -> str | None:
    try:
        return _column(table, *names)
    except DatasetError:
        return None


def _check_scheme(dataset: str, scheme: str) -> None:
    if scheme not in SCHEMES_BY_DATASET[dataset]:
        raise DatasetError(f"label scheme '{scheme}' does not apply to {dataset}; "
                           f"choose one of {', '.join(SCHEMES_BY_DATASET[dataset])}")


LOADERS: dict[str, Callable[..., Dataset]] = {
    "casme2": load_casme2, "samm": load_samm, "casme3a": load_casme3a, "smic": load_smic,
}


def load_dataset(name: str, root: str | Path | None = None, scheme: str | None = None, *,
                 annotations: str | Path | None = None, casme2: str | Path | None = None,
                 samm: str | Path | None = None, smic: str | Path | None = None,
                 cropped: bool | None = None) -> Dataset:
    """Load dataset ``name`` (one of :data:`DATASETS`) from ``root`` with ``scheme`` (default: its first)."""
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset '{name}'; choose one of {', '.join(DATASETS)}")
    if name == "megc2019":
        if scheme not in (None, "megc3"):
            raise DatasetError("the MEGC 2019 composite has only the 3-class scheme 'megc3'")
        return load_megc2019(casme2, samm, smic)
    if root is None or not Path(root).is_dir():
        raise DatasetError(f"dataset root folder '{root}' not found; give the folder that holds {name}")
    scheme = scheme or SCHEMES_BY_DATASET[name][0]
    kwargs = {"annotations": annotations} if annotations and name != "smic" else {}
    if name == "casme2" and cropped is not None:
        kwargs["cropped"] = cropped
    return LOADERS[name](root, scheme, **kwargs)
