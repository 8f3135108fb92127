"""Drivers: what moves the face — a video, a frame sequence, a landmark file or a procedural preset.

Every kind becomes a ``LandmarkTrack`` of the whole driver (never just the frames being rendered: the
neutral frame and smoothing must not depend on how a farm splits the shot). Video and frame drivers keep
their frames too, for painting the inside of an opening mouth. Tracks of videos are cached by the driver's
content hash.
"""

from __future__ import annotations

import os
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from . import presets
from .cache import FileCache, cache_key
from .config import RenderJob
from .errors import NoFaceError, UnreadableFileError
from .io.provenance import file_sha256
from .io.read_ahead import read_ahead
from .landmarks import smooth_track, track_frames
from .landmarks.track import LandmarkTrack
from .motion import with_eyes_opened
from .render.base import SourceFace
from .version import __version__

if TYPE_CHECKING:
    from .io.sources import FrameSource

TRACKING_VERSION = 1  # bump when tracking results would change, to invalidate caches


@dataclass
class Driver:
    """A resolved driver: its landmark track, its frames when it has any, and its identity."""

    kind: str  # "video", "frames", "landmarks" or "preset"
    track: LandmarkTrack
    frames: "FrameSource | None"
    name: str
    sha256: str | None


def load_driver(job: RenderJob, source: SourceFace, cache: FileCache,
                progress: Callable[[int, int, str], None] | None = None) -> Driver:
    spec = job.driver
    if spec.startswith("preset:"):
        name = presets.parse_preset(spec)
        # Drawn on the still's face with any shut eyes opened, so that the preset has eyes to blink.
        track = presets.preset_track(name, with_eyes_opened(source.crop.landmarks), frames=preset_frame_count(job),
                                     seed=job.seed, image_size=(job.crop_size, job.crop_size))
        return Driver("preset", track, None, spec, None)
    from .io.sources import is_sequence_pattern, open_frames  # the video decoder loads only for frame drivers

    if not os.path.exists(spec) and not is_sequence_pattern(spec):
        raise UnreadableFileError(f"{spec}: driver not found (give a video, a frame folder or pattern, "
                                  "a landmark .npz, or preset:idle|blink|smile|talk)")
    if spec.lower().endswith(".npz"):
        track = LandmarkTrack.load(spec)
        if not track.valid.any():
            raise NoFaceError(f"{spec}: the landmark file has no frame with a face (all rows are NaN)")
        return Driver("landmarks", _smoothed(track, job), None, os.path.basename(spec), driver_digest(spec))
    frames = open_frames(spec)
    digest = driver_digest(spec, frames)
    key = cache_key("driver", sha256=digest, backend=job.landmark_backend, version=TRACKING_VERSION,
                    engine=__version__)

    def compute() -> LandmarkTrack:
        total = frames.frame_count

        def report(done, _total=None, message=""):
            if progress:
                progress(done, total, message or f"tracking driver frame {done}/{total}")

        with closing(read_ahead(frames.frames())) as decoded:  # decoding overlaps the landmarker
            return track_frames(decoded, backend=job.landmark_backend, fps=frames.fps, source=spec,
                                progress=report)

    track, _ = cache.get_or_compute(key, compute, LandmarkTrack.save, LandmarkTrack.load)
    kind = "video" if os.path.isfile(spec) else "frames"
    return Driver(kind, _smoothed(track, job), frames, os.path.basename(spec.rstrip(os.sep)), digest)


def driver_digest(spec: str, frames: "FrameSource | None" = None) -> str | None:
    """The SHA-256 a render records for its driver (``load_driver`` and the batch plan both take it here): a
    landmark file's, a video's, a frame folder's or pattern's over its frames (``content_sha256``, which
    reads every frame file once); None for a preset. ``frames``: the driver already opened, if it is."""
    if spec.startswith("preset:"):
        return None
    if spec.lower().endswith(".npz"):
        return file_sha256(spec)
    if frames is None:
        from .io.sources import open_frames

        frames = open_frames(spec)
    return frames.content_sha256()


def preset_frame_count(job: RenderJob) -> int:
    """How long a preset driver is: up to the job's last frame (at least 2), else the preset's default length.

    Farm planning asks this without analysing the still, so it must agree with ``load_driver``.
    """
    if job.frames.end is not None:
        return max(job.frames.end, 2)
    return round(presets.DEFAULT_SECONDS * presets.DEFAULT_FPS)


def _smoothed(track: LandmarkTrack, job: RenderJob) -> LandmarkTrack:
    strength = job.motion.smoothing
    return smooth_track(track, strength) if strength > 0 else track
