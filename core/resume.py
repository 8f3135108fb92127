"""Resume only onto frames of the same render.

A rerun skips the frames already on disk. That is right only when they were made from the same inputs with
the same settings: otherwise the sequence mixes two looks and pops where the rerun took over, and a file
that Portrait Animator never wrote would pass for a finished frame. So every frame carries the settings
that decide its pixels (the ``settings`` provenance field, beside the inputs' digests), and a rerun that
would skip a frame whose record differs stops first, names the frame and what differs, and leaves it as is.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Collection, Mapping

from .config import RenderJob
from .drivers import driver_digest, preset_frame_count
from .errors import OutputError, UnreadableFileError
from .io.metadata import read_frame_metadata
from .io.naming import FramePattern
from .io.provenance import build_provenance

SETTINGS_FIELD = "settings"
_DIGEST_SUFFIX = "_sha256"
_MOST_DIFFERENCES_NAMED = 3


def render_settings(job: RenderJob) -> str:
    """The job's settings that change a frame's pixels, as compact JSON (not the device, paths or overwrite).

    Not the frame range either: a video's or landmark file's motion is that of the whole driver, so frames
    5-8 render the same in a run of 1-8 as in a run of 5-20.
    """
    settings = {"renderer": job.renderer, "crop_size": job.crop_size, "face": job.face,
                "landmark_backend": job.landmark_backend, "seed": job.seed,
                "motion": dataclasses.asdict(job.motion), "paste_back": job.output.paste_back}
    if job.glasses != "auto":  # named only when set, so frames rendered before the option still resume
        settings["glasses"] = job.glasses
    if job.driver.startswith("preset:"):  # a file driver is known by its digest; a preset by name and
        settings["preset"] = job.driver      # length (its motion is drawn for the whole length)
        settings["preset_frames"] = preset_frame_count(job)
    if FramePattern.parse(job.output.pattern).extension != ".exr":  # EXR is always half float
        settings["bit_depth"] = job.output.bit_depth
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))


def render_provenance(job: RenderJob, renderer: str, driver_sha256: str | None = None) -> dict[str, str]:
    """What every file of the render carries: ``build_provenance``'s fields plus the job's settings."""
    provenance = build_provenance(renderer, job.checkpoint_path, job.sources, job.driver,
                                  driver_sha256=driver_sha256)
    provenance[SETTINGS_FIELD] = render_settings(job)
    return provenance


def resume_record(provenance: Mapping[str, str]) -> dict[str, str]:
    """The fields of a render's provenance that a frame it skips must share: version, settings, digests."""
    return {key: value for key, value in provenance.items()
            if key in ("version", SETTINGS_FIELD) or key.endswith(_DIGEST_SUFFIX)}


def planned_record(job: RenderJob) -> tuple[dict[str, str], tuple[str, ...]]:
    """``resume_record`` as a render of ``job`` would write it, without rendering, and the digests that are
    not known before one starts: a checkpoint that is not one file's."""
    for still in job.sources:
        if not os.path.isfile(still):
            raise UnreadableFileError(f"{still}: file not found (the job's still: its finished frames cannot be "
                                      f"checked against it)")
    provenance = render_provenance(job, job.renderer, driver_digest(job.driver))
    unknown = ("checkpoint_sha256",) if job.checkpoint_path and not os.path.isfile(job.checkpoint_path) else ()
    return resume_record(provenance), unknown


def check_resumable(finished: Mapping[int, str], expected: Mapping[str, str], unknown: Collection[str] = ()) -> None:
    """Raise ``OutputError`` unless every finished frame (number -> path) was made as ``expected`` says.

    Compared: the keys of ``expected`` and every digest (``*_sha256``) the frame holds (a frame made from a
    second still that this run lacks differs), except the ``unknown`` ones.
    """
    for number in sorted(finished):
        path = finished[number]
        found = read_frame_metadata(path)
        if SETTINGS_FIELD not in found:
            raise OutputError(f"{path}: a file in the way of frame {number} that carries no Portrait Animator "
                              f"render settings (another program's file, or a frame of an older version); it is left "
                              f"as is: move it, or rerun with --overwrite (in Blender: tick Overwrite) to "
                              f"replace it")
        keys = (set(expected) | {key for key in found if key.endswith(_DIGEST_SUFFIX)}) - set(unknown)
        differences = _differences(found, expected, sorted(keys))
        if differences:
            raise OutputError(f"{path}: this finished frame was rendered differently ("
                              f"{'; '.join(differences[:_MOST_DIFFERENCES_NAMED])}), so resuming would mix two "
                              f"renders in one sequence; it is left as is: rerun with --overwrite (in Blender: tick "
                              f"Overwrite) to replace the finished frames, or write to another output")


def _differences(found: Mapping[str, str], expected: Mapping[str, str], keys: list[str]) -> list[str]:
    """What differs, said as ``what: on disk -> this run``; settings compared one by one."""
    differences = []
    for key in keys:
        was, now = found.get(key), expected.get(key)
        if was == now:
            continue
        if key == SETTINGS_FIELD:
            try:
                differences.extend(_setting_differences(json.loads(was), json.loads(now)))
            except (TypeError, ValueError):
                differences.append("settings: an unreadable record")
        elif key.endswith(_DIGEST_SUFFIX):
            differences.append(f"{key[:-len(_DIGEST_SUFFIX)]}: other file contents" if was and now
                               else f"{key[:-len(_DIGEST_SUFFIX)]}: {'none' if not was else 'given'} -> "
                                    f"{'none' if not now else 'given'}")
        else:
            differences.append(f"{key}: {was} -> {now}")
    return differences


def _setting_differences(was: dict, now: dict, prefix: str = "") -> list[str]:
    differences = []
    for key in sorted(set(was) | set(now)):
        old, new = was.get(key), now.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            differences.extend(_setting_differences(old, new, f"{prefix}{key}."))
        elif old != new:
            differences.append(f"{prefix}{key}: {json.dumps(old)} -> {json.dumps(new)}")
    return differences
