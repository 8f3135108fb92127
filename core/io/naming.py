"""Frame-file naming: ``shot.####.exr`` patterns, as Blender and compositors write them."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%0?(\d*)d")


@dataclass(frozen=True)
class FramePattern:
    """A file pattern with one frame-number token: a run of ``#`` (its length is the padding) or ``%04d``.

    A pattern without a token gets ``.####`` before its extension, as Blender does.
    """

    prefix: str
    padding: int
    suffix: str

    @classmethod
    def parse(cls, pattern: str) -> "FramePattern":
        pattern = os.path.expanduser(pattern)
        folder, name = os.path.split(pattern)
        matches = list(_HASHES.finditer(name))
        if matches:
            token = matches[-1]
            padding = len(token.group(0))
        else:
            printf = list(_PRINTF.finditer(name))
            if printf:
                token = printf[-1]
                padding = int(token.group(1) or 1)
            else:
                stem, ext = os.path.splitext(name)
                return cls(os.path.join(folder, stem + "."), 4, ext)
        return cls(os.path.join(folder, name[:token.start()]), padding, name[token.end():])

    def path(self, frame: int) -> str:
        return f"{self.prefix}{frame:0{self.padding}d}{self.suffix}"

    def with_tag(self, tag: str) -> "FramePattern":
        """A sibling sequence, e.g. ``shot.####.png`` -> ``shot_matte.####.png`` for tag ``matte``."""
        folder, name = os.path.split(self.prefix)
        stem = name.rstrip("._")
        sep = name[len(stem):] or "."
        return FramePattern(os.path.join(folder, f"{stem}_{tag}{sep}"), self.padding, self.suffix)

    @property
    def folder(self) -> str:
        return os.path.dirname(self.prefix) or "."

    @property
    def extension(self) -> str:
        return os.path.splitext("frame" + self.suffix)[1].lower()  # a bare ".exr" is not a hidden file

    @property
    def glob(self) -> str:
        return f"{self.prefix}{'[0-9]' * self.padding}{self.suffix}"

    @property
    def blender_path(self) -> str:
        """The first-frame-agnostic form Blender's image sequences and tokens use."""
        return f"{self.prefix}{'#' * self.padding}{self.suffix}"
