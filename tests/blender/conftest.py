"""Fixtures for tests that run inside real Blender (``bpy`` from PyPI, headless).

These tests run in a pytest session of their own, started by ``tests/test_blender_addon_in_blender.py``
with ``PORTRAIT_ANIMATOR_BLENDER_SESSION=1``: Blender is one global state per process, bundles its own
image and video libraries, and bpy 4.5 can hang at interpreter exit, so it is kept out of the main test
process. Outside such a session this folder collects nothing. Inside it, the user folders point at a
temporary directory before bpy is imported, the add-on is built with ``scripts/build_addon.py`` and
installed from its zip like an artist would, and the session ends with ``os._exit`` once pytest has
reported (after the add-on was unregistered).

Run one file directly: ``PORTRAIT_ANIMATOR_BLENDER_SESSION=1 timeout 300 .venv/bin/python -m pytest tests/blender/test_face_rig.py``
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

SESSION_ENV = "PORTRAIT_ANIMATOR_BLENDER_SESSION"
IN_SESSION = os.environ.get(SESSION_ENV) == "1"
from .installed_addon import ADDON_MODULE, ENGINE_PYTHON, REPO, addon_part

if not IN_SESSION:
    collect_ignore_glob = ["test_*.py"]
else:
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="portrait-animator-blender-user-")
    for name in ("PORTRAIT_ANIMATOR_PYTHON", "PORTRAIT_ANIMATOR_HOME"):
        os.environ.pop(name, None)

_exit_status = {"code": 0}


def pytest_sessionfinish(session, exitstatus):
    _exit_status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if IN_SESSION and "bpy" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status["code"])


# ---------------------------------------------------------------------------------------- the add-on
@pytest.fixture(scope="session")
def addon(tmp_path_factory):
    """The add-on, built into a zip, installed into the temporary user folder and enabled."""
    import bpy
    import addon_utils

    spec = importlib.util.spec_from_file_location("build_addon", REPO / "scripts" / "build_addon.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    package = builder.build(str(tmp_path_factory.mktemp("dist")))
    result = bpy.ops.extensions.package_install_files(filepath=package, repo="user_default", enable_on_install=True)
    assert result == {'FINISHED'}, result
    yield importlib.import_module(ADDON_MODULE)
    addon_utils.disable(ADDON_MODULE, default_set=True)


@pytest.fixture
def context(addon, tmp_path):
    """A fresh empty scene (saved as tmp/scene.blend so // paths resolve), the engine's Python set."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    prefs = bpy.context.preferences.addons[ADDON_MODULE].preferences
    prefs.python_path = ENGINE_PYTHON
    prefs.output_folder = "//portrait_animator/"
    prefs.file_format = 'PNG'
    prefs.device = 'cpu'
    yield bpy.context
    addon_part("tasks").stop_all()


# --------------------------------------------------------------------------------------- test data
_DLIB_SCRIPT = """
import importlib.util, json, sys
import cv2, dlib
models = importlib.util.find_spec("face_recognition_models").submodule_search_locations[0] + "/models"
image = cv2.cvtColor(cv2.imread(sys.argv[1]), cv2.COLOR_BGR2RGB)
face = dlib.get_frontal_face_detector()(image, 1)[0]
shape = dlib.shape_predictor(models + "/shape_predictor_68_face_landmarks.dat")(image, face)
print(json.dumps([[p.x + 0.5, p.y + 0.5] for p in shape.parts()]))
"""


@pytest.fixture(scope="session")
def dlib_landmarks():
    """68 landmarks of a still measured by dlib in a separate process (an instrument independent of the
    engine and of the add-on; kept out of Blender's process)."""
    cache = {}

    def measure(path) -> np.ndarray:
        if path not in cache:
            out = subprocess.run([ENGINE_PYTHON, "-c", _DLIB_SCRIPT, str(path)], capture_output=True, text=True,
                                 timeout=120, check=True)
            cache[path] = np.array(json.loads(out.stdout), dtype=np.float64)
        return cache[path]

    return measure
