"""Driver frames from anywhere: one interface over video files, frame folders, patterns and single images.

Frame numbers are 1-based and inclusive everywhere (``--frames 101-150`` is 50 frames), so a farm chunk
asks a source for exactly its frames and output frame N is driver frame N.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from typing import Iterator

import numpy as np

from ..errors import UnreadableFileError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp", ".webp", ".tga", ".dpx")
_PRINTF_TOKEN = re.compile(r"%0?\d*d")


class FrameSource(ABC):
    """Numbered RGB frames: ``fps``, exact ``frame_count``, ``size`` (width, height) as displayed."""

    path: str
    fps: float
    frame_count: int
    size: tuple[int, int]
    first_frame: int = 1

    @property
    def last_frame(self) -> int:
        return self.first_frame + self.frame_count - 1

    def frames(self, start: int | None = None, end: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame_number, rgb)`` for ``start..end`` inclusive; rgb is uint8 HxWx3, upright.

        Starting mid-clip does not decode from the first frame where the format allows seeking.
        """
        first = self.first_frame if start is None else start
        last = self.last_frame if end is None else end
        if not self.first_frame <= first <= last <= self.last_frame:
            raise ValueError(f"{self.path}: frames {first}-{last} requested, but it has frames "
                             f"{self.first_frame}-{self.last_frame}")
        return self._frames(first, last)

    def frame(self, number: int) -> np.ndarray:
        """One frame's pixels (for a preview or a neutral-frame lookup)."""
        return next(iter(self.frames(number, number)))[1]

    def __len__(self) -> int:
        return self.frame_count

    @abstractmethod
    def _frames(self, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yield the frames ``first..last``, already range-checked."""

    @abstractmethod
    def content_sha256(self) -> str:
        """A digest of the frames' files, for provenance and cache keys."""


def is_sequence_pattern(path: str) -> bool:
    """Whether ``path`` names numbered files (``img.####.png``, ``img.%04d.png``) rather than one file."""
    name = os.path.basename(path)
    return "#" in name or bool(_PRINTF_TOKEN.search(name))


def open_frames(path: str | os.PathLike, backend: str | None = None) -> FrameSource:
    """Open a driver: a video file, a folder of images, a frame pattern, or one image (one frame).

    ``backend`` forces a video decoder ("pyav" or "opencv"); by default PyAV, and OpenCV only for a
    file PyAV cannot open.
    """
    path = os.path.expanduser(os.fspath(path))
    from . import sequences, video  # a still-image driver never loads the video decoders

    if is_sequence_pattern(path):
        return sequences.ImageSequence.from_pattern(path)
    if os.path.isdir(path):
        return sequences.ImageSequence.from_folder(path)
    if not os.path.exists(path):
        raise UnreadableFileError(f"{path}: file not found")
    if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
        return sequences.ImageSequence([path], path)
    return video.open_video(path, backend)
