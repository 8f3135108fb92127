"""The preview movie: H.264 in MP4 that any player, browser or review tool opens.

yuv420p 4:2:0 needs even dimensions, so an odd-sized frame gets its last row/column repeated. Colour is
converted with the BT.709 matrix and tagged BT.709/sRGB-ish (bt709 primaries and transfer, limited
range), so players neither shift hues nor guess. The file appears only when ``close`` finishes.

The movie is the file most likely to travel (review tools, chat, the web), so it carries the render's
provenance like every frame: MP4 ``comment`` holds the synthetic statement and the fields as JSON (what
the frames' ImageDescription holds), ``description`` the statement alone.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterable, Mapping

import av
import numpy as np

from ..errors import OutputError
from . import atomic
from .colour import linear_to_srgb, srgb_to_linear
from .images import read_image
from .metadata import description
from .naming import FramePattern
from .provenance import SYNTHETIC_STATEMENT, file_provenance

DEFAULT_CRF = 18  # visually lossless for review; the frames themselves are the deliverable
DEFAULT_PRESET = "veryfast"


class PreviewWriter:
    """Write frames to ``path`` (.mp4) at ``fps``; ``size`` is (width, height) of the frames given.
    ``provenance``: the render's fields (see ``build_provenance``); the movie says it is synthetic either way.

    Use as a context manager: on an exception the partial movie is removed and nothing appears.
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int], crf: int = DEFAULT_CRF,
                 preset: str = DEFAULT_PRESET, provenance: Mapping[str, str] | None = None):
        self.path = os.fspath(path)
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] < 2 or self.size[1] < 2:
            raise ValueError(f"{self.path}: preview size must be at least 2x2, got {self.size}")
        self.frames_written = 0
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            from .frames import make_output_folder
            make_output_folder(folder)
        self._partial = atomic.partial_path(self.path)
        self._encoded_size = (self.size[0] + self.size[0] % 2, self.size[1] + self.size[1] % 2)
        try:
            self._container = av.open(self._partial, "w", format="mp4", options={"movflags": "+faststart"})
            stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        except (av.error.FFmpegError, OSError) as error:
            atomic.discard(self._partial)
            raise OutputError(f"{self.path}: cannot create the preview movie ({error})") from None
        self._container.metadata.update({"comment": description(file_provenance(provenance or {}, "preview")),
                                         "description": SYNTHETIC_STATEMENT})
        stream.width, stream.height = self._encoded_size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = 1  # AVCOL_*_BT709
        context.color_range = 1  # limited ("tv") range, what H.264 players expect
        self._stream = stream

    def write(self, rgb: np.ndarray) -> None:
        """Add one frame: uint8 HxWx3, or float HxWx3 sRGB-encoded in [0, 1]."""
        if rgb.shape[:2] != (self.size[1], self.size[0]) or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"{self.path}: preview frames must be {self.size[1]}x{self.size[0]}x3, "
                             f"got {rgb.shape}")
        if rgb.dtype != np.uint8:
            rgb = np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
        pad_x, pad_y = self._encoded_size[0] - self.size[0], self._encoded_size[1] - self.size[1]
        if pad_x or pad_y:
            rgb = np.pad(rgb, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709")
        frame.pts = self.frames_written
        self._mux(self._stream.encode(frame))
        self.frames_written += 1

    def close(self) -> str:
        """Finish the movie and move it into place; return its path."""
        try:
            self._mux(self._stream.encode(None))
            self._container.close()
        except BaseException:
            self.abort()
            raise
        if self.frames_written == 0:
            atomic.discard(self._partial)
            raise OutputError(f"{self.path}: no frames were given; the preview was not written")
        atomic.commit(self._partial, self.path)
        return self.path

    def abort(self) -> None:
        """Stop without leaving a file behind."""
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError):
            pass
        atomic.discard(self._partial)

    def _mux(self, packets) -> None:
        try:
            self._container.mux(packets)
        except (av.error.FFmpegError, OSError) as error:
            self.abort()
            raise OutputError(f"{self.path}: writing the preview failed ({atomic.describe_os_error(error)})") \
                from None

    def __enter__(self) -> "PreviewWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def write_preview(path: str | os.PathLike, pattern: FramePattern | str, frame_numbers: Iterable[int],
                  fps: float, provenance: Mapping[str, str] | None = None) -> str:
    """Encode finished frame files (EXR, PNG or TIFF) into the preview movie, with the render's
    ``provenance``; return its path.

    Frames with alpha are shown over black (composited in linear light, as a compositor would).
    """
    pattern = pattern if isinstance(pattern, FramePattern) else FramePattern.parse(pattern)
    preview = None
    try:
        for number in frame_numbers:
            still = read_image(pattern.path(number))
            rgb = still.rgb
            if still.alpha is not None:
                rgb = linear_to_srgb(srgb_to_linear(rgb) * still.alpha[..., None])
            if preview is None:
                preview = PreviewWriter(path, fps, still.size, provenance=provenance)
            preview.write(rgb)
    except BaseException:
        if preview is not None:
            preview.abort()
        raise
    if preview is None:
        raise OutputError(f"{os.fspath(path)}: no frames were given; the preview was not written")
    return preview.close()
