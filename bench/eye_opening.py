"""What painting the eyeballs of a still whose eyes are shut costs a frame (``render/eye_opening.py``).

Makes the still from a clip's frame where the eyes are shut (``--blink-from CLIP:FRAME``), animates it with
a driving video and times, in one process, the warp renderer's whole ``render`` of every frame, with the
driver's frames attached (the driver's eyes painted) and without them (drawn eyes); each against its
baseline, the same frames with the eye painter switched off (the opened lids then show the closed lid
stretched open), the two timed in turn so that a busy machine slows both alike.

    OMP_NUM_THREADS=1 .venv/bin/python bench/eye_opening.py --blink-from ../shared/media/driving/lp_d18.mp4:97 \\
        --driver ../shared/media/driving/lp_d3.mp4
"""

from __future__ import annotations

import argparse
import os
import tempfile

import cv2
import numpy as np

from portrait_animator.io.sources import open_frames
from portrait_animator.landmarks import rows_by_number
from portrait_animator.pipeline import attach_driver
from portrait_animator.render.base import TargetFace
from shot import prepared_shot
from timing import median_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blink-from", required=True, metavar="CLIP:FRAME",
                        help="a video and the 1-based number of a frame where its eyes are shut")
    parser.add_argument("--driver", required=True, help="a driving video")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    clip, number = args.blink_from.rsplit(":", 1)
    with tempfile.TemporaryDirectory() as scratch:
        args.still = os.path.join(scratch, "shut.png")
        image = dict(open_frames(clip).frames(int(number), int(number)))[int(number)]
        cv2.imwrite(args.still, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        shot = prepared_shot(args)
    renderer, shapes, track = shot.renderer, shot.shapes, shot.driver.track
    if not renderer.eye_opener.shut:
        raise SystemExit(f"{args.blink_from}: the still's eyes do not read as shut; pick a frame where they are")
    images = dict(open_frames(args.driver).frames(shot.frame_numbers[0], shot.frame_numbers[-1]))
    rows, track_rows = rows_by_number(shapes.frame_numbers), rows_by_number(track.frame_numbers)

    def targets(with_driver: bool) -> list[TargetFace]:
        made = []
        for n in shot.frame_numbers:
            target = TargetFace(n, shapes.landmarks[rows[n]], None if shapes.dense is None else shapes.dense[rows[n]])
            if with_driver:
                attach_driver(target, images[n], track.landmarks[track_rows[n]], shot.driver_neutral)
            made.append(target)
        return made

    def render_ms(frames: list[TargetFace], painted: bool) -> float:
        shut = renderer.eye_opener.shut
        renderer.eye_opener.shut = shut if painted else []
        try:
            return median_ms(lambda: [renderer.render(target) for target in frames], 1) / len(frames)
        finally:
            renderer.eye_opener.shut = shut

    print(f"still from {os.path.basename(clip)} frame {number}, driver {os.path.basename(args.driver)}, "
          f"crop {shot.source.crop_size}, {args.frames} frames; medians of {args.repeat} alternating runs")
    print(f"{'render':>54} | {'ms/frame':>8} | ratio")
    for frames, painted in ((targets(True), "the driver's eyes painted"), (targets(False), "drawn eyes")):
        runs = np.array([[render_ms(frames, False), render_ms(frames, True)] for _ in range(args.repeat)])
        baseline, ms = np.median(runs, axis=0)
        what = "with the driver's frames" if frames[0].driver_image is not None else "without them"
        print(f"{'eyes not painted (baseline), ' + what:>54} | {baseline:8.2f} | 1.00")
        print(f"{painted:>54} | {ms:8.2f} | {ms / baseline:.3f}")


if __name__ == "__main__":
    main()
