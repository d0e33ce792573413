"""Aligned onset/apex crops per sample, computed once and cached on disk.

For each sample the face is detected and landmarked on the onset frame, and that one alignment is applied
to every stored frame, so the apex − onset difference shows facial motion and not re-alignment jitter.
Stored: the crops of the frames within ``jitter`` of the onset and of the apex (for the training-time
onset/apex jitter) as uint8 arrays in one ``.npz`` per sample, named by a hash of the source files (path,
size, modification time), the annotated frames and the settings. A re-run or another fold reads the file.

A non-numeric apex is estimated here as the frame of largest mean absolute difference from the onset
(between onset and offset), logged, and cached with the crops.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from tsfgui.io import IMAGE_EXTENSIONS, frame_number
from tsfgui.train.datasets import DatasetReport, Sample
from tsfgui.train.recipes import FACE_CROPS, jitter_radius
from tsfgui.io.atomic import atomic_path

log = logging.getLogger(__name__)

CACHE_VERSION = 1


@dataclass(frozen=True)
class PreprocessSettings:
    """What the cached crops depend on besides the source files (part of the cache key)."""

    crop_size: int = 224
    jitter: int = 2            # frames stored on each side of the onset and of the apex
    detector: str = "hog"
    upsample: int = 1
    jitter_fraction: float = 0.0   # or a window of this fraction of the onset–apex distance (the authors')
    face_crop: str = "align"       # align (dlib + template), stretch (face box stretched), frame (whole image)

    def __post_init__(self) -> None:
        if self.face_crop not in FACE_CROPS:
            raise ValueError(f"face_crop must be one of {', '.join(FACE_CROPS)}, got {self.face_crop!r}")

    def to_dict(self) -> dict:
        d = {**asdict(self), "version": CACHE_VERSION}
        if d["face_crop"] == "align" and not d["jitter_fraction"]:  # the keys of caches made before these options
            del d["face_crop"], d["jitter_fraction"]
        return d


@dataclass
class PairCrops:
    """Aligned crops around one sample's onset and apex (BGR uint8, ``(k, S, S, 3)``)."""

    sample: Sample
    onset_frames: np.ndarray
    onset_crops: np.ndarray
    apex_frames: np.ndarray
    apex_crops: np.ndarray
    apex: int                  # annotated apex, or the estimate when the sheet had none
    apex_estimated: bool

    @property
    def onset_pos(self) -> int:
        return int(np.flatnonzero(self.onset_frames == self.sample.onset)[0])

    @property
    def apex_pos(self) -> int:
        return int(np.flatnonzero(self.apex_frames == self.apex)[0])


class PreprocessError(Exception):
    pass


def _files_by_number(folder: Path) -> dict[int, Path]:
    out: dict[int, Path] = {}
    for p in folder.iterdir():
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."):
            n = frame_number(p.name)
            if n is not None:
                out[n] = p
    return out


def _read(path: Path) -> np.ndarray:
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise PreprocessError(f"image cannot be decoded (damaged or not an image): {path}")
    return image


def _window(center: int, radius: int, available: list[int], lo: int, hi: int) -> list[int]:
    return [n for n in available if center - radius <= n <= center + radius and lo <= n <= hi] or [center]


def _atomic_savez(path: Path, **arrays) -> None:
    with atomic_path(path, suffix=".npz") as tmp:  # np.savez adds .npz to names without it
        np.savez_compressed(tmp, **arrays)


