"""Projects on real files: small videos written with OpenCV, the bundled sample where the content matters."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tsfgui.project import Project
from tsfgui.resources import SAMPLE_VIDEO

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_TRUTH = ROOT / "resources" / "sample_interview.json"


@pytest.fixture
def clip(tmp_path, media) -> Path:
    """A 60-frame 25 fps video in a folder of its own."""
    folder = tmp_path / "videos"
    folder.mkdir()
    return media.write_cv2(folder / "clip.avi", "MJPG", 60)


@pytest.fixture
def project(tmp_path, clip) -> Project:
    """A project with one recording (``clip``) and one analysis run of three proposals."""
    p = Project.create(tmp_path / "study.tsfproj")
    rec = p.add_recordings([clip]).added[0]
    p.save_run(rec.id, identity="run-1", weights=None, weights_fingerprint=None, settings={"lag_s": 0.2},
               class_names=["negative", "positive", "surprise"], frames=60, seconds=0.5, warning="",
               proposals=[dict(onset=5, apex=8, offset=12, kind="micro", label="negative", probability=0.8,
                               region="brows", score=5.0),
                          dict(onset=20, apex=24, offset=30, kind="micro", label="positive", probability=0.7,
                               region="mouth", score=4.0),
                          dict(onset=40, apex=45, offset=50, kind="micro", label="surprise", probability=0.6,
                               region="brows", score=3.5)])
    yield p
    p.close()


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    target = tmp_path / "media" / SAMPLE_VIDEO.name
    target.parent.mkdir()
    shutil.copy(SAMPLE_VIDEO, target)
    return target
