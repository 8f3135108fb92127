"""Finding the Python interpreter that has the engine installed (plain Python, no bpy).

Blender's own Python cannot run the engine (no torch), so the add-on starts ``python -m portrait_animator``
with an interpreter from the preferences, or one found automatically: ``$PORTRAIT_ANIMATOR_PYTHON``, the
Python behind a ``portrait-animator`` command on ``PATH``, or the ``.venv`` of a checkout
(``$PORTRAIT_ANIMATOR_HOME``, or a checkout the add-on itself lives in).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..errors import AddonError

PYTHON_ENV_VAR = "PORTRAIT_ANIMATOR_PYTHON"
HOME_ENV_VAR = "PORTRAIT_ANIMATOR_HOME"
CLI_NAME = "portrait-animator"
ENGINE_MODULE = "portrait_animator"
_SETUP_HINT = ("set the engine's Python in Edit > Preferences > Add-ons > Portrait Animator "
               f"(or the {PYTHON_ENV_VAR} environment variable)")


@dataclass(frozen=True)
class EnginePython:
    """An interpreter that can run the engine, and where it was found."""

    path: str
    origin: str
    version: str = ""

    def command(self, *args: str) -> list[str]:
        """The command line running one ``portrait-animator`` subcommand."""
        return [self.path, "-m", ENGINE_MODULE, *args]


def python_in(path: str) -> str | None:
    """The interpreter named by ``path``: the executable itself, or the one inside a virtual environment."""
    path = os.path.expanduser(path.strip())
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        for relative in (("bin", "python3"), ("bin", "python"), ("Scripts", "python.exe")):
            candidate = os.path.join(path, *relative)
            if os.path.isfile(candidate):
                return candidate
    return None


def python_of_launcher(launcher: str) -> str | None:
    """The interpreter a console-script launcher (``portrait-animator``) runs: its shebang, or the
    ``python`` beside it (Windows ``.exe`` launchers)."""
    try:
        with open(launcher, "rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return None
    if first.startswith(b"#!"):
        interpreter = first[2:].decode(errors="replace").strip().split()[0] if first[2:].strip() else ""
        if interpreter and os.path.isfile(interpreter):
            return interpreter
    return python_in(os.path.dirname(os.path.dirname(os.path.abspath(launcher))))


def candidates(configured: str, env: Mapping[str, str], near: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(origin, interpreter) pairs to try, most specific first; duplicates removed."""
    found: list[tuple[str, str]] = []

    def add(origin: str, python: str | None):
        if python and all(os.path.realpath(python) != os.path.realpath(p) for _, p in found):
            found.append((origin, python))

    if configured.strip():
        add("preferences", python_in(configured))
    if env.get(PYTHON_ENV_VAR):
        add(PYTHON_ENV_VAR, python_in(env[PYTHON_ENV_VAR]))
    launcher = shutil.which(CLI_NAME, path=env.get("PATH"))
    if launcher:
        add(f"{CLI_NAME} on PATH", python_of_launcher(launcher))
    homes = [env[HOME_ENV_VAR]] if env.get(HOME_ENV_VAR) else []
    for start in near:
        folder = os.path.abspath(start)
        while os.path.dirname(folder) != folder:
            homes.append(folder)
            folder = os.path.dirname(folder)
    for home in homes:
        add(f"checkout {home}", python_in(os.path.join(home, ".venv")))
    return found


def engine_version(python: str, timeout: float = 30.0) -> str | None:
    """The engine version importable by ``python``, or None when it has no engine."""
    try:
        done = subprocess.run([python, "-c", f"import {ENGINE_MODULE} as e; print(e.__version__)"],
                              capture_output=True, text=True, timeout=timeout, env=child_environment(),
                              **hidden_window())
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def find_engine_python(configured: str = "", env: Mapping[str, str] | None = None,
                       near: Sequence[str] = ()) -> EnginePython:
    """The first candidate that really has the engine; an ``AddonError`` saying what was tried otherwise.

    A configured path is taken as the artist's choice: it must exist, and it is not second-guessed.
    """
    env = os.environ if env is None else env
    if configured.strip():
        python = python_in(configured)
        if python is None:
            raise AddonError(f"engine Python not found: {configured.strip()} is not a Python interpreter "
                             f"or virtual environment; {_SETUP_HINT}")
        return EnginePython(python, "preferences")
    tried = []
    for origin, python in candidates("", env, near):
        version = engine_version(python)
        if version:
            return EnginePython(python, origin, version)
        tried.append(python)
    where = f" (tried {', '.join(tried)})" if tried else ""
    raise AddonError(f"no Python with the Portrait Animator engine was found{where}; {_SETUP_HINT}")


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for the engine's process: Blender's Python settings removed, output unbuffered."""
    env = dict(os.environ if base is None else base)
    for name in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONNOUSERSITE"):
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def hidden_window() -> dict:
    """Popen options that keep a console window from flashing up on Windows."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NO_WINDOW}
    return {}
