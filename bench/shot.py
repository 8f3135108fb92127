"""The shot the per-frame benchmark scripts time: the bundled still (or another) animated by a driver, prepared
once, and the command line that names it (they run as ``python bench/NAME.py``, so this is importable)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from portrait_animator.cache import FileCache
from portrait_animator.config import FrameRange, OutputConfig, RenderJob
from portrait_animator.drivers import Driver, load_driver
from portrait_animator.evaluate.protocols import VIDEO_EXTENSIONS, find_files
from portrait_animator.landmarks.track import rows_by_number
from portrait_animator.motion.neutral import choose_neutral
from portrait_animator.pipeline import AnimatePipeline, PreparedShot

ROOT = Path(__file__).resolve().parents[1]
MEDIA = os.environ.get("PORTRAIT_ANIMATOR_MEDIA", str(ROOT.parent / "shared" / "media"))  # the shared clips and stills


def shot_arguments(description: str, driver: str | None, frames: int) -> argparse.Namespace:
    """``--still``, ``--driver`` (required when ``driver`` is None), ``--frames`` and ``--repeat``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--still", default=str(ROOT / "core/assets/stills/eileen_collins_nasa.png"))
    if driver is None:
        parser.add_argument("--driver", required=True, help="a driving video")
    else:
        parser.add_argument("--driver", default=driver)
    parser.add_argument("--frames", type=int, default=frames)
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args()


def prepared_shot(args: argparse.Namespace) -> PreparedShot:
    """Frames 1 to ``args.frames`` of ``args.driver`` on ``args.still``, analysed and ready to render."""
    job = RenderJob(sources=[args.still], driver=args.driver, frames=FrameRange(1, args.frames),
                    output=OutputConfig(pattern="/tmp/unused.####.png"))
    return AnimatePipeline(job).prepare()


def clip_arguments(description: str, frames: int) -> argparse.ArgumentParser:
    """A parser with ``--clips`` (default: every shared driving clip), ``--frames`` and ``--cache``, for the
    scripts that measure the shared clips; ``shared_clips`` lists the clips it names."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--clips", nargs="*", help="clip file names in the shared media's driving folder "
                                                   "(default: all of them)")
    parser.add_argument("--frames", type=int, default=frames, help="frames of each clip from its first")
    parser.add_argument("--cache", help="landmark cache folder (reused between runs)")
    return parser


def pair_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with ``--pairs`` (STILL:CLIP) and ``--cache``, for the scripts that measure (still, clip)
    pairs; ``shared_pairs`` reads the pairs it names."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pairs", nargs="*", help="STILL:CLIP file names inside the shared media folders")
    parser.add_argument("--cache", help="landmark cache folder (reused between runs)")
    return parser


def shared_pairs(args: argparse.Namespace, default: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (still, clip) pairs ``--pairs`` names, or ``default``."""
    return [tuple(pair.split(":", 1)) for pair in args.pairs] if args.pairs else default


def shared_clips(args: argparse.Namespace) -> list[str]:
    """The paths of the clips ``--clips`` names, or of every shared driving clip."""
    folder = os.path.join(MEDIA, "driving")
    return [os.path.join(folder, c) for c in args.clips] if args.clips else find_files(folder, VIDEO_EXTENSIONS)


def clip_driver(clip: str, frames: int, cache: FileCache, scratch: str) -> Driver:
    """A shared clip loaded as the engine loads a driver (its track cached in ``cache``), for the scripts that
    measure the clips themselves."""
    job = RenderJob(sources=[], driver=clip, frames=FrameRange(1, frames),
                    output=OutputConfig(pattern=os.path.join(scratch, "unused.####.png")))
    return load_driver(job, None, cache)


def tracked_clip(clip: str, frames: int, cache: FileCache, scratch: str):
    """A clip's neutral frame number (as the engine picks it) and an iterator over its frames from the first to
    ``frames`` (and on to the neutral frame, where later), as (number, image, 68 landmarks) where the tracker
    found the face; for the scripts that measure the clips' own pixels."""
    driver = clip_driver(clip, frames, cache, scratch)
    track = driver.track
    rows = rows_by_number(track.frame_numbers)
    neutral = int(track.frame_numbers[choose_neutral(track, "auto")])
    last = max(min(frames, driver.frames.frame_count), neutral)

    def tracked():
        for number, image in driver.frames.frames(1, last):
            row = rows.get(number)
            if row is not None and track.valid[row]:
                yield number, image, track.landmarks[row].astype(np.float64)
    return neutral, tracked()
