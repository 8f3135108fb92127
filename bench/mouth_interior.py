"""What the synthesised mouth interior costs within a rendered frame (drivers without mouth pixels).

Animates a still with a procedural driver and times, in one process: the warp renderer's whole ``render``
of the frames whose mouth is open (the baseline) and ``synthetic_interior`` alone on the same target lips,
with and without teeth. Prints per-frame medians and the interior's share of the render.

    OMP_NUM_THREADS=1 .venv/bin/python bench/mouth_interior.py --still core/assets/stills/eileen_collins_nasa.png
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from portrait_animator.align import mean_gap
from portrait_animator.landmarks import mediapipe_topology as mpt
from portrait_animator.render.base import TargetFace
from portrait_animator.render.mouth import OPEN_FULL, mouth_loop
from portrait_animator.render.regions import bounding_box
from portrait_animator.render.mouth_interior import synthetic_interior
from shot import prepared_shot, shot_arguments
from timing import median_ms


def main() -> None:
    args = shot_arguments(__doc__.splitlines()[0], "preset:talk", 125)
    shot = prepared_shot(args)
    renderer, shapes = shot.renderer, shot.shapes
    if shapes.dense is None:
        raise SystemExit(f"{args.still}: no dense landmarks; this benchmark times the dense-mesh path")
    painter, size = renderer.mouth, shot.source.crop_size
    open_rows = []
    for row, dense in enumerate(shapes.dense):
        upper, lower = dense[list(mpt.INNER_LIP_UPPER)], dense[list(mpt.INNER_LIP_LOWER)]
        if mean_gap(upper, lower) / np.linalg.norm(upper[-1] - upper[0]) > OPEN_FULL:
            open_rows.append((row, upper.astype(np.float64), lower.astype(np.float64)))
    if not open_rows:
        raise SystemExit(f"{args.driver}: the mouth never opens in frames 1-{args.frames}")
    targets = [TargetFace(int(shapes.frame_numbers[row]), shapes.landmarks[row], shapes.dense[row])
               for row, _, _ in open_rows]

    def render_all():
        for target in targets:
            renderer.render(target)

    def interiors(teeth: bool):
        def run():
            for _, upper, lower in open_rows:
                synthetic_interior(upper, lower, bounding_box(mouth_loop(upper, lower), 3, size), painter.lips_rgb, size, teeth)
        return run

    render_ms = median_ms(render_all, args.repeat) / len(targets)
    print(f"{Path(args.still).name}, {args.driver}, crop {size}, {len(targets)} frames with the mouth open "
          f"(the still shows its own teeth: {painter.shows_teeth})")
    print(f"{'what':>28} | {'ms/frame':>8} | share of render")
    print(f"{'warp render (baseline)':>28} | {render_ms:8.2f} | 1.00")
    for teeth in (True, False):
        ms = median_ms(interiors(teeth), args.repeat) / len(targets)
        print(f"{'interior, teeth ' + ('on' if teeth else 'off'):>28} | {ms:8.2f} | {ms / render_ms:.2f}")


if __name__ == "__main__":
    main()
