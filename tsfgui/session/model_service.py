"""The one model of a session: its weights file read once, the module shared by the analysis, the
inspector and interval classification.

Sharing, not copying, is deliberate: a forward pass in eval mode changes nothing in the module (the
retention's position table is filled once per input size, idempotently), so the analysis thread, the
inspector and interval classification call the same module concurrently; torch's kernels are
thread-safe. Reading the file again per request would cost a second or more each time and memory
for every copy.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tsfgui.model import load_model
from tsfgui.model.card import describe_weights_file, provenance_notice as provenance_warning
from tsfgui.model.weights import WeightsError, read_metadata


def describe_model(model) -> str:
    """One line naming a model: its label scheme and classes."""
    if model is None:
        return "no model loaded (difference signals only)"
    return f"TSFmicro {model.label_scheme} ({', '.join(model.class_names)})"


def weights_warning(path: str | Path | None) -> str | None:
    """What a person must know about the weights in ``path`` before trusting a prediction: what they are
    (:func:`tsfgui.model.card.weights_summary`) and the warning their provenance carries, or that the provenance is damaged or unreadable (then where the
    weights come from is unknown). Reads the metadata only, not the tensors."""
    if not path or Path(path).suffix.lower() != ".safetensors":
        return None  # research checkpoints carry no provenance
    name = Path(path).name
    try:
        meta = read_metadata(path)
    except (WeightsError, OSError):
        return None  # not readable at all: loading the model says so, in the error bar
    text = meta.get("provenance")
    if text is None:
        return None
    try:
        provenance = json.loads(text)
    except ValueError:
        return (f"the provenance in '{name}' is damaged (not valid JSON); where these weights come from and "
                "whether they were validated is unknown. Re-download or re-export the weights file.")
    if not isinstance(provenance, dict):
        return f"the provenance in '{name}' is damaged (not a JSON object); where these weights come from is unknown"
    notice = provenance_warning(provenance)
    if notice is None:
        return None
    try:  # say what the weights are before why to distrust them
        return describe_weights_file(str(path))[1]
    except (WeightsError, OSError, ValueError, KeyError):
        return notice


class ModelService:
    """The session's model: ``get()`` reads the weights file the first time it is called (from any
    thread) and returns the same module afterwards; a file that cannot be read raises
    :class:`~tsfgui.model.weights.WeightsError` every time without being read again. ``loads`` counts
    how often the file was read (once per session)."""

    def __init__(self, weights: str | Path | None = None) -> None:
        self.weights = str(weights) if weights else None
        self.loads = 0
        self._model = None
        self._error: WeightsError | None = None
        self._lock = threading.Lock()

    def get(self):
        """The model (None when the session has no weights)."""
        if self.weights is None:
            return None
        with self._lock:
            if self._model is None and self._error is None:
                self.loads += 1
                try:
                    self._model = load_model(self.weights).eval()
                except WeightsError as exc:
                    self._error = exc
            if self._error is not None:
                raise self._error
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def class_names(self) -> tuple[str, ...]:
        """The model's classes once loaded (empty before, or without weights)."""
        return tuple(self._model.class_names) if self._model is not None else ()

    def warning(self) -> str | None:
        """The weights' warning (see :func:`weights_warning`), read without loading the tensors."""
        return weights_warning(self.weights)

    def describe(self) -> str:
        return describe_model(self._model) if self.weights else describe_model(None)
