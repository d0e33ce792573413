"""Errors raised by frame sources; every message says what, where, and what to do."""

from __future__ import annotations


class SourceError(Exception):
    """A frame source cannot be opened or read. ``str(error)`` is meant for the user."""


class SourceDamagedError(SourceError):
    """Decoding stopped early: the frames before the damage were delivered, the rest are lost.

    ``frames_delivered`` counts the frames that were decoded before the damage.
    """

    def __init__(self, message: str, frames_delivered: int):
        super().__init__(message)
        self.frames_delivered = frames_delivered

    def __reduce__(self):  # pickled whole: it crosses from a decoding process to the analysis
        return type(self), (str(self), self.frames_delivered)


class FrameIndexError(SourceError, IndexError):
    """A frame index outside the source's range was asked for."""
