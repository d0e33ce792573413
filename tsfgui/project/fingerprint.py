"""Content fingerprints: recognise a recording (or a weights file) after it was moved or renamed.

A file's fingerprint is its size and the SHA-256 of its first and last MiB: reading two MiB of an
hour-long video is instant, and two different recordings of the same size with the same first and last
MiB do not happen in practice. A frame folder's fingerprint covers the names and sizes of its images
and the first MiB of its first and last image.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tsfgui.io import IMAGE_EXTENSIONS, natural_key

CHUNK = 1 << 20


def _file_digest(path: Path, h) -> int:
    size = path.stat().st_size
    with path.open("rb") as fh:
        h.update(fh.read(CHUNK))
        if size > CHUNK:
            fh.seek(max(CHUNK, size - CHUNK))
            h.update(fh.read(CHUNK))
    return size


def fingerprint(path: str | Path) -> tuple[str, int]:
    """``(fingerprint, size in bytes)`` of a file or a frame folder."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        images = sorted((c for c in p.iterdir() if c.is_file() and c.suffix.lower() in IMAGE_EXTENSIONS
                         and not c.name.startswith(".")), key=lambda c: natural_key(c.name))
        size = 0
        for c in images:
            s = c.stat().st_size
            size += s
            h.update(f"{c.name}\0{s}\n".encode())
        for c in images[:1] + images[-1:]:
            _file_digest(c, h)
        return f"d{size}-{h.hexdigest()[:32]}", size
    size = _file_digest(p, h)
    return f"f{size}-{h.hexdigest()[:32]}", size
