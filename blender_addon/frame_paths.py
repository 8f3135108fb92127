"""Paths as Blender users write them: ``//`` relative to the .blend, ``#`` runs as frame padding.

Plain Python (no bpy) so the rules can be tested without Blender; callers pass the .blend's folder.
"""

from __future__ import annotations

import os
import re

from .errors import AddonError

IMAGE_EXTENSIONS = (".exr", ".png", ".tif", ".tiff")
FORMAT_EXTENSIONS = {"OPEN_EXR": ".exr", "PNG": ".png"}
_HASH_RUN = re.compile(r"#+")
_DIGIT_RUN = re.compile(r"\d+")


def resolve_blend_path(path: str, blend_dir: str) -> str:
    """An absolute path: ``//`` means the .blend's folder (``blend_dir``; "" when the file is unsaved)."""
    path = path.strip()
    if path.startswith("//"):
        if not blend_dir:
            raise AddonError(
                f"'{path}' is relative to the .blend file, which is not saved yet: "
                "save the .blend or choose an absolute folder")
        path = os.path.join(blend_dir, path[2:])
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def existing_path(path: str, blend_dir: str, what: str) -> str:
    """The absolute form of a path setting that must name an existing file or folder."""
    if not path.strip():
        raise AddonError(f"no {what} set: choose one in the Portrait Animator panel")
    resolved = resolve_blend_path(path, blend_dir)
    if not os.path.exists(resolved):
        raise AddonError(f"{resolved}: the {what} does not exist")
    return resolved


def output_pattern(setting: str, default_folder: str, shot_name: str, file_format: str,
                   blend_dir: str) -> str:
    """The absolute frame pattern (``/dir/shot.####.exr``) for an output-path setting.

    As in Blender's render output: an empty setting uses the default folder; a setting ending in a
    separator is a folder; a ``#`` run is the frame padding and is added (``.####``) when missing; the
    extension follows the chosen file format.
    """
    extension = FORMAT_EXTENSIONS[file_format]
    setting = setting.strip() or default_folder.strip()
    if not setting:
        raise AddonError("no output folder: set one in the panel or in the add-on preferences")
    is_folder = setting.endswith(("/", "\\")) or setting in ("//",)
    path = resolve_blend_path(setting, blend_dir)
    if is_folder or os.path.isdir(path):
        folder, name = path, f"{_safe_name(shot_name)}.####"
    else:
        folder, name = os.path.split(path)
        stem, ext = os.path.splitext(name)
        if ext.lower() in IMAGE_EXTENSIONS:
            name = stem
        if "#" not in name:
            name = f"{name}.####"
    return os.path.join(folder, name + extension)


def frame_path(pattern: str, frame: int) -> str:
    """The file of one frame of a ``#`` pattern (the last ``#`` run of the file name is the padding)."""
    folder, name = os.path.split(pattern)
    runs = list(_HASH_RUN.finditer(name))
    if not runs:
        raise AddonError(f"{pattern}: the output pattern has no '#' frame number")
    run = runs[-1]
    return os.path.join(folder, f"{name[:run.start()]}{frame:0{len(run.group(0))}d}{name[run.end():]}")


def sequence_stem(pattern: str) -> str:
    """The name of a frame pattern without frame digits or extension (``/r/take_###.png`` -> ``take``)."""
    name = os.path.basename(pattern)
    runs = list(_HASH_RUN.finditer(name))
    stem = name[:runs[-1].start()] if runs else os.path.splitext(name)[0]
    return stem.rstrip("._-") or "portrait"


def sequence_pattern(file_of_sequence: str) -> str:
    """The ``#`` pattern of the image sequence one of whose files is given (``a_0012.png`` -> ``a_####.png``).

    A folder is returned unchanged: the engine reads every image in it, in name order.
    """
    if os.path.isdir(file_of_sequence):
        return file_of_sequence
    folder, name = os.path.split(file_of_sequence)
    stem, ext = os.path.splitext(name)
    runs = list(_DIGIT_RUN.finditer(stem))
    if not runs:
        raise AddonError(f"{file_of_sequence}: not part of a numbered image sequence (no frame number in the name)")
    run = runs[-1]
    return os.path.join(folder, f"{stem[:run.start()]}{'#' * len(run.group(0))}{stem[run.end():]}{ext}")


def fps_to_blender(fps: float) -> tuple[int, float]:
    """Blender's (fps, fps_base) for a frame rate, e.g. 29.97 -> (30, 1.001)."""
    if fps <= 0:
        raise AddonError(f"frame rate must be positive (got {fps})")
    whole = round(fps)
    if abs(whole - fps) < 1e-3:
        return int(whole), 1.0
    return int(whole), whole / fps


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.-]+", "_", name.strip()).strip("._")
    return cleaned or "portrait"
