"""Turning the artist's still (a file, or an image in the .blend) into a file the engine can read."""

from __future__ import annotations

import hashlib
import os

import bpy

from ..errors import AddonError
from ..frame_paths import existing_path

_EXTENSIONS = {'PNG': ".png", 'JPEG': ".jpg", 'OPEN_EXR': ".exr", 'TIFF': ".tif"}


def blend_folder() -> str:
    """The saved .blend's folder ("" when unsaved): what ``//`` paths are relative to."""
    return os.path.dirname(bpy.data.filepath)


def still_file_from_path(path: str) -> str:
    """The absolute file of a still path setting; an ``AddonError`` when it does not exist."""
    resolved = existing_path(path, blend_folder(), "still")
    if not os.path.isfile(resolved):
        raise AddonError(f"{resolved}: the still is a folder, not an image file")
    return resolved


def still_file_from_image(image: bpy.types.Image | None, scratch_folder: str) -> str:
    """A file holding ``image``'s pixels: its own file when that is current, else a copy in
    ``scratch_folder`` (packed bytes as they are; generated or painted pixels saved without changing the
    image datablock)."""
    if image is None:
        raise AddonError("no still image: pick an image of this .blend in the Portrait Animator panel")
    if image.source not in {'FILE', 'GENERATED'}:
        raise AddonError(f"{image.name}: a {image.source.lower()} image cannot be a still; use a single image")
    if image.packed_file is not None:
        data = bytes(image.packed_file.data)
        extension = os.path.splitext(image.filepath)[1].lower() or ".png"
        return _write_once(scratch_folder, image.name, extension, data)
    on_disk = bpy.path.abspath(image.filepath, library=image.library) if image.filepath else ""
    if image.source == 'FILE' and on_disk and os.path.isfile(on_disk) and not image.is_dirty:
        return os.path.normpath(on_disk)
    if image.size[0] == 0 or image.size[1] == 0:
        raise AddonError(f"{image.name}: the image has no pixels (its file is missing: {on_disk or 'none'})")
    fmt = 'OPEN_EXR' if image.is_float else 'PNG'
    os.makedirs(scratch_folder, exist_ok=True)
    target = os.path.join(scratch_folder, f"{bpy.path.clean_name(image.name)}{_EXTENSIONS[fmt]}")
    previous = image.file_format
    try:
        image.file_format = fmt
        image.save(filepath=target, save_copy=True)
    except RuntimeError as exc:
        raise AddonError(f"{image.name}: cannot save a copy for the engine to {target} ({exc})") from None
    finally:
        image.file_format = previous
    return target


def load_image(path: str) -> bpy.types.Image:
    """The image datablock of a still file (reused when already loaded)."""
    try:
        return bpy.data.images.load(path, check_existing=True)
    except RuntimeError as exc:
        raise AddonError(f"{path}: Blender cannot read this image ({exc})") from None


def _write_once(folder: str, name: str, extension: str, data: bytes) -> str:
    digest = hashlib.sha1(data).hexdigest()[:12]
    path = os.path.join(folder, f"{bpy.path.clean_name(name)}-{digest}{extension}")
    if not os.path.isfile(path):
        try:
            os.makedirs(folder, exist_ok=True)
            tmp = f"{path}.tmp-{os.getpid()}"
            with open(tmp, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise AddonError(f"{folder}: cannot write the packed still there ({exc.strerror or exc})") from None
    return path
