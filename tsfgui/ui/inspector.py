"""The attention inspector: what the model compared for one frame, and where it looked.

:class:`InspectorWorker` (its own thread and copy of the source; the session's one model) rebuilds the exact
aligned crops of a frame and of its reference from the stored alignment matrices, and computes the
difference image and the heatmaps: Grad-CAM on the fused map, attention rollout, and the attention
received in every layer and head of the spatial branch. :class:`InspectorPanel` shows them side by
side. Requests are coalesced: while one frame is computed only the newest wish is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from tsfgui.engine import FrameResult
from tsfgui.face import warp_crop
from tsfgui.io import SourceError, open_source
from tsfgui.engine.difference import difference_map
from tsfgui.model.explain import HEATMAP_KINDS, explain
from tsfgui.session import ModelService

from .threads import SourceWorker


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


class InspectorPanel(QWidget):
    """Grid of images: reference (onset), current (apex), difference, then every heatmap."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel("Step to an analysed frame to see what the model compared.")
        self.caption.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)
        self.items: dict[str, pg.ImageItem] = {}
        self.shown: Inspection | None = None

    def _item(self, name: str, position: int) -> pg.ImageItem:
        if name not in self.items:
            row, col = divmod(position, 3)
            box = self.view.addViewBox(row=row * 2 + 1, col=col, lockAspect=True, invertY=True, enableMouse=False)
            self.view.addLabel(name, row=row * 2, col=col, size="8pt")
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
