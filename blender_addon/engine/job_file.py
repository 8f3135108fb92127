"""Writing the engine's JSON job file (plain Python, no bpy).

The add-on reaches the engine only through this file and the CLI, so it writes the layout that
``portrait_animator.config.RenderJob`` reads (format ``portrait-animator/job``, version 1) with absolute
paths, next to the frames, where an artist or a farm can run it again with ``portrait-animator render-job``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ..errors import AddonError

JOB_FORMAT = "portrait-animator/job"
JOB_VERSION = 1


@dataclass
class JobSpec:
    """The settings of one render, as the add-on's panels collect them."""

    sources: list[str]
    driver: str  # video, frame pattern/folder, landmark .npz or "preset:NAME"
    pattern: str  # absolute "/dir/shot.####.exr"
    name: str
    frames: tuple[int, int] | None = None  # inclusive 1-based driver frames; None = all
    renderer: str = "warp"
    checkpoint: str | None = None
    device: str = "auto"
    crop_size: int = 512
    face: int | None = None
    glasses: str = "auto"  # "auto" (the engine reads it from the still), "on", "off"
    motion_mode: str = "relative"
    neutral: str = "auto"
    gains: dict[str, float] = field(default_factory=lambda: {"head": 1.0, "eyes": 1.0, "brows": 1.0, "mouth": 1.0})
    smoothing: float = 0.3
    close_mouth: bool = True
    max_turn: float = 25.0  # degrees; 0 = no limit
    bit_depth: int = 16
    exr_compression: str = "zip"
    paste_back: bool = True
    overwrite: bool = False
    preview: str | None = None
    landmark_backend: str = "mediapipe"
    seed: int = 0


def job_dict(spec: JobSpec) -> dict:
    """The JSON object of a job file for ``spec``."""
    frames = "all" if spec.frames is None else f"{spec.frames[0]}-{spec.frames[1]}"
    return {
        "format": JOB_FORMAT,
        "version": JOB_VERSION,
        "name": spec.name,
        "sources": list(spec.sources),
        "driver": spec.driver,
        "frames": frames,
        "output": {
            "pattern": spec.pattern,
            "bit_depth": spec.bit_depth,
            "exr_compression": spec.exr_compression,
            "paste_back": spec.paste_back,
            "overwrite": spec.overwrite,
            "preview": spec.preview,
        },
        "renderer": spec.renderer,
        "checkpoint": spec.checkpoint,
        "device": spec.device,
        "crop_size": spec.crop_size,
        "face": spec.face,
        "glasses": spec.glasses,
        "motion": {
            "mode": spec.motion_mode,
            "neutral": spec.neutral,
            "gains": dict(spec.gains),
            "smoothing": spec.smoothing,
            "close_mouth": spec.close_mouth,
            "max_turn": spec.max_turn,
        },
        "landmark_backend": spec.landmark_backend,
        "seed": spec.seed,
    }


def write_job(path: str, spec: JobSpec) -> str:
    """Write the job file atomically; an unwritable folder is an ``AddonError`` naming it."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        os.makedirs(folder, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(job_dict(spec), handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise AddonError(f"{folder}: cannot write the job file there ({exc.strerror or exc}); "
                         "choose an output folder you can write to") from None
    return path


def ensure_writable_folder(folder: str) -> None:
    """Create the output folder if needed and check frames can be written there."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise AddonError(f"{folder}: cannot create the output folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AddonError(f"{folder}: the output folder is not writable; choose another one")
