"""Checking the engine: run ``portrait-animator doctor --json`` and keep its summary in the preferences."""

from __future__ import annotations

from .. import preferences, tasks
from ..engine.doctor import parse_doctor_output, summary_lines
from ..engine.interpreter import find_engine_python
from ..engine.process import EngineProcess
from ..errors import AddonError
from .common import addon_folder, engine_failure, engine_python


def find_engine(context) -> str:
    """Fill the preferences' interpreter with an automatically found one; returns its path."""
    python = find_engine_python("", near=[addon_folder()])
    preferences.get(context).python_path = python.path
    return f"Found the engine {python.version} with {python.path} ({python.origin})"


def start_engine_check(context) -> tasks.EngineTask:
    try:
        python = engine_python(context)
    except AddonError as error:
        preferences.get(context).engine_report = f"Engine check failed: {error}"
        raise
    process = EngineProcess(python.command("doctor", "--json"))
    return tasks.begin("Checking the engine", process, _finish, python=python)


def _finish(context, task: tasks.EngineTask) -> tasks.Report:
    prefs = preferences.get(context)
    python = task.data["python"]
    failure = engine_failure(task)
    if failure is not None:
        prefs.engine_report = f"Engine check failed: {failure[1]}"
        return failure
    try:
        report = parse_doctor_output(task.process.state.stdout_lines)
    except ValueError as error:
        prefs.engine_report = f"Engine check failed: {error}"
        raise AddonError(str(error)) from None
    prefs.engine_report = "\n".join([f"Python: {python.path} ({python.origin})", *summary_lines(report)])
    return ('INFO', f"Engine ready: {python.path}")
