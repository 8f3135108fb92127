"""Rendering a portrait: write the job file, run ``portrait-animator render-job`` in the engine's process,
and load the frames back into the scene when it succeeds."""

from __future__ import annotations

import math
import os

import bpy
import numpy as np

from .. import preferences, tasks
from ..engine.job_file import JobSpec, ensure_writable_folder, write_job
from ..engine.process import EngineProcess
from ..errors import AddonError
from ..frame_paths import existing_path, fps_to_blender, sequence_pattern, sequence_stem
from ..landmarks.landmark_file import read_landmark_file, write_landmark_file
from ..scene import rig_build, rig_io, stills
from ..scene.sequence_loading import load_sequence
from .common import CACHE_FOLDER, driver_file, engine_python, output_pattern, settings


def start_render(context) -> tasks.EngineTask:
    """Check the settings, write the job (and the rig's landmark file), and start the engine."""
    current = settings(context)
    scene = context.scene
    python = engine_python(context)
    pattern = output_pattern(context)
    folder = os.path.dirname(pattern)
    ensure_writable_folder(folder)
    scratch = os.path.join(folder, CACHE_FOLDER, "blender")
    name = sequence_stem(pattern)
    scene_range = (scene.frame_start, scene.frame_end)
    rig = None
    rig_changed = False
    motion_mode = current.motion_mode
    neutral = "auto"
    if current.driver_kind == 'RIG':
        rig = rig_build.rig_from_object(current.rig)
        if scene.frame_start < 1:
            raise AddonError(f"the scene starts at frame {scene.frame_start}; Portrait Animator numbers frames "
                             "from 1: set the start frame to 1 or later")
        source = stills.still_file_from_image(rig.image, scratch)
        driver = os.path.join(folder, f"{name}.rig.npz")
        track = rig_io.export_track(context, rig, *scene_range)
        rig_changed = _rig_changed(driver, track)
        if rig_changed or not os.path.isfile(driver):
            # An unchanged rig keeps its file: the engine resumes only onto frames of the same driver file.
            write_landmark_file(driver, track)
        frames = scene_range
        # The rig already moves the still's own face in the still's pixels: take its shapes as they are,
        # with the head measured from the frame nearest the rig's rest pose.
        motion_mode = 'absolute'
        neutral = str(_frame_nearest_rest(track, rig))
    else:
        source = (stills.still_file_from_image(current.still_image, scratch) if current.still_source == 'IMAGE'
                  else stills.still_file_from_path(current.still_path))
        driver = _driver(context)
        frames = scene_range if current.use_scene_range else None
        if frames is not None and frames[0] < 1:
            raise AddonError(f"the scene starts at frame {frames[0]}; driver frames are numbered from 1")
    spec = JobSpec(
        sources=[source], driver=driver, pattern=pattern, name=name, frames=frames,
        renderer=current.renderer,
        checkpoint=_checkpoint(current),
        device=preferences.get(context).device, crop_size=int(current.crop_size),
        face=None if current.face_index < 0 else current.face_index, glasses=current.glasses,
        motion_mode=motion_mode, neutral=neutral,
        gains={"head": current.head_gain, "eyes": current.eyes_gain, "brows": current.brows_gain,
               "mouth": current.mouth_gain},
        smoothing=0.0 if current.driver_kind == 'RIG' else current.smoothing,
        close_mouth=current.close_open_mouth, max_turn=math.degrees(current.max_turn),
        bit_depth=16, overwrite=current.overwrite or rig_changed)
    job = write_job(os.path.join(folder, f"{name}.job.json"), spec)
    process = EngineProcess(python.command("render-job", job, "--progress", "json"))
    return tasks.begin("Rendering", process, _finish_render, pattern=pattern, name=name, job=job,
                       plane=rig.plane.name if rig else None, fps=_driver_fps(current.driver_kind, driver))


def _rig_changed(previous_file: str, track) -> bool:
    """Whether the rig moves differently from its last render, or over other frames: its frames on disk
    are then out of date and are rendered again (a cancelled render of an unchanged rig resumes). Other
    frames count too: the head is measured from the frame nearest the rig's rest, which a longer range
    can move."""
    if not os.path.isfile(previous_file):
        return False
    try:
        previous = read_landmark_file(previous_file)
    except AddonError:
        return True
    if previous.image_size != track.image_size or not np.array_equal(previous.frame_numbers, track.frame_numbers):
        return True
    return not np.allclose(track.landmarks, previous.landmarks, atol=1e-3, equal_nan=True)


def _frame_nearest_rest(track, rig) -> int:
    rest = rig.still.to_pixels(rig.rest_points())
    distance = np.linalg.norm(track.landmarks - rest, axis=-1).mean(axis=-1)
    return int(track.frame_numbers[int(np.argmin(distance))])


def _driver_fps(kind: str, driver: str) -> float | None:
    """A landmark file's frame rate, which the loaded frames then play at (videos: the engine reports it)."""
    return read_landmark_file(driver).fps if kind == 'LANDMARKS' else None


def _driver(context) -> str:
    current = settings(context)
    if current.driver_kind == 'PRESET':
        return f"preset:{current.driver_preset}"
    path = driver_file(context)
    return sequence_pattern(path) if current.driver_kind == 'SEQUENCE' else path


def _checkpoint(current) -> str | None:
    """The checkpoint file of a neural renderer; none for the warp, nor for a neural-hybrid left empty (the
    engine then loads the small model it ships)."""
    if current.renderer == 'warp' or (current.renderer == 'neural-hybrid' and not current.checkpoint.strip()):
        return None
    return existing_path(current.checkpoint, stills.blend_folder(), "checkpoint")


def _finish_render(context, task: tasks.EngineTask) -> tasks.Report:
    state = task.process.state
    folder = os.path.dirname(task.data["pattern"])
    if state.cancelled:
        return ('WARNING', f"Render cancelled after {state.done} of {state.total} frames; the finished frames stay "
                           f"in {folder} and rendering again resumes from there")
    if state.error:
        return ('ERROR', state.error)
    result = state.result or {}
    written, skipped = int(result.get("written", 0)), int(result.get("skipped", 0))
    if written + skipped == 0:
        return ('WARNING', f"The engine rendered no frames (none in the frame range?): {task.data['job']}")
    pattern = result.get("output") or task.data["pattern"]
    first, last = int(result["first_frame"]), int(result["last_frame"])
    current = settings(context)
    plane = bpy.data.objects.get(task.data["plane"]) if task.data["plane"] else None
    if plane is None and current.rig is not None:
        plane = current.rig.portrait_rig.plane
    where = load_sequence(context, pattern, first, last, current.load_into, task.data["name"], plane=plane)
    fps = result.get("fps") or task.data["fps"]
    if fps:
        context.scene.render.fps, context.scene.render.fps_base = fps_to_blender(float(fps))
    current.last_output = pattern
    kept = f", {skipped} kept from an earlier run" if skipped else ""
    return ('INFO', f"Rendered {written} frames{kept} to {folder}; loaded into {where}")
