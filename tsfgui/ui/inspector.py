"""The attention inspector: what the model compared for one frame, and where it looked.

:class:`InspectorWorker` (its own thread and copy of the source; the session's one model) rebuilds the exact
aligned crops of a frame and of its reference from the stored alignment matrices, and computes the
difference image and the heatmaps: Grad-CAM on the fused map, attention rollout, and the attention
received in every layer and head of the spatial branch. :class:`InspectorPanel` shows them side by
side. :class:`Inspector` keeps one worker on the session's recording and model and coalesces the
requests: while one frame is computed only the newest wish is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from tsfgui.engine import FrameResult
from tsfgui.face import warp_crop
from tsfgui.io import SourceError, open_source
from tsfgui.engine.difference import difference_map
from tsfgui.model.explain import HEATMAP_KINDS, explain
from tsfgui.session import ModelService, Session

from .threads import SourceWorker, start_worker, stop_worker


@dataclass
class InspectRequest:
    """One frame to inspect: its result and its reference frame's result (both carry the matrices)."""

    result: FrameResult
    reference: FrameResult


@dataclass
class Inspection:
    """What the panel shows for one frame (RGB crops, a difference image in grey levels, heatmaps
    in [0, 1] at the model's 14×14 resolution)."""

    index: int
    reference_index: int
    crop: np.ndarray
    reference_crop: np.ndarray
    difference: np.ndarray
    heatmaps: dict[str, np.ndarray]


class InspectorWorker(SourceWorker):
    """Computes :class:`Inspection` objects off the UI thread."""

    inspected = Signal(object)  # Inspection

    def __init__(self, target: str, fps: float | None, models: ModelService):
        super().__init__()
        self._target, self._fps, self._models = target, fps, models
        self._model = None

    @Slot()
    def work(self) -> None:
        try:
            self._source = open_source(self._target, fps=self._fps)
            self._model = self._models.get()
        except Exception as exc:  # shown in the panel; the app keeps running
            self.failed.emit(str(exc))

    @Slot(object)
    def inspect(self, request: InspectRequest) -> None:
        """Answer every request with :attr:`inspected` or :attr:`failed`, whatever goes wrong, so the
        window always knows this request is over and the next one is computed."""
        if self._source is None:
            self.failed.emit("The inspector has no video open (see the error above).")
            return
        try:
            self.inspected.emit(self._compute(request))
        except SourceError as exc:
            self.failed.emit(f"Frame {request.result.index} cannot be inspected: {exc}")
        except Exception as exc:  # noqa: BLE001 (torch, OpenCV, a damaged result: shown, the next request works)
            self.failed.emit(f"Frame {request.result.index} cannot be inspected: {type(exc).__name__}: {exc}")

    def _compute(self, request: InspectRequest) -> Inspection:
        face, ref_face = request.result.face, request.reference.face
        crop = warp_crop(self._source.read(request.result.index).image, face.matrix, face.size)
        ref_crop = warp_crop(self._source.read(request.reference.index).image, ref_face.matrix, ref_face.size)
        heatmaps: dict[str, np.ndarray] = {}
        if self._model is not None:
            import torch

            with torch.inference_mode():
                onset, apex = self._model.preprocess([ref_crop]), self._model.preprocess([crop])
                maps = explain(self._model, onset, apex, (*HEATMAP_KINDS, "layers"))
            order = ("gradcam", "rollout", "attention")  # the panel's order: the three, then every layer and head
            heatmaps = {kind: maps[kind][0] for kind in order}
            heatmaps.update((kind, values[0]) for kind, values in maps.items() if kind not in order)
        return Inspection(request.result.index, request.reference.index, cv2.cvtColor(crop, cv2.COLOR_BGR2RGB),
                          cv2.cvtColor(ref_crop, cv2.COLOR_BGR2RGB), difference_map(ref_crop, crop) * 255.0, heatmaps)



HEATMAP_LUT = pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256)


COLUMNS = 5  # fifteen images in three rows: each stays visible in a small dock


def short_caption(name: str) -> str:
    """A grid caption: "layer 1 head 2" → "L1 H2", "reference (onset)" → "onset", others as they are."""
    name = {"reference (onset)": "onset", "current (apex)": "apex"}.get(name, name)
    return name.replace("layer ", "L", 1).replace(" head ", " H", 1) if name.startswith("layer ") else name


