"""Guess what a file that OpenCV cannot open really is, to explain the failure to the user."""

from __future__ import annotations

from pathlib import Path

_CONTAINERS = (
    (4, b"ftyp", "MP4/MOV"),
    (0, b"RIFF", "AVI"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (0, b"OggS", "Ogg"),
    (0, b"FLV", "FLV"),
    (0, b"\x00\x00\x01\xba", "MPEG-PS"),
    (0, b"\x47", "MPEG-TS"),
)

_IMAGES = (
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"\x89PNG", "PNG image"),
    (0, b"BM", "BMP image"),
    (0, b"GIF8", "GIF image"),
)


def sniff(path: Path) -> str | None:
    """Return a short description of a file's real kind ("MP4/MOV", "text", "PNG image"…) or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if not head:
        return "empty"
    for table, suffix in ((_IMAGES, ""), (_CONTAINERS, " video container")):
        for offset, magic, label in table:
            if head[offset : offset + len(magic)] == magic and (magic != b"\x47" or _looks_like_ts(head)):
                return label + suffix
    if _looks_like_text(head):
        return "text"
    return None


def _looks_like_ts(head: bytes) -> bool:
    return len(head) >= 377 and head[188] == 0x47 and head[376] == 0x47


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * len(text)
