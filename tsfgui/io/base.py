"""The interface shared by every frame source (video file, image folder, webcam)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from .errors import FrameIndexError


class Frame(NamedTuple):
    """One decoded frame: position in the source, time in milliseconds and BGR uint8 pixels (H×W×3)."""

    index: int
    timestamp_ms: float
    image: np.ndarray


@dataclass(frozen=True)
class SourceInfo:
    """What a source knows about itself before it is read.

    ``frame_count`` is None for live sources and for files whose container does not announce it;
    ``rotation`` is the display rotation in degrees found in the file's metadata (frames are
    delivered already rotated upright).
    """

    kind: str
    name: str
    fps: float
    width: int
    height: int
    frame_count: int | None
    rotation: int = 0
    path: Path | None = None

    @property
    def duration_s(self) -> float | None:
        """Length in seconds, when the frame count is known."""
        if self.frame_count is None or self.fps <= 0:
            return None
        return self.frame_count / self.fps

    @property
    def seekable(self) -> bool:
        """True when :meth:`FrameSource.read` can fetch any frame by index."""
        return self.kind != "webcam"


class FrameSource(abc.ABC):
    """A sequence of frames. Iterating yields :class:`Frame` tuples ``(index, timestamp_ms, image)``.

    Sources are context managers; :meth:`close` releases files and cameras. Seekable sources also
    offer :meth:`read` for exact random access and ``len()``.
    """

    info: SourceInfo

    @abc.abstractmethod
    def __iter__(self) -> Iterator[Frame]:
        """Yield the frames in order from the first one."""

    def read(self, index: int) -> Frame:
        """Return frame ``index`` exactly (not the nearest key frame)."""
        raise FrameIndexError(f"{self.info.name}: this source cannot seek to a frame (it is live).")

    def timestamp_ms(self, index: int) -> float:
        """Presentation time of frame ``index`` in milliseconds (constant frame rate)."""
        return index * 1000.0 / self.info.fps

    def _check_index(self, index: int) -> int:
        count = self.info.frame_count
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"frame index must be an integer, not {type(index).__name__}")
        index = int(index)
        if index < 0 or (count is not None and index >= count):
            last = "?" if count is None else str(count - 1)
            raise FrameIndexError(f"{self.info.name}: frame {index} is outside 0…{last}.")
        return index

    def __len__(self) -> int:
        if self.info.frame_count is None:
            raise TypeError(f"{self.info.name}: the number of frames is not known for this source")
        return self.info.frame_count

    def close(self) -> None:
        """Release the underlying file or device. Safe to call more than once."""

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:
            pass

