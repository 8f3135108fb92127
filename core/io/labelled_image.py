"""One synthetic picture that is not a frame of a shot — a training sample grid, an evaluation contact
sheet — written as the frames are: by OpenImageIO, atomically, saying that it is synthetic and what made it.
Such pictures leave the project too (reports, issue threads), so they carry the label as frames do."""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np
import OpenImageIO as oiio

from . import atomic
from .frames import SRGB_COLOURSPACE, make_output_folder, write_image_file
from .metadata import set_metadata
from .provenance import file_provenance


def write_labelled_png(path: str | os.PathLike, rgb: np.ndarray, content: str,
                       provenance: Mapping[str, str] | None = None) -> str:
    """Write ``rgb`` (uint8 HxWx3, sRGB) to ``path`` as a PNG with the provenance of ``content``."""
    path = os.fspath(path)
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{path}: expected HxWx3 pixels, got {rgb.shape}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        make_output_folder(folder)
    spec = oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, oiio.UINT8)
    spec.attribute("oiio:ColorSpace", SRGB_COLOURSPACE)
    set_metadata(spec, file_provenance(provenance or {}, content), "png")
    with atomic.atomic_path(path) as partial:
        write_image_file(partial, path, "png", spec, rgb)
    return path
