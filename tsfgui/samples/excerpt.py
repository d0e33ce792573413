"""The first frames of the bundled sample as a video of their own (short real-face inputs for tests and benches)."""

from __future__ import annotations

from pathlib import Path

import cv2

from tsfgui.io import VideoFileSource
from tsfgui.resources import SAMPLE_VIDEO


def write_sample_excerpt(path: str | Path, frames: int, fps: float = 30.0) -> Path:
    """Write the first ``frames`` frames of the bundled sample (a face with planted movements) to ``path``
    as an MJPG video at ``fps``; returns the path."""
    path = Path(path)
    with VideoFileSource(SAMPLE_VIDEO) as source:
        size = (source.info.width, source.info.height)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
        if not writer.isOpened():
            raise OSError(f"cannot write an MJPG video to '{path}'")
        try:
            for frame in source:
                if frame.index >= frames:
                    break
                writer.write(frame.image)
        finally:
            writer.release()
    return path
