"""Reading stills: bit depths, grey, alpha, linear EXR, CMYK refusal, EXIF orientation, damaged files."""

from __future__ import annotations

import hashlib
import struct
import zlib

import numpy as np
import OpenImageIO as oiio
import pytest
from PIL import Image, ImageOps

from conftest import media_path
from portrait_animator.errors import InputTooLargeError, UnreadableFileError
from portrait_animator.io.colour import linear_to_srgb, srgb_to_linear
from portrait_animator.io.images import read_image
from portrait_animator.io.provenance import file_sha256

RNG = np.random.default_rng(7)


def _write_with_oiio(path, pixels, fmt, **attributes):
    """Write a test file with OIIO directly (not through the code under test)."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    spec = oiio.ImageSpec(width, height, channels, fmt)
    for name, value in attributes.items():
        spec.attribute(name.replace("__", ":"), value)
    output = oiio.ImageOutput.create(str(path))
    assert output.open(str(path), spec), output.geterror()
    assert output.write_image(pixels), output.geterror()
    output.close()
    return path


@pytest.mark.parametrize("suffix, dtype", [(".png", np.uint8), (".png", np.uint16),
                                           (".tif", np.uint8), (".tif", np.uint16)])
def test_integer_rgb_read_exactly(tmp_path, suffix, dtype):
    top = np.iinfo(dtype).max
    pixels = RNG.integers(0, top + 1, (20, 30, 3), dtype=dtype)
    path = _write_with_oiio(tmp_path / f"rgb{suffix}", pixels, oiio.UINT8 if dtype == np.uint8 else oiio.UINT16)
    still = read_image(path)
    assert still.rgb.dtype == np.float32 and still.rgb.shape == (20, 30, 3)
    np.testing.assert_allclose(still.rgb, pixels / top, atol=1e-6)
    assert still.alpha is None
    assert still.bit_depth == (8 if dtype == np.uint8 else 16)
    assert still.original_channels == ("R", "G", "B")
    assert still.path == str(path) and still.size == (30, 20)


def test_grey_and_grey_alpha_become_rgb(tmp_path):
    grey = RNG.integers(0, 256, (16, 12), dtype=np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "grey.png")
    still = read_image(tmp_path / "grey.png")
    for channel in range(3):
        np.testing.assert_allclose(still.rgb[..., channel], grey / 255.0, atol=1e-6)
    assert still.alpha is None

    grey_alpha = np.dstack([grey, 255 - grey])
    Image.fromarray(grey_alpha, "LA").save(tmp_path / "grey_alpha.png")
    still = read_image(tmp_path / "grey_alpha.png")
    np.testing.assert_allclose(still.rgb[..., 1], grey / 255.0, atol=1e-6)
    np.testing.assert_allclose(still.alpha, (255 - grey) / 255.0, atol=1e-6)


def test_png_alpha_stays_straight(tmp_path):
    """OIIO premultiplies PNG alpha by default; a still's colour under partial alpha must survive."""
    rgba = np.array([[[200, 100, 50, 128], [10, 20, 30, 0], [255, 255, 255, 255]]], np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    still = read_image(tmp_path / "alpha.png")
    np.testing.assert_allclose(still.rgb * 255, rgba[..., :3], atol=1e-3)
    np.testing.assert_allclose(still.alpha * 255, rgba[..., 3], atol=1e-3)


def test_tiff_associated_alpha_is_divided_out(tmp_path):
    straight = np.array([[[0.8, 0.4, 0.2], [0.1, 0.9, 0.5]]], np.float32)
    alpha = np.array([[0.5, 0.25]], np.float32)
    premultiplied = np.dstack([straight * alpha[..., None], alpha])
    path = _write_with_oiio(tmp_path / "assoc.tif", premultiplied, oiio.UINT16)
    still = read_image(path)
    np.testing.assert_allclose(still.alpha, alpha, atol=1e-4)
    np.testing.assert_allclose(still.rgb, straight, atol=1e-3)
    assert "premultiplied" in still.colourspace


def test_exr_linear_premultiplied_is_unpremultiplied_and_encoded(tmp_path):
    encoded = RNG.random((8, 10, 3), dtype=np.float32)
    alpha = np.clip(RNG.random((8, 10), dtype=np.float32), 0.2, 1.0)
    alpha[0, 0] = 0.0
    linear_premultiplied = srgb_to_linear(encoded) * alpha[..., None]
    path = _write_with_oiio(tmp_path / "plate.exr", np.dstack([linear_premultiplied, alpha]), oiio.HALF)
    still = read_image(path)
    assert still.bit_depth == 16 and still.sample_format == "half"
    assert "linear" in still.colourspace
    np.testing.assert_allclose(still.alpha, alpha, atol=1e-3)
    np.testing.assert_array_equal(still.rgb[0, 0], 0.0)  # no colour where nothing is covered
    np.testing.assert_allclose(still.rgb[1:], encoded[1:], atol=4e-3)  # half precision, / alpha


def test_float_tiff_is_treated_as_linear_and_hdr_clipped(tmp_path):
    linear = np.array([[[0.0, 0.214041, 1.0], [4.0, 0.5, 0.01]]], np.float32)
    path = _write_with_oiio(tmp_path / "linear.tif", linear, oiio.FLOAT)
    still = read_image(path)
    expected = np.clip(linear_to_srgb(linear), 0.0, 1.0)
    np.testing.assert_allclose(still.rgb, expected, atol=1e-5)
    assert still.rgb.max() <= 1.0 and "clipped" in still.colourspace


def test_jpeg_matches_an_independent_decoder():
    path = media_path("stills", "lp_s9_painting_mona_lisa.jpg")
    still = read_image(path)
    reference = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
    assert still.rgb.shape == reference.shape
    assert np.abs(still.rgb - reference).mean() < 1.0 / 255.0


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk_is_refused_with_a_clear_message(tmp_path, suffix):
    """OIIO converts CMYK to RGB silently (naively, without the print profile); we refuse it."""
    cmyk = RNG.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    path = tmp_path / f"print{suffix}"
    Image.fromarray(cmyk, "CMYK").save(path)
    with pytest.raises(UnreadableFileError, match="CMYK") as error:
        read_image(path)
    assert str(path) in str(error.value)


def _asymmetric_image() -> np.ndarray:
    """Blocks of distinct colours, 16-pixel cells, so every flip and rotation is distinguishable."""
    cells = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 14
    return np.kron(cells, np.ones((16, 16, 1), np.uint8))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    stored = _asymmetric_image()
    path = tmp_path / f"oriented_{orientation}.tif"
    Image.fromarray(stored).save(path, tiffinfo={274: orientation})
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)), np.float32) / 255.0
    still = read_image(path)
    np.testing.assert_allclose(still.rgb, expected, atol=1e-6)


