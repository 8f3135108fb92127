"""Runs the Blender add-on's tests (``tests/blender/``) in real Blender, one pytest session per file in a
separate process: Blender is one global state per process, bundles its own image and video libraries,
and bpy 4.5 can hang at exit, so it stays out of this test process (see ``tests/blender/conftest.py``).
Each session is killed if it runs past its time limit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent / "blender"
REPO = TESTS.parents[1]
SESSION_FILES = {
    "test_install.py": 120,
    "test_face_rig.py": 180,
    "test_sequence_loading.py": 120,
    "test_render_flow.py": 180,
    "test_engine_end_to_end.py": 420,
}
SLOW = {"test_render_flow.py", "test_engine_end_to_end.py"}  # they run the real engine


def _cases():
    for name, limit in SESSION_FILES.items():
        marks = [pytest.mark.blender] + ([pytest.mark.slow] if name in SLOW else [])
        yield pytest.param(name, limit, marks=marks, id=name.removesuffix(".py"))


def test_every_blender_test_file_is_run():
    assert sorted(p.name for p in TESTS.glob("test_*.py")) == sorted(SESSION_FILES)


@pytest.mark.parametrize(("name", "limit"), list(_cases()))
def test_in_blender(name, limit):
    env = dict(os.environ, PORTRAIT_ANIMATOR_BLENDER_SESSION="1", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(TESTS / name)]
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"")
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        pytest.fail(f"Blender session {name} ran past {limit} s:\n{output[-6000:]}")
    print(done.stdout[-3000:])
    assert done.returncode == 0, f"Blender session {name} failed:\n{done.stdout[-8000:]}\n{done.stderr[-3000:]}"
