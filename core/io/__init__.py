"""Image and video input/output: OpenImageIO frames, video decoding, frame naming, metadata, colour.

Import what you need from the submodules (``from portrait_animator.io.images import read_image``) or
from here; this package imports nothing heavy until a name is used.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "FramePattern": "naming",
    "srgb_to_linear": "colour", "linear_to_srgb": "colour",
    "StillImage": "images", "read_image": "images",
    "file_sha256": "provenance", "build_provenance": "provenance", "SYNTHETIC_STATEMENT": "provenance",
    "FrameWriter": "frames", "check_output_writable": "frames",
    "read_frame_metadata": "metadata",
    "atomic_path": "atomic",
    "FrameSource": "sources", "open_frames": "sources",
    "PreviewWriter": "preview", "write_preview": "preview",
    "FrameWriteQueue": "write_queue",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
