"""Shared fixtures: real media written to disk (OpenCV and FFmpeg encoders) and headless Qt."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BITS = 8
CELL = 16


def numbered_frame(index: int, size: tuple[int, int] = (160, 120)) -> np.ndarray:
    """A BGR frame whose index is written as 8 black/white cells (survives lossy codecs) over a gradient."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 1] = np.linspace(0, 120, w, dtype=np.uint8)[None, :]
    img[:, :, 2] = (index * 5) % 120
    for bit in range(BITS):
        value = 255 if (index >> bit) & 1 else 0
        x = 4 + bit * (CELL + 2)
        img[4:4 + CELL, x:x + CELL] = value
    return img


def frame_index(img: np.ndarray) -> int:
    """Read back the index written by :func:`numbered_frame`."""
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    index = 0
    for bit in range(BITS):
        x = 4 + bit * (CELL + 2)
        if gray[4 + 4:4 + CELL - 4, x + 4:x + CELL - 4].mean() > 128:
            index |= 1 << bit
    return index


def write_cv2(path: Path, fourcc: str, n: int, fps: float = 25.0, size=(160, 120)) -> Path:
    """Write ``n`` numbered frames with OpenCV's VideoWriter."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} to {path.suffix}"
    for i in range(n):
        writer.write(numbered_frame(i, size))
    writer.release()
    return path


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def write_ffmpeg(path: Path, codec_args: list[str], n: int, fps: float = 25.0, size=(160, 120),
                 input_args: tuple[str, ...] = ()) -> Path:
    """Pipe ``n`` numbered frames into the ffmpeg binary of imageio-ffmpeg with the given codec."""
    w, h = size
    cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", *input_args, "-f", "rawvideo", "-pix_fmt", "bgr24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", *codec_args, str(path)]
    data = b"".join(numbered_frame(i, size).tobytes() for i in range(n))
    subprocess.run(cmd, input=data, check=True)
    return path


def sample_clip(path: Path, n: int, fps: float = 30.0) -> Path:
    """The first ``n`` frames of the bundled sample (a real face) as an MJPG video."""
    from tsfgui.samples.excerpt import write_sample_excerpt

    return write_sample_excerpt(path, n, fps)


@pytest.fixture(scope="session")
def media() -> Callable:
    """Access to the media helpers from tests (``media.write_cv2`` …)."""
    import types

    return types.SimpleNamespace(numbered_frame=numbered_frame, frame_index=frame_index, write_cv2=write_cv2,
                                 write_ffmpeg=write_ffmpeg, ffmpeg_exe=ffmpeg_exe, sample_clip=sample_clip)


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """The public-domain astronaut photograph from scikit-image, as a BGR frame."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def eaf_schema():
    """ELAN's published EAF 3.0 XML Schema (see ``tests/eaf_schema.py``), ready to validate files."""
    import importlib.util

    import xmlschema

    spec = importlib.util.spec_from_file_location("tsfgui_tests_eaf_schema", Path(__file__).with_name("eaf_schema.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    try:
        path = module.eaf_schema_path()
    except module.SchemaUnavailable as exc:
        pytest.fail(f"{exc}. The .eaf tests need ELAN's schema: run 'python tests/eaf_schema.py' with access to "
                    "PyPI, or set TSFGUI_EAF_XSD to a local EAFv3.0.xsd", pytrace=False)
    return xmlschema.XMLSchema(str(path))


@pytest.fixture(scope="session")
def local_ray():
    """One real local Ray cluster for the whole test session (2 CPUs, a small object store, no dashboard), shut
    down at the end. Code under test that connects with ``ray_cluster`` finds it and keeps it running."""
    import logging

    import ray

    ray.init(address="local", num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False,
             logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> str:
    """A weights file of the tiny TSFmicro configuration (random weights, seed 0)."""
    import torch

    from tsfgui.model import TSFmicro, TSFmicroConfig

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    TSFmicro(TSFmicroConfig.tiny()).save_pretrained(path)
    return str(path)
