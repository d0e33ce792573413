"""Analysing the rest of a project in the background: ``tsfgui project analyze`` in a child process.

A separate process keeps the window fluid (the analysis holds Python's GIL for long stretches) and
makes pausing safe: pausing ends the process; resuming starts it again, and the command skips every
recording already analysed with the same weights and settings (it is resumable by design).
"""

from __future__ import annotations

import re
import sys

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

_PROGRESS = re.compile(r"([^\r\n:|]+):\s+(\d+)%\|[^\r\n]*?(\d+)/(\d+)")


def analyze_command(project: str, weights: str | None) -> list[str]:
    """The command line of ``tsfgui project analyze`` for this interpreter or the standalone bundle."""
    args = ["project", "analyze", project] + (["--weights", weights] if weights else [])
    if getattr(sys, "frozen", False):  # the pyinstaller bundle: its executable is the CLI
        return [sys.executable, *args]
    return [sys.executable, "-c", "import sys; from tsfgui.cli import main; sys.exit(main(sys.argv[1:]))", *args]


class ProjectAnalysis(QObject):
    """Runs, pauses and resumes the analysis of a project; reports progress and the outcome."""

    progress = Signal(str, int)  # what is being analysed, percent
    finished = Signal(bool, str)  # completed (not paused or failed), last lines of its output

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: QProcess | None = None
        self._paused = False
        self._tail = ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, project: str, weights: str | None) -> None:
        """Analyse every recording of ``project`` that has no run with these weights yet."""
        if self.running:
            return
        self._paused = False
        self._tail = ""
        command = analyze_command(project, weights)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self.process.start(command[0], command[1:])

    def pause(self, kill_after_ms: int = 5000) -> None:
        """Ask the process to end (returns at once; :attr:`finished` says "paused" when it has, and it is
        killed if it has not within ``kill_after_ms``); :meth:`start` resumes where it stopped (finished
        recordings are kept)."""
        if self.running:
            self._paused = True
            process = self.process
            process.terminate()
            QTimer.singleShot(kill_after_ms, process, lambda: process.state() != QProcess.ProcessState.NotRunning
                              and process.kill())

    def _read(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self._tail = (self._tail + text)[-4000:]
        matches = [m for m in _PROGRESS.finditer(text) if m.group(1).strip() != "all inputs"]
        if matches:
            m = matches[-1]
            self.progress.emit(m.group(1).strip(), int(m.group(2)))

    def _finished(self, code: int, _status) -> None:
        lines = [line for line in re.split(r"[\r\n]+", self._tail) if line.strip()]
        message = "paused" if self._paused else "\n".join(lines[-3:])
        self.finished.emit(code == 0 and not self._paused, message)
