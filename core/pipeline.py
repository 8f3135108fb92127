"""The animate pipeline — one object for the CLI, the Blender add-on (through the CLI) and the farm.

stills -> FaceAnalysis -> SourceFace; driver -> LandmarkTrack; MotionTransfer -> target shapes;
Renderer -> face crop + matte; PasteBack -> full frame (or CropOutput -> the crop alone, with the still's
alpha in it); FrameWriter -> files with provenance.

Finished frames on disk are skipped (resume) unless the job says overwrite, once their provenance shows them
made from the same inputs with the same settings (``resume``); a cancel request stops after the
frame in flight, so a frame is either complete on disk or absent. A farm chunk narrows which frames are
rendered, never what the shot is: the driver's motion (a preset's length, the neutral frame, smoothing) is
always that of the whole ``job.frames``, so chunked and single renders give the same frames. Only a run over
the whole shot writes the preview movie (after chunks, a run of the whole shot renders nothing and writes it).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from .cache import FileCache
from .crop_output import CropOutput
from .config import FrameRange, RenderJob
from .drivers import Driver, load_driver
from .errors import JobFieldError, RenderCancelled, UnusableFaceError
from .face_analysis import analyse_source
from .io.frames import FrameWriter, check_output_writable
from .io.naming import FramePattern
from .io.read_ahead import read_ahead
from .io.write_queue import FrameWriteQueue
from .landmarks.track import rows_by_number
from .motion import MotionTransfer, TargetShapes
from .paste import PastedFrame, PasteBack
from .render.base import FaceRenderer, SourceFace, TargetFace
from .render.factory import create_renderer
from .resume import check_resumable, render_provenance, resume_record
from .threads import torch_threads

log = logging.getLogger(__name__)

Progress = Callable[..., None]  # progress(done, total, message, **info)


@dataclass
class RenderResult:
    """What a run did: frame numbers written and skipped (already on disk), and where they are."""

    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    output: FramePattern | None = None
    matte: FramePattern | None = None
    frames: list[int] = field(default_factory=list)
    fps: float = 25.0  # the driver's frame rate: the sequence's playback rate
    seconds: float = 0.0


@dataclass
class PreparedShot:
    """Everything computed before the first frame: reused by ``render_frames`` and by the evaluator."""

    source: SourceFace
    driver: Driver
    shapes: TargetShapes
    renderer: FaceRenderer
    frame_numbers: list[int]  # the frames this run renders: the shot's, or the chunk's
    shot_frame_numbers: list[int] = field(default_factory=list)  # the whole shot's
    driver_neutral: tuple[np.ndarray, np.ndarray] | None = None  # see ``TargetFace.driver_neutral``

    @property
    def is_whole_shot(self) -> bool:
        return not self.shot_frame_numbers or self.frame_numbers == self.shot_frame_numbers


class AnimatePipeline:
    """Render one job, or the ``chunk`` of its frames that a farm task asks for."""

    def __init__(self, job: RenderJob, progress: Progress | None = None, cancel: threading.Event | None = None,
                 chunk: FrameRange | None = None):
        self.job = job
        self.chunk = chunk
        self.progress = progress or (lambda *args, **kwargs: None)
        self.cancel = cancel or threading.Event()
        self.pattern = FramePattern.parse(job.output.pattern)
        folder = job.cache_dir or os.path.join(self.pattern.folder, ".portrait-animator-cache")
        self.cache = FileCache(folder)

    # ------------------------------------------------------------------------------------ stages
    def prepare(self) -> PreparedShot:
        """Analyse the still and the driver, transfer the motion, prepare the renderer."""
        job = self.job
        renderer = create_renderer(job)
        self.progress(0, 0, "analysing the still", stage="source")
        source = analyse_source(job, self.cache, renderer.crop_zoom)
        self._check_cancel()
        self.progress(0, 0, "reading the driver", stage="driver")
        driver = load_driver(job, source, self.cache,
                             progress=lambda done, total, message: self.progress(
                                 done, total, message, stage="landmarks"))
        self._check_cancel()
        available = [int(n) for n in driver.track.frame_numbers]
        wanted = job.frames.clamp(available[0], available[-1])
        present = set(available)
        frame_numbers = [n for n in wanted if n in present]
        if not frame_numbers:
            raise UnusableFaceError(f"{job.driver}: frames {job.frames} asked for, but the driver has frames "
                                    f"{available[0]}-{available[-1]}")
        shot = frame_numbers
        if self.chunk is not None:
            now = self.chunk.clamp(shot[0], shot[-1])
            frame_numbers = [n for n in shot if n in now]
            if not frame_numbers:
                raise JobFieldError("--frames", f"chunk {self.chunk} is outside the shot's frames "
                                    f"{shot[0]}-{shot[-1]}", job.name or job.output.pattern)
        crop = source.crop
        shapes = MotionTransfer(job.motion, crop.landmarks, crop.dense).transfer(driver.track, frame_numbers)
        renderer.prepare(source)
        return PreparedShot(source, driver, shapes, renderer, frame_numbers, shot,
                            _driver_neutral(driver, shapes.neutral_frame))

    def render_frames(self, shot: PreparedShot, frame_numbers: list[int]) -> Iterator[tuple[int, PastedFrame]]:
        """Yield (frame number, full frame) for each requested frame, in order."""
        rows = rows_by_number(shot.shapes.frame_numbers)
        track = shot.driver.track
        track_rows = rows_by_number(track.frame_numbers)
        driver_images = _driver_images(shot.driver, frame_numbers)
        source = shot.source
        if self.job.output.paste_back:
            output = PasteBack(source.still_rgb, source.still_alpha, source.crop_from_still, source.crop_size)
        else:
            output = CropOutput(source)
        try:
            for number in frame_numbers:
                self._check_cancel()
                row = rows[number]
                target = TargetFace(number, shot.shapes.landmarks[row],
                                    None if shot.shapes.dense is None else shot.shapes.dense[row])
                image = next(driver_images) if driver_images is not None else None
                if image is not None:
                    attach_driver(target, image, track.landmarks[track_rows[number]], shot.driver_neutral,
                                  shot.shapes.turn_of(row))
                yield number, output(shot.renderer.render(target))
        finally:
            if driver_images is not None:  # a cancelled or failed render stops the decoding thread now
                driver_images.close()

    # --------------------------------------------------------------------------------------- run
    def run(self) -> RenderResult:
        started = time.monotonic()
        job = self.job
        check_output_writable(self.pattern.folder)
        shot = self.prepare()
        provenance = render_provenance(job, shot.renderer.describe()["renderer"], shot.driver.sha256)
        writer = FrameWriter(self.pattern, bit_depth=job.output.bit_depth,
                             exr_compression=job.output.exr_compression, overwrite=job.output.overwrite,
                             provenance=provenance)
        writer.remove_stale_partials()
        result = RenderResult(output=self.pattern, matte=writer.matte_pattern, frames=shot.frame_numbers,
                              fps=float(shot.driver.track.fps))
        done_on_disk = writer.finished_frames() & set(shot.frame_numbers) if not job.output.overwrite else set()
        check_resumable({n: writer.path(n) for n in done_on_disk}, resume_record(provenance))
        todo = [n for n in shot.frame_numbers if n not in done_on_disk]
        result.skipped = [n for n in shot.frame_numbers if n in done_on_disk]
        total = len(shot.frame_numbers)
        extra = {"motion": job.motion.mode, "driver_kind": shot.driver.kind}
        self.progress(len(result.skipped), total, "starting", stage="render", first_frame=shot.frame_numbers[0],
                      last_frame=shot.frame_numbers[-1], fps=result.fps)
        render_started = time.monotonic()

        def finished(done_frames):
            for number, path in done_frames:
                result.written.append(number)
                done = len(result.skipped) + len(result.written)
                rate = len(result.written) / max(time.monotonic() - render_started, 1e-6)
                self.progress(done, total, f"frame {number}", stage="render", frame=number, path=path,
                              eta_s=round((total - done) / rate, 1))

        queue = FrameWriteQueue(writer)  # encoding frame N overlaps rendering frame N+1
        try:
            with torch_threads(shot.renderer.frame_threads):
                for number, frame in self.render_frames(shot, todo):
                    finished(queue.submit(number, frame.rgb, frame.matte, frame.alpha, extra_metadata=extra))
            finished(queue.finish())
        finally:
            queue.close()
        if job.output.preview and shot.is_whole_shot:  # a chunk's frames are not the shot's preview
            from .io.preview import write_preview  # optional step; imports the encoder only when asked
            write_preview(job.output.preview, self.pattern, shot.frame_numbers, shot.driver.track.fps,
                          provenance=provenance)
        result.seconds = time.monotonic() - started
        return result

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise RenderCancelled("stopped on request; finished frames are kept and a rerun resumes")


# ---------------------------------------------------------------------------------- driver frames
def _driver_images(driver: Driver, frame_numbers: list[int]):
    """An iterator over the driver frames of ``frame_numbers`` (decoded in one forward pass, on a thread of
    its own while the frame before renders), or None."""
    if driver.frames is None or not frame_numbers:
        return None
    wanted = set(frame_numbers)

    def images():
        for number, image in driver.frames.frames(frame_numbers[0], frame_numbers[-1]):
            if number in wanted:
                yield image

    return read_ahead(images())


def _driver_neutral(driver: Driver, number: int | None) -> tuple[np.ndarray, np.ndarray] | None:
    """The driver's neutral frame (decoded on its own, so a farm chunk reads the same one) and its landmarks;
    None for a driver without frames."""
    if driver.frames is None or number is None:
        return None
    landmarks = driver.track.landmarks[rows_by_number(driver.track.frame_numbers)[number]]
    if not np.isfinite(landmarks).all():
        return None
    return driver.frames.frame(number), landmarks


def attach_driver(target: TargetFace, image: np.ndarray, landmarks: np.ndarray,
                  neutral: tuple[np.ndarray, np.ndarray] | None = None, turn: float = 0.0) -> None:
    """Give the renderer the driver's frame and landmarks (for the inside of an opening mouth, and the
    eyeballs of a still whose eyes are shut), its neutral frame (``PreparedShot.driver_neutral``) and its
    yaw from that frame (``TargetShapes.turn_of``)."""
    if np.isfinite(landmarks).all():
        target.driver_image = image
        target.driver_landmarks = landmarks
        target.driver_neutral = neutral
        target.driver_turn = turn
