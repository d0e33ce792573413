"""Which inputs a batch analyses, and where each one's results go.

Inputs are found the way users lay them out: video files, and frame folders at any depth (a data set
root such as ``CASME2/sub01/EP02_01f/img*.jpg``). A folder is a frame folder when it holds at least
two images of one size; images of different sizes beside each other are stills (photos next to the
videos), reported as skipped, not analysed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from PIL import Image, UnidentifiedImageError

from tsfgui.io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS


class NoInputsError(ValueError):
    """Nothing to analyse was found under the paths given."""


@dataclass
class FoundInputs:
    """Videos and frame folders to analyse, and folders of stills left out (with why)."""

    inputs: list[Path] = field(default_factory=list)
    stills: list[tuple[Path, str]] = field(default_factory=list)


def _image_size(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None


def _frame_folder(images: list[Path]) -> str:
    """'' when ``images`` (the folder's) make a frame folder, else why they are stills."""
    if len(images) < 2:
        return "one image, not a frame folder (a clip needs at least two frames)"
    sizes = {_image_size(p) for p in images}
    if None in sizes:
        return "holds files with an image name that are not readable images"
    if len(sizes) > 1:
        return f"{len(images)} images of {len(sizes)} different sizes: stills, not the frames of one clip"
    return ""


def find_inputs(paths: Sequence[str | Path]) -> FoundInputs:
    """Every video and frame folder named by ``paths`` or found under them (recursively, sorted)."""
    found = FoundInputs()
    for raw in paths:
        top = Path(raw).expanduser()
        if not top.is_dir():
            found.inputs.append(top)
            continue
        for root, dirs, files in os.walk(top):
            dirs.sort()
            here = Path(root)
            names = sorted(f for f in files if not f.startswith("."))
            images = [here / f for f in names if Path(f).suffix.lower() in IMAGE_EXTENSIONS]
            if images:
                why = _frame_folder(images)
                if why:
                    found.stills.append((here, why))
                else:
                    found.inputs.append(here)
            found.inputs.extend(here / f for f in names if Path(f).suffix.lower() in VIDEO_EXTENSIONS)
    return found


def expand_inputs(paths: Sequence[str | Path]) -> list[Path]:
    """The videos and frame folders of :func:`find_inputs`."""
    return find_inputs(paths).inputs


def no_inputs_message(paths: Sequence[str | Path], found: FoundInputs) -> str:
    """One line saying that nothing to analyse was found, and what was looked for."""
    where = ", ".join(f"'{p}'" for p in paths)
    skipped = f"; {len(found.stills)} folder(s) of stills skipped" if found.stills else ""
    return (f"no videos or frame folders found in {where} (looked for {', '.join(VIDEO_EXTENSIONS[:6])} … files "
            f"and folders of two or more same-size images, at any depth){skipped}")


def output_dir(out: Path, source: Path, taken: set[str]) -> Path:
    """``out/<stem>``, with a short hash of the full path added when two inputs share a name."""
    name = source.stem if source.is_file() else source.name
    if name in taken:
        name = f"{name}-{hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:6]}"
    taken.add(name)
    return out / name
