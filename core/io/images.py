"""Reading still images with OpenImageIO into the engine's one convention: sRGB-encoded float32 RGB.

Whatever the file holds — 8/16-bit or float, grey or RGB(A), linear EXR with premultiplied alpha, a phone
JPEG stored sideways — ``read_image`` returns the picture as a viewer shows it: upright, sRGB-encoded,
with straight alpha kept apart. What cannot be used faithfully (CMYK, a damaged file, an enormous still)
is refused with a message naming the file, before any time is spent decoding it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import OpenImageIO as oiio

from ..errors import InputTooLargeError, UnreadableFileError
from .colour import linear_to_srgb

_BIT_DEPTHS = {"uint8": 8, "int8": 8, "uint16": 16, "int16": 16, "half": 16, "uint32": 32, "int32": 32,
               "float": 32, "double": 64}
_FLOAT_FORMATS = ("half", "float", "double")
_CMYK_NAMES = ("CMYK", "YCCK")
_TIFF_PHOTOMETRIC_SEPARATED = 5


@dataclass
class StillImage:
    """A decoded still, upright, as the engine uses it.

    ``rgb``: float32 HxWx3, sRGB-encoded, in [0, 1]. ``alpha``: float32 HxW straight (not premultiplied)
    coverage, or None for an opaque file. ``bit_depth``/``sample_format``: what the file stored
    (e.g. 8/"uint8", 16/"half"). ``original_channels``: the file's channel names. ``colourspace``: what the
    file held and what was done to it, for logs and provenance.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    path: str
    bit_depth: int
    sample_format: str
    original_channels: tuple[str, ...]
    colourspace: str

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, after orientation."""
        return self.rgb.shape[1], self.rgb.shape[0]


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> StillImage:
    """Read a still; raise ``UnreadableFileError``/``InputTooLargeError`` naming the file on bad input.

    ``max_pixels`` is checked against the header, before any pixel is decoded.
    """
    path = os.fspath(path)
    _check_file(path)
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)  # PNG/TIFF straight alpha as stored, not premultiplied
    image = oiio.ImageInput.open(path, config)
    if image is None:
        raise UnreadableFileError(f"{path}: not a readable image ({_oiio_message(oiio.geterror())})")
    try:
        spec = image.spec()
        _check_size(path, spec, max_pixels)
        _check_not_cmyk(path, spec)
        pixels = image.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT)
        if pixels is None or image.has_error:
            raise UnreadableFileError(
                f"{path}: corrupt or truncated image ({_oiio_message(image.geterror())})")
    finally:
        image.close()
    pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, spec.nchannels)
    return _to_still(path, spec, _in_display_window(spec, pixels))


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise UnreadableFileError(f"{path}: file not found")
    if os.path.isdir(path):
        raise UnreadableFileError(f"{path}: is a folder, not an image file")
    if os.path.getsize(path) == 0:
        raise UnreadableFileError(f"{path}: file is empty (0 bytes)")


def _check_size(path: str, spec: oiio.ImageSpec, max_pixels: int | None) -> None:
    if spec.width <= 0 or spec.height <= 0 or spec.nchannels <= 0:
        raise UnreadableFileError(f"{path}: image has no pixels ({spec.width}x{spec.height}, "
                                  f"{spec.nchannels} channels)")
    width, height = max(spec.width, spec.full_width), max(spec.height, spec.full_height)
    pixels = width * height
    if max_pixels is not None and pixels > max_pixels:
        raise InputTooLargeError(
            f"{path}: still is {width}x{height} ({pixels / 1e6:.1f} Mpx), above the limit of "
            f"{max_pixels} pixels ({max_pixels / 1e6:.1f} Mpx); downscale it or raise max_still_pixels")


def _check_not_cmyk(path: str, spec: oiio.ImageSpec) -> None:
    """OIIO silently converts CMYK JPEG/TIFF to RGB without the print profile; refuse instead."""
    declared = {spec.get_string_attribute(name).upper()
                for name in ("jpeg:ColorSpace", "tiff:ColorSpace", "oiio:ColorSpace")}
    separated = spec.get_int_attribute("tiff:PhotometricInterpretation", 0) == _TIFF_PHOTOMETRIC_SEPARATED
    cmyk_channels = tuple(spec.channelnames[:4]) == ("C", "M", "Y", "K")
    if declared & set(_CMYK_NAMES) or separated or cmyk_channels:
        raise UnreadableFileError(
            f"{path}: CMYK image (a print separation); convert it to RGB (sRGB) in an image editor first")


def _in_display_window(spec: oiio.ImageSpec, pixels: np.ndarray) -> np.ndarray:
    """The picture as framed: EXR data windows may be cropped to content or extend past the frame."""
    full = (spec.full_x, spec.full_y, spec.full_width, spec.full_height)
    if full == (spec.x, spec.y, spec.width, spec.height) or spec.full_width <= 0 or spec.full_height <= 0:
        return pixels
    canvas = np.zeros((spec.full_height, spec.full_width, spec.nchannels), np.float32)
    left, top = spec.x - spec.full_x, spec.y - spec.full_y
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + spec.width, spec.full_width), min(top + spec.height, spec.full_height)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = pixels[y0 - top:y1 - top, x0 - left:x1 - left]
    return canvas


def _to_still(path: str, spec: oiio.ImageSpec, pixels: np.ndarray) -> StillImage:
    sample_format = str(spec.format)
    channels = tuple(spec.channelnames)
    if sample_format in _FLOAT_FORMATS:
        np.nan_to_num(pixels, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    alpha_index = spec.alpha_channel
    if alpha_index < 0 and spec.nchannels in (2, 4):
        alpha_index = spec.nchannels - 1
    colour_indices = [i for i in range(spec.nchannels) if i != alpha_index][:3]
    colour = pixels[..., colour_indices]
    if colour.shape[-1] < 3:  # grey (or grey + something): replicate the first channel
        colour = np.repeat(colour[..., :1], 3, axis=-1)
    alpha = pixels[..., alpha_index] if alpha_index >= 0 else None

    notes = []
    if alpha is not None and not spec.get_int_attribute("oiio:UnassociatedAlpha", 0):
        colour = _unpremultiply(colour, alpha)  # in the file's own encoding, where it was premultiplied
        notes.append("premultiplied alpha divided out")
    if _is_linear(spec):
        colour = linear_to_srgb(colour)
        notes.insert(0, f"linear ({spec.get_string_attribute('oiio:ColorSpace') or 'float'}) "
                        "encoded to sRGB")
        if float(colour.max(initial=0.0)) > 1.0:
            notes.append("values above 1 clipped")
    else:
        declared = spec.get_string_attribute("oiio:ColorSpace")
        if not declared:
            notes.insert(0, "sRGB (assumed)")
        elif oiio.equivalent_colorspace(declared, "srgb_rec709_scene"):
            notes.insert(0, declared)
        else:
            notes.insert(0, f"{declared} (used as sRGB)")
    if spec.getattribute("ICCProfile") is not None:
        notes.append("embedded ICC profile not applied")

    rgb = np.clip(colour, 0.0, 1.0, out=np.empty(colour.shape, np.float32))
    if alpha is not None:
        alpha = np.clip(alpha, 0.0, 1.0).astype(np.float32)
    orientation = spec.get_int_attribute("Orientation", 1)
    rgb = orient(rgb, orientation)
    alpha = orient(alpha, orientation) if alpha is not None else None
    if orientation != 1:
        notes.append(f"EXIF orientation {orientation} applied")
    return StillImage(
        rgb=np.ascontiguousarray(rgb), alpha=None if alpha is None else np.ascontiguousarray(alpha),
        path=path, bit_depth=_BIT_DEPTHS.get(sample_format, spec.format.size() * 8),
        sample_format=sample_format, original_channels=channels, colourspace="; ".join(notes))


def _is_linear(spec: oiio.ImageSpec) -> bool:
    """Linear light: a file OIIO tags linear (EXR and the like), or an untagged float file."""
    declared = spec.get_string_attribute("oiio:ColorSpace")
    if declared:
        return oiio.equivalent_colorspace(declared, "lin_rec709_scene") or \
            oiio.equivalent_colorspace(declared, "linear")
    return str(spec.format) in _FLOAT_FORMATS


def _unpremultiply(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight colour from premultiplied; fully transparent pixels have no colour and become 0."""
    safe = np.where(alpha > 0.0, alpha, 1.0)[..., None]
    return np.where(alpha[..., None] > 0.0, colour / safe, 0.0).astype(np.float32)


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels (HxW or HxWxC) upright per the EXIF/TIFF Orientation tag (1-8)."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return np.swapaxes(pixels, 0, 1)
    if orientation == 6:
        return np.swapaxes(pixels, 0, 1)[:, ::-1]
    if orientation == 7:
        return np.swapaxes(pixels, 0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.swapaxes(pixels, 0, 1)[::-1]
    return pixels


def _oiio_message(text: str) -> str:
    """OIIO's error text on one line (the CLI prints errors as a single line)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return "; ".join(dict.fromkeys(lines)) or "unknown OpenImageIO error"
