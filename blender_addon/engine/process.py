"""Running one engine command in its own process and following its JSON progress (plain Python, no bpy).

Reader threads turn the engine's stdout lines into events on a queue; the owner calls ``poll()`` from
Blender's main thread (a timer, a modal operator, or a test's loop), so nothing ever waits on the pipe and
Blender's UI never blocks. ``cancel()`` asks the engine to stop after its current frame (SIGTERM; finished
frames stay and a later run resumes), and kills it if it has not stopped after a grace period.

The progress protocol (``--progress json``): one JSON object per line with ``event`` = ``start``,
``progress``, ``done``, ``error`` or ``cancelled``; see CONTRACTS / the CLI's help.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ..errors import AddonError
from .interpreter import ENGINE_MODULE, child_environment

CANCELLED_EXIT_CODE = 130
_ERROR_PREFIX = "portrait-animator: error:"
_STDERR_KEPT = 50


@dataclass
class EngineState:
    """What is known about a running or finished engine command."""

    done: int = 0
    total: int = 0
    frame: int | None = None
    stage: str = ""
    message: str = ""
    engine_eta_s: float | None = None
    start: dict | None = None  # the "start" event
    result: dict | None = None  # the "done" event
    error: str = ""
    error_kind: str = ""
    cancelled: bool = False
    returncode: int | None = None
    stdout_lines: list[str] = field(default_factory=list)  # non-event output (e.g. doctor --json)

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class EngineProcess:
    """One ``portrait-animator`` command run as a child process."""

    def __init__(self, command: list[str], *, cancel_grace_s: float = 15.0,
                 clock: Callable[[], float] = time.monotonic):
        self.command = list(command)
        self.cancel_grace_s = cancel_grace_s
        self.state = EngineState()
        self._clock = clock
        self._events: queue.Queue = queue.Queue()
        self._stderr: list[str] = []
        self._process: subprocess.Popen | None = None
        self._readers: list[threading.Thread] = []
        self._cancel_requested_at: float | None = None
        self._first_frame_at: tuple[float, int] | None = None
        self._eta_given_at: float | None = None
        self.finished = False

    # ---------------------------------------------------------------------------------------- control
    def start(self) -> "EngineProcess":
        """Start the process; a missing interpreter is an ``AddonError`` naming it."""
        options = {"start_new_session": True} if sys.platform != "win32" else {
            "creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}
        try:
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=child_environment(), text=True, encoding="utf-8",
                errors="replace", bufsize=1, **options)
        except OSError as exc:
            raise AddonError(f"cannot start the engine with {self.command[0]}: {exc.strerror or exc}; set the "
                             "engine's Python in the add-on preferences") from None
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True, name="portrait-animator-stdout"),
            threading.Thread(target=self._read_stderr, daemon=True, name="portrait-animator-stderr"),
        ]
        for reader in self._readers:
            reader.start()
        return self

    def cancel(self) -> None:
        """Ask the engine to stop after its current frame; it is killed if it ignores the request."""
        if self.finished or self._process is None or self._cancel_requested_at is not None:
            return
        self._cancel_requested_at = self._clock()
        self._signal(signal.SIGTERM if sys.platform != "win32" else signal.CTRL_BREAK_EVENT)

    def kill(self) -> None:
        """Stop the engine at once, with anything it started (Blender quits, the add-on is disabled)."""
        if self._process is not None and self._process.poll() is None:
            if sys.platform == "win32":
                self._process.kill()
            else:
                self._signal(signal.SIGKILL)

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested_at is not None

    # ---------------------------------------------------------------------------------------- polling
    def poll(self) -> list[dict]:
        """Apply the events that arrived since the last call; returns them. Never blocks."""
        events = self._drain()
        if self._process is not None and not self.finished:
            if (self._cancel_requested_at is not None and self._process.poll() is None
                    and self._clock() - self._cancel_requested_at > self.cancel_grace_s):
                self.kill()
            if self._process.poll() is not None and not any(r.is_alive() for r in self._readers):
                events.extend(self._drain())  # lines the readers queued after the first drain
                self._finish(self._process.returncode)
        return events

    def wait(self, timeout: float | None = None, interval: float = 0.05,
             on_poll: Callable[["EngineProcess"], None] | None = None) -> EngineState:
        """Poll until the process ends (for scripts, background mode and tests)."""
        deadline = None if timeout is None else self._clock() + timeout
        while not self.finished:
            self.poll()
            if on_poll is not None:
                on_poll(self)
            if self.finished:
                break
            if deadline is not None and self._clock() > deadline:
                self.kill()
                raise AddonError(f"the engine did not finish within {timeout:.0f} s: {' '.join(self.command[-4:])}")
            time.sleep(interval)
        return self.state

    @property
    def eta_s(self) -> float | None:
        """Seconds left: the engine's own estimate, counted down since it arrived, or the measured
        frame rate applied to the frames still to do."""
        if self.finished:
            return 0.0
        now = self._clock()
        if self.state.engine_eta_s is not None and self._eta_given_at is not None:
            return max(0.0, self.state.engine_eta_s - (now - self._eta_given_at))
        if self._first_frame_at is not None and self.state.total:
            since, done_then = self._first_frame_at
            rate = (self.state.done - done_then) / max(now - since, 1e-6)
            if rate > 0:
                return (self.state.total - self.state.done) / rate
        return None

    # ------------------------------------------------------------------------------------- internals
    def _apply(self, event: dict) -> None:
        state = self.state
        kind = event.get("event")
        if kind == "start":
            state.start = event
            state.total = int(event.get("total") or 0)
        elif kind == "progress":
            state.total = int(event.get("total") or state.total)
            state.done = int(event.get("done") or 0)
            state.stage = str(event.get("stage") or "")
            state.message = str(event.get("message") or "")
            if event.get("frame") is not None:
                state.frame = int(event["frame"])
                if self._first_frame_at is None:
                    self._first_frame_at = (self._clock(), state.done)
            if event.get("eta_s") is not None:
                state.engine_eta_s = float(event["eta_s"])
                self._eta_given_at = self._clock()
        elif kind == "done":
            state.result = event
            state.total = int(event.get("total") or state.total)
            state.done = state.total
        elif kind == "error":
            state.error = str(event.get("message") or "")
            state.error_kind = str(event.get("kind") or "")
        elif kind == "cancelled":
            state.cancelled = True
            state.done = int(event.get("done") or state.done)

    def _finish(self, returncode: int) -> None:
        for pipe in (self._process.stdout, self._process.stderr):
            pipe.close()  # both readers have reached the end of their pipe
        state = self.state
        state.returncode = returncode
        if returncode == CANCELLED_EXIT_CODE or (self.cancel_requested and returncode != 0):
            state.cancelled = True
        elif returncode != 0 and not state.error:
            state.error = self._error_from_stderr(returncode)
        self.finished = True

    def _error_from_stderr(self, returncode: int) -> str:
        lines = [line.strip() for line in self._stderr if line.strip()]
        for line in reversed(lines):
            if line.startswith(_ERROR_PREFIX):
                return line[len(_ERROR_PREFIX):].strip()
        if any(f"No module named {ENGINE_MODULE}" in line or f"No module named '{ENGINE_MODULE}'" in line
               for line in lines):
            return (f"the Python at {self.command[0]} has no Portrait Animator engine installed; set the "
                    "engine's Python in the add-on preferences")
        if lines:
            return f"the engine failed (exit code {returncode}): {lines[-1]}"
        return f"the engine failed with exit code {returncode} and no message"

    def _read_stdout(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            text = line.rstrip("\n")
            event = _parse_event(text)
            self._events.put(("event", event) if event is not None else ("line", text))

    def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line.rstrip("\n"))
            del self._stderr[:-_STDERR_KEPT]

    def _drain(self) -> list[dict]:
        events = []
        while True:
            try:
                kind, payload = self._events.get_nowait()
            except queue.Empty:
                return events
            if kind == "event":
                self._apply(payload)
                events.append(payload)
            else:
                self.state.stdout_lines.append(payload)

    def _signal(self, signum) -> None:
        assert self._process is not None
        try:
            if sys.platform == "win32":
                self._process.send_signal(signum)
            else:
                os.killpg(self._process.pid, signum)
        except (ProcessLookupError, PermissionError, OSError):
            pass


def _parse_event(line: str) -> dict | None:
    """A protocol event, or None for any other line (warnings, doctor's JSON, a stray print)."""
    line = line.strip()
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    if isinstance(value, dict) and isinstance(value.get("event"), str):
        return value
    return None
