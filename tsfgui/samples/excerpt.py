"""The bundled sample as a video of its own: its first frames (short real-face inputs for tests) or its frames
cycled into a longer video (benches' long inputs)."""

from __future__ import annotations

from pathlib import Path

import cv2

from tsfgui.io import VideoFileSource
from tsfgui.resources import SAMPLE_VIDEO


def write_sample_excerpt(path: str | Path, frames: int, fps: float = 30.0) -> Path:
    """Write ``frames`` frames of the bundled sample (a face with planted movements) to ``path`` as an MJPG
    video at ``fps``: its first frames, or all of them cycled from the start as often as needed for a
    longer video (benches' long inputs); returns the path."""
    path = Path(path)
    with VideoFileSource(SAMPLE_VIDEO) as source:
        size = (source.info.width, source.info.height)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
        if not writer.isOpened():
            raise OSError(f"cannot write an MJPG video to '{path}'")
        try:
            kept = []  # the sample's frames, once, when the video needs more of them than it holds
            for frame in source:
                if frame.index >= frames:
                    break
                writer.write(frame.image)
                kept.append(frame.image)
            for i in range(len(kept), frames if kept else 0):
                writer.write(kept[i % len(kept)])
        finally:
            writer.release()
    return path
