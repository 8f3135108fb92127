"""Settings lookups shared by the workflows: the engine's Python, the output pattern, engine failures."""

from __future__ import annotations

import os
import tempfile

from .. import preferences
from ..engine.interpreter import EnginePython, find_engine_python
from ..errors import AddonError
from ..frame_paths import existing_path, output_pattern as pattern_for
from ..scene.stills import blend_folder
from ..tasks import EngineTask, Report

CACHE_FOLDER = ".portrait-animator-cache"


def addon_folder() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def settings(context):
    return context.scene.portrait_animator


def engine_python(context) -> EnginePython:
    """The preferences' interpreter, or one found automatically (next to a checkout holding the add-on)."""
    return find_engine_python(preferences.get(context).python_path, near=[addon_folder()])


def file_format(context) -> str:
    chosen = settings(context).file_format
    return preferences.get(context).file_format if chosen == 'DEFAULT' else chosen


def shot_name(context) -> str:
    current = settings(context)
    if current.shot_name.strip():
        return current.shot_name.strip()
    if current.driver_kind == 'RIG' and current.rig is not None:
        return current.rig.name.removesuffix(" Landmarks")
    if current.still_source == 'IMAGE' and current.still_image is not None:
        return os.path.splitext(current.still_image.name)[0]
    return os.path.splitext(os.path.basename(current.still_path))[0] or "portrait"


def output_pattern(context) -> str:
    """The absolute ``/dir/shot.####.ext`` the render writes."""
    return pattern_for(settings(context).output_path, preferences.get(context).output_folder, shot_name(context),
                       file_format(context), blend_folder())


def scratch_folder(context) -> str:
    """Where the add-on keeps files the engine reads (stills copied out of the .blend, landmark tracks):
    the output folder's cache when it can be resolved, else the system's temporary folder."""
    try:
        return os.path.join(os.path.dirname(output_pattern(context)), CACHE_FOLDER, "blender")
    except AddonError:
        return os.path.join(tempfile.gettempdir(), "portrait-animator", "blender")


def driver_file(context) -> str:
    """The absolute driver path of the settings (a video, a frame of a sequence, a folder, a landmark file)."""
    return existing_path(settings(context).driver_path, blend_folder(), "driver")


def engine_failure(task: EngineTask) -> Report | None:
    """The report for a task whose engine command failed or was cancelled; None when it succeeded."""
    state = task.process.state
    if state.cancelled:
        return ('WARNING', f"{task.label} cancelled")
    if state.error:
        return ('ERROR', state.error)
    return None
