"""One registry of writers keyed by format. ``analyze``, the app, projects and ``--selftest`` all
write through it, so a new format is one new module that calls :func:`register`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from tsfgui.engine.results import FrameResult
from tsfgui.engine.spotting import SignalRecorder, SpottedInterval

if TYPE_CHECKING:
    from tsfgui.session import Session


@dataclass(frozen=True)
class CodedEvent:
    """One event as a rater left it (a project's proposals and decisions): frames, kind, label, and for
    a coder the status (accepted / rejected / edited / added), FACS action units and a note."""

    onset: int
    apex: int
    offset: int
    kind: str
    label: str | None
    status: str = "proposed"
    aus: str = ""
    note: str = ""
    probability: float | None = None
    score: float | None = None
    region: str = ""
    decided_at: str | None = None


@dataclass
class ExportData:
    """What a writer may need: the frame rate, the class names, the per-frame results (any
    iterable, consumed once), the spotted events, the spotting signals, the media file and a title;
    for a project's files, ``coded``: each rater's events (``"tool"`` or a coder's name)."""

    fps: float
    class_names: Sequence[str] = ()
    results: Iterable[FrameResult] = ()
    events: Sequence[SpottedInterval] = ()
    signals: SignalRecorder | None = None
    media: Path | None = None
    title: str = ""
    subject: str = "participant"
    coded: Mapping[str, Sequence[CodedEvent]] = field(default_factory=dict)

    @classmethod
    def of_session(cls, session: "Session") -> "ExportData":
        """What a :class:`~tsfgui.session.Session` has to export: its events, signals and recording."""
        media = session.path if session.path is not None and session.path.is_file() else None
        return cls(fps=session.info.fps, class_names=session.models.class_names, events=session.events,
                   signals=session.signals, media=media, title=session.path.name if session.path else "")


@dataclass(frozen=True)
class Writer:
    """A file format: its key, what it holds (``frames``, ``events`` or ``summary``), the file suffix,
    the name ``analyze`` gives it (``{stem}`` is the input's name), a file-dialog description and
    ``write(path, data)`` which writes atomically and returns how many items it wrote."""

    format: str
    content: str
    suffix: str
    file_name: str
    description: str
    write: Callable[[Path, ExportData], int] = field(compare=False)

    def default_path(self, folder: Path, stem: str) -> Path:
        return Path(folder) / self.file_name.format(stem=stem)

    @property
    def dialog_filter(self) -> str:
        return f"{self.description} (*{self.suffix})"


_WRITERS: dict[str, Writer] = {}


def register(writer: Writer) -> Writer:
    """Add ``writer`` to the registry (its format key must be new)."""
    if writer.format in _WRITERS:
        raise ValueError(f"export format '{writer.format}' is registered twice")
    _WRITERS[writer.format] = writer
    return writer


def writers(content: str | None = None) -> list[Writer]:
    """Every registered writer (of one ``content`` kind when given), in registration order."""
    return [w for w in _WRITERS.values() if content is None or w.content == content]


def writer(format: str) -> Writer:
    """The writer of ``format``; a ``KeyError`` names the formats there are."""
    try:
        return _WRITERS[format]
    except KeyError:
        raise KeyError(f"no export format '{format}'; there are {', '.join(_WRITERS)}") from None


def writer_for_path(path: str | Path, content: str) -> Writer:
    """The writer of ``content`` chosen by the suffix of ``path`` (``ValueError`` naming the choices)."""
    suffix = Path(path).suffix.lower()
    for w in writers(content):
        if w.suffix == suffix:
            return w
    choices = ", ".join(w.suffix for w in writers(content))
    raise ValueError(f"cannot export {content} as '{suffix or Path(path).name}': choose {choices}")


def write(format: str, path: str | Path, data: ExportData) -> int:
    """Write ``data`` as ``format`` to ``path``; returns how many items (rows, events) were written."""
    return writer(format).write(Path(path), data)
