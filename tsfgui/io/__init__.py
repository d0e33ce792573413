"""Frame sources: video files, image folders and cameras behind one interface (no Qt here)."""

from __future__ import annotations

import os
from pathlib import Path

from .base import Frame, FrameSource, SourceInfo
from .pixels import FrameError, to_bgr, to_gray
from .errors import FrameIndexError, SourceDamagedError, SourceError
from .image_folder import IMAGE_EXTENSIONS, ImageFolderSource, frame_number, natural_key
from .video_file import VIDEO_EXTENSIONS, VideoFileSource
from .webcam import WebcamSource, list_cameras

#: Frame rate assumed for an image folder when the caller gives none (CASME II and SAMM: 200 fps).
DEFAULT_FOLDER_FPS = 200.0


def open_source(target: str | os.PathLike | int, *, fps: float | None = None) -> FrameSource:
    """Open a video file, an image folder or (an int / ``"webcam:N"``) a camera as a :class:`FrameSource`."""
    if isinstance(target, int):
        return WebcamSource(target)
    text = str(target)
    if text.startswith("webcam:") and text[7:].isdigit():
        return WebcamSource(int(text[7:]))
    path = Path(text).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, fps=fps or DEFAULT_FOLDER_FPS)
    return VideoFileSource(path, fps=fps)


__all__ = [
    "DEFAULT_FOLDER_FPS", "Frame", "FrameIndexError", "FrameSource", "IMAGE_EXTENSIONS", "ImageFolderSource",
    "SourceDamagedError", "SourceError", "SourceInfo", "VIDEO_EXTENSIONS", "VideoFileSource", "WebcamSource",
    "FrameError", "to_bgr", "to_gray", "frame_number", "list_cameras", "natural_key", "open_source",
]
