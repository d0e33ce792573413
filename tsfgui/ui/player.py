"""A first window: plays a video or frame folder with play/pause, stepping and a timeline."""

from __future__ import annotations


import pyqtgraph as pg
from PySide6.QtCore import Qt, QThread, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QInputDialog, QLabel, QMainWindow, QPushButton, QSlider,
                               QVBoxLayout, QWidget)

from tsfgui.io import SourceInfo

from .frame_reader import FrameReader
from .threads import start_worker, stop_worker


#: Playback speeds offered (slow motion matters for 200 fps research footage).
SPEEDS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0)

#: Keyboard shortcuts, listed in the Help menu.
SHORTCUTS = (("Space", "play / pause"), ("← / →", "one frame back / forward"),
             ("Shift+← / Shift+→", "one second back / forward"), ("Home / End", "first / last frame"),
             ("Ctrl+G", "go to frame…"))


class PlayerWindow(QMainWindow):
    """Shows the frames of one source. Decoding happens in a :class:`FrameReader` thread."""

    frameShown = Signal(int)
    requestFrame = Signal(int)

    def __init__(self, target: str | None = None, fps: float | None = None):
        super().__init__()
        self.setWindowTitle("tsfgui")
        self.resize(960, 720)
        self.info: SourceInfo | None = None
        self.current = -1
        self.error: str | None = None
        self._in_flight = False
        self._wanted: int | None = None
        self._reader: FrameReader | None = None
        self._thread = None
        self._image: object | None = None
        self.reader_threads: list[QThread] = []

        self.view = pg.GraphicsLayoutWidget()
        self.viewbox = self.view.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.viewbox.addItem(self.image_item)

        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.back_button = QPushButton("◀ 1")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.forward_button = QPushButton("1 ▶")
        self.forward_button.clicked.connect(lambda: self.step(+1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self.seek)
        self.position_label = QLabel("no video")
        self.speed = QComboBox()
        for factor in SPEEDS:
            self.speed.addItem(f"{factor:g}×", factor)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("playback speed")
        self.speed.currentIndexChanged.connect(self._update_interval)

        controls = QHBoxLayout()
        for w in (self.play_button, self.back_button, self.forward_button):
            controls.addWidget(w)
        controls.addWidget(self.speed)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.position_label)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.view, 1)
        layout.addLayout(controls)
        self.setCentralWidget(central)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self.play_button.toggle)
        QShortcut(QKeySequence(Qt.Key.Key_Right), self, activated=lambda: self.step(+1))
        QShortcut(QKeySequence(Qt.Key.Key_Left), self, activated=lambda: self.step(-1))
        QShortcut(QKeySequence("Shift+Right"), self, activated=lambda: self.jump_seconds(+1))
        QShortcut(QKeySequence("Shift+Left"), self, activated=lambda: self.jump_seconds(-1))
        QShortcut(QKeySequence(Qt.Key.Key_Home), self, activated=lambda: self.seek(0))
        QShortcut(QKeySequence(Qt.Key.Key_End), self, activated=lambda: self.seek((self.info.frame_count or 1) - 1)
                  if self.info else None)
        QShortcut(QKeySequence("Ctrl+G"), self, activated=self.ask_frame)
        if target is not None:
            self.open(target, fps=fps)
        else:
            self.statusBar().showMessage("No video opened.")

    # --- source and worker -------------------------------------------------------------------
    def open(self, target: str, fps: float | None = None) -> None:
        """Open a video file or frame folder; decoding and errors are reported asynchronously."""
        self.stop_reader(wait=False)
        self.info, self.current, self.error = None, -1, None
        self.statusBar().showMessage(f"Opening {target} …")
        self._reader, self._thread = start_worker(
            FrameReader, str(target), fps,
            connect={"opened": self._reader_opened, "frameReady": self._reader_frame, "failed": self._reader_failed})
        self.reader_threads = [t for t in self.reader_threads if not t.isFinished()] + [self._thread]
        self.requestFrame.connect(self._reader.request)

    # what a replaced reader still sends (it ends on its own) is dropped
    def _reader_opened(self, info: SourceInfo) -> None:
        if self.sender() is self._reader:
            self._on_opened(info)

    def _reader_frame(self, index: int, timestamp_ms: float, rgb) -> None:
        if self.sender() is self._reader:
            self.show_frame(index, timestamp_ms, rgb)

    def _reader_failed(self, message: str) -> None:
        if self.sender() is self._reader:
            self._on_failed(message)

    def stop_reader(self, wait: bool = True) -> None:
        """Stop decoding (the reader thread ends on its own unless ``wait``; :attr:`reader_threads` has
        the thread of every reader started so far, to wait for elsewhere)."""
        if self._reader is None:
            return
        self.timer.stop()
        self.requestFrame.disconnect(self._reader.request)
        stop_worker(self._reader, self._thread, wait=wait)
        self._reader, self._thread = None, None
        self._in_flight, self._wanted = False, None

    def _on_opened(self, info: SourceInfo) -> None:
        self.info = info
        last = (info.frame_count or 1) - 1
        self.slider.blockSignals(True)
        self.slider.setRange(0, last)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(info.seekable)
        self._update_interval()
        self.setWindowTitle(f"tsfgui — {info.name}")
        self.statusBar().showMessage(f"{info.name}: {info.width}×{info.height}, {info.fps:g} fps, "
                                     f"{info.frame_count} frames")
        self.seek(0)

    def show_frame(self, index: int, timestamp_ms: float, rgb) -> None:
        """Show a decoded frame (from the reader, or a camera's in live mode)."""
        self._in_flight = False
        self.current = index
        self.image_item.setImage(rgb, autoLevels=False, levels=(0, 255))
        self.viewbox.autoRange(padding=0) if self._image is None else None
        self._image = rgb
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        total = self.info.frame_count if self.info else None
        self.position_label.setText(f"frame {index + 1}/{total} · {timestamp_ms / 1000:.2f} s")
        self.frameShown.emit(index)
        if self._wanted is not None and self._wanted != index:
            wanted, self._wanted = self._wanted, None
            self.seek(wanted)
        else:
            self._wanted = None

    def _on_failed(self, message: str) -> None:
        self._in_flight = False
        self.error = message
        self.play_button.setChecked(False)
        self.statusBar().showMessage(message)

    # --- navigation --------------------------------------------------------------------------
    def seek(self, index: int) -> None:
        """Show frame ``index``; while a frame is being decoded, only the latest wish is kept."""
        if self.info is None:
            return
        if self.info.frame_count is not None:
            index = max(0, min(index, self.info.frame_count - 1))
        if self._in_flight:
            self._wanted = index
            return
        self._in_flight = True
        self.requestFrame.emit(index)

    def step(self, delta: int) -> None:
        """Move ``delta`` frames from the current one."""
        self.seek(max(0, self.current) + delta)

    def jump_seconds(self, seconds: float) -> None:
        """Move by ``seconds`` of video time."""
        if self.info is not None:
            self.step(int(round(seconds * self.info.fps)))

    def ask_frame(self) -> None:
        """Ask for a frame number (1-based, as shown) and go there."""
        if self.info is None:
            return
        last = self.info.frame_count or 1
        number, ok = QInputDialog.getInt(self, "Go to frame", f"Frame (1–{last}):", self.current + 1, 1, last)
        if ok:
            self.seek(number - 1)

    def _update_interval(self) -> None:
        if self.info is not None:
            self.timer.setInterval(max(1, round(1000 / (self.info.fps * self.speed.currentData()))))

    def _on_play_toggled(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        self.timer.start() if playing and self.info else self.timer.stop()

    def _tick(self) -> None:
        if self.info is None or self._in_flight:
            return  # decoding is slower than the frame rate: play slower rather than queue
        if self.info.frame_count is not None and self.current >= self.info.frame_count - 1:
            self.play_button.setChecked(False)
            return
        self.step(+1)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self.stop_reader()
        super().closeEvent(event)
