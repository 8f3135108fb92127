"""User-facing error types.

Each kind of user error has its own type; the message names the file (or job field) and says what to do.
The CLI prints ``str(error)`` as one line on stderr and exits with code 2 — never a traceback.
"""

from __future__ import annotations


class PortraitAnimatorError(Exception):
    """Base class of errors caused by the user's input or environment, not by a bug."""

    exit_code = 2


class UnreadableFileError(PortraitAnimatorError):
    """A file is missing, corrupt, truncated, empty or in a format/colour space we cannot use."""


class NoFaceError(PortraitAnimatorError):
    """No usable face was found in a still or in a driver."""


class UnusableFaceError(PortraitAnimatorError):
    """A face was found but cannot be animated well: too small, cut by the border, bad --face index."""


class InputTooLargeError(PortraitAnimatorError):
    """An input exceeds a configured resource limit (e.g. the still's pixel count)."""


class JobFieldError(PortraitAnimatorError):
    """A job-file field or command-line option has a bad value."""

    def __init__(self, field: str, problem: str, source: str | None = None):
        where = f"{source}: " if source else ""
        super().__init__(f"{where}field '{field}' {problem}")
        self.field = field
        self.source = source


class OutputError(PortraitAnimatorError):
    """An output cannot be written: folder not writable, disk full, refusing to overwrite."""


class MissingWeightsError(PortraitAnimatorError):
    """A weight file the user must supply was not found; nothing is ever downloaded."""


class RenderCancelled(Exception):
    """The caller cancelled a render; finished frames stay on disk and a rerun resumes."""

    exit_code = 130
