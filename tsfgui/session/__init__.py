"""What the app holds for one open recording, without Qt: the model service (weights read once,
shared by the analysis, the inspector and interval classification)."""

from .model_service import ModelService, describe_model, provenance_warning, weights_warning

__all__ = ["ModelService", "describe_model", "provenance_warning", "weights_warning"]
