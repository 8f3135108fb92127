"""Writing the output image sequence: EXR for compositing, PNG/TIFF for everything else.

EXR frames are what Nuke, Blender and Resolve expect from a renderer: half float, linear Rec.709 light,
premultiplied RGBA (A = the still's own alpha, 1 for an opaque still) and the face matte as the extra
channel ``matte.A`` (Nuke: layer ``matte``). PNG/TIFF frames are sRGB-encoded 8/16-bit with straight alpha,
as those formats define it, and the matte is a grey sibling sequence (``shot_matte.####.png``).
Every file carries provenance metadata; every file is written atomically, matte first, so the main frame
existing means the whole frame is finished.
"""

from __future__ import annotations

import os
import re
from typing import Mapping

import cv2
import numpy as np
import OpenImageIO as oiio

from ..errors import OutputError
from . import atomic
from .colour import srgb_to_linear
from .metadata import set_metadata
from .naming import FramePattern
from .provenance import frame_provenance

EXR_COMPRESSIONS = ("zip", "piz", "dwaa", "none")
BIT_DEPTHS = (8, 16)
_FORMATS = {".exr": "openexr", ".png": "png", ".tif": "tiff", ".tiff": "tiff"}
_REC709_CHROMATICITIES = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)
_EXR_CHANNELS = ("R", "G", "B", "A", "matte.A")
# Measured with bench/io.py: zlib level 1 with the "up" filter writes PNGs 3-7x faster than OIIO's default
# (level 6, adaptive filters) for files 6-12% larger. OIIO's TIFF deflate ignores its level setting and is
# slow; LZW is ~4x faster for 8-bit, but without a predictor it barely compresses 16-bit data.
_PNG_ZLIB_LEVEL = 1
_PNG_FILTER_UP = 0x20  # libpng's PNG_FILTER_UP
# OIIO 3.0 names (the Color Interop Forum's IDs); OIIO does not store oiio:ColorSpace in EXR files, so the
# EXR also gets the standard chromaticities and a colorInteropID attribute.
LINEAR_COLOURSPACE = "lin_rec709_scene"
SRGB_COLOURSPACE = "srgb_rec709_scene"


