"""Folders of frames as the micro-expression data sets store them (img46.jpg, 006_05562.jpg, 12.jpg)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .base import Frame, FrameSource, SourceInfo
from .errors import SourceError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_NUMBER = re.compile(r"\d+")


def frame_number(name: str) -> int | None:
    """The frame number in a file name: the last group of digits in its stem (``reg_img46`` → 46)."""
    numbers = _NUMBER.findall(Path(name).stem)
    return int(numbers[-1]) if numbers else None


def natural_key(name: str) -> tuple:
    """Sort key that compares digit groups as integers (``img2`` before ``img10``)."""
    return tuple(int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name))


class ImageFolderSource(FrameSource):
    """The image files of one folder, ordered by the integer in their names (natural order).

    ``fps`` is the capture rate, which a folder cannot tell (CASME II and SAMM: 200 fps).
    ``frame_numbers[i]`` is the number in the name of the i-th frame, the number the data sets'
    annotations use; :meth:`index_of` converts back. All images must have the same size; that and
    readability of every file are checked when the folder is opened (from the image headers, fast).
    """

    def __init__(self, path: str | os.PathLike, fps: float):
        folder = Path(path).expanduser()
        if not folder.exists():
            raise SourceError(f"Frame folder not found: '{folder}'. Check the path.")
        if not folder.is_dir():
            raise SourceError(f"'{folder.name}' is a file, not a folder of frames. Open it as a video instead.")
        if not (isinstance(fps, (int, float)) and fps > 0):
            raise SourceError(f"Frame rate for '{folder.name}' must be a positive number, not {fps!r} "
                              f"(CASME II and SAMM were filmed at 200 fps).")
        files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                 and not p.name.startswith(".")]
        if not files:
            raise SourceError(f"Folder '{folder}' contains no images ({', '.join(IMAGE_EXTENSIONS)}). "
                              f"Choose the folder that holds the frames of one clip.")
        self.files = self._order(folder, files)
        self.frame_numbers = [frame_number(p.name) for p in self.files]
        width, height = self._check_sizes(folder)
        self.path = folder
        self.info = SourceInfo(kind="folder", name=folder.name, fps=float(fps), width=width, height=height,
                               frame_count=len(self.files), path=folder)
        self._index_by_number = {n: i for i, n in enumerate(self.frame_numbers) if n is not None}

    @staticmethod
    def _order(folder: Path, files: list[Path]) -> list[Path]:
        numbered = [(frame_number(p.name), p) for p in files]
        if all(n is not None for n, _ in numbered):
            seen: dict[int, Path] = {}
            for n, p in numbered:
                if n in seen:
                    raise SourceError(
                        f"Folder '{folder.name}' has two files for frame {n}: '{seen[n].name}' and '{p.name}'. "
                        f"Keep one naming scheme per folder (e.g. only img*.jpg or only reg_img*.jpg).")
                seen[n] = p
            return [p for _, p in sorted(numbered, key=lambda t: (t[0], natural_key(t[1].name)))]
        return sorted(files, key=lambda p: natural_key(p.name))

    def _check_sizes(self, folder: Path) -> tuple[int, int]:
        sizes: dict[tuple[int, int], list[Path]] = {}
        for p in self.files:
            try:
                with Image.open(p) as im:
                    sizes.setdefault(im.size, []).append(p)
            except (UnidentifiedImageError, OSError) as exc:
                raise SourceError(f"Frame '{p.name}' in '{folder.name}' is not a readable image ({exc}). "
                                  f"Replace or remove it.") from None
        if len(sizes) > 1:
            common = max(sizes, key=lambda s: len(sizes[s]))
            odd = next(p for s, ps in sizes.items() if s != common for p in ps)
            with Image.open(odd) as im:
                odd_size = im.size
            raise SourceError(
                f"Frames in '{folder.name}' differ in size: most are {common[0]}×{common[1]} but "
                f"'{odd.name}' is {odd_size[0]}×{odd_size[1]} ({len(sizes)} sizes in all). A clip must have "
                f"frames of one size; remove or resize the odd ones.")
        return next(iter(sizes))

    def __repr__(self) -> str:
        return f"ImageFolderSource('{self.path}', {len(self.files)} frames, {self.info.fps:g} fps)"

    def index_of(self, number: int) -> int:
        """Index of the frame whose file name carries ``number``; SourceError if there is none."""
        try:
            return self._index_by_number[int(number)]
        except KeyError:
            raise SourceError(f"Folder '{self.path.name}' has no frame numbered {number} "
                              f"(frames {self.frame_numbers[0]}…{self.frame_numbers[-1]}).") from None

    def _load(self, index: int) -> np.ndarray:
        path = self.files[index]
        data = np.fromfile(path, dtype=np.uint8)  # np.fromfile + imdecode also handles non-ASCII paths
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise SourceError(f"Frame '{path.name}' in '{self.path.name}' cannot be decoded; the image is "
                              f"damaged. Replace or remove it.")
        return image

    def __iter__(self) -> Iterator[Frame]:
        for index in range(len(self.files)):
            yield Frame(index, self.timestamp_ms(index), self._load(index))

    def read(self, index: int) -> Frame:
        index = self._check_index(index)
        return Frame(index, self.timestamp_ms(index), self._load(index))
