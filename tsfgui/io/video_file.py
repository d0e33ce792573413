"""Video files decoded by OpenCV's FFmpeg backend, streamed frame by frame with exact seeking."""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from pathlib import Path
from typing import Iterator

import cv2

from .base import Frame, FrameSource, SourceInfo
from .pixels import to_bgr
from .errors import FrameIndexError, SourceDamagedError, SourceError
from .sniff import sniff

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".ogv", ".3gp")

#: Seeking forward by up to this many frames decodes through them instead of seeking (cheaper
#: than jumping to a key frame and decoding from there).
FORWARD_DECODE_LIMIT = 64
#: Decoding may end this many frames short of the container's announced count before the file is
#: reported as damaged (some containers estimate the count from the duration).
COUNT_TOLERANCE = 2

#: OpenCV reads FFmpeg's demuxer options from this variable each time it opens a file.
_CAPTURE_OPTIONS = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
#: Every open goes through this lock, so changing the variable for one open never races another.
_OPEN_LOCK = threading.Lock()


def _open_capture(path: Path, *, ignore_edit_list: bool = False) -> cv2.VideoCapture:
    """An FFmpeg capture of ``path``; ``ignore_edit_list`` decodes every frame the file stores,
    including those its edit list hides (the pre-roll of a video trimmed without re-encoding)."""
    with _OPEN_LOCK:
        previous = os.environ.get(_CAPTURE_OPTIONS)
        if ignore_edit_list:
            os.environ[_CAPTURE_OPTIONS] = "|".join(filter(None, [previous, "ignore_editlist;1"]))
        try:
            cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        finally:
            if ignore_edit_list:
                if previous is None:
                    del os.environ[_CAPTURE_OPTIONS]
                else:
                    os.environ[_CAPTURE_OPTIONS] = previous
    if not cap.isOpened():
        cap.release()
        raise SourceError(_unopenable_message(path))
    return cap


def _unopenable_message(path: Path) -> str:
    kind = sniff(path)
    if kind == "text":
        return (f"'{path.name}' is a text file, not a video (its name ends in '{path.suffix}' but its "
                f"content is text). Choose the video file itself.")
    if kind and kind.endswith("image"):
        return (f"'{path.name}' is a single {kind}, not a video. To analyse still frames, open the "
                f"folder that holds them as an image folder.")
    if kind and kind.endswith("container"):
        return (f"'{path.name}' cannot be decoded although it looks like a video "
                f"({kind.replace(' video container', '')}): the file is damaged or incomplete (for example a recording that was "
                f"interrupted or a copy that did not finish). Copy it again or re-export it.")
    return (f"'{path.name}' cannot be decoded as a video (unknown or unsupported format). "
            f"Convert it to MP4 (H.264) and try again.")


def check_video_path(path: str | os.PathLike) -> Path:
    """Validate that ``path`` names a non-empty file; raise :class:`SourceError` otherwise."""
    p = Path(path).expanduser()
    if not p.exists():
        raise SourceError(f"Video file not found: '{p}'. Check the path and that the drive is connected.")
    if p.is_dir():
        raise SourceError(f"'{p}' is a folder, not a video file. To analyse a folder of frames, open it "
                          f"as an image folder (frames are ordered by the number in their names).")
    if not os.access(p, os.R_OK):
        raise SourceError(f"Video file '{p}' cannot be read: permission denied.")
    if p.stat().st_size == 0:
        raise SourceError(f"Video file '{p.name}' is empty (0 bytes); the copy or recording probably "
                          f"failed. Copy the file again.")
    return p


