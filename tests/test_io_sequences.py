"""Image-sequence drivers: folders, patterns, one image, holes, mixed folders, and what they decode to."""

from __future__ import annotations

import numpy as np
import OpenImageIO as oiio
import pytest
from PIL import Image

from portrait_animator.errors import UnreadableFileError
from portrait_animator.io.sequences import ImageSequence
from portrait_animator.io.sources import open_frames

RNG = np.random.default_rng(11)


def _write_frames(folder, name_of, numbers, size=(20, 16)):
    folder.mkdir(exist_ok=True)
    frames = {}
    for number in numbers:
        pixels = RNG.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name_of(number))
        frames[number] = pixels
    return frames


@pytest.mark.parametrize("pattern", ["img.####.png", "img.%04d.png", "img.#.png"])
def test_pattern_yields_its_frames_in_number_order(tmp_path, pattern):
    frames = _write_frames(tmp_path / "seq", lambda n: f"img.{n:04d}.png", range(1001, 1013))
    source = open_frames(str(tmp_path / "seq" / pattern))
    assert isinstance(source, ImageSequence)
    assert (source.frame_count, source.size, source.first_frame) == (12, (20, 16), 1)
    decoded = list(source.frames(3, 5))
    assert [number for number, _ in decoded] == [3, 4, 5]
    for number, rgb in decoded:
        assert rgb.dtype == np.uint8
        np.testing.assert_array_equal(rgb, frames[1000 + number])


def test_pattern_beyond_its_padding(tmp_path):
    _write_frames(tmp_path, lambda n: f"img.{n:04d}.png", [9998, 9999, 10000, 10001])
    assert open_frames(str(tmp_path / "img.####.png")).frame_count == 4


def test_folder_in_natural_order_ignoring_hidden_and_other_files(tmp_path):
    frames = _write_frames(tmp_path / "frames", lambda n: f"frame{n}.png", [1, 2, 10, 11])
    (tmp_path / "frames" / ".frame99.png.partial").write_bytes(b"x")
    (tmp_path / "frames" / "notes.txt").write_text("not an image")
    source = open_frames(tmp_path / "frames")
    assert source.frame_count == 4
    decoded = [rgb for _, rgb in source.frames()]
    for rgb, number in zip(decoded, [1, 2, 10, 11]):
        np.testing.assert_array_equal(rgb, frames[number])


def test_single_image_is_a_one_frame_source(tmp_path):
    _write_frames(tmp_path, lambda n: "face.jpg", [1])
    source = open_frames(tmp_path / "face.jpg")
    assert source.frame_count == 1 and source.size == (20, 16)
    decoded_by_pillow = np.asarray(Image.open(tmp_path / "face.jpg").convert("RGB"))
    np.testing.assert_array_equal(source.frame(1), decoded_by_pillow)


def test_sixteen_bit_and_exr_frames_become_8_bit_srgb(tmp_path):
    values = np.linspace(0.0, 1.0, 16 * 20 * 3, dtype=np.float32).reshape(16, 20, 3)
    for number, (fmt, pixels) in enumerate([(oiio.UINT16, values), (oiio.UINT16, values[::-1])], start=1):
        buf = oiio.ImageBuf(oiio.ImageSpec(20, 16, 3, fmt))
        buf.set_pixels(oiio.ROI(0, 20, 0, 16, 0, 1, 0, 3), pixels)
        assert buf.write(str(tmp_path / f"deep.{number:04d}.tif"))
    source = open_frames(str(tmp_path / "deep.####.tif"))
    np.testing.assert_array_equal(source.frame(1), np.rint(values * 255).astype(np.uint8))


def test_content_digest_changes_with_any_frame(tmp_path):
    _write_frames(tmp_path, lambda n: f"img.{n:04d}.png", range(1, 4))
    source = open_frames(str(tmp_path / "img.####.png"))
    before = source.content_sha256()
    Image.fromarray(np.zeros((16, 20, 3), np.uint8)).save(tmp_path / "img.0002.png")
    assert source.content_sha256() != before


def test_empty_folder_and_unmatched_pattern(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnreadableFileError, match="no image files") as error:
        open_frames(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(error.value)
    with pytest.raises(UnreadableFileError, match="matches no files"):
        open_frames(str(tmp_path / "empty" / "img.####.png"))
    with pytest.raises(UnreadableFileError, match="not found"):
        open_frames(str(tmp_path / "missing" / "img.####.png"))
    with pytest.raises(UnreadableFileError, match="not found"):
        open_frames(tmp_path / "nothing.mp4")


def test_hole_in_a_pattern_names_the_missing_file(tmp_path):
    _write_frames(tmp_path, lambda n: f"img.{n:04d}.png", [1, 2, 3, 5, 6])
    with pytest.raises(UnreadableFileError, match="img.0004.png"):
        open_frames(str(tmp_path / "img.####.png"))


def test_folder_with_two_sequences_is_ambiguous(tmp_path):
    _write_frames(tmp_path, lambda n: f"a.{n:04d}.png", [1, 2])
    _write_frames(tmp_path, lambda n: f"b.{n:04d}.png", [1, 2])
    with pytest.raises(UnreadableFileError, match="several image sequences"):
        open_frames(tmp_path)


def test_frame_of_another_size_or_corrupt_frame(tmp_path):
    _write_frames(tmp_path, lambda n: f"img.{n:04d}.png", [1, 2])
    _write_frames(tmp_path, lambda n: f"img.{n:04d}.png", [3], size=(22, 16))
    (tmp_path / "img.0004.png").write_bytes(b"\x89PNG broken")
    source = open_frames(str(tmp_path / "img.####.png"))
    with pytest.raises(UnreadableFileError, match="frame 3 is 22x16"):
        list(source.frames(1, 3))
    with pytest.raises(UnreadableFileError) as error:
        list(source.frames(4, 4))
    assert str(tmp_path / "img.0004.png") in str(error.value)
