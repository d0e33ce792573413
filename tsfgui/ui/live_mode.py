"""Live mode of the main window: a camera shown at its own rate, the newest frame analysed."""

from __future__ import annotations

import threading
from typing import Callable

import cv2
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QInputDialog

from tsfgui.io import FrameSource, WebcamSource, list_cameras

from .analysis_worker import start_live
from .threads import calling_relaying_errors


class LiveModeMixin:
    """Live sessions for :class:`~tsfgui.ui.main_window.MainWindow` (uses its widgets and workers)."""

    # --- live -------------------------------------------------------------------------------
    def open_live(self, make_source: Callable[[], FrameSource], *, realtime: bool = False) -> None:
        """Show a live source (a camera) at its own rate and analyse the newest frame each time.

        ``make_source`` runs in the worker; ``realtime`` paces a file at its frame rate (a stand-in
        camera for demos and tests)."""
        self._stop_analysis(wait=self.live)  # a camera is released before it is opened again
        self._stop_inspector()
        self._stop_reader()
        self._target = None
        self.info, self.current, self.results = None, -1, {}
        self.live, self._live_frame, self._live_shown = True, None, -1
        self.slider.setEnabled(False)
        self.play_button.setEnabled(False)
        self._set_error(None)
        self._generation += 1
        generation = self._generation
        self._live_stop = threading.Event()
        worker = start_live(make_source, self.models, policy=self.policy, realtime=realtime,
                            on_frame=self._on_live_frame, stop=self._live_stop)
        worker.yielded.connect(lambda message: self._on_live_message(generation, message))
        worker.errored.connect(lambda exc: self._on_worker_error(generation, exc))
        self._worker = worker
        if not hasattr(self, "_live_timer"):
            self._live_timer = QTimer(self)
            self._live_timer.timeout.connect(self._show_live_frame)
        self._live_timer.start(10)
        worker.start()

    def _on_live_frame(self, frame) -> None:  # runs in the reader thread: convert there, hand over by reference
        self._live_frame = (frame.index, frame.timestamp_ms, cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))

    def _show_live_frame(self) -> None:
        latest = self._live_frame
        if latest is None or latest[0] == self._live_shown:
            return
        index, timestamp_ms, rgb = latest
        self._live_shown = index
        self._on_frame(index, timestamp_ms, rgb)
        camera, analysis, dropped = self.live_stats
        self.position_label.setText(f"live · {timestamp_ms / 1000:.1f} s")
        self.rate_label.setText(f"camera {camera:.1f} fps · analysis {analysis:.1f} fps · dropped {dropped}")

    def _on_live_message(self, generation: int, message: tuple) -> None:
        if generation != self._generation:
            return
        kind = message[0]
        if kind == "opened":
            self.info = message[1]
            self.setWindowTitle(f"tsfgui — {self.info.name} (live)")
            self.plots.reset(0, self.info.fps, self.badge._names)
        elif kind == "live":
            _, result, camera, analysis, dropped = message
            self.live_stats = (camera, analysis, dropped)
            self.results = {result.index: result}  # live keeps only the newest result
            if result.class_names and not self.badge._names:
                self._classes_known(result.class_names)
            self.plots.add_results([result])
            t = result.timestamp_ms / 1000.0
            self.plots.diff_plot.setXRange(max(0.0, t - 10.0), t + 0.5, padding=0)
            self.badge.show_prediction(result.probabilities, result.status)
            self._draw_face(result.face)
        else:
            self._on_message(generation, message)

    def _end_live(self) -> None:
        if self.live:
            self._stop_analysis(wait=True)
            self._live_timer.stop()
            self.live = False
            self.play_button.setEnabled(True)

    def _ask_webcam(self, lister: Callable[[], list[int]] = list_cameras) -> None:
        """List the cameras that open (in a worker), then let the person choose one; a failed listing
        is said in the error bar."""
        self.statusBar().showMessage("Looking for cameras …")
        from superqt.utils import thread_worker

        worker = thread_worker(calling_relaying_errors, start_thread=False, ignore_errors=True)(lister)
        worker.returned.connect(self._choose_camera)
        worker.errored.connect(self._camera_listing_failed)
        worker.start()

    def _camera_listing_failed(self, exc: Exception) -> None:
        self.statusBar().clearMessage()
        self._set_error(f"Cannot look for cameras: {exc}. Check that the camera driver works and that this "
                        "program may use the camera, then try File › Open webcam again.")

    def _choose_camera(self, cameras: list[int]) -> None:
        self.statusBar().clearMessage()
        if not cameras:
            self._set_error("No camera found: none of the first cameras opened. Connect one, close other programs "
                            "that use it, and check the system's camera permission.")
            return
        names = [f"camera {i}" for i in cameras]
        name, ok = QInputDialog.getItem(self, "Open webcam", "Camera:", names, 0, False)
        if ok:
            index = cameras[names.index(name)]
            self.open_live(lambda: WebcamSource(index))
