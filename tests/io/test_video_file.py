"""VideoFileSource on real files written by OpenCV and FFmpeg: counts, order, exact seeking, damage."""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest

from tsfgui.io import FrameIndexError, SourceDamagedError, SourceError, VideoFileSource, open_source

N = 90

CV2_FORMATS = [("mp4v", ".mp4"), ("MJPG", ".avi"), ("XVID", ".avi"), ("mp4v", ".mkv"), ("mp4v", ".mov")]
FFMPEG_FORMATS = [
    ("h264", ".mp4", ["-c:v", "libx264", "-g", "30", "-bf", "2", "-pix_fmt", "yuv420p"]),
    ("h264-faststart", ".mov", ["-c:v", "libx264", "-g", "30", "-movflags", "+faststart", "-pix_fmt", "yuv420p"]),
    ("vp9", ".webm", ["-c:v", "libvpx-vp9", "-g", "30", "-deadline", "realtime", "-cpu-used", "8"]),
    ("mjpeg", ".avi", ["-c:v", "mjpeg", "-q:v", "3"]),
    ("h264-mkv", ".mkv", ["-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p"]),
]


@pytest.fixture(params=CV2_FORMATS + FFMPEG_FORMATS, ids=lambda p: f"{p[0]}{p[1]}")
def video(request, tmp_path, media):
    spec = request.param
    if len(spec) == 2:
        fourcc, ext = spec
        return media.write_cv2(tmp_path / f"clip{ext}", fourcc, N)
    _, ext, args = spec
    return media.write_ffmpeg(tmp_path / f"clip{ext}", args, N)


def test_metadata_and_sequential_order(video, media):
    with VideoFileSource(video) as src:
        info = src.info
        assert (info.width, info.height) == (160, 120)
        assert info.fps == pytest.approx(25.0)
        assert info.frame_count == N and len(src) == N
        assert info.duration_s == pytest.approx(N / 25.0)
        frames = list(src)
    assert [f.index for f in frames] == list(range(N))
    assert [media.frame_index(f.image) for f in frames] == list(range(N))
    assert frames[10].timestamp_ms == pytest.approx(400.0)
    assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in frames)


def test_read_is_exact_in_any_order(video):
    with VideoFileSource(video) as src:
        sequential = [f.image for f in src]
        order = list(range(N))
        random.Random(7).shuffle(order)
        order += [N - 1, 0, 5, 6, 7, 3, N - 1]  # forward steps, backward jumps, repeats, the ends
        for i in order:
            frame = src.read(i)
            assert frame.index == i
            assert np.array_equal(frame.image, sequential[i]), f"read({i}) differs from the {i}-th decoded frame"


def test_iteration_and_random_access_do_not_disturb_each_other(tmp_path, media):
    path = media.write_cv2(tmp_path / "a.avi", "MJPG", 40)
    with VideoFileSource(path) as src:
        it = iter(src)
        first = next(it)
        assert media.frame_index(src.read(30).image) == 30
        assert media.frame_index(next(it).image) == 1
        assert first.index == 0


def test_out_of_range_index(tmp_path, media):
    with VideoFileSource(media.write_cv2(tmp_path / "a.avi", "MJPG", 10)) as src:
        for bad in (-1, 10, 1000):
            with pytest.raises(FrameIndexError, match="outside 0…9"):
                src.read(bad)
        with pytest.raises(IndexError):  # also an IndexError for generic callers
            src.read(10)