class VideoFileSource(FrameSource):
    """Any video OpenCV/FFmpeg decodes (mp4, avi, mov, mkv, webm …), read as a stream.

    Opening decodes the first frame to prove the file is readable. Iteration uses its own decoder,
    so :meth:`read` (random access) can be used at the same time. Timestamps assume a constant frame
    rate (``index / fps``); pass ``fps`` to override a wrong rate in the file's header. Frames of
    files with rotation metadata are delivered upright; ``info.rotation`` keeps the angle.
    Files often announce a few more frames than they show (an edit list hiding the pre-roll of a
    video trimmed without re-encoding): when decoding ends short but the file holds every announced
    frame, the decoded count is the true length (``info.frame_count`` becomes it, ``frames_announced``
    keeps the header's figure). Decoding that stops before frames the file announces and cannot
    deliver raises :class:`SourceDamagedError` after the last good frame has been yielded.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None = None):
        self.path = check_video_path(path)
        cap = _open_capture(self.path)
        try:
            ok, first = cap.read()
            if not ok or first is None:
                raise SourceError(_unopenable_message(self.path))
            header_fps = cap.get(cv2.CAP_PROP_FPS)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            rotation = int(cap.get(cv2.CAP_PROP_ORIENTATION_META)) % 360
        finally:
            cap.release()
        if fps is not None and not (fps > 0 and math.isfinite(fps)):
            raise SourceError(f"Frame rate must be a positive number, not {fps!r}.")
        if fps is None:
            fps = header_fps if (header_fps and math.isfinite(header_fps) and 0 < header_fps <= 10000) else 25.0
        h, w = first.shape[:2]
        self.info = SourceInfo(kind="video", name=self.path.name, fps=float(fps), width=w, height=h,
                               frame_count=count if count > 0 else None, rotation=rotation, path=self.path)
        #: the frame count in the file's header (``info.frame_count`` may become the decoded count)
        self.frames_announced: int | None = self.info.frame_count
        #: frames the last complete iteration delivered (None before one has ended)
        self.frames_decoded: int | None = None
        self._seek_cap: cv2.VideoCapture | None = None
        self._next_pos = 0  # index the seek decoder returns on its next read()
        self._last: Frame | None = None

    def __repr__(self) -> str:
        i = self.info
        return f"VideoFileSource('{self.path}', {i.width}x{i.height}, {i.fps:g} fps, {i.frame_count} frames)"

    def __getstate__(self) -> dict:
        """Pickled without its open decoder (another process opens its own)."""
        return {**self.__dict__, "_seek_cap": None, "_next_pos": 0, "_last": None}

    def __iter__(self) -> Iterator[Frame]:
        cap = _open_capture(self.path)
        index = 0
        try:
            while True:
                ok, image = cap.read()
                if not ok or image is None:
                    break
                yield Frame(index, self.timestamp_ms(index), to_bgr(image))
                index += 1
        finally:
            cap.release()
        self._check_complete(index)

    def _check_complete(self, delivered: int) -> None:
        """After the last frame: accept a short count the file itself explains, else report damage."""
        self.frames_decoded = delivered
        expected = self.frames_announced
        if expected is None or delivered >= expected:
            return
        if delivered >= expected - COUNT_TOLERANCE or self._stored_frames() >= expected - COUNT_TOLERANCE:
            # every announced frame is in the file (some hidden by its edit list): the decoded count is the length
            self.info = dataclasses.replace(self.info, frame_count=delivered)
            return
        raise SourceDamagedError(
            f"'{self.path.name}' is damaged or incomplete: decoding stopped after frame {delivered - 1} "
            f"of the {expected} the file announces ({delivered / self.info.fps:.1f} s of "
            f"{expected / self.info.fps:.1f} s). The frames before the damage were used.",
            frames_delivered=delivered,
        )

    def _stored_frames(self) -> int:
        """Frames the file stores and FFmpeg decodes, edit list ignored (a second decoding pass)."""
        cap = _open_capture(self.path, ignore_edit_list=True)
        count = 0
        try:
            while cap.grab():
                count += 1
        finally:
            cap.release()
        return count

    def read(self, index: int) -> Frame:
        """Decode frame ``index`` exactly; cheap when moving forward by small steps.

        After a seek, the decoder's own frame position is checked: FFmpeg may land on another
        frame (past damage in the file, or on an imprecise index), and a wrong frame is never returned.
        """
        index = self._check_index(index)
        if self._last is not None and self._last.index == index:
            return self._last
        if self._seek_cap is None:
            self._seek_cap = _open_capture(self.path)
            self._next_pos = 0
        cap = self._seek_cap
        if not (0 <= index - self._next_pos <= FORWARD_DECODE_LIMIT):
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            landed = int(round(cap.get(cv2.CAP_PROP_POS_FRAMES)))
            if landed > index:
                self._lost(index)
            self._next_pos = landed
        while self._next_pos < index:
            if not cap.grab():
                self._lost(index)
            self._next_pos += 1
        ok, image = cap.read()
        if not ok or image is None or int(round(cap.get(cv2.CAP_PROP_POS_FRAMES))) != index + 1:
            self._lost(index)
        self._next_pos = index + 1
        self._last = Frame(index, self.timestamp_ms(index), to_bgr(image))
        return self._last

    def _lost(self, index: int) -> None:
        self._seek_cap.release()
        self._seek_cap = None
        raise FrameIndexError(f"'{self.path.name}': frame {index} cannot be decoded; the file is damaged "
                              f"or shorter than its header says ({self.info.frame_count} frames).")

    def close(self) -> None:
        if getattr(self, "_seek_cap", None) is not None:
            self._seek_cap.release()
            self._seek_cap = None