class InspectorPanel(QWidget):
    """Grid of images: reference (onset), current (apex), difference, then every heatmap."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel("Step to an analysed frame to see what the model compared.")
        self.caption.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        self.view.ci.layout.setSpacing(2)
        self.view.ci.setContentsMargins(2, 2, 2, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)
        self.items: dict[str, pg.ImageItem] = {}
        self.shown: Inspection | None = None

    def _item(self, name: str, position: int) -> pg.ImageItem:
        if name not in self.items:
            row, col = divmod(position, COLUMNS)
            box = self.view.addViewBox(row=row * 2 + 1, col=col, lockAspect=True, invertY=True, enableMouse=False)
            self.view.addLabel(short_caption(name), row=row * 2, col=col, size="8pt")
            grid = self.view.ci.layout  # captions one line high; the images take the rest of the height
            grid.setRowMaximumHeight(row * 2, 16)
            grid.setRowStretchFactor(row * 2, 0)
            grid.setRowStretchFactor(row * 2 + 1, 1)
            item = pg.ImageItem(axisOrder="row-major")
            box.addItem(item)
            self.items[name] = item
        return self.items[name]

    def show_inspection(self, inspection: Inspection) -> None:
        self.shown = inspection
        self.caption.setText(f"Frame {inspection.index} compared with its reference frame {inspection.reference_index}.")
        images = [("reference (onset)", inspection.reference_crop, (0, 255), None),
                  ("current (apex)", inspection.crop, (0, 255), None),
                  ("difference", inspection.difference, (0, max(8.0, float(inspection.difference.max()))), HEATMAP_LUT)]
        images += [(name, heat, (0, 1), HEATMAP_LUT) for name, heat in inspection.heatmaps.items()]
        for position, (name, image, levels, lut) in enumerate(images):
            item = self._item(name, position)
            item.setImage(image, autoLevels=False, levels=levels, lut=lut)
            item.getViewBox().autoRange(padding=0)

    def show_message(self, text: str) -> None:
        self.caption.setText(text)


class Inspector(QObject):
    """The inspection of the frame shown: a worker on the session's recording and model (restarted
    when either changes), the newest request waiting while one is computed, the answer shown in the
    panel. :attr:`inspection` is the last one computed; :attr:`shown` says its frame,
    :attr:`changed` that it changed (the video's heatmap overlay follows it)."""

    requested = Signal(object)  # an InspectRequest, to the worker
    shown = Signal(int)
    changed = Signal()

    def __init__(self, session: Session, panel: InspectorPanel, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.panel = session, panel
        self.inspection: Inspection | None = None
        self.index = -1  # the frame whose inspection is wanted
        self.busy = False  # a request is being computed
        self._wanted: int | None = None
        self._worker = self._thread = None
        self._for: tuple | None = None  # the recording and model the worker was started on
        self.threads: list[QThread] = []
        session.reset.connect(self._follow_session)

    def _follow_session(self) -> None:
        session = self.session
        wanted = None if session.live or session.path is None else (session.path, session.fps, session.models)
        if wanted == self._for:
            return
        self.stop()
        self._for, self.inspection = wanted, None
        self.changed.emit()
        if wanted is None:
            return
        self._worker, self._thread = start_worker(InspectorWorker, str(session.path), session.fps, session.models,
                                                  connect={"inspected": self._inspected, "failed": self._failed})
        self.threads = [t for t in self.threads if not t.isFinished()] + [self._thread]
        self.requested.connect(self._worker.inspect)

    def stop(self) -> None:
        """End the worker (it finishes its request first; nothing waits for it here: :attr:`threads`
        has the thread of every worker started so far, to wait for elsewhere)."""
        if self._worker is not None:
            self.requested.disconnect(self._worker.inspect)
            stop_worker(self._worker, self._thread, wait=False)
        self._worker = self._thread = self._for = None
        self.busy, self._wanted = False, None

    def request(self, index: int) -> None:
        """Compute crops and heatmaps of frame ``index`` (if analysed); only the newest wish waits."""
        self.index = index
        results = self.session.results
        result = results.get(index)
        if self._worker is None or result is None or result.reference_index is None:
            return
        reference = results.get(result.reference_index)
        if reference is None or reference.face is None:
            return
        if self.busy:
            self._wanted = index
            return
        self.busy = True
        self.requested.emit(InspectRequest(result, reference))

    def _inspected(self, inspection: Inspection) -> None:
        if self.sender() is not self._worker:
            return  # a replaced worker's last answer
        self.busy = False
        self.inspection = inspection
        self.panel.show_inspection(inspection)
        self.changed.emit()
        self.shown.emit(inspection.index)
        if self._wanted is not None and self._wanted != inspection.index:
            wanted, self._wanted = self._wanted, None
            self.request(wanted)
        elif inspection.index != self.index:
            self.request(self.index)

    def _failed(self, message: str) -> None:
        if self.sender() is not self._worker:
            return
        self.busy = False
        self.inspection = None
        self.panel.show_message(message)
        self.changed.emit()
        if self._wanted is not None:  # a newer wish waited behind the failed one
            wanted, self._wanted = self._wanted, None
            self.request(wanted)
