"""Where the files the app ships with live: the bundled sample and the demo weights.

The paths are relative to the package, so they hold in a source checkout, an editable install and
the pyinstaller bundle (which puts ``resources/`` and ``model_weights/`` next to the package).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_VIDEO = ROOT / "resources" / "sample_interview.mp4"
#: Weights the app loads when none are given (trained on synthetic data only; the app says so).
DEMO_WEIGHTS = ROOT / "model_weights" / "tsfmicro-demo-3class.safetensors"


def default_weights() -> str | None:
    """The demo weights when they are installed, else None (difference signals only)."""
    return str(DEMO_WEIGHTS) if DEMO_WEIGHTS.is_file() else None
