"""How much of a shot shows pixels from beyond the still's edge, and how far the head travels.

A still framed tightly round the face leaves part of the warp's crop outside its picture, where the crop
repeats the edge pixels; a warp that pulls those into the picture draws streaks. For every frame this
renders the warp and counts the picture's pixels (in the crop) whose source lies more than half a pixel
beyond the still's edge, and it compares the distance the head's centre travels, as the renderer holds it
back (``head_band.limit_head``), with the driver's.

    OMP_NUM_THREADS=1 .venv/bin/python bench/picture_edge.py --still ../shared/media/stills/avatarify_obama.jpg \
        --driver ../shared/media/driving/tpsmm_driving.mp4
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from portrait_animator import align
from portrait_animator.render import head_band
from portrait_animator.render.base import TargetFace
from shot import prepared_shot, shot_arguments


def main() -> None:
    args = shot_arguments(__doc__.splitlines()[0], None, 120)
    shot = prepared_shot(args)
    shapes, source, renderer = shot.shapes, shot.source, shot.renderer
    size = source.crop_size
    height, width = source.still_rgb.shape[:2]
    still_from_crop = align.invert(source.crop_from_still)
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    in_still = align.apply(still_from_crop, np.stack([xs, ys], -1).reshape(-1, 2)).reshape(size, size, 2)
    shown = ((in_still >= 0) & (in_still <= (width, height))).all(axis=-1)
    rigid = list(align.RIGID_68)
    centre = renderer.mesh.centre
    wanted = set(shot.frame_numbers)
    beyond, wanted_travel, kept_travel = [], [], []
    for row, number in enumerate(shapes.frame_numbers):
        if int(number) not in wanted:
            continue
        target = TargetFace(int(number), shapes.landmarks[row], None if shapes.dense is None else shapes.dense[row])
        source_map = renderer.render(target).source_map
        sampled = align.apply(still_from_crop, source_map[shown].astype(np.float64))
        outside = np.maximum(np.maximum(-sampled, sampled - (width, height)), 0.0).max(axis=1)
        beyond.append(int((outside > 0.5).sum()))
        head = align.fit_similarity(source.crop.landmarks[rigid], target.landmarks[rigid])
        moved = [np.linalg.norm(align.apply(motion, centre[None])[0] - centre)
                 for motion in (head, head_band.limit_head(renderer.mesh, head))]
        wanted_travel.append(moved[0])
        kept_travel.append(moved[1])
    beyond = np.array(beyond)
    print(f"{Path(args.still).name}, {Path(args.driver).name}, crop {size} ({shown.mean():.2f} of it shows the "
          f"still), {len(beyond)} frames")
    print(f"frames showing pixels from beyond the still's edge: {int((beyond > 0).sum())}; such pixels a frame: "
          f"mean {beyond.mean():.0f}, most {beyond.max()} (crop pixels)")
    print(f"head centre travel, kept of the driver's: {np.sum(kept_travel) / max(np.sum(wanted_travel), 1e-9):.3f} "
          f"(driver's mean {np.mean(wanted_travel):.1f} crop px a frame)")


if __name__ == "__main__":
    main()
