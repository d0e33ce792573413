"""Fixtures for the face tests: the astronaut photo, shared dlib models, synthetic-video helpers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tsfgui.face import FaceDetector, LandmarkPredictor, detect_and_align


def _load_synth() -> ModuleType:
    # the tests run with --import-mode=importlib, so the helper module is loaded by path
    name = "tsfgui_tests_face_synth"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("face_synth.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def synth() -> ModuleType:
    """Helpers that build synthetic face videos (see ``face_synth.py``)."""
    return _load_synth()


@pytest.fixture(scope="session")
def photo(synth) -> np.ndarray:
    """The astronaut photo as BGR (read-only)."""
    img = synth.astronaut_bgr()
    img.setflags(write=False)
    return img


@pytest.fixture(scope="session")
def predictor() -> LandmarkPredictor:
    return LandmarkPredictor()


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="session")
def photo_faces(photo, detector, predictor):
    """detect_and_align on the photo with default settings."""
    return detect_and_align(photo, detector=detector, predictor=predictor)


@pytest.fixture(scope="session")
def photo_landmarks(photo_faces) -> np.ndarray:
    return photo_faces.primary.landmarks.astype(np.float64)
