"""Every file tsfgui writes for people and other tools, behind one registry keyed by format.

===============  ========  ======================  ==========================================
format           content   ``analyze`` file name   what it is
===============  ========  ======================  ==========================================
``frames-csv``   frames    ``frames.csv``          one row per frame (:mod:`.frames_csv`)
``eaf``          events    ``<name>.eaf``          ELAN annotation linked to the video
``boris-xlsx``   events    ``events_boris.xlsx``   BORIS import sheet
``events-csv``   events    ``events.csv``          spotted intervals as CSV
``events-json``  events    ``events.json``         spotted intervals as JSON
``summary-png``  summary   ``summary.png``         the difference signals with the intervals
``coded-eaf``    coded     ``<name>.eaf``          a project's proposals and coders' tiers
``coded-boris``  coded     ``<name>_boris.xlsx``   the same as a BORIS import sheet
``coded-csv``    coded     ``<name>.csv``          one row per event and rater (:mod:`.coded_events`)
``coded-json``   coded     ``<name>.json``         the same as JSON
===============  ========  ======================  ==========================================

A new format is one module here that calls :func:`register` and is imported below.
"""

# isort: off  (the order of registration is the order of the app's file-type choices)
from . import frames_csv, elan, boris, events_table, summary_plot, coded_events  # noqa: F401  (each registers its writers)
# isort: on
from .events_table import EVENT_COLUMNS, event_records
from .frames_csv import frame_columns, frame_row, frames_csv_stream, write_frames_csv
from .registry import CodedEvent, ExportData, Writer, register, write, writer, writer_for_path, writers

__all__ = ["EVENT_COLUMNS", "CodedEvent", "ExportData", "Writer", "event_records", "frame_columns", "frame_row", "frames_csv_stream",
           "register", "write", "write_frames_csv", "writer", "writer_for_path", "writers"]
