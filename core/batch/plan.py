"""Batch planning: job files -> shots -> chunks of frames, leaving out what is already finished on disk.

Planning reads only the job files, the driver's length, the output folders and, where frames are finished,
their headers and the digests of the stills and the driver file (a frame made with other settings or inputs
fails its shot rather than pass for done): no face analysis, no landmark tracking, no model. A shot whose
job cannot even be planned (a bad field, a missing driver) is a failed shot in the plan, never an exception
that stops the other shots.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..config import RenderJob
from ..drivers import preset_frame_count
from ..errors import JobFieldError, PortraitAnimatorError, UnreadableFileError
from ..io.frames import FrameWriter
from ..io.naming import FramePattern
from ..resume import check_resumable, planned_record

DEFAULT_CHUNK_SIZE = 50


@dataclass
class Shot:
    """One job file of the batch: its frames and which of them were already finished when planned."""

    index: int
    job_path: str
    name: str
    job: RenderJob | None = None
    frames: list[int] = field(default_factory=list)
    finished_before: set[int] = field(default_factory=set)
    error_kind: str | None = None  # set when the shot could not be planned
    error: str | None = None

    @property
    def output(self) -> str | None:
        return None if self.job is None else os.path.abspath(FramePattern.parse(self.job.output.pattern).blender_path)

    def missing(self, finished: set[int]) -> list[int]:
        return [n for n in self.frames if n not in finished]


@dataclass(frozen=True)
class Chunk:
    """A contiguous run of one shot's frames, rendered by one task (``render-job --frames first-last``)."""

    shot: int
    index: int
    first: int
    last: int
    count: int

    @property
    def frames_text(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass
class BatchPlan:
    shots: list[Shot]
    chunks: list[Chunk]  # in dispatch order
    finished_chunks: list[Chunk]  # every frame already on disk: nothing to run
    chunk_size: int

    @property
    def total_frames(self) -> int:
        return sum(len(shot.frames) for shot in self.shots)


def plan_batch(job_paths: list[str], chunk_size: int = DEFAULT_CHUNK_SIZE) -> BatchPlan:
    """Shots for ``job_paths`` and the chunks still to render, round-robin over shots.

    Round-robin (chunk 1 of every shot, then chunk 2, ...) spreads the first chunks, which compute each
    shot's analysis caches, over the workers instead of having one shot's chunks queue behind its cache lock.
    """
    if chunk_size < 1:
        raise JobFieldError("--chunk-size", f"must be 1 or more (got {chunk_size})")
    shots = [load_shot(index, path) for index, path in enumerate(job_paths)]
    _fail_shared_outputs(shots)
    per_shot, finished_chunks = [], []
    for shot in shots:
        todo = []
        for chunk in ([] if shot.error else split_frames(shot, chunk_size)):
            done = not shot.job.output.overwrite and all(
                n in shot.finished_before for n in range(chunk.first, chunk.last + 1))
            (finished_chunks if done else todo).append(chunk)
        per_shot.append(todo)
    order = []
    for rank in range(max((len(chunks) for chunks in per_shot), default=0)):
        order.extend(chunks[rank] for chunks in per_shot if rank < len(chunks))
    return BatchPlan(shots, order, finished_chunks, chunk_size)


def load_shot(index: int, job_path: str) -> Shot:
    """Read and check one job file and count its frames; a user error becomes the shot's error."""
    name = os.path.splitext(os.path.basename(job_path))[0]
    shot = Shot(index, os.path.abspath(job_path), name)
    try:
        shot.job = RenderJob.load(job_path)
        shot.name = shot.job.name or name
        shot.frames = shot_frames(shot.job, job_path)
        if not shot.job.output.overwrite:
            writer = FrameWriter(shot.job.output.pattern)
            shot.finished_before = writer.finished_frames() & set(shot.frames)
            if shot.finished_before:  # chunks found finished are never started: their frames are checked here
                check_resumable({n: writer.path(n) for n in shot.finished_before}, *planned_record(shot.job))
    except PortraitAnimatorError as error:
        shot.error_kind, shot.error = type(error).__name__, str(error)
    return shot


def shot_frames(job: RenderJob, job_path: str | None = None) -> list[int]:
    """The frame numbers the job renders: ``job.frames`` within the frames its driver has."""
    available = _driver_frames(job)
    wanted = job.frames.clamp(available[0], available[-1])
    frames = [n for n in available if n in wanted]
    if not frames:
        raise JobFieldError("frames", f"asks for {job.frames}, but the driver has frames "
                            f"{available[0]}-{available[-1]}", job_path)
    return frames


def split_frames(shot: Shot, chunk_size: int) -> list[Chunk]:
    """Contiguous chunks of at most ``chunk_size`` frames; a gap in the frame numbers starts a new chunk."""
    chunks, run = [], []
    for number in shot.frames:
        if run and (number != run[-1] + 1 or len(run) == chunk_size):
            chunks.append(Chunk(shot.index, len(chunks), run[0], run[-1], len(run)))
            run = []
        run.append(number)
    if run:
        chunks.append(Chunk(shot.index, len(chunks), run[0], run[-1], len(run)))
    return chunks


def _driver_frames(job: RenderJob) -> list[int]:
    spec = job.driver
    if spec.startswith("preset:"):
        return list(range(1, preset_frame_count(job) + 1))
    if not os.path.exists(spec):
        raise UnreadableFileError(f"{spec}: driver not found")
    if spec.lower().endswith(".npz"):
        from ..landmarks.track import LandmarkTrack

        return [int(n) for n in LandmarkTrack.load(spec).frame_numbers]
    from ..io.sources import open_frames

    source = open_frames(spec)
    return list(range(source.first_frame, source.last_frame + 1))


def _fail_shared_outputs(shots: list[Shot]) -> None:
    """Two jobs writing the same frame files would skip or overwrite each other's frames: refuse the later."""
    owners: dict[str, Shot] = {}
    for shot in shots:
        if shot.job is None or shot.error:
            continue
        output = shot.output
        if output in owners:
            shot.error_kind = JobFieldError.__name__
            shot.error = str(JobFieldError("output.pattern", f"writes the same frames as {owners[output].job_path}",
                                           shot.job_path))
        else:
            owners[output] = shot
