"""File › Export project: the project export command's formats, coder choice and ``--final``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPushButton, QWidget)

from tsfgui.project.exports import FORMATS

EVERYONE = "the tool and every coder"
FORMAT_NAMES = {"eaf": "ELAN (.eaf)", "boris": "BORIS", "csv": "CSV", "json": "JSON"}


class ExportDialog(QDialog):
    """Asks for a format, a folder, whose events and whether only the final ones."""

    def __init__(self, coders: list[str], coder: str, folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export project")
        self.format_box = QComboBox()
        for fmt in FORMATS:
            self.format_box.addItem(FORMAT_NAMES.get(fmt, fmt), fmt)
        self.folder = QLineEdit(str(folder))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.coder_box = QComboBox()
        self.coder_box.addItems([EVERYONE, *coders])
        self.coder_box.setCurrentText(coder)
        self.final = QCheckBox("only accepted, edited and added events (--final)")
        self.coder_box.currentTextChanged.connect(lambda text: self.final.setEnabled(text != EVERYONE))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("&Format", self.format_box)
        form.addRow("F&older", row)
        form.addRow("&Events of", self.coder_box)
        form.addRow(self.final)
        form.addRow(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def choice(self) -> tuple[str, Path, str | None, bool]:
        """(format, folder, coder or None for everyone, final)."""
        coder = self.coder_box.currentText()
        everyone = coder == EVERYONE
        return (self.format_box.currentData(), Path(self.folder.text()), None if everyone else coder,
                self.final.isChecked() and not everyone)
