"""Synthetic datasets in exactly the published layouts, from the AU sample generator (for tests and demo weights).

Each clip is one micro event rendered onset → offset on a real face photo (``tsfgui.samples.render_clip``),
written with the dataset's folder and file naming, and listed in an annotation sheet written with openpyxl
with the dataset's real header (and SAMM's 13 preamble rows). The event type decides the emotion word:
positive → happiness, surprise → surprise, negative → one of the dataset's negative emotions.

``bad_rows=True`` adds rows a real copy can contain: a clip folder that does not exist, an apex frame that
is missing, a clip with an unreadable image, and a non-numeric apex cell (kept; the apex is estimated).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

LAYOUTS = ("casme2", "samm", "casme3a", "smic")

CASME2_HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
CASME3_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
SAMM_PREAMBLE = 13

_NEGATIVE_WORDS = {"casme2": ("disgust", "repression"), "samm": ("Anger", "Contempt", "Disgust"),
                   "casme3a": ("disgust", "anger", "fear", "sad"), "smic": ("negative",)}
_POSITIVE_WORD = {"casme2": "happiness", "samm": "Happiness", "casme3a": "happy", "smic": "positive"}
_SURPRISE_WORD = {"casme2": "surprise", "samm": "Surprise", "casme3a": "surprise", "smic": "surprise"}
_EVENTS_BY_CLASS = {"negative": ("AU4", "AU4+AU7", "AU15", "AU9", "AU14", "AU20"),
                    "positive": ("AU12", "AU6+AU12"), "surprise": ("AU1+AU2", "AU1+AU2+AU5")}
#: Negative event vocabularies (cycled in this order). ``no-dimpler`` swaps AU14 for AU15+AU17: the rig's
#: AU14 (``mouthDimple``, corners drawn back) projects onto a frontal photo as corners moving up and out, a
#: flow field whose cosine similarity to the smile's is 0.79 (0.76–0.77 for the landmark AU14), so that as
#: "negative" it teaches the model a smile's motion under the other label. AU15+AU17 (a sad mouth) is a
#: negative the MEGC datasets code often and the rig renders as itself.
NEGATIVE_VOCABULARIES = {"default": _EVENTS_BY_CLASS["negative"],
                         "no-dimpler": ("AU4", "AU4+AU7", "AU15", "AU9", "AU15+AU17", "AU20")}


@dataclass
class SyntheticInfo:
    layout: str
    root: Path
    sheet: Path | None
    clips: int = 0
    rows: list[dict] = field(default_factory=list)
    bad_rows: dict[str, int] = field(default_factory=dict)   # kind → sheet row


def _au_text(event: str) -> str:
    return "+".join(a[2:] for a in event.split("+"))


def _subject_look(frames: list[np.ndarray], subject: int) -> list[np.ndarray]:
    """A per-subject global look (gain, colour cast) so that subjects differ a little."""
    rng = np.random.default_rng(1000 + subject)
    gain = rng.uniform(0.85, 1.15)
    cast = rng.uniform(-12, 12, size=3)
    return [np.clip(f.astype(np.float32) * gain + cast, 0, 255).astype(np.uint8) for f in frames]


def _write(frames: Sequence[np.ndarray], folder: Path, names: Sequence[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f, n in zip(frames, names):
        if not cv2.imwrite(str(folder / n), f, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise OSError(f"cannot write frame {folder / n}")


def write_synthetic(layout: str, root: str | Path, *, subjects: int = 3, clips_per_subject: int = 3, seed: int = 0,
                    size: tuple[int, int] = (224, 224), fps: float = 30.0, amplitude: float | None = None,
                    bad_rows: bool = False, face_image=None, progress: bool = False,
                    cropped: bool = False, faces: Sequence[str] | None = None, motion: str = "landmarks",
                    identities: bool = False, negatives: str = "default") -> SyntheticInfo:
    """Write a synthetic dataset in ``layout`` (one of :data:`LAYOUTS`) under ``root``.

    ``faces`` (names from :func:`tsfgui.samples.faces.face_names`): one subject per face photograph, so
    that leave-one-subject-out holds out a face never seen in training (``subjects`` is then ignored).
    ``motion``: the AU back end (``landmarks``, ``rig`` or ``mixed``: every other clip); ``identities``: every clip gets its own random
    rig identity (a morph of the photo's face shape), never repeated. ``negatives``: the negative event
    vocabulary (a key of :data:`NEGATIVE_VOCABULARIES`; the default one keeps existing seeds' output).

    Classes cycle per subject (negative, positive, surprise, …) so every subject has each class when
    ``clips_per_subject`` ≥ 3. Deterministic in ``seed``. ``cropped`` (CASME II): write the
    ``Cropped/subNN/EPxx/reg_imgN.jpg`` variant instead of ``CASME2_RAW_selected/…/imgN.jpg``.
    """
    from openpyxl import Workbook
    from tqdm import tqdm

    from tsfgui.samples import EventSpec, render_clip
    from tsfgui.samples.source import load_face_photo

    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if negatives not in NEGATIVE_VOCABULARIES:
        raise ValueError(f"unknown negative vocabulary {negatives!r}; choose one of {', '.join(NEGATIVE_VOCABULARIES)}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    photo = load_face_photo(face_image)
    face_of: dict[int, object] = {}
    if faces:
        from tsfgui.samples.faces import load_face

        face_of = {s: load_face(name) for s, name in enumerate(faces, start=1)}
        subjects = len(face_of)
    classes = ("negative", "positive", "surprise")
    info = SyntheticInfo(layout, root, None)
    neg_cycle = itertools.cycle(_NEGATIVE_WORDS[layout])
    vocabulary = {**_EVENTS_BY_CLASS, "negative": NEGATIVE_VOCABULARIES[negatives]}
    ev_cycle = {c: itertools.cycle(v) for c, v in vocabulary.items()}
    records = []
    jobs = [(s, c) for s in range(1, subjects + 1) for c in range(clips_per_subject)]
    for s, c in tqdm(jobs, desc=f"synthetic {layout}", unit="clip", disable=not progress):
        cls = classes[(c + s) % 3]
        event = next(ev_cycle[cls])
        clip_seed = seed * 100_003 + s * 1000 + c
        amp = amplitude if amplitude is not None else None
        identity = np.random.default_rng([seed, s, c, 17]).standard_normal(30) if identities else None
        clip_motion = ("rig", "landmarks")[c % 2] if motion == "mixed" else motion
        clip = render_clip(EventSpec(event, amplitude=amp), seed=clip_seed, fps=fps, size=size,
                           face_image=face_of.get(s, photo), pad_frames=1, motion=clip_motion, identity=identity)
        frames = _subject_look(clip.frames, s if not faces else 10_000 + s * 1000 + c)
        onset_i, apex_i, offset_i = clip.onset_index, clip.apex_index, min(clip.offset_index, len(frames) - 1)
        word = {"negative": next(neg_cycle), "positive": _POSITIVE_WORD[layout],
                "surprise": _SURPRISE_WORD[layout]}[cls]
        start = 1 + (clip_seed * 37) % 400                     # first frame number, like a cut from a long take
        nums = [start + k for k in range(len(frames))]
        rec = {"subject": s, "clip": c, "event": event, "class": cls, "emotion": word,
               "face": getattr(face_of.get(s, photo), "name", "astronaut"), "motion": clip_motion,
               "onset": nums[onset_i], "apex": nums[apex_i], "offset": nums[offset_i], "aus": _au_text(event)}
        if layout == "casme2":
            subject, name = f"sub{s:02d}", f"EP{c + 1:02d}_{s:02d}f"
            top, prefix = ("Cropped", "reg_img") if cropped else ("CASME2_RAW_selected", "img")
            _write(frames, root / top / subject / name, [f"{prefix}{n}.jpg" for n in nums])
        elif layout == "samm":
            subject, name = f"{s:03d}", f"{s:03d}_{c + 1}_{(c % 5) + 1}"
            width = 5 if s % 2 else 4                              # padding differs between copies
            _write(frames, root / "SAMM" / subject / name, [f"{subject}_{n:0{width}d}.jpg" for n in nums])
        elif layout == "casme3a":
            subject, name = f"spNO.{s}", "abcdefghijklmnopqrstuvwxyz"[c % 26] + ("" if c < 26 else str(c))
            _write(frames, root / "part_A" / subject / name, [f"{n}.jpg" for n in nums])
        else:  # smic: onset/offset are the folder's first/last frame
            subject, name = f"s{s:02d}", f"s{s}_{cls[:2]}_{c + 1:02d}"
            keep = frames[onset_i:offset_i + 1]
            _write(keep, root / "HS" / subject / "micro" / cls / name, [f"image{n:06d}.bmp" for n in nums[:len(keep)]])
        rec.update(subject_id=subject, filename=name)
        records.append(rec)
    info.clips = len(records)

    if bad_rows and layout != "smic" and records:
        first = records[0]
        base = dict(first)
        missing_folder = {**base, "filename": first["filename"] + "_missing"}
        missing_apex = {**base, "apex": first["offset"] + 50}
        # a clip whose apex image is damaged
        broken = {**records[-1]}
        broken_folder = _clip_folder(layout, root, broken)
        for p in broken_folder.iterdir():
            from tsfgui.io import frame_number

            if frame_number(p.name) == broken["apex"]:
                p.write_bytes(b"not a jpeg at all")
        nn = 1 if len(records) > 2 else 0
        records[nn] = {**records[nn], "apex": "/"}
        info.bad_rows["non_numeric_apex"] = nn
        extra = [("missing_folder", missing_folder), ("missing_apex", missing_apex)]
        # the broken clip's own row is already in the sheet
        info.bad_rows["unreadable_image"] = len(records) - 1
        for kind, rec in extra:
            records.append(rec)
            info.bad_rows[kind] = len(records) - 1
    info.rows = records
    info.sheet = _write_sheet(layout, root, records, Workbook)
    # turn record indices into spreadsheet rows
    first_row = {"casme2": 2, "samm": SAMM_PREAMBLE + 2, "casme3a": 2, "smic": 0}[layout]
    info.bad_rows = {k: v + first_row for k, v in info.bad_rows.items()}
    return info


def _clip_folder(layout: str, root: Path, rec: dict) -> Path:
    return {"casme2": root / ("Cropped" if (root / "Cropped").is_dir() else "CASME2_RAW_selected"), "samm": root / "SAMM", "casme3a": root / "part_A"}[layout] \
        / rec["subject_id"] / rec["filename"]


def _write_sheet(layout: str, root: Path, records: list[dict], Workbook) -> Path | None:
    if layout == "smic":
        return None
    wb = Workbook()
    ws = wb.active
    if layout == "casme2":
        ws.title = "Sheet1"
        ws.append(CASME2_HEADER)
        for r in records:
            ws.append([r["subject"], r["filename"], r["onset"], r["apex"], r["offset"], r["aus"], r["emotion"]])
        path = root / "CASME2-coding-20140508.xlsx"
    elif layout == "samm":
        ws.title = "FACS_Codes"
        preamble = ["SAMM Micro-FACS Codes (synthetic copy written by tsfgui for tests)",
                    "", "Spontaneous Actions and Micro-Movements database layout", "",
                    "Onset, apex and offset are frame numbers of the clip's image files.",
                    "Duration is offset - onset + 1 frames at 200 fps.", "", "", "", "", "",
                    "Synthetic data: AU motion planted on a real face photo; not the SAMM data set.", ""]
        assert len(preamble) == SAMM_PREAMBLE
        for line in preamble:
            ws.append([line] if line else [None])
        ws.append(SAMM_HEADER)
        for r in records:
            duration = (r["offset"] - r["onset"] + 1) if isinstance(r["apex"], int) else ""
            ws.append([r["subject_id"], r["filename"], f"{r['clip'] % 5 + 1}", r["onset"], r["apex"], r["offset"],
                       duration, "Micro - 1/2", r["aus"], r["emotion"], "", ""])
        path = root / "SAMM_Micro_FACS_Codes_v2.xlsx"
    else:
        ws.title = "label"
        ws.append(CASME3_HEADER)
        for r in records:
            ws.append([r["subject_id"], r["filename"], r["onset"], r["apex"], r["offset"], r["aus"],
                       r["class"], r["emotion"]])
        path = root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
    wb.save(path)
    return path
