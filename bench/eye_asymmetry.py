"""Two eyes lowered together: how unequal the engine makes them, against dlib's reading of the same frames.

    OMP_NUM_THREADS=2 .venv/bin/python bench/eye_asymmetry.py [--clips a.mp4 ...] [--frames 150]

On each clip's first ``--frames`` frames (every second one), the engine's tracker and dlib each read both
eyes' openings, relative to each eye's median over those frames as the transfer takes them. On the frames
where the tracker has both eyes lowered (under their typical opening), it prints the mean difference
between the two eyes' targets (``motion.eye_closing_targets``: 0 shut, 1 typical): each eye taken alone,
as the engine did before it moved two lowered lids together, and as the engine takes them now; and, as the
baseline, dlib's readings taken alone through the same mapping.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

from portrait_animator.cache import FileCache
from portrait_animator.config import RenderJob
from portrait_animator.drivers import load_driver
from portrait_animator.evaluate.dlib_instrument import DlibInstrument
from portrait_animator.io.sources import open_frames
from portrait_animator.landmarks import rows_by_number
from portrait_animator.motion import eye_closing_targets, eye_openness
from shot import MEDIA

CLIPS = ["lp_d3.mp4", "tpsmm_driving.mp4", "dagan_driving.mp4", "lp_d10.mp4", "sadtalker_ref_aoc.mp4",
         "retalking_face4.mp4", "lp_d18.mp4", "styletalk_vscodehappy_clip1.mp4"]


def each_alone(ratios: np.ndarray) -> np.ndarray:
    """(N, 2) targets with each eye mapped on its own (a pair of equal eyes is never moved together)."""
    return np.stack([eye_closing_targets(np.repeat(ratios[:, k:k + 1], 2, axis=1), 1.0, 1.0)[:, 0]
                     for k in range(2)], axis=1)


def readings(clip: str, frames: int, cache_dir: str, instrument: DlibInstrument) -> np.ndarray:
    """(N, 4): the tracker's two eye openings, then dlib's, each relative to its median."""
    track = load_driver(RenderJob(sources=[clip], driver=clip, cache_dir=cache_dir), None,
                        FileCache(cache_dir)).track
    row_of = rows_by_number(track.frame_numbers)
    source = open_frames(clip)
    rows = []
    for number, image in source.frames(source.first_frame, min(source.last_frame, frames)):
        tracked = track.landmarks[row_of[number]]
        found = None if number % 2 else instrument.measure(image, with_descriptor=False)
        if found is not None and np.isfinite(tracked).all():
            rows.append(np.r_[eye_openness(tracked), eye_openness(found.landmarks)])
    openings = np.array(rows).reshape(-1, 4)
    return openings / np.median(openings, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", default=CLIPS)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    instrument = DlibInstrument()
    print("mean |right - left| of the eyes' closing targets on the frames with both eyes lowered")
    print(f"{'clip':34s} {'frames':>9s} {'each alone':>10s} {'engine':>7s} {'dlib alone':>10s}")
    with tempfile.TemporaryDirectory() as scratch:
        for clip in args.clips:
            ratios = readings(os.path.join(MEDIA, "driving", clip), args.frames, scratch, instrument)
            tracker, dlib = ratios[:, :2], ratios[:, 2:]
            lowered = tracker.max(axis=1) < 1.0
            gap = [float(np.abs(t[lowered, 0] - t[lowered, 1]).mean()) if lowered.any() else 0.0
                   for t in (each_alone(tracker), eye_closing_targets(tracker, 1.0, 1.0), each_alone(dlib))]
            print(f"{clip:34s} {int(lowered.sum()):4d} / {len(ratios):3d} {gap[0]:10.3f} {gap[1]:7.3f} "
                  f"{gap[2]:10.3f}", flush=True)


if __name__ == "__main__":
    main()
