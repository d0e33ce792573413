"""Live mode: a camera shown at its own rate while the session analyses the newest frame each time."""

from __future__ import annotations

from typing import Callable

import cv2
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QInputDialog, QLabel

from tsfgui.io import FrameSource, WebcamSource, list_cameras
from tsfgui.session import Session

from .player import PlayerWindow


class LiveController:
    """Opens live sources in ``window`` (its player shows the frames) through ``session`` (which
    analyses them), and finds the cameras for File › Open webcam. ``rate_label`` shows the camera's
    and the analysis' frame rates and the frames dropped."""

    def __init__(self, session: Session, window: PlayerWindow, rate_label: QLabel):
        self.session, self.window, self.rate_label = session, window, rate_label
        self.shown = -1  # the index of the camera frame on screen
        self._frame = None  # the newest camera frame (index, ts, RGB), written by the reader thread
        self._opened_with: tuple[Callable[[], FrameSource], bool] | None = None  # what open() was given last
        self._timer = QTimer(window)
        self._timer.timeout.connect(self._show_frame)
        session.reset.connect(self._follow_session)
        session.opened.connect(self._opened)

    def open(self, make_source: Callable[[], FrameSource], *, realtime: bool = False) -> None:
        """Show a live source (a camera) at its own rate and analyse the newest frame each time.

        ``make_source`` runs in the session's task; ``realtime`` paces a file at its frame rate (a
        stand-in camera for demos and tests)."""
        w = self.window
        w.stop_reader(wait=False)
        w.info, w.current = None, -1
        w.slider.setEnabled(False)
        w.play_button.setEnabled(False)
        self._frame, self.shown = None, -1
        self._opened_with = (make_source, realtime)
        self.session.open_live(make_source, realtime=realtime, on_frame=self._on_frame)
        self._timer.start(10)

    def restart(self) -> None:
        """Open the live source again (another model, or the model on every frame switched): nothing
        when live mode is not on."""
        if self.session.live and self._opened_with is not None:
            make_source, realtime = self._opened_with
            self.open(make_source, realtime=realtime)

    def _follow_session(self) -> None:
        if not self.session.live and self._timer.isActive():  # a file was opened: live mode ends
            self.stop()

    def stop(self) -> None:
        """Stop showing camera frames (the session's task is cancelled by whoever ends live mode)."""
        self._timer.stop()
        self.window.play_button.setEnabled(True)

    def _opened(self, info) -> None:
        if self.session.live:
            self.window.info = info
            self.window.setWindowTitle(f"tsfgui — {info.name} (live)")
            how = "model on every frame" if self.session.per_frame_model else "model on spotted events"
            self.window.statusBar().showMessage(f"Live, {how}")

    def _on_frame(self, frame) -> None:  # runs in the reader thread: convert there, hand over by reference
        self._frame = (frame.index, frame.timestamp_ms, cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))

    def _show_frame(self) -> None:
        latest = self._frame
        if latest is None or latest[0] == self.shown:
            return
        index, timestamp_ms, rgb = latest
        self.shown = index
        self.window.show_frame(index, timestamp_ms, rgb)
        camera, analysis, dropped = self.session.live_stats
        self.window.position_label.setText(f"live · {timestamp_ms / 1000:.1f} s")
        self.rate_label.setText(f"camera {camera:.1f} fps · analysis {analysis:.1f} fps · dropped {dropped}")

    def ask_webcam(self, lister: Callable[[], list[int]] = list_cameras) -> None:
        """List the cameras that open (in a session task), then let the person choose one; a failed
        listing is said in the error bar."""
        self.window.statusBar().showMessage("Looking for cameras …")

        def failed(exc: BaseException) -> str:
            self.window.statusBar().clearMessage()
            return (f"Cannot look for cameras: {exc}. Check that the camera driver works and that this "
                    "program may use the camera, then try File › Open webcam again.")

        self.session.run("camera search", lambda token: lister(), self._choose_camera, describe_error=failed)

    def _choose_camera(self, cameras: list[int]) -> None:
        self.window.statusBar().clearMessage()
        if not cameras:
            self.session.report_error("No camera found: none of the first cameras opened. Connect one, close other "
                                      "programs that use it, and check the system's camera permission.")
            return
        names = [f"camera {i}" for i in cameras]
        name, ok = QInputDialog.getItem(self.window, "Open webcam", "Camera:", names, 0, False)
        if ok:
            index = cameras[names.index(name)]
            self.open(lambda: WebcamSource(index))
