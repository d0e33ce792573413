"""The event looper widget: the event's window looping slowly, the frame beside its aligned face crop
and that crop with its motion magnified.

Decoding, alignment and magnification run in an :class:`EventClipWorker` thread; this widget only
draws frames it already holds, from a timer on the GUI thread, so looping never blocks the window.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QElapsedTimer, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from tsfgui.engine.event_loop import DEFAULT_SPEED, EventClip, EventWindow, LoopClock, OnsetAligner
from tsfgui.engine.magnify import MagnificationCache, MagnifySettings

from ..threads import start_worker, stop_worker
from .clip_worker import EventClipWorker, RequestIds

#: Loop speeds offered, as fractions of real time.
LOOP_SPEEDS = (0.1, 0.25, 0.5, 1.0)
#: Range of the magnification factor slider.
FACTOR_RANGE = (5, 30)
DEFAULT_FACTOR = 10


class EventView(QWidget):
    """Loops one event at a time: ``show_event(key, window)``; ``current_frame`` is the frame on screen."""

    frameShown = Signal(int)  # frame index of the recording
    clipShown = Signal()  # the new event's frames arrived
    magnifiedShown = Signal(float)  # magnified crops arrived, with this factor
    heatmapShown = Signal(str)  # the event's heatmap arrived (the class it explains), or why there is none
    failed = Signal(str)
    _load = Signal(int, object, object, object)
    _magnify = Signal(int, object)
    _explain = Signal(int, object)

    def __init__(self, parent: QWidget | None = None, cache: MagnificationCache | None = None, tick_ms: int = 15):
        super().__init__(parent)
        self.cache = cache or MagnificationCache()
        self._ids = RequestIds()
        self._aligner = OnsetAligner()
        self._worker: EventClipWorker | None = None
        self._thread = None
        self._request = 0
        self._event_key: object = None
        self.window: EventWindow | None = None
        self.clip: EventClip | None = None
        self.magnified: np.ndarray | None = None
        self.heatmap: np.ndarray | None = None
        self.model_service = None
        self.clock: LoopClock | None = None
        self.position = 0
        self._elapsed = QElapsedTimer()
        self._elapsed_base = 0.0

        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(220)
        self._boxes: list[pg.ViewBox] = []
        self.frame_item, self.crop_item, self.magnified_item = (self._pane(title, col) for col, title in
                                                               enumerate(("frame", "aligned face", "magnified face")))
        for column, stretch in enumerate((4, 3, 3)):  # a 4:3 frame beside two square crops
            self.view.ci.layout.setColumnStretchFactor(column, stretch)
            self.view.ci.layout.setColumnPreferredWidth(column, 100 * stretch)
        self.heatmap_item = pg.ImageItem(axisOrder="row-major")
        self.heatmap_item.setLookupTable(pg.colormap.get("inferno").getLookupTable(nPts=256))
        self.heatmap_item.setOpacity(0.5)
        self.heatmap_item.setZValue(10)
        self._boxes[1].addItem(self.heatmap_item)
        self.play_button = QPushButton("Pause")
        self.play_button.setCheckable(True)
        self.play_button.setChecked(True)
        self.play_button.setToolTip("Play / pause the loop (Space)")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.speed_box = QComboBox()
        for speed in LOOP_SPEEDS:
            self.speed_box.addItem(f"{speed:g}×", speed)
        self.speed_box.setCurrentIndex(LOOP_SPEEDS.index(DEFAULT_SPEED))
        self.speed_box.setToolTip("Loop speed (a fraction of real time)")
        self.speed_box.currentIndexChanged.connect(lambda _: self.set_speed(self.speed_box.currentData()))
        self.magnify_box = QCheckBox("Magnify motion")
        self.magnify_box.setToolTip("Eulerian motion magnification of the aligned face (M)")
        self.magnify_box.toggled.connect(self._on_magnify_toggled)
        self.factor_slider = QSlider(Qt.Orientation.Horizontal)
        self.factor_slider.setRange(*FACTOR_RANGE)
        self.factor_slider.setValue(DEFAULT_FACTOR)
        self.factor_slider.setMaximumWidth(160)
        self.factor_slider.setToolTip("Magnification factor")
        self.factor_slider.valueChanged.connect(self._on_factor_changed)
        self.factor_label = QLabel(f"×{DEFAULT_FACTOR}")
        self.heatmap_box = QCheckBox("Heatmap")
        self.heatmap_box.setToolTip("Grad-CAM of the model on the event's onset and apex, over the aligned face (H)")
        self.heatmap_box.toggled.connect(self._on_heatmap_toggled)
        self.position_label = QLabel("no event")
        controls = QHBoxLayout()
        for widget in (self.play_button, self.speed_box, self.magnify_box, self.factor_slider, self.factor_label,
                       self.heatmap_box):
            controls.addWidget(widget)
        controls.addWidget(self.position_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(controls)

        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)

    def _pane(self, title: str, column: int) -> pg.ImageItem:
        box = self.view.addViewBox(row=0, col=column, lockAspect=True, invertY=True, enableMouse=False)
        self.view.addLabel(title, row=1, col=column)
        item = pg.ImageItem(axisOrder="row-major")
        box.addItem(item)
        self._boxes.append(box)
        return item

    # -- the recording and the event ---------------------------------------------------------
    def open_recording(self, target: str, fps: float | None = None) -> None:
        """Start a worker on ``target`` (a video file or frame folder); the previous one is stopped."""
        self.close_recording()
        self._worker, self._thread = start_worker(
            EventClipWorker, target, self._ids, self.cache, self._aligner, fps,
            connect={"clipReady": self._on_clip, "magnifiedReady": self._on_magnified, "failed": self._on_failed,
                     "heatmapReady": self._on_heatmap})
        self._load.connect(self._worker.load)
        self._magnify.connect(self._worker.magnify)
        self._explain.connect(self._worker.explain)

    def close_recording(self, wait: bool = False) -> QThread | None:
        """Stop the worker and forget the event; returns the worker's thread (None if there was none),
        ended when ``wait`` (the window waits for it in a helper thread when it closes)."""
        self._timer.stop()
        self._ids.next()
        thread = self._thread
        if self._worker is not None:
            stop_worker(self._worker, self._thread, wait=wait)
        self._worker = self._thread = None
        self.window = self.clip = self.magnified = self.heatmap = self.clock = None
        for item in (self.frame_item, self.crop_item, self.magnified_item, self.heatmap_item):
            item.clear()
        self.position_label.setText("no event")
        return thread

    def show_event(self, event_key: object, window: EventWindow) -> None:
        """Loop ``window``; ``event_key`` names the event for the magnification cache."""
        if self._worker is None:
            raise RuntimeError("open a recording before showing an event")
        self._request = self._ids.next()
        self._event_key = (event_key, window.start, window.stop, window.onset)
        self.window, self.clip, self.magnified, self.heatmap = window, None, None, None
        self.heatmap_item.clear()
        self.clock = LoopClock(window, self.speed)
        self.position = window.onset - window.start
        self.position_label.setText(f"loading frames {window.start}…{window.stop - 1}…")
        self._load.emit(self._request, self._event_key, window, self.settings)

    @property
    def speed(self) -> float:
        """Loop speed."""
        return float(self.speed_box.currentData())

    def set_speed(self, speed: float) -> None:
        """Change the loop speed, keeping the frame on screen."""
        if speed in LOOP_SPEEDS and speed != self.speed:
            self.speed_box.setCurrentIndex(LOOP_SPEEDS.index(speed))
            return
        if self.clock is not None:
            self.clock.speed = speed
            self._restart_at(self.position)

    @property
    def settings(self) -> MagnifySettings | None:
        """The magnification asked for, None when it is off."""
        if not self.magnify_box.isChecked():
            return None
        return MagnifySettings(factor=float(self.factor_slider.value()))

    def set_magnification(self, enabled: bool, factor: float | None = None) -> None:
        """Turn magnification on or off, optionally with a factor."""
        if factor is not None:
            self.factor_slider.setValue(int(round(factor)))
        self.magnify_box.setChecked(enabled)

    @property
    def current_frame(self) -> int | None:
        """The recording's frame on screen (None before an event is shown)."""
        return None if self.window is None else self.window.start + self.position

    @property
    def playing(self) -> bool:
        return self.play_button.isChecked()

    def set_playing(self, playing: bool) -> None:
        self.play_button.setChecked(playing)

    def go_to(self, frame: int) -> None:
        """Pause on ``frame`` of the recording (clipped to the window)."""
        if self.window is None:
            return
        self.set_playing(False)
        self._show(min(max(frame, self.window.start), self.window.stop - 1) - self.window.start)

    def step(self, delta: int) -> None:
        """Pause and move ``delta`` frames within the window (wraps)."""
        if self.window is None:
            return
        self.set_playing(False)
        self._show((self.position + delta) % len(self.window))

    # -- worker replies ----------------------------------------------------------------------
    def _on_clip(self, request_id: int, clip: EventClip) -> None:
        if request_id != self._request:
            return
        self.clip = clip
        self.crop_item.setVisible(clip.crops is not None)
        frame_h, frame_w = clip.frames.shape[1:3]
        crop = clip.crops.shape[1] if clip.crops is not None else 224
        for box, (w, h) in zip(self._boxes, ((frame_w, frame_h), (crop, crop), (crop, crop))):
            box.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)
        self.clipShown.emit()
        self._restart_at(self.position)
        self._show(self.position)
        if self.playing:
            self._timer.start()
        if self.heatmap_box.isChecked():
            self._ask_heatmap()

    def _on_magnified(self, request_id: int, frames: np.ndarray, settings: MagnifySettings) -> None:
        if request_id != self._request or settings != self.settings:
            return
        self.magnified = frames
        self._show(self.position)
        self.magnifiedShown.emit(settings.factor)

    def _on_heatmap(self, request_id: int, heatmap: np.ndarray | None, explained: str) -> None:
        if request_id != self._request or not self.heatmap_box.isChecked():
            return
        self.heatmap = heatmap
        if heatmap is None:
            self.heatmap_item.clear()
            self.heatmap_box.setToolTip(f"no heatmap: {explained}")
        else:
            self.heatmap_item.setImage(heatmap, autoLevels=False, levels=(0.0, 1.0))
            self.heatmap_box.setToolTip(f"Grad-CAM of '{explained}' on the event's onset and apex (H)")
        self.heatmapShown.emit(explained)

    def set_model_service(self, service) -> None:
        """The model that explains events (a :class:`tsfgui.session.ModelService`, or None)."""
        self.model_service = service

    def _on_heatmap_toggled(self, enabled: bool) -> None:
        self.heatmap_item.setVisible(enabled)
        if enabled and self.heatmap is None:
            self._ask_heatmap()

    def _ask_heatmap(self) -> None:
        if self.clip is None or self._worker is None:
            return
        if self.model_service is None:
            self._on_heatmap(self._request, None, "no model for this recording")
            return
        self._explain.emit(self._request, self.model_service)

    def _on_failed(self, message: str) -> None:
        self.position_label.setText(message)
        self.failed.emit(message)

    # -- controls ------------------------------------------------------------------------------
    def _on_play_toggled(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing and self.clip is not None:
            self._restart_at(self.position)
            self._timer.start()
        else:
            self._timer.stop()

    def _on_magnify_toggled(self, enabled: bool) -> None:
        self.magnified = None
        self.magnified_item.clear()
        if enabled:
            self._ask_magnified()
        self._show(self.position)

    def _on_factor_changed(self, value: int) -> None:
        self.factor_label.setText(f"×{value}")
        if self.magnify_box.isChecked():
            self._ask_magnified()

    def _ask_magnified(self) -> None:
        if self.window is None or self._worker is None:
            return
        self._request = self._ids.next()
        if self.clip is None:  # still loading: load again with the new settings
            self._load.emit(self._request, self._event_key, self.window, self.settings)
        else:
            self._magnify.emit(self._request, self.settings)
            if self.heatmap_box.isChecked() and self.heatmap is None:
                self._ask_heatmap()  # a heatmap in flight was overtaken by this request

    # -- drawing -------------------------------------------------------------------------------
    def _restart_at(self, position: int) -> None:
        if self.clock is None:
            return
        self._elapsed_base = position / (self.clock.window.fps * self.clock.speed)
        self._elapsed.restart()

    def _tick(self) -> None:
        if self.clock is None or self.clip is None:
            return
        position = self.clock.position(self._elapsed_base + self._elapsed.elapsed() / 1000.0)
        if position != self.position:
            self._show(position)

    def _show(self, position: int) -> None:
        self.position = position
        if self.clip is None or self.window is None:
            return
        levels = (0, 255)
        self.frame_item.setImage(self.clip.frames[position][..., ::-1], autoLevels=False, levels=levels)
        if self.clip.crops is not None:
            self.crop_item.setImage(self.clip.crops[position][..., ::-1], autoLevels=False, levels=levels)
        if self.magnified is not None:
            self.magnified_item.setImage(self.magnified[position][..., ::-1], autoLevels=False, levels=levels)
        self.position_label.setText(self._describe(self.window.start + position))
        self.frameShown.emit(self.window.start + position)

    def _describe(self, index: int) -> str:
        w = self.window
        phase = {w.onset: "onset", w.apex: "apex", w.offset: "offset"}.get(index)
        if phase is None:
            phase = f"onset{index - w.onset:+d}"
        face = "" if self.clip is None or self.clip.crops is not None else " · no face on the onset frame"
        return f"frame {index} · {phase} · {index / w.fps:.2f} s{face}"

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.close_recording()
        super().closeEvent(event)
