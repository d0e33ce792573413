"""Which inputs a batch analyses, and where each one's results go."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from tsfgui.io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS


def expand_inputs(paths: Sequence[str | Path]) -> list[Path]:
    """Videos and frame folders named by ``paths``: a folder holding images is one frame folder; any
    other folder contributes the videos inside it (recursively, sorted)."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir() and not any(c.suffix.lower() in IMAGE_EXTENSIONS for c in p.iterdir() if c.is_file()):
            found.extend(sorted(c for c in p.rglob("*") if c.is_file() and c.suffix.lower() in VIDEO_EXTENSIONS))
        else:
            found.append(p)
    return found


def output_dir(out: Path, source: Path, taken: set[str]) -> Path:
    """``out/<stem>``, with a short hash of the full path added when two inputs share a name."""
    name = source.stem if source.is_file() else source.name
    if name in taken:
        name = f"{name}-{hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:6]}"
    taken.add(name)
    return out / name
