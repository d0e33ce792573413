"""Damaged files of every kind give frames or a SourceError: never another exception, a crash or a hang."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsfgui.io import SourceError, VideoFileSource

N = 30




@pytest.mark.parametrize("kind", ["mp4v.mp4", "MJPG.avi", "h264.mp4", "vp9.webm"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_video_gives_frames_or_source_error(kind, data, tmp_path, media):
    codec, ext = kind.split(".")
    path = tmp_path / f"orig_{codec}.{ext}"
    if not path.exists():
        if codec == "h264":
            media.write_ffmpeg(path, ["-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p"], N)
        elif codec == "vp9":
            media.write_ffmpeg(path, ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"], N)
        else:
            media.write_cv2(path, codec, N)
    blob = bytearray(path.read_bytes())
    # damage: cut the tail, overwrite a run of bytes, or both
    cut = data.draw(st.integers(0, len(blob)), label="cut")
    start = data.draw(st.integers(0, len(blob) - 1), label="start")
    length = data.draw(st.integers(0, 4096), label="length")
    noise = data.draw(st.binary(min_size=length, max_size=length), label="noise")
    blob[start:start + length] = noise[: max(0, len(blob) - start)]
    damaged = tmp_path / f"damaged.{ext}"
    damaged.write_bytes(bytes(blob[:cut]))
    try:
        src = VideoFileSource(damaged)
    except SourceError:
        return
    try:
        count = sum(1 for _ in src)
    except SourceError:
        return
    finally:
        src.close()
    assert count >= 1