class CropCache:
    """Prepares :class:`PairCrops` for samples, reading them from ``cache_dir`` when present.

    ``aligned`` counts the samples whose faces were detected and aligned by this instance, ``hits`` those
    read back from the cache.
    """

    def __init__(self, cache_dir: str | Path, settings: PreprocessSettings | None = None):
        self.dir = Path(cache_dir)
        self.settings = settings or PreprocessSettings()
        self.aligned = 0
        self.hits = 0
        self._detector = None
        self._predictor = None
        self._template = None

    # key ------------------------------------------------------------------------------------------------
    def _radius(self, onset: int, apex: int) -> int:
        return jitter_radius(onset, apex, self.settings.jitter, self.settings.jitter_fraction)

    def key(self, sample: Sample, files: dict[int, Path]) -> str:
        r = self._radius(sample.onset, sample.offset)
        lo = sample.onset - r
        hi = sample.offset + r
        used = []
        for n in sorted(files):
            if lo <= n <= hi:
                st = files[n].stat()
                used.append((n, str(files[n].resolve()), st.st_size, st.st_mtime_ns))
        blob = json.dumps({"settings": self.settings.to_dict(), "onset": sample.onset, "apex": sample.apex,
                           "offset": sample.offset, "files": used}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def path_for(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.npz"

    # face pipeline -----------------------------------------------------------------------------------------
    def _face(self):
        if self._detector is None:
            from tsfgui.face import AlignTemplate, DetectorSettings, FaceDetector, LandmarkPredictor

            self._detector = FaceDetector(DetectorSettings(method=self.settings.detector,
                                                           upsample=self.settings.upsample))
            self._predictor = LandmarkPredictor()
            self._template = AlignTemplate(size=self.settings.crop_size)
        return self._detector, self._predictor, self._template

    def _cut(self, onset_image: np.ndarray, images: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """Every image cut with the onset frame's one alignment (:func:`tsfgui.face.align_pair`), or
        scaled whole (``face_crop="frame"``: the datasets' already cropped faces)."""
        from tsfgui.face import align_pair, warp_crop

        size = self.settings.crop_size
        if self.settings.face_crop == "frame":
            h, w = onset_image.shape[:2]
            matrix = np.array([[size / w, 0.0, 0.0], [0.0, size / h, 0.0]])
            return {n: warp_crop(image, matrix, size) for n, image in images.items()}
        detector, predictor, template = self._face()
        numbers = list(images)
        pair = align_pair(onset_image, [images[n] for n in numbers], template=template, detector=detector,
                          predictor=predictor, crop=self.settings.face_crop)
        if pair is None:
            raise PreprocessError("no face found in the onset frame")
        return dict(zip(numbers, pair.apexes))

    def _estimate_apex(self, sample: Sample, files: dict[int, Path]) -> int:
        numbers = [n for n in sorted(files) if sample.onset <= n <= sample.offset]

        def small(n: int) -> np.ndarray:
            g = cv2.cvtColor(_read(files[n]), cv2.COLOR_BGR2GRAY)
            return cv2.resize(g, (96, 96), interpolation=cv2.INTER_AREA).astype(np.float32)

        ref = small(sample.onset)
        diffs = [float(np.abs(small(n) - ref).mean()) for n in numbers]
        return numbers[int(np.argmax(diffs))]

    def _compute(self, sample: Sample, files: dict[int, Path]) -> dict[str, np.ndarray]:
        estimated = sample.apex is None
        apex = self._estimate_apex(sample, files) if estimated else sample.apex
        if estimated:
            log.warning("%s (row %d): apex not numeric in the sheet; estimated as frame %d "
                        "(largest difference from onset frame %d)", sample.folder, sample.row, apex, sample.onset)
        numbers = sorted(files)
        r = self._radius(sample.onset, apex)
        onset_nums = _window(sample.onset, r, numbers, min(numbers), min(sample.offset, apex))
        apex_nums = _window(apex, r, numbers, sample.onset, max(numbers))
        onset_image = _read(files[sample.onset])
        crops = self._cut(onset_image, {n: onset_image if n == sample.onset else _read(files[n])
                                        for n in sorted(set(onset_nums) | set(apex_nums))})
        self.aligned += 1
        return {"onset_frames": np.array(onset_nums), "onset_crops": np.stack([crops[n] for n in onset_nums]),
                "apex_frames": np.array(apex_nums), "apex_crops": np.stack([crops[n] for n in apex_nums]),
                "apex": np.array(apex), "apex_estimated": np.array(estimated)}

    # public -----------------------------------------------------------------------------------------------
    def get(self, sample: Sample) -> PairCrops:
        """The crops of ``sample`` (from the cache, or computed and stored); PreprocessError when impossible."""
        files = _files_by_number(sample.folder)
        for what, n in (("onset", sample.onset), ("apex", sample.apex)):
            if n is not None and n not in files:
                raise PreprocessError(f"{what} frame {n} not found in {sample.folder}")
        path = self.path_for(self.key(sample, files))
        arrays = None
        if path.is_file():
            try:
                with np.load(path) as z:
                    arrays = {k: z[k] for k in z.files}
                self.hits += 1
            except (OSError, ValueError, KeyError) as exc:  # a damaged cache file is recomputed
                log.info("cache file %s unreadable (%s); recomputing", path, exc)
                arrays = None
        if arrays is None:
            arrays = self._compute(sample, files)
            _atomic_savez(path, **arrays)
        return PairCrops(sample, arrays["onset_frames"], arrays["onset_crops"], arrays["apex_frames"],
                         arrays["apex_crops"], int(arrays["apex"]), bool(arrays["apex_estimated"]))

    def prepare(self, samples: Iterable[Sample], report: DatasetReport | None = None,
                progress: bool = True) -> list[PairCrops]:
        """Crops of every sample that can be prepared; failures are reported (row + path) and skipped."""
        from tqdm import tqdm

        samples = list(samples)
        out = []
        for s in tqdm(samples, desc="align faces", unit="clip", disable=not progress, leave=False):
            try:
                pair = self.get(s)
            except PreprocessError as exc:
                if report is not None:
                    report.samples -= 1
                    report.skip(s.row, s.folder, str(exc))
                continue
            if pair.apex_estimated and report is not None:
                note = f"row {s.row}: {s.folder}: apex estimated as frame {pair.apex}"
                if note not in report.apex_estimated:
                    report.apex_estimated = [a for a in report.apex_estimated if not a.startswith(f"row {s.row}: {s.folder}")]
                    report.apex_estimated.append(note)
            out.append(pair)
        return out
