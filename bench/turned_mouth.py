"""How much of the painted mouth comes from outside the driver's mouth, where the driver turns its head: the
driver's own mouth alone (the baseline) against the engine, which gives way to the synthesised interior
where a turned driver's mouth is carried past its far corner (``mouth.driver_mouth_seen``), in one process.

For each (still, clip) pair, every frame whose mouth is painted: the painted pixels (alpha over 0.5) are
carried back into the driver's frame by the mouth's affine (``mouth.driver_mapping``), and the share of
them that lands past the driver's outer lip corners, along the line between them, is the share taken from
cheek or, past a turned face's edge, from the room behind it (the white wedge of docs/quality.md, "A
driver's mouth and eyes seen from the side"). The engine takes the driver's pixels at ``driver_mouth_seen``'s weight,
so its share is that weight times the baseline's. Printed per pair: painted frames, the driver's largest
turn on them, frames with more than ``--share`` of the mouth from outside the driver's, baseline and
engine, the mean share of both, and the frames where the synthesised interior stands in, whole or in part.

    OMP_NUM_THREADS=1 .venv/bin/python bench/turned_mouth.py [--pairs STILL:CLIP ...] [--cache DIR]
"""

from __future__ import annotations

import os
import sys

import numpy as np

from portrait_animator import align
from portrait_animator.config import OutputConfig, RenderJob
from portrait_animator.landmarks.track import rows_by_number
from portrait_animator.pipeline import AnimatePipeline, attach_driver
from portrait_animator.render.base import TargetFace
from portrait_animator.render.mouth import along_lip_corners, driver_mapping, driver_mouth_seen
from shot import MEDIA, pair_arguments, shared_pairs

# Clips that turn more than 30° from their neutral frame (bench/driver_turns.py), two that turn about 20°,
# and a frontal one, for scale.
DEFAULT_PAIRS = [
    ("avatarify_obama.jpg", "styletalk_nice_clip1.mp4"),
    ("hallo_6_photo_woman.jpg", "styletalk_nice_clip1.mp4"),
    ("lp_s9_painting_mona_lisa.jpg", "styletalk_furious_talk1_clip1.mp4"),
    ("avatarify_jobs.jpg", "pcavs_vox_741400104.mp4"),
    ("lp_s42_photo_young_woman.jpg", "pcavs_vox_620900105.mp4"),
    ("lia_taylor.png", "lp_d12.mp4"),
    ("lia_taylor.png", "lp_d3.mp4"),
    ("avatarify_einstein_bw.jpg", "dagan_driving.mp4"),
    ("hallo_6_photo_woman.jpg", "lp_d18.mp4"),
]


def outside_share(alpha: np.ndarray, box, matrix: np.ndarray, outer: np.ndarray) -> float:
    """The share of the painted pixels (``alpha`` > 0.5 over ``box``) that ``matrix`` carries from past the
    driver's outer lip corners (``outer``: iBUG 48-59 in the driver's frame)."""
    x0, y0 = box[:2]
    ys, xs = np.nonzero(alpha > 0.5)
    if not len(xs):
        return 0.0
    back = align.apply(align.invert(matrix), np.stack([xs + x0 + 0.5, ys + y0 + 0.5], axis=1))
    along = along_lip_corners(back, outer)
    return float(np.mean((along < 0.0) | (along > 1.0)))


def measure(still: str, clip: str, cache: str | None) -> dict:
    job = RenderJob(sources=[still], driver=clip, output=OutputConfig(pattern="/unused/f.####.png"), cache_dir=cache)
    shot = AnimatePipeline(job).prepare()
    renderer, shapes, track = shot.renderer, shot.shapes, shot.driver.track
    track_rows = rows_by_number(track.frame_numbers)
    frames = dict(shot.driver.frames.frames(int(shapes.frame_numbers[0]), int(shapes.frame_numbers[-1])))
    baseline, engine, seen_all, turns = [], [], [], []
    for row, number in enumerate(shapes.frame_numbers):
        number = int(number)
        target = TargetFace(number, shapes.landmarks[row], None if shapes.dense is None else shapes.dense[row])
        attach_driver(target, frames[number], track.landmarks[track_rows[number]], shot.driver_neutral,
                      shapes.turn_of(row))
        driver = renderer.driver_mouth(target)
        if driver is None:
            continue
        control, _ = renderer.mesh_target(target)
        upper, lower = control[renderer.lips.upper], control[renderer.lips.lower]
        overlay = renderer.mouth.paint(upper, lower, driver)
        if overlay is None or not (overlay.alpha > 0.5).any():
            continue
        matrix, overshoot = driver_mapping(upper, lower, driver)
        seen = driver_mouth_seen(driver.turn, overshoot)
        share = outside_share(overlay.alpha, overlay.box, matrix, driver.outer)
        baseline.append(share)
        engine.append(seen * share)
        seen_all.append(seen)
        turns.append(abs(np.degrees(driver.turn)))
    return {"baseline": np.array(baseline), "engine": np.array(engine), "seen": np.array(seen_all),
            "turns": np.array(turns)}


def main(argv=None) -> int:
    parser = pair_arguments(__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, default=0.05, help="a frame counts when more than this share "
                                                                 "of its painted mouth comes from outside")
    args = parser.parse_args(argv)
    print(f"{'still':32s} {'driver':34s} {'painted':>7s} {'turn':>5s} {'frames outside':>15s} "
          f"{'mean share':>15s} {'synthesised':>12s}")
    print(f"{'':32s} {'':34s} {'':>7s} {'max':>5s} {'base':>7s} {'engine':>7s} {'base':>7s} {'engine':>7s} "
          f"{'part':>6s} {'whole':>5s}")
    for still, clip in shared_pairs(args, DEFAULT_PAIRS):
        found = measure(os.path.join(MEDIA, "stills", still), os.path.join(MEDIA, "driving", clip), args.cache)
        base, engine, seen = found["baseline"], found["engine"], found["seen"]
        if not len(base):
            print(f"{still:32s} {clip:34s} {0:7d}  (no painted mouth)")
            continue
        print(f"{still:32s} {clip:34s} {len(base):7d} {found['turns'].max():5.1f} "
              f"{int((base > args.share).sum()):7d} {int((engine > args.share).sum()):7d} "
              f"{base.mean():7.4f} {engine.mean():7.4f} {int((seen < 1.0).sum()):6d} {int((seen == 0.0).sum()):5d}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