def test_rotation_metadata_is_reported_and_frames_upright(tmp_path, media):
    plain = media.write_ffmpeg(tmp_path / "plain.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], 12)
    rotated = tmp_path / "rotated.mp4"
    import subprocess

    subprocess.run([media.ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i", str(plain),
                    "-c", "copy", str(rotated)], check=True)
    with VideoFileSource(rotated) as src:
        assert src.info.rotation in (90, 270)
        assert (src.info.width, src.info.height) == (120, 160)
        assert src.read(0).image.shape == (160, 120, 3)


def test_fps_override(tmp_path, media):
    with VideoFileSource(media.write_cv2(tmp_path / "a.avi", "MJPG", 10), fps=200) as src:
        assert src.info.fps == 200 and src.read(4).timestamp_ms == pytest.approx(20.0)
    with pytest.raises(SourceError, match="positive"):
        VideoFileSource(tmp_path / "a.avi", fps=-3)


# --- bad input: a typed error a person can act on, never a crash, hang or empty result ----------

def test_missing_path(tmp_path):
    with pytest.raises(SourceError, match="not found.*interview.mp4"):
        VideoFileSource(tmp_path / "interview.mp4")


def test_directory_given_as_video(tmp_path):
    with pytest.raises(SourceError, match="is a folder.*image folder"):
        VideoFileSource(tmp_path)


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.mp4").touch()
    with pytest.raises(SourceError, match=r"empty \(0 bytes\)"):
        VideoFileSource(tmp_path / "empty.mp4")


def test_text_file_renamed_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("Interview notes\nsubject 4 looked away at 03:12\n" * 20)
    with pytest.raises(SourceError, match="'notes.mp4' is a text file, not a video"):
        VideoFileSource(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.avi"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(SourceError, match="cannot be decoded"):
        VideoFileSource(path)


def test_single_image_opens_as_one_frame(tmp_path, media):
    import cv2

    path = tmp_path / "still.mp4"
    path.write_bytes(cv2.imencode(".png", media.numbered_frame(3))[1].tobytes())
    with VideoFileSource(path) as src:
        frames = list(src)
    assert len(frames) == 1 and np.array_equal(frames[0].image, media.numbered_frame(3))


def test_truncated_mp4_without_index_cannot_open(tmp_path, media):
    """An interrupted MP4 recording (index at the end, cut off) is named as damaged."""
    path = media.write_cv2(tmp_path / "rec.mp4", "mp4v", N)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="damaged or incomplete"):
        VideoFileSource(path)


@pytest.mark.parametrize("kind", ["mjpeg-avi", "faststart-mp4", "cv2-mkv"])
def test_truncated_file_delivers_frames_up_to_the_damage(tmp_path, media, kind):
    if kind == "mjpeg-avi":
        path = media.write_ffmpeg(tmp_path / "t.avi", ["-c:v", "mjpeg", "-q:v", "3"], N)
    elif kind == "faststart-mp4":
        path = media.write_ffmpeg(tmp_path / "t.mp4", ["-c:v", "libx264", "-g", "10", "-movflags", "+faststart",
                                                       "-pix_fmt", "yuv420p"], N)
    else:
        path = media.write_cv2(tmp_path / "t.mkv", "mp4v", N)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.5)])
    src = VideoFileSource(path)
    delivered = []
    with pytest.raises(SourceDamagedError, match="damaged or incomplete.*before the damage were used") as err:
        for frame in src:
            delivered.append(media.frame_index(frame.image))
    assert 10 < len(delivered) < N
    assert delivered == list(range(len(delivered)))  # the good frames, in order
    assert err.value.frames_delivered == len(delivered)
    with pytest.raises(FrameIndexError, match="cannot be decoded"):
        src.read(N - 1)
    assert media.frame_index(src.read(2).image) == 2  # still usable before the damage
    src.close()


def test_open_source_dispatches(tmp_path, media):
    path = media.write_cv2(tmp_path / "a.avi", "MJPG", 5)
    assert isinstance(open_source(path), VideoFileSource)
    copy = tmp_path / "folder"
    copy.mkdir()
    shutil.copy(path, copy / "a.avi")
    with pytest.raises(SourceError, match="contains no images"):
        open_source(copy)


# --- files that announce more frames than they show, and files that are truly damaged --------------

def trimmed_without_reencoding(media, folder, n: int = 75):
    """``ffmpeg -ss 0.3 -i in.mp4 -c copy out.mp4`` on an H.264 file with B-frames: the most common way of
    cutting a video. The cut starts at the key frame before 0.3 s and an edit list hides the pre-roll, so
    the file announces ``n`` frames and FFmpeg shows fewer, without a single decoding error."""
    import subprocess

    source = media.write_ffmpeg(folder / "in.mp4", ["-c:v", "libx264", "-g", "30", "-bf", "2", "-pix_fmt", "yuv420p"], n)
    trimmed = folder / "trimmed.mp4"
    subprocess.run([media.ffmpeg_exe(), "-y", "-loglevel", "error", "-ss", "0.3", "-i", str(source), "-c", "copy",
                    str(trimmed)], check=True)
    return trimmed


def test_edit_list_trim_is_whole_and_its_decoded_count_is_the_length(tmp_path, media):
    path = trimmed_without_reencoding(media, tmp_path)
    with VideoFileSource(path) as src:
        assert src.info.frame_count == 75  # what the header says
        frames = list(src)  # no SourceDamagedError
        shown = [media.frame_index(f.image) for f in frames]
        assert len(frames) < 75 - 2, "the edit list hides the pre-roll"
        assert shown == list(range(75 - len(frames), 75))  # the tail of the original, every frame, in order
        assert src.frames_decoded == len(frames) and src.info.frame_count == len(frames) == len(src)
        assert src.frames_announced == 75


def test_bit_flipped_files_deliver_good_frames_in_order_or_say_they_are_damaged(tmp_path, media):
    """Bytes overwritten inside the coded data: FFmpeg conceals what it can; frames the file holds but
    cannot decode are reported as damage, never taken for an edit list."""
    original = media.write_ffmpeg(tmp_path / "clip.mp4", ["-c:v", "libx264", "-g", "30", "-bf", "2",
                                                          "-pix_fmt", "yuv420p"], N).read_bytes()
    damaged = 0
    for fraction in (0.3, 0.5, 0.7):
        data = bytearray(original)
        start = int(len(data) * fraction)
        for k in range(start, start + 200, 7):
            data[k] ^= 0xFF
        path = tmp_path / f"flipped{int(fraction * 100)}.mp4"
        path.write_bytes(bytes(data))
        try:
            src = VideoFileSource(path)
        except SourceError as exc:
            assert "damaged" in str(exc)
            damaged += 1
            continue
        delivered = []
        try:
            for frame in src:
                delivered.append(frame.index)
        except SourceDamagedError as exc:
            damaged += 1
            assert exc.frames_delivered == len(delivered) < N
        else:
            assert len(delivered) >= N - 2, f"{path.name}: {len(delivered)} of {N} frames and no damage reported"
        finally:
            src.close()
        assert delivered == list(range(len(delivered)))
    assert damaged >= 1