def test_phone_jpeg_rotated_90_is_upright(tmp_path):
    """Orientation 6: the sensor's landscape pixels are shown rotated 90 degrees clockwise."""
    stored = _asymmetric_image()  # 32 x 48, top-left cell black
    exif = Image.Exif()
    exif[274] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, quality=98, exif=exif)
    still = read_image(path)
    assert still.size == (32, 48)  # width, height swapped
    np.testing.assert_allclose(still.rgb[8, -8], stored[8, 8] / 255.0, atol=0.03)  # stored top-left -> top-right
    assert "orientation 6" in still.colourspace


def _png_header_only(width, height) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"x") + chunk(b"IEND", b"")


def test_too_large_is_refused_from_the_header_before_decoding(tmp_path):
    """The header claims 10000x10000 and the pixel data is garbage: only a header check can answer."""
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(10000, 10000))
    with pytest.raises(InputTooLargeError) as error:
        read_image(path, max_pixels=50_000_000)
    message = str(error.value)
    assert str(path) in message and "10000x10000" in message and "50000000" in message
    with pytest.raises(UnreadableFileError, match="corrupt or truncated"):
        read_image(path)  # without a limit it is decoded, and the garbage is found


def test_within_the_limit_reads(tmp_path):
    path = _write_with_oiio(tmp_path / "small.png", np.zeros((10, 10, 3), np.uint8), oiio.UINT8)
    assert read_image(path, max_pixels=100).size == (10, 10)


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    pixels = RNG.random((120, 160, 3), dtype=np.float32)
    files = {}
    for suffix, fmt in [(".png", oiio.UINT8), (".jpg", oiio.UINT8), (".tif", oiio.UINT8), (".exr", oiio.HALF)]:
        files[suffix] = _write_with_oiio(folder / f"good{suffix}", pixels, fmt)
    return files


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".exr"])
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_files_raise_unreadable_naming_the_file(tmp_path, good_files, suffix, damage):
    data = good_files[suffix].read_bytes()
    damaged = {"truncated": data[: len(data) // 2], "garbage": b"not an image " * 50, "empty": b""}[damage]
    path = tmp_path / f"{damage}{suffix}"
    path.write_bytes(damaged)
    with pytest.raises(UnreadableFileError) as error:
        read_image(path)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UnreadableFileError, match="not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(UnreadableFileError, match="folder"):
        read_image(tmp_path)


def test_file_sha256_streams_and_matches_hashlib(tmp_path):
    path = tmp_path / "blob.bin"
    data = RNG.integers(0, 256, 3 * (1 << 20) + 17, dtype=np.uint8).tobytes()
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_exr_data_window_is_placed_in_the_display_window(tmp_path):
    """A render cropped to its content: the still is the full frame, transparent outside the data."""
    spec = oiio.ImageSpec(4, 3, 4, oiio.HALF)
    spec.x, spec.y, spec.full_x, spec.full_y, spec.full_width, spec.full_height = 2, 1, 0, 0, 10, 6
    data = np.ones((3, 4, 4), np.float32)
    data[..., 0] = np.nan  # a bad sample must not poison the engine
    output = oiio.ImageOutput.create(str(tmp_path / "cropped.exr"))
    assert output.open(str(tmp_path / "cropped.exr"), spec)
    output.write_image(data)
    output.close()
    still = read_image(tmp_path / "cropped.exr", max_pixels=60)
    assert still.size == (10, 6)
    np.testing.assert_array_equal(still.alpha[1:4, 2:6], 1.0)
    assert still.alpha.sum() == 12.0
    np.testing.assert_array_equal(still.rgb[1:4, 2:6, 0], 0.0)
    np.testing.assert_allclose(still.rgb[1:4, 2:6, 1:], 1.0)
    with pytest.raises(InputTooLargeError, match="10x6"):
        read_image(tmp_path / "cropped.exr", max_pixels=59)
