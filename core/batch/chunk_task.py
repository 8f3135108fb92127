"""One chunk of one shot, rendered in the calling process: what a local worker and a Ray task both run.

A user error (no face, a bad field, an unwritable folder) comes back as a result with status ``error``, never
as an exception: it would fail the same way on every retry, so Ray must not retry it, and the batch carries on
with the other shots. Anything else (a bug, a dead process) is the runner's to retry.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from ..config import FrameRange, RenderJob
from ..errors import PortraitAnimatorError, RenderCancelled


@dataclass
class ChunkTask:
    """What a worker needs: the job itself (absolute paths), not its file, so workers need no job folder."""

    shot: int
    chunk: int
    job_path: str  # for messages only
    job: dict
    first: int
    last: int
    attempt: int = 1
    preview: bool = False  # the whole shot after its chunks: writes the preview movie

    @property
    def key(self) -> tuple[int, int]:
        return self.shot, self.chunk


@dataclass
class ChunkResult:
    """What a chunk did. ``status``: ok, error (a user error: not retried), cancelled, failed (not a user
    error; set by the runner when retries ran out)."""

    shot: int
    chunk: int
    first: int
    last: int
    status: str
    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    error_kind: str | None = None
    error: str | None = None
    attempt: int = 1
    host: str = ""
    pid: int = 0
    started_at: float = 0.0  # epoch seconds, to measure queueing against the submit time
    import_s: float = 0.0  # importing the engine (only the first chunk a process runs pays it)
    prepare_s: float = 0.0  # reading the still, caches, motion transfer, renderer set-up
    render_s: float = 0.0
    cache_hits: list[str] = field(default_factory=list)
    cache_computed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ChunkResult":
        return cls(**data)


def render_chunk(task: ChunkTask, cancel: threading.Event | None = None,
                 on_frame: Callable[[int], None] | None = None) -> ChunkResult:
    """Render ``task``'s frames that are not on disk yet; ``on_frame(n)`` after each frame written."""
    started = time.monotonic()
    result = ChunkResult(task.shot, task.chunk, task.first, task.last, "ok", attempt=task.attempt,
                         host=socket.gethostname(), pid=os.getpid(), started_at=time.time())
    from ..pipeline import AnimatePipeline  # the first chunk of a process pays the engine's imports here

    result.import_s = time.monotonic() - started
    marks = {"prepared": None}

    def progress(done, total, message="", **info):
        if info.get("stage") != "render":
            return
        if marks["prepared"] is None:
            marks["prepared"] = time.monotonic()
        if "frame" in info:
            result.written.append(int(info["frame"]))
            if on_frame:
                on_frame(int(info["frame"]))

    pipeline = None
    try:
        job = RenderJob.from_dict(task.job, source=task.job_path)
        pipeline = AnimatePipeline(job, progress=progress, cancel=cancel, chunk=FrameRange(task.first, task.last))
        rendered = pipeline.run()
        result.written, result.skipped = list(rendered.written), list(rendered.skipped)
    except PortraitAnimatorError as error:
        result.status, result.error_kind, result.error = "error", type(error).__name__, str(error)
    except RenderCancelled as cancelled:
        result.status, result.error_kind, result.error = "cancelled", type(cancelled).__name__, str(cancelled)
    finally:
        ended = time.monotonic()
        begun = started + result.import_s
        result.prepare_s = round((marks["prepared"] or ended) - begun, 4)
        result.render_s = round(ended - (marks["prepared"] or ended), 4)
        result.import_s = round(result.import_s, 4)
        if pipeline is not None:
            result.cache_hits, result.cache_computed = list(pipeline.cache.hits), list(pipeline.cache.computed)
    return result
