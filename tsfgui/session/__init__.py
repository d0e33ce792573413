"""What the app holds for one open recording, without Qt: the :class:`Session` (recording, per-frame
signals in numpy blocks, events, status, progress, errors, cancellation; psygnal signals), its model
service (weights read once, shared by the analysis, the inspector and interval classification) and
the background-task helper."""

from .model_service import ModelService, describe_model, provenance_warning, weights_warning
from .session import Session
from .traces import FrameTraces
from .tasks import Cancelled, CancelToken, Task

__all__ = ["Cancelled", "CancelToken", "FrameTraces", "ModelService", "Session", "Task", "describe_model", "provenance_warning",
           "weights_warning"]
