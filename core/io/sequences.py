"""Image sequences as drivers: a folder of frames, a ``img.####.png`` / ``img.%04d.png`` pattern, one image.

Frames are decoded with ``read_image`` (OpenImageIO: any bit depth, EXR, EXIF orientation) and handed on
as 8-bit sRGB like video frames. A numbered pattern with a hole in it is an error, not a silent jump in
time; frame N of a sequence is its N-th file in number order (a plate numbered from 1001 is frames 1..).
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Iterator

import numpy as np
import OpenImageIO as oiio

from ..errors import UnreadableFileError
from .images import read_image
from .naming import FramePattern
from .provenance import file_sha256
from .sources import IMAGE_EXTENSIONS, FrameSource

DEFAULT_SEQUENCE_FPS = 25.0
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


class ImageSequence(FrameSource):
    """Numbered image files played as a clip. ``paths[i]`` is frame ``i + 1``."""

    def __init__(self, paths: list[str], path: str, fps: float = DEFAULT_SEQUENCE_FPS):
        self.paths = list(paths)
        self.path = path
        self.fps = float(fps)
        self.frame_count = len(self.paths)
        self.size = _displayed_size(self.paths[0])

    @classmethod
    def from_pattern(cls, pattern: str, fps: float = DEFAULT_SEQUENCE_FPS) -> "ImageSequence":
        """All files matching ``img.####.png`` (any number of digits >= the padding), in number order."""
        parsed = FramePattern.parse(pattern)
        folder, prefix = os.path.split(parsed.prefix)
        name = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(parsed.suffix) + "$")
        try:
            names = os.listdir(folder or ".")
        except OSError:
            raise UnreadableFileError(f"{pattern}: folder {folder or '.'} not found") from None
        numbered = sorted((int(match.group(1)), entry) for entry in names
                          if (match := name.match(entry)) and len(match.group(1)) >= parsed.padding)
        if not numbered:
            raise UnreadableFileError(f"{pattern}: the pattern matches no files")
        numbers = [number for number, _ in numbered]
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing:
            raise UnreadableFileError(
                f"{pattern}: sequence {numbers[0]}-{numbers[-1]} has {len(missing)} missing frame(s), first "
                f"{parsed.path(missing[0])}")
        return cls([os.path.join(folder, entry) for _, entry in numbered], pattern, fps)

    @classmethod
    def from_folder(cls, folder: str, fps: float = DEFAULT_SEQUENCE_FPS) -> "ImageSequence":
        """The image files of a folder in natural order; a folder holding two sequences is an error."""
        try:
            names = [entry.name for entry in os.scandir(folder)
                     if entry.is_file() and not entry.name.startswith(".")
                     and os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS]
        except OSError as error:
            raise UnreadableFileError(f"{folder}: cannot list the folder ({error.strerror})") from None
        if not names:
            raise UnreadableFileError(f"{folder}: the folder holds no image files "
                                      f"({', '.join(IMAGE_EXTENSIONS)})")
        groups = {_LAST_NUMBER.sub("#", name) for name in names}
        if len(groups) > 1:
            shown = ", ".join(sorted(groups)[:3]) + (", ..." if len(groups) > 3 else "")
            raise UnreadableFileError(f"{folder}: the folder holds several image sequences ({shown}); "
                                      "give one as a pattern such as img.####.png")
        names.sort(key=_natural_key)
        return cls([os.path.join(folder, name) for name in names], folder, fps)

    def _frames(self, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
        for number in range(first, last + 1):
            path = self.paths[number - 1]
            rgb = read_image(path).rgb
            if (rgb.shape[1], rgb.shape[0]) != self.size:
                raise UnreadableFileError(f"{path}: frame {number} is {rgb.shape[1]}x{rgb.shape[0]}, but the "
                                          f"sequence is {self.size[0]}x{self.size[1]}")
            rgb *= 255.0
            np.rint(rgb, out=rgb)
            yield number, rgb.astype(np.uint8)

    def content_sha256(self) -> str:
        """SHA-256 over each file's name and SHA-256 (reads every file once)."""
        digest = hashlib.sha256()
        for path in self.paths:
            digest.update(f"{os.path.basename(path)} {file_sha256(path)}\n".encode())
        return digest.hexdigest()


def _displayed_size(path: str) -> tuple[int, int]:
    """(width, height) from the header, swapped for EXIF orientations that turn the picture sideways."""
    image = oiio.ImageInput.open(path)
    if image is None:
        # Let read_image produce its precise message (missing, empty, corrupt ...).
        read_image(path)
        raise UnreadableFileError(f"{path}: not a readable image")
    spec = image.spec()
    image.close()
    if spec.get_int_attribute("Orientation", 1) in (5, 6, 7, 8):
        return spec.height, spec.width
    return spec.width, spec.height


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]
