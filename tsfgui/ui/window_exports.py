"""File › Export of the main window: per-frame CSV and spotted events through the export registry,
a snapshot of the video view, the signal plots (PNG or SVG)."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMainWindow, QWidget

from tsfgui import export
from tsfgui.session import Session

#: File › Export spotted events: one filter per events format of the registry.
EVENT_FILTERS = ";;".join(w.dialog_filter for w in export.writers("events"))


class ExportController:
    """Writes what ``session`` holds, and pictures of ``view`` and ``plots``; messages go to the
    status bar of ``window``, failures to the session's errors (the red bar)."""

    def __init__(self, session: Session, window: QMainWindow, view: QWidget, plots: QWidget):
        self.session, self.window, self.view, self.plots = session, window, view, plots

    def _say(self, message: str, timeout_ms: int = 0) -> None:
        self.window.statusBar().showMessage(message, timeout_ms)

    def frames_csv(self, path: str) -> int:
        """Write the per-frame results analysed so far (frame order); returns the row count."""
        results = self.session.results
        names = next((r.class_names for r in results.values() if r.class_names), ())  # per-frame classes only
        rows = export.write_frames_csv((results[i] for i in sorted(results)), path, names)
        self._say(f"Wrote {rows} frames to {path}" + ("" if self.session.analysed else
                                                      " (analysis still running: partial)"))
        return rows

    def events(self, path: str) -> int:
        """Write the spotted intervals: ``.eaf`` (ELAN, linked to the video), ``.xlsx`` (BORIS import),
        ``.json`` or ``.csv`` by the file extension; returns how many intervals were written."""
        session = self.session
        if session.live and not session.events:
            self._say("No event spotted on the camera yet; export them when the Events tab lists some.", 10_000)
            return 0
        if not session.live and not session.events_ready:
            self._say("Spotted intervals are not ready yet (the analysis or the spotting is still running); "
                      "export them when the Events tab lists them.", 10_000)
            return 0
        try:
            writer = export.writer_for_path(path, "events")
        except ValueError as exc:
            session.report_error(f"{str(exc)[0].upper()}{str(exc)[1:]}.")
            return 0
        media = session.path if session.path is not None and session.path.is_file() else None
        writer.write(Path(path), export.ExportData(fps=session.events_fps, events=session.events, media=media))
        self._say(f"Wrote {len(session.events)} spotted intervals to {path}"
                  + (" (the camera's events so far)" if session.live else ""))
        return len(session.events)

    def snapshot(self, path: str) -> None:
        """Save the video view with its overlays as shown."""
        if not self.view.grab().save(path):
            self.session.report_error(f"Cannot write the snapshot to '{path}' (check the folder and the file extension).")

    def plot(self, path: str) -> None:
        """Save the signal plots as PNG or SVG (by the file extension), as they are shown."""
        widget = self.plots
        if path.lower().endswith(".svg"):
            from PySide6.QtSvg import QSvgGenerator

            generator = QSvgGenerator()
            generator.setFileName(path)
            generator.setSize(widget.size())
            generator.setViewBox(widget.rect())
            generator.setTitle("tsfgui signals")
            widget.render(generator)  # vector output: curves and text stay sharp at any size
        elif not widget.grab().save(path):
            self.session.report_error(f"Cannot write the plot to '{path}' (check the folder and the file extension).")

    def ask_save(self, title: str, filters: str, save) -> None:
        """Ask for a file name (the chosen type's suffix added when none is typed), then ``save(path)``."""
        path, chosen = QFileDialog.getSaveFileName(self.window, title, "", filters)
        if path and not Path(path).suffix:  # "interview" with "ELAN annotation (*.eaf)" chosen → interview.eaf
            match = re.search(r"\*(\.\w+)", chosen or filters)
            if match:
                path += match.group(1)
        if path:
            try:
                save(path)
            except OSError as exc:
                self.session.report_error(f"Cannot write '{path}': {exc.strerror or exc}.")
