"""ImageFolderSource on real frame folders named the way the micro-expression data sets name them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsfgui.io import FrameIndexError, ImageFolderSource, SourceError, frame_number, natural_key, open_source


def write_folder(folder, names, media, size=(160, 120)):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), media.numbered_frame(i, size))
    return folder


@pytest.mark.parametrize("pattern, numbers", [
    ("img{}.jpg", range(46, 60)),            # CASME II raw
    ("reg_img{}.jpg", range(46, 60)),        # CASME II cropped
    ("006_{:05d}.jpg", range(5560, 5575)),   # SAMM, zero-padded
    ("006_{}.jpg", range(5560, 5575)),       # SAMM, another copy's padding
    ("{}.jpg", range(1, 15)),                # CAS(ME)^3
    ("frame_{}.png", range(8, 20)),
])
def test_frames_are_ordered_by_the_number_in_the_name(tmp_path, media, pattern, numbers):
    names = [pattern.format(n) for n in numbers]
    # write them in a shuffled order so directory order cannot help
    order = np.random.default_rng(1).permutation(len(names))
    folder = tmp_path / "EP02_01f"
    folder.mkdir()
    for rank in order:
        cv2.imwrite(str(folder / names[rank]), media.numbered_frame(rank))
    with ImageFolderSource(folder, fps=200) as src:
        assert len(src) == len(names)
        assert src.frame_numbers == list(numbers)
        frames = list(src)
        assert [media.frame_index(f.image) for f in frames] == list(range(len(names)))
        assert frames[3].timestamp_ms == pytest.approx(15.0)  # 200 fps
        assert src.index_of(numbers[5]) == 5
        assert media.frame_index(src.read(7).image) == 7


def test_natural_not_lexicographic(tmp_path, media):
    folder = write_folder(tmp_path / "clip", [f"img{n}.jpg" for n in (1, 2, 10, 100, 9)], media)
    with ImageFolderSource(folder, fps=30) as src:
        assert src.frame_numbers == [1, 2, 9, 10, 100]


def test_metadata(tmp_path, media):
    folder = write_folder(tmp_path / "clip", [f"{n}.png" for n in range(5)], media, size=(64, 48))
    with open_source(folder, fps=100) as src:
        assert isinstance(src, ImageFolderSource)
        assert (src.info.width, src.info.height, src.info.fps, src.info.frame_count) == (64, 48, 100.0, 5)
        assert src.info.duration_s == pytest.approx(0.05)
        assert src.read(2).image.shape == (48, 64, 3)


def test_grayscale_and_rgba_images_become_bgr(tmp_path, media):
    folder = tmp_path / "mixed_channels"
    folder.mkdir()
    base = media.numbered_frame(0)
    cv2.imwrite(str(folder / "1.png"), cv2.cvtColor(base, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "2.png"), cv2.cvtColor(base, cv2.COLOR_BGR2BGRA))
    with ImageFolderSource(folder, fps=25) as src:
        assert all(f.image.shape == (120, 160, 3) for f in src)


def test_non_image_files_are_ignored(tmp_path, media):
    folder = write_folder(tmp_path / "clip", ["img1.jpg", "img2.jpg"], media)
    (folder / "notes.txt").write_text("coder: A")
    (folder / "Thumbs.db").write_bytes(b"\0" * 10)
    with ImageFolderSource(folder, fps=200) as src:
        assert len(src) == 2


def test_folder_with_no_images(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(SourceError, match="contains no images"):
        ImageFolderSource(tmp_path, fps=200)


def test_missing_folder_and_file_given_as_folder(tmp_path, media):
    with pytest.raises(SourceError, match="not found"):
        ImageFolderSource(tmp_path / "nope", fps=200)
    cv2.imwrite(str(tmp_path / "a.jpg"), media.numbered_frame(0))
    with pytest.raises(SourceError, match="is a file, not a folder"):
        ImageFolderSource(tmp_path / "a.jpg", fps=200)


def test_mixed_image_sizes(tmp_path, media):
    folder = write_folder(tmp_path / "clip", [f"img{n}.jpg" for n in range(1, 6)], media)
    cv2.imwrite(str(folder / "img3.jpg"), media.numbered_frame(2, (200, 150)))
    with pytest.raises(SourceError, match=r"differ in size: most are 160×120 but 'img3.jpg' is 200×150"):
        ImageFolderSource(folder, fps=200)


def test_unreadable_image_is_named(tmp_path, media):
    folder = write_folder(tmp_path / "clip", [f"img{n}.jpg" for n in range(1, 4)], media)
    (folder / "img2.jpg").write_text("not a jpeg")
    with pytest.raises(SourceError, match="'img2.jpg'.*not a readable image"):
        ImageFolderSource(folder, fps=200)


def test_two_files_claiming_one_frame(tmp_path, media):
    folder = write_folder(tmp_path / "clip", ["img46.jpg", "reg_img46.jpg", "img47.jpg"], media)
    with pytest.raises(SourceError, match="two files for frame 46"):
        ImageFolderSource(folder, fps=200)


def test_bad_fps_and_index(tmp_path, media):
    folder = write_folder(tmp_path / "clip", ["1.jpg", "2.jpg"], media)
    with pytest.raises(SourceError, match="positive number"):
        ImageFolderSource(folder, fps=0)
    with ImageFolderSource(folder, fps=200) as src:
        with pytest.raises(FrameIndexError):
            src.read(2)
        with pytest.raises(SourceError, match="no frame numbered 7"):
            src.index_of(7)


def test_file_damaged_after_opening_is_named(tmp_path, media):
    folder = write_folder(tmp_path / "clip", ["1.jpg", "2.jpg"], media)
    src = ImageFolderSource(folder, fps=200)
    (folder / "2.jpg").write_bytes(b"")
    with pytest.raises(SourceError, match="'2.jpg'.*cannot be decoded"):
        src.read(1)


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=30, unique=True), st.sampled_from(["img", "reg_img", "006_", ""]))
def test_natural_key_orders_by_number(numbers, prefix):
    names = [f"{prefix}{n}.jpg" for n in numbers]
    assert [frame_number(n) for n in sorted(names, key=natural_key)] == sorted(numbers)
