"""Creating a face rig from the still, and importing a driver's performance onto it.

Both need landmarks that only the engine can find, so both run ``portrait-animator landmarks`` in the
engine's process and build on the ``.npz`` it writes; nothing in the scene changes until that succeeded.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import bpy
import numpy as np

from .. import tasks
from ..engine.process import EngineProcess
from ..errors import AddonError
from ..frame_paths import fps_to_blender, sequence_pattern
from ..landmarks.landmark_file import LandmarkData, read_landmark_file
from ..landmarks.retarget import retarget
from ..scene import rig_build, rig_io, stills
from .common import driver_file, engine_failure, engine_python, scratch_folder, settings, shot_name


# --------------------------------------------------------------------------------------- create rig
def start_create_rig(context) -> tasks.EngineTask:
    """Find the still's landmarks in the engine; the rig is built when they arrive."""
    current = settings(context)
    python = engine_python(context)
    work = tempfile.mkdtemp(prefix="portrait-animator-rig-")
    try:
        if current.still_source == 'IMAGE':
            image = current.still_image
            still = stills.still_file_from_image(image, work)
        else:
            still = stills.still_file_from_path(current.still_path)
            image = stills.load_image(still)
        track = os.path.join(work, "still.npz")
        args = ["landmarks", still, "-o", track, "--progress", "json"]
        if current.face_index >= 0:
            args += ["--face", str(current.face_index)]
        return tasks.begin("Finding the still's face", EngineProcess(python.command(*args)), _finish_create_rig,
                           image=image, still=still, track=track, work=work, name=shot_name(context))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _finish_create_rig(context, task: tasks.EngineTask) -> tasks.Report:
    try:
        failure = engine_failure(task)
        if failure is not None:
            return failure
        data = read_landmark_file(task.data["track"])
        image, still = task.data["image"], task.data["still"]
        if not data.valid.any():
            raise AddonError(f"{still}: no face found in the still")
        size = tuple(int(v) for v in image.size)
        if data.image_size is not None and data.image_size != size:
            raise AddonError(f"{still}: the engine reads the still as {data.image_size[0]}x{data.image_size[1]} but "
                             f"Blender as {size[0]}x{size[1]} (an EXIF rotation?); save the still upright first")
        landmarks = data.landmarks[int(np.argmax(data.valid))]
        rig = rig_build.build_face_rig(context, image, landmarks, task.data["name"])
        settings(context).rig = rig.landmarks
        return ('INFO', f"Created '{rig.collection.name}': keyframe the shape keys of '{rig.landmarks.name}' and "
                        f"the transform of '{rig.head.name}', then render with Driver set to Face Rig")
    finally:
        shutil.rmtree(task.data["work"], ignore_errors=True)


# ----------------------------------------------------------------------------------- import driver
def start_import_driver(context) -> tasks.EngineTask | tasks.Report:
    """Track the driver's face in the engine (a landmark file is imported at once) and key it on the rig."""
    current = settings(context)
    rig = rig_build.rig_from_object(current.rig)
    if current.driver_kind == 'LANDMARKS':
        return import_track(context, rig, read_landmark_file(driver_file(context)))
    if current.driver_kind not in {'VIDEO', 'SEQUENCE'}:
        raise AddonError("Import Driver as Rig needs a video, an image sequence or a landmark file as the driver")
    source = driver_file(context)
    if current.driver_kind == 'SEQUENCE':
        source = sequence_pattern(source)
    python = engine_python(context)
    folder = scratch_folder(context)
    os.makedirs(folder, exist_ok=True)
    stem = os.path.splitext(os.path.basename(source.rstrip("/\\")))[0].replace("#", "") or "driver"
    track = os.path.join(folder, f"{stem}.landmarks.npz")
    args = ["landmarks", source, "-o", track, "--overwrite", "--smooth", f"{current.smoothing:g}",
            "--progress", "json"]
    return tasks.begin("Tracking the driver's face", EngineProcess(python.command(*args)), _finish_import,
                       rig=rig.landmarks.name, track=track)


def _finish_import(context, task: tasks.EngineTask) -> tasks.Report:
    failure = engine_failure(task)
    if failure is not None:
        return failure
    rig = rig_build.rig_from_object(bpy.data.objects.get(task.data["rig"]))
    return import_track(context, rig, read_landmark_file(task.data["track"]))


def import_track(context, rig: rig_build.FaceRig, data: LandmarkData) -> tasks.Report:
    """Retarget a driver track onto the rig's still and key it; the scene's range and rate follow it."""
    current = settings(context)
    still_landmarks = rig.still.to_pixels(rig.rest_points())
    neutral_row = None
    if current.neutral_frame > 0:
        rows = np.flatnonzero(data.frame_numbers == current.neutral_frame)
        if not len(rows):
            raise AddonError(f"the neutral frame {current.neutral_frame} is not in the driver "
                             f"(frames {data.frame_numbers[0]}-{data.frame_numbers[-1]})")
        neutral_row = int(rows[0])
    if data.frame_numbers[0] < 1:
        raise AddonError("the driver's frame numbers must start at 1 or later")
    try:
        performance = retarget(data.landmarks, data.frame_numbers, still_landmarks, neutral_row,
                               close_mouth=current.close_open_mouth)
    except ValueError as error:
        raise AddonError(f"cannot import the driver: {error}") from None
    keyed = rig_io.import_performance(context, rig, performance)
    scene = context.scene
    numbers = performance.frame_numbers[performance.valid]
    scene.frame_start, scene.frame_end = int(numbers[0]), int(numbers[-1])
    scene.render.fps, scene.render.fps_base = fps_to_blender(data.fps)
    current.driver_kind = 'RIG'
    return ('INFO', f"Keyed {keyed} frames of the driver on '{rig.landmarks.name}' (frames {numbers[0]}-{numbers[-1]} "
                    f"at {data.fps:g} fps); rendering now uses the rig")
