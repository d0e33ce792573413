"""Projects: many recordings, the tool's proposals and each coder's decisions in one SQLite file (no Qt).

- :mod:`~tsfgui.project.project`: :class:`Project` — recordings, analysis runs, coders, events, decisions.
- :mod:`~tsfgui.project.decisions`: decisions, the append-only history, undo/redo per coder.
- :mod:`~tsfgui.project.schema` / :mod:`~tsfgui.project.database`: tables, versions, migrations, opening.
- :mod:`~tsfgui.project.facs`: FACS action-unit codes (``1+2+5B``).
- :mod:`~tsfgui.project.agreement`: MEGC IoU matching, precision/recall/F1, Cohen's kappa.
- :mod:`~tsfgui.project.imports`: ELAN, BORIS, CSV, JSON and the datasets' annotation sheets.
- :mod:`~tsfgui.project.analysis`: analysing a project's recordings with the batch machinery.
- :mod:`~tsfgui.project.exports`: ELAN/BORIS/CSV/JSON files that carry the coders' corrections.
"""

from .database import ProjectError
from .facs import FacsError, normalize_aus, parse_aus
from .project import SUFFIX, AddReport, Project, RelinkReport, open_project
from .records import FINAL_STATUSES, STATUSES, TOOL, Change, Coder, Event, HistoryEntry, Recording, Run

__all__ = [
    "SUFFIX", "AddReport", "Change", "Coder", "Event", "FINAL_STATUSES", "FacsError", "HistoryEntry", "Project",
    "ProjectError", "Recording", "RelinkReport", "Run", "STATUSES", "TOOL", "normalize_aus", "open_project",
    "parse_aus",
]
