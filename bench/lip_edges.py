"""What finding the driver's lower lip (``lip_edges``) costs within a rendered frame of a video driver.

Animates a still with a driving video and times, in one process, the warp renderer's whole ``render`` of
the frames whose mouth is open, with the driver's frame attached (the baseline), and ``lip_edges`` alone
on the same driver frames. Prints per-frame medians and the share of the render.

    OMP_NUM_THREADS=1 .venv/bin/python bench/lip_edges.py --driver ../shared/media/driving/lp_d14.mp4
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from portrait_animator.landmarks import rows_by_number
from portrait_animator.motion import mouth_openness
from portrait_animator.pipeline import attach_driver
from portrait_animator.render.base import TargetFace
from portrait_animator.render.mouth import OPEN_FULL, DriverMouth, lip_edges
from shot import prepared_shot, shot_arguments
from timing import median_ms


def main() -> None:
    args = shot_arguments(__doc__.splitlines()[0], None, 120)
    shot = prepared_shot(args)
    track, shapes = shot.driver.track, shot.shapes
    rows = rows_by_number(track.frame_numbers)
    shape_rows = rows_by_number(shapes.frame_numbers)
    targets = []
    for number, image in shot.driver.frames.frames(shot.frame_numbers[0], shot.frame_numbers[-1]):
        row = rows.get(int(number))
        if row is None or not np.isfinite(track.landmarks[row]).all():
            continue
        if mouth_openness(track.landmarks[row]) <= OPEN_FULL:
            continue
        at = shape_rows[int(number)]
        target = TargetFace(int(number), shapes.landmarks[at], None if shapes.dense is None else shapes.dense[at])
        attach_driver(target, image, track.landmarks[row])
        targets.append(target)
    if not targets:
        raise SystemExit(f"{args.driver}: the mouth never opens in frames 1-{args.frames}")
    mouths = [DriverMouth(t.driver_image, t.driver_landmarks[60:68], t.driver_landmarks[48:60]) for t in targets]

    def render_all():
        for target in targets:
            shot.renderer.render(target)

    def edges_all():
        for mouth in mouths:
            lip_edges(mouth)

    render_ms = median_ms(render_all, args.repeat) / len(targets)
    edges_ms = median_ms(edges_all, args.repeat) / len(targets)
    moved = sum(not np.array_equal(lip_edges(m), m.inner) for m in mouths)
    print(f"{Path(args.still).name}, {Path(args.driver).name}, crop {shot.source.crop_size}, {len(targets)} "
          f"frames with the mouth open, the lower lip moved on {moved}")
    print(f"{'what':>24} | {'ms/frame':>8} | share of render")
    print(f"{'warp render (baseline)':>24} | {render_ms:8.2f} | 1.00")
    print(f"{'lip_edges':>24} | {edges_ms:8.3f} | {edges_ms / render_ms:.3f}")


if __name__ == "__main__":
    main()
