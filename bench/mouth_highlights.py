"""How much of the painted mouth the colour transfer clips, against the driver's own mouth.

    OMP_NUM_THREADS=2 .venv/bin/python bench/mouth_highlights.py [--clip C] [--frames 40-49] [--stills A B ...]

Renders each still (all shared stills by default) with a driving clip whose teeth show, crop only, and
counts, inside the target's inner lips, the pixels near white in every channel (250 of 255 or more) and those
clipped in some channel (254 or more); the baseline is the same count inside the driver's inner lips on the
same frames. A driver filmed darker than the still has its
mouth's exposure raised, and teeth pushed past white lose every gap between them.
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile

import cv2
import numpy as np

from portrait_animator.config import FrameRange, OutputConfig, RenderJob
from portrait_animator.evaluate.face_crops import to_uint8
from portrait_animator.landmarks import rows_by_number
from portrait_animator.pipeline import AnimatePipeline
from shot import MEDIA

INNER_LIPS = list(range(60, 68))


def highlight_shares(image: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """Shares of the pixels inside the inner lips near white in every channel, and clipped in some."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks68[INNER_LIPS]).astype(np.int32)], 1)
    inside = to_uint8(image[..., :3])[mask > 0]
    if not len(inside):
        return np.zeros(2)
    return np.array([(inside.min(-1) >= 250).mean(), (inside.max(-1) >= 254).mean()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="styletalk_vscodehappy_clip1.mp4")
    parser.add_argument("--frames", default="40-49")
    parser.add_argument("--stills", nargs="*")
    args = parser.parse_args()
    stills = args.stills or sorted(os.path.basename(p) for p in glob.glob(os.path.join(MEDIA, "stills", "*")))
    driver = os.path.join(MEDIA, "driving", args.clip)
    print(f"{args.clip}, frames {args.frames}: shares of the mouth opening near white and clipped")
    print(f"{'still':45s} {'white: output':>14s} {'driver':>7s} {'clipped: output':>16s} {'driver':>7s}")
    with tempfile.TemporaryDirectory() as scratch:
        for still in stills:
            job = RenderJob(sources=[os.path.join(MEDIA, "stills", still)], driver=driver,
                            frames=FrameRange.parse(args.frames), cache_dir=os.path.join(scratch, "cache"),
                            output=OutputConfig(pattern=os.path.join(scratch, "f.####.png"), paste_back=False))
            pipeline = AnimatePipeline(job)
            shot = pipeline.prepare()
            rows, track = rows_by_number(shot.shapes.frame_numbers), shot.driver.track
            track_rows = rows_by_number(track.frame_numbers)
            images = dict(pipeline.render_frames(shot, shot.frame_numbers))
            drivers = dict(shot.driver.frames.frames(shot.frame_numbers[0], shot.frame_numbers[-1]))
            output = np.mean([highlight_shares(images[n].rgb, shot.shapes.landmarks[rows[n]])
                              for n in images], axis=0)
            baseline = np.mean([highlight_shares(drivers[n] / 255.0, track.landmarks[track_rows[n]])
                                for n in images], axis=0)
            print(f"{still:45s} {output[0]:14.3f} {baseline[0]:7.3f} {output[1]:16.3f} {baseline[1]:7.3f}", flush=True)


if __name__ == "__main__":
    main()