class FrameWriter:
    """Writes numbered frames of one output sequence (and its matte) with provenance metadata.

    ``pattern``: ``dir/shot.####.exr`` (``.exr``, ``.png``, ``.tif``/``.tiff``). ``bit_depth``: 8 or 16 for
    PNG/TIFF (EXR is always half float). ``exr_compression``: zip, piz, dwaa or none. ``provenance``: the
    render's fields (see ``build_provenance``), written into every file. ``overwrite``: replace finished
    frames; otherwise writing one raises ``OutputError`` (callers skip them with ``exists``).
    """

    def __init__(self, pattern: FramePattern | str, *, bit_depth: int = 8, exr_compression: str = "zip",
                 provenance: Mapping[str, str] | None = None, overwrite: bool = False):
        self.pattern = pattern if isinstance(pattern, FramePattern) else FramePattern.parse(pattern)
        self.file_format = _FORMATS.get(self.pattern.extension)
        if self.file_format is None:
            raise OutputError(f"{self.pattern.blender_path}: unsupported frame format "
                              f"'{self.pattern.extension or '(none)'}'; use .exr, .png or .tif")
        if bit_depth not in BIT_DEPTHS:
            raise OutputError(f"{self.pattern.blender_path}: bit depth must be 8 or 16 (got {bit_depth})")
        if exr_compression not in EXR_COMPRESSIONS:
            raise OutputError(f"{self.pattern.blender_path}: EXR compression must be one of "
                              f"{', '.join(EXR_COMPRESSIONS)} (got {exr_compression!r})")
        self.bit_depth = bit_depth
        self.exr_compression = exr_compression
        self.provenance = dict(provenance or {})
        self.overwrite = overwrite
        self.matte_pattern = None if self.file_format == "openexr" else self.pattern.with_tag("matte")

    # ------------------------------------------------------------------------------------ queries
    @property
    def folder(self) -> str:
        return self.pattern.folder

    def path(self, frame_number: int) -> str:
        return self.pattern.path(frame_number)

    def matte_path(self, frame_number: int) -> str | None:
        """The sibling matte file of a PNG/TIFF frame; None for EXR (the matte is a channel)."""
        return self.matte_pattern.path(frame_number) if self.matte_pattern else None

    def exists(self, frame_number: int) -> bool:
        """Whether the frame is finished (its main file is renamed into place last)."""
        return os.path.isfile(self.path(frame_number))

    def finished_frames(self) -> set[int]:
        """Frame numbers already finished, from one folder listing (fast on folders of thousands)."""
        folder, prefix = os.path.split(self.pattern.prefix)
        name = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(self.pattern.suffix) + "$")
        try:
            entries = os.scandir(folder or ".")
        except (FileNotFoundError, NotADirectoryError):
            return set()
        with entries:
            return {int(match.group(1)) for entry in entries
                    if (match := name.match(entry.name)) and entry.name == os.path.basename(
                        self.path(int(match.group(1))))}  # exactly the name path(n) gives

    def remove_stale_partials(self) -> list[str]:
        """Remove partial files of this sequence left by a dead process of this host (see ``atomic``)."""
        names = [os.path.basename(self.pattern.prefix)]
        if self.matte_pattern:
            names.append(os.path.basename(self.matte_pattern.prefix))
        return [path for name in names for path in atomic.remove_stale_partials(self.folder, name)]

    # ------------------------------------------------------------------------------------ writing
    def write(self, frame_number: int, rgb: np.ndarray, matte: np.ndarray, alpha: np.ndarray | None = None,
              extra_metadata: Mapping[str, object] | None = None) -> str:
        """Write one frame and return its path.

        ``rgb``: float HxWx3 sRGB-encoded in [0, 1] (the engine's convention). ``matte``: float HxW in
        [0, 1], where the face was animated. ``alpha``: the still's own straight alpha, HxW, or None.
        """
        rgb, matte, alpha = _checked(rgb, matte, alpha)
        path = self.path(frame_number)
        if not self.overwrite and os.path.exists(path):
            raise OutputError(f"{path}: frame already exists; not overwriting a finished frame "
                              "(skip it, or render with --overwrite)")
        if not os.path.isdir(self.folder):
            make_output_folder(self.folder)
        extra = dict(extra_metadata or {})
        if self.file_format == "openexr":
            files = [(path, self._exr_spec(rgb, frame_number, extra), _exr_pixels(rgb, matte, alpha))]
        else:
            image = rgb if alpha is None else np.dstack([rgb, alpha])
            files = [
                (self.matte_path(frame_number), self._sdr_spec(matte, frame_number, extra, "matte"),
                 _quantise(matte[..., None], self.bit_depth)),  # OIIO reads a 2-D array as x, channel
                (path, self._sdr_spec(image, frame_number, extra, "image"), _quantise(image, self.bit_depth)),
            ]
        partials = []
        try:
            for final, spec, pixels in files:
                partials.append(atomic.partial_path(final))
                write_image_file(partials[-1], final, self.file_format, spec, pixels)
            for partial, (final, _, _) in zip(partials, files):  # matte first: the main frame lands last
                atomic.commit(partial, final)
        finally:
            for partial in partials:
                atomic.discard(partial)
        return path

    def _exr_spec(self, rgb: np.ndarray, frame_number: int, extra: dict) -> oiio.ImageSpec:
        height, width = rgb.shape[:2]
        spec = oiio.ImageSpec(width, height, len(_EXR_CHANNELS), oiio.HALF)
        spec.channelnames = _EXR_CHANNELS
        spec.alpha_channel = 3
        spec.attribute("compression", self.exr_compression)
        spec.attribute("oiio:ColorSpace", LINEAR_COLOURSPACE)
        spec.attribute("colorInteropID", LINEAR_COLOURSPACE)
        spec.attribute("chromaticities", oiio.TypeDesc("float[8]"), _REC709_CHROMATICITIES)
        set_metadata(spec, frame_provenance(self.provenance, frame_number, "image+matte", extra), "openexr")
        return spec

    def _sdr_spec(self, pixels: np.ndarray, frame_number: int, extra: dict, content: str) -> oiio.ImageSpec:
        height, width = pixels.shape[:2]
        channels = 1 if pixels.ndim == 2 else pixels.shape[2]
        spec = oiio.ImageSpec(width, height, channels, oiio.UINT8 if self.bit_depth == 8 else oiio.UINT16)
        spec.channelnames = {1: ("Y",), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}[channels]
        if channels == 4:
            spec.alpha_channel = 3
            spec.attribute("oiio:UnassociatedAlpha", 1)  # straight alpha, stored as given
        # The matte is coverage data, not colour: tagged Raw (no sRGB chunk); read it as Raw/Non-Color.
        spec.attribute("oiio:ColorSpace", SRGB_COLOURSPACE if content == "image" else "Raw")
        if self.file_format == "png":
            spec.attribute("png:compressionLevel", _PNG_ZLIB_LEVEL)
            spec.attribute("png:filter", _PNG_FILTER_UP)
        else:
            spec.attribute("compression", "lzw" if self.bit_depth == 8 else "zip")
        set_metadata(spec, frame_provenance(self.provenance, frame_number, content, extra), self.file_format)
        return spec


