"""Faces in frames: detection, 68-point landmarks, alignment, regions and tracking (no Qt).

Typical use::

    tracker = FaceTracker(TrackerSettings())
    for frame in frames:                      # BGR uint8 (gray and BGRA accepted)
        faces = tracker.update(frame)
        face = faces.primary                  # FaceObservation or None
        if face is not None:
            crop = face.crop                  # 224×224×3 aligned BGR crop
"""

from .align import (
    ALIGNMENT_POINTS,
    MEAN_SHAPE,
    AlignTemplate,
    SimilarityParams,
    alignment_matrix,
    compose_affine,
    heatmap_to_frame,
    invert_affine,
    similarity_lstsq,
    transform_points,
    warp_crop,
)
from .detector import Detection, DetectorSettings, FaceDetector
from tsfgui.io.pixels import FrameError, to_bgr, to_gray
from .landmarks import LandmarkPredictor
from .model_files import ModelFileError, cnn_detector_path, landmarks_68_path
from .observation import FaceObservation, FrameFaces, Quality
from .pair import AlignedPair, align_pair, primary_key, stretch_matrix
from .regions import MEASURED_REGIONS, REGIONS, eye_distance, region_masks, region_means
from .smoothing import OneEuroFilter
from .tracker import FaceTracker, TrackerSettings, detect_and_align, iou

__all__ = [
    "ALIGNMENT_POINTS",
    "AlignedPair",
    "align_pair",
    "primary_key",
    "stretch_matrix",
    "MEAN_SHAPE",
    "MEASURED_REGIONS",
    "REGIONS",
    "AlignTemplate",
    "Detection",
    "DetectorSettings",
    "FaceDetector",
    "FaceObservation",
    "FaceTracker",
    "FrameError",
    "FrameFaces",
    "LandmarkPredictor",
    "ModelFileError",
    "OneEuroFilter",
    "Quality",
    "SimilarityParams",
    "TrackerSettings",
    "alignment_matrix",
    "cnn_detector_path",
    "compose_affine",
    "detect_and_align",
    "eye_distance",
    "heatmap_to_frame",
    "invert_affine",
    "iou",
    "landmarks_68_path",
    "region_masks",
    "region_means",
    "similarity_lstsq",
    "to_bgr",
    "to_gray",
    "transform_points",
    "warp_crop",
]
