"""Progress reporting for CLI commands: a bar on a terminal, JSON lines for the Blender add-on."""

from __future__ import annotations

import json
import sys
import time


class ProgressReporter:
    """Turns pipeline progress callbacks into output; ``mode`` is ``bar``, ``json`` or ``none``."""

    def __init__(self, mode: str = "bar", stream=None):
        self.mode = mode
        self.stream = stream or sys.stdout
        self._last_draw = 0.0
        self._bar_open = False

    def emit(self, event: str, **fields) -> None:
        """A JSON event line (json mode only): start, progress, done, error, cancelled."""
        if self.mode == "json":
            self.stream.write(json.dumps({"event": event, **fields}) + "\n")
            self.stream.flush()

    def __call__(self, done: int, total: int, message: str = "", **info) -> None:
        if self.mode == "json":
            self.emit("progress", done=done, total=total, message=message, **info)
        elif self.mode == "bar":
            self._draw(done, total, message, force=done == total and total > 0)

    def _draw(self, done, total, message, force=False):
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        if total:
            width = 30
            filled = int(width * done / total)
            line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {message}"
        else:
            line = f"\r{message}"
        stream = sys.stderr
        stream.write(line[:120].ljust(80))
        stream.flush()
        self._bar_open = True

    def close_line(self) -> None:
        if self._bar_open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._bar_open = False

    def error(self, kind: str, message: str) -> None:
        self.close_line()
        self.emit("error", kind=kind, message=message)


def add_progress_argument(parser) -> None:
    parser.add_argument("--progress", choices=("bar", "json", "none"), default=None,
                        help="progress display: a bar on a terminal (default there), JSON lines on stdout "
                             "(for tools), or none (default when not a terminal)")


def reporter_for(args) -> ProgressReporter:
    mode = args.progress or ("bar" if sys.stderr.isatty() else "none")
    return ProgressReporter(mode)