def check_output_writable(folder: str | os.PathLike) -> None:
    """Create ``folder`` if missing and write (then remove) a probe file; ``OutputError`` naming it if not.

    Asking the filesystem is the only honest test: permission bits say nothing for root, read-only mounts,
    quotas or network storage.
    """
    folder = os.fspath(folder) or "."
    make_output_folder(folder)
    probe = atomic.partial_path(os.path.join(folder, "write-test"))
    try:
        with open(probe, "wb") as handle:
            handle.write(b"portrait-animator write test\n")
    except OSError as error:
        raise OutputError(f"{folder}: output folder is not writable ({atomic.describe_os_error(error)})") \
            from None
    finally:
        atomic.discard(probe)


def make_output_folder(folder: str) -> None:
    """``os.makedirs`` with errors that name the folder and say what is wrong."""
    try:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{folder}: output folder is a file, not a folder") from None
    except NotADirectoryError:
        raise OutputError(f"{folder}: cannot create the output folder: part of its path is a file, "
                          "not a folder") from None
    except OSError as error:
        raise OutputError(f"{folder}: cannot create the output folder "
                          f"({atomic.describe_os_error(error)})") from None


def write_image_file(partial: str, final: str, file_format: str, spec: oiio.ImageSpec, pixels: np.ndarray) -> None:
    """Write ``pixels`` to ``partial`` (renamed to ``final`` by the caller); ``OutputError`` naming ``final``."""
    output = oiio.ImageOutput.create(file_format)
    if output is None:
        raise OutputError(f"{final}: OpenImageIO cannot write {file_format} ({oiio.geterror().strip()})")
    ok = output.open(partial, spec) and output.write_image(pixels)
    error = output.geterror()
    ok = output.close() and ok
    error = error or output.geterror()
    if ok and file_format == "png" and not _png_is_complete(partial):
        ok, error = False, "the PNG file came out truncated"  # libpng does not report failed writes
    if not ok or not os.path.isfile(partial):
        reason = _os_reason(partial) or " ".join(error.replace(partial, final).split()) or "unknown error"
        raise OutputError(f"{final}: writing the frame failed in folder {os.path.dirname(final) or '.'} "
                          f"({reason}); check free disk space and permissions")


def _png_is_complete(path: str) -> bool:
    """Walk the chunk lengths: a whole PNG ends exactly with its IEND chunk."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        if handle.read(8) != b"\x89PNG\r\n\x1a\n":
            return False
        position = 8
        while position + 12 <= size:
            handle.seek(position)
            header = handle.read(8)
            length = int.from_bytes(header[:4], "big")
            position += 12 + length
            if header[4:8] == b"IEND":
                return position == size
    return False


def _os_reason(partial: str) -> str | None:
    """OIIO reports a full disk as a vague write error; say so when it is the folder's real problem."""
    folder = os.path.dirname(partial) or "."
    try:
        stat = os.statvfs(folder)
    except OSError:
        return None
    if stat.f_bavail * stat.f_frsize < (1 << 20):
        return "disk full"
    return None


def _checked(rgb, matte, alpha):
    rgb = np.asarray(rgb, dtype=np.float32)
    matte = np.asarray(matte, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be HxWx3, got shape {rgb.shape}")
    if matte.shape != rgb.shape[:2]:
        raise ValueError(f"matte must be HxW = {rgb.shape[:2]}, got shape {matte.shape}")
    if alpha is not None:
        alpha = np.asarray(alpha, dtype=np.float32)
        if alpha.shape != rgb.shape[:2]:
            raise ValueError(f"alpha must be HxW = {rgb.shape[:2]}, got shape {alpha.shape}")
    return rgb, matte, alpha


def _exr_pixels(rgb: np.ndarray, matte: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Linear, premultiplied R G B A and the matte, interleaved as float16."""
    height, width = rgb.shape[:2]
    pixels = np.empty((height, width, len(_EXR_CHANNELS)), np.float32)
    linear = srgb_to_linear(rgb)
    np.clip(linear, 0.0, 1.0, out=linear)  # same as clipping the sRGB values: the curve maps 0->0, 1->1
    if alpha is None:
        pixels[..., :3] = linear
        pixels[..., 3] = 1.0
    else:
        coverage = np.clip(alpha, 0.0, 1.0)
        linear *= coverage[..., None]
        pixels[..., :3] = linear
        pixels[..., 3] = coverage
    np.clip(matte, 0.0, 1.0, out=pixels[..., 4])
    # OpenCV's SIMD float16 conversion is bit-identical to numpy's and ~10x faster.
    return cv2.convertFp16(pixels.reshape(height, -1)).view(np.float16).reshape(pixels.shape)


def _quantise(values: np.ndarray, bit_depth: int) -> np.ndarray:
    """Round [0, 1] floats to the nearest 8/16-bit code."""
    top = 255.0 if bit_depth == 8 else 65535.0
    scaled = np.clip(values, 0.0, 1.0) * np.float32(top)
    np.rint(scaled, out=scaled)
    return scaled.astype(np.uint8 if bit_depth == 8 else np.uint16)
