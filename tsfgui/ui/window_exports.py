"""File › Export actions of the main window: per-frame CSV, snapshot of the view, the plots."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog


class ExportMixin:
    """Needs ``results``, ``analysis_done``, ``view``, ``plots`` and ``_set_error`` of the main window."""

    def export_csv(self, path: str) -> int:
        """Write the per-frame results analysed so far (frame order); returns the row count."""
        from tsfgui.export import write_frames_csv

        names = next((r.class_names for r in self.results.values() if r.class_names), ())
        rows = write_frames_csv((self.results[i] for i in sorted(self.results)), path, names)
        self.statusBar().showMessage(f"Wrote {rows} frames to {path}"
                                     + ("" if self.analysis_done else " (analysis still running: partial)"))
        return rows

    def save_snapshot(self, path: str) -> None:
        """Save the video view with its overlays as shown."""
        if not self.view.grab().save(path):
            self._set_error(f"Cannot write the snapshot to '{path}' (check the folder and the file extension).")

    def export_plot(self, path: str) -> None:
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
            self._set_error(f"Cannot write the plot to '{path}' (check the folder and the file extension).")

    def _ask_save(self, title: str, filters: str, save) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, title, "", filters)
        if path and not Path(path).suffix:  # "interview" with "ELAN annotation (*.eaf)" chosen → interview.eaf
            match = re.search(r"\*(\.\w+)", chosen or filters)
            if match:
                path += match.group(1)
        if path:
            try:
                save(path)
            except OSError as exc:
                self._set_error(f"Cannot write '{path}': {exc.strerror or exc}.")
