"""The engine command the add-on is running right now (plain Python, no bpy).

One at a time: a render, a landmark run or an engine check. Operators start a task, something on
Blender's main thread polls it (a modal operator's timer, or a loop in ``execute`` and in tests), and
``finish`` applies the result to the scene. Keeping the handle here, not in an operator, lets the Cancel
button and the panels find it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .engine.process import EngineProcess
from .errors import AddonError

Report = tuple[str, str]  # (Blender report level, message)


@dataclass
class EngineTask:
    """A running engine command and what to do with its result."""

    label: str  # what the status bar says: "Rendering", "Finding landmarks", ...
    process: EngineProcess
    on_finish: Callable[[Any, "EngineTask"], Report]  # (context, task) -> report; runs once
    data: dict = field(default_factory=dict)
    report: Report | None = None

    def poll(self) -> bool:
        """Read the engine's progress; True once the process has ended."""
        self.process.poll()
        return self.process.finished

    def finish(self, context) -> Report:
        """Apply the result (once) and release the slot; the report says what happened."""
        if self.report is None:
            try:
                self.report = self.on_finish(context, self)
            except AddonError as error:
                self.report = ("ERROR", str(error))
            finally:
                _release(self)
        return self.report

    def wait(self, context=None, interval: float = 0.05, on_poll: Callable[["EngineTask"], None] | None = None,
             timeout: float | None = None) -> Report:
        """Poll until done, then finish: the blocking path of ``execute`` and of scripts."""
        try:
            self.process.wait(timeout=timeout, interval=interval,
                              on_poll=None if on_poll is None else (lambda _process: on_poll(self)))
        except AddonError:
            _release(self)
            raise
        return self.finish(context)

    def abandon(self, timeout: float = 30.0) -> None:
        """Stop the engine (finished frames stay) and free the slot without touching the scene."""
        self.process.cancel()
        try:
            self.process.wait(timeout=timeout)
        except AddonError:
            pass  # wait() killed it
        self.report = ('WARNING', f"{self.label} stopped")
        _release(self)


_current: EngineTask | None = None


def current() -> EngineTask | None:
    return _current


def begin(label: str, process: EngineProcess, on_finish, **data) -> EngineTask:
    """Start ``process`` as the add-on's task; refused while another one runs."""
    global _current
    if _current is not None:
        raise AddonError(f"Portrait Animator is busy ({_current.label.lower()}): wait for it or cancel it")
    process.start()
    _current = EngineTask(label, process, on_finish, dict(data))
    return _current


def stop_all() -> None:
    """Kill the running engine process (the add-on is being disabled or Blender quits)."""
    global _current
    if _current is not None:
        _current.process.kill()
        _current = None


def _release(task: EngineTask) -> None:
    global _current
    if _current is task:
        _current = None
