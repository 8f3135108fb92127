"""Names shared by the in-Blender tests: the installed add-on's module, the engine's Python, test media."""

import importlib
import os
import sys
from pathlib import Path

from conftest import media_path  # tests/conftest.py: the shared media, used by path and never copied

__all__ = ["ADDON_MODULE", "ENGINE_PYTHON", "REPO", "RIG_STILL", "addon_part", "engine_reads_track", "media_path"]

REPO = Path(__file__).resolve().parents[2]
ADDON_MODULE = "bl_ext.user_default.portrait_animator"
# The Python with the engine (and dlib) installed: this one, unless the Blender tests run under another
# bpy build (e.g. Blender 5.0 in its own environment) while the engine stays in the project's.
ENGINE_PYTHON = os.environ.get("PORTRAIT_ANIMATOR_TEST_ENGINE_PYTHON", sys.executable)
RIG_STILL = ("stills", "lp_s12_photo_einstein_colorized.jpg")  # 375 x 500: a portrait-format still


def addon_part(name: str):
    """A submodule of the installed add-on, e.g. ``addon_part("workflows.render")``."""
    return importlib.import_module(f"{ADDON_MODULE}.{name}")


_READ_TRACK = """
import json, sys
import numpy as np
from portrait_animator.landmarks.track import LandmarkTrack
track = LandmarkTrack.load(sys.argv[1])
points = np.where(np.isfinite(track.landmarks), track.landmarks, -1e9)
print(json.dumps({"landmarks": points.tolist(), "frame_numbers": track.frame_numbers.tolist(), "fps": track.fps,
                  "image_size": track.image_size, "valid": track.valid.tolist()}))
"""


def engine_reads_track(path):
    """A landmark file as the engine's own reader (``LandmarkTrack.load``) sees it, read in the engine's
    Python: the contract check, without loading the engine's image libraries into Blender's process."""
    import json
    import subprocess
    from types import SimpleNamespace

    import numpy as np

    done = subprocess.run([ENGINE_PYTHON, "-c", _READ_TRACK, str(path)], capture_output=True, text=True,
                          timeout=120, check=True)
    data = json.loads(done.stdout)
    landmarks = np.array(data["landmarks"], dtype=np.float32)
    landmarks[landmarks < -1e8] = np.nan
    return SimpleNamespace(landmarks=landmarks, frame_numbers=np.array(data["frame_numbers"]), fps=data["fps"],
                           image_size=tuple(data["image_size"]) if data["image_size"] else None,
                           valid=np.array(data["valid"]))
