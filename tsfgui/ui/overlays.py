"""What is drawn over the video: the face box and its 68 landmarks, and the chosen heatmap of the
inspected frame, mapped from the aligned crop back onto the frame with the alignment's inverse."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QSlider

from tsfgui.session import Session

from .inspector import HEATMAP_LUT, Inspector

#: View › Heatmap: what a person sees in the menu, and the heatmap kind (None: no heatmap).
HEATMAP_CHOICES = (("None", None), ("Grad-CAM (evidence for the prediction)", "gradcam"),
                   ("Attention rollout", "rollout"), ("Attention received (last layer)", "attention"))


class FrameOverlays:
    """The overlays of frame :attr:`index` in ``viewbox``, from the session's result for it and the
    inspector's heatmaps; in live mode the face of the newest result. ``opacity`` (0–100) sets the
    heatmap's opacity."""

    def __init__(self, session: Session, inspector: Inspector, viewbox: pg.ViewBox, opacity: QSlider):
        self.session, self.inspector, self.opacity = session, inspector, opacity
        self.index, self.frame_shape = -1, None
        self.show_face = True
        self.heatmap_kind: str | None = "gradcam"
        self.landmarks_item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(0, 255, 120, 220))
        self.box_item = pg.PlotCurveItem(pen=pg.mkPen((0, 255, 120), width=2))
        self.heatmap_item = pg.ImageItem(axisOrder="row-major")
        self.heatmap_item.setZValue(5)
        viewbox.addItem(self.heatmap_item)
        for item in (self.landmarks_item, self.box_item):
            viewbox.addItem(item)
            item.setZValue(10)
        opacity.valueChanged.connect(self.redraw_heatmap)
        inspector.changed.connect(self.redraw_heatmap)
        session.live_result.connect(lambda result: self._draw_face(result.face))

    def show(self, index: int, frame_shape: tuple[int, ...] | None) -> None:
        """Draw the overlays of frame ``index`` (an image of ``frame_shape``)."""
        self.index, self.frame_shape = index, frame_shape
        self.redraw()

    def redraw(self) -> None:
        if self.session.live:
            return  # live overlays follow the newest analysed frame
        result = self.session.results.get(self.index)
        self._draw_face(result.face if result is not None else None)
        self.redraw_heatmap()

    def set_show_face(self, on: bool) -> None:
        """View › Face box and landmarks."""
        self.show_face = on
        self.redraw()

    def set_heatmap(self, kind: str | None) -> None:
        """Lay ``gradcam``, ``rollout``, ``attention`` or nothing (None) over the video."""
        self.heatmap_kind = kind
        self.redraw_heatmap()

    def _draw_face(self, face) -> None:
        if face is None or not self.show_face:
            self.landmarks_item.setData([], [])
            self.box_item.setData([], [])
            return
        self.landmarks_item.setData(face.landmarks[:, 0], face.landmarks[:, 1])
        x0, y0, x1, y1 = face.bbox
        self.box_item.setData(np.array([x0, x1, x1, x0, x0]), np.array([y0, y0, y1, y1, y0]))

    def redraw_heatmap(self) -> None:
        inspection, result = self.inspector.inspection, self.session.results.get(self.index)
        heat = None
        if inspection is not None and inspection.index == self.index and result is not None and result.face:
            heat = inspection.heatmaps.get(self.heatmap_kind) if self.heatmap_kind else None
        if heat is None or self.frame_shape is None:
            self.heatmap_item.clear()
            return
        on_frame = result.face.heatmap_to_frame(heat, self.frame_shape[:2])
        rgba = np.empty(on_frame.shape + (4,), np.uint8)
        rgba[..., :3] = HEATMAP_LUT[np.clip(on_frame * 255, 0, 255).astype(np.uint8)][..., :3]
        rgba[..., 3] = np.clip(on_frame * self.opacity.value() * 2.55, 0, 255).astype(np.uint8)
        self.heatmap_item.setImage(rgba, autoLevels=False, levels=(0, 255))
