"""How often the warp mesh folds (round the eyes, the lips, and what untangling leaves) on real (still, clip) pairs.

    .venv/bin/python bench/mesh_folds.py [--pairs STILL:CLIP ...] [--cache DIR]

CLIP is a clip of the shared media's driving folder, a landmark file by its absolute path, or a procedural
driver (``preset:talk``); the motion of drivers with 68 points alone (presets, the rig's landmark files)
reaches the dense mesh through ``motion.dense.interpolation_from_68``.

A turned-over triangle maps two places of the still onto the same pixels and the raster keeps one of
them: round an eye that shows as a pupil cut straight, or the iris's dark spilled over a lid; round the
lips as a torn edge. The triangles with a lip or eye point are not untangled (their openings close and fold
by design), so this counts them, for every frame of each clip: the triangles with an eye or iris point that
turned over (beyond the mesh's tolerance) while that eye is open (its opening over ``--open`` of the
still's; on a still whose eyes are shut, not those inside the opening, which the eye painter covers), and
those with a point of the lips (any of their four rings, inner lips to outer), but for the mouth opening's
own strips; the frames with any, and their area in crop pixels squared. Last, the
triangles untangling watches (those with no lip or eye point) that it leaves turned over: the raster's
order settles those, and they show as a straight cut (the chin over the neck, a cheek over the hair).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from portrait_animator.config import OutputConfig, RenderJob
from portrait_animator.landmarks import mediapipe_topology as mpt
from portrait_animator.motion import eye_openness
from portrait_animator.pipeline import AnimatePipeline
from portrait_animator.render import mesh as warp_mesh
from portrait_animator.render.base import TargetFace
from shot import MEDIA, pair_arguments, shared_pairs

DEFAULT_PAIRS = [
    ("avatarify_jobs.jpg", "lp_d12.mp4"),
    ("hallo_6_photo_woman.jpg", "lp_d12.mp4"),
    ("lp_s42_photo_young_woman.jpg", "lp_d3.mp4"),
    ("lp_s9_painting_mona_lisa.jpg", "lp_d10.mp4"),
    ("avatarify_obama.jpg", "tpsmm_driving.mp4"),
    ("lia_taylor.png", "lp_d3.mp4"),
]
EYES = ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), (mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER))


KINDS = ("open eyes", "lips", "left")


def mesh_folds(still: str, clip: str, open_share: float, cache: str | None) -> tuple[int, np.ndarray]:
    """(frames, and for each of ``KINDS``: the frames with a fold of that kind and their turned-over area)."""
    job = RenderJob(sources=[still], driver=clip, output=OutputConfig(pattern="/unused/f.####.png"),
                    cache_dir=cache)
    shot = AnimatePipeline(job).prepare()
    renderer = shot.renderer
    mesh = renderer.mesh
    # Control rows of each eye: its lids, and its iris centre where the irises are control points.
    irises = renderer.moves_irises
    rows = [list(upper) + list(lower) + ([mpt.FACE_MESH_COUNT + eye] if irises else [])
            for eye, (upper, lower) in enumerate(EYES)]
    of_eye = [np.isin(mesh.triangles, eye_rows).any(axis=1) for eye_rows in rows]
    if renderer.eye_opener.shut:  # a shut eye's opening, flat on the still, is painted over as it opens
        of_eye = [of & ~np.isin(mesh.triangles, eye_rows).all(axis=1) for of, eye_rows in zip(of_eye, rows)]
    lips = np.isin(mesh.triangles, mpt.LIP_RING_POINTS).any(axis=1)
    lips &= ~np.isin(mesh.triangles, mpt.INNER_LIP_UPPER + mpt.INNER_LIP_LOWER).all(axis=1)
    still_opening = eye_openness(shot.source.crop.landmarks)
    tally = np.zeros((len(KINDS), 2))
    for row, number in enumerate(shot.shapes.frame_numbers):
        target = TargetFace(int(number), shot.shapes.landmarks[row],
                            None if shot.shapes.dense is None else shot.shapes.dense[row])
        _, points = renderer.mesh_target(target)
        kept = warp_mesh.signed_areas(points, mesh.triangles) * np.sign(mesh.areas)
        turned = kept < -warp_mesh.UNTANGLE_TOLERANCE * np.abs(mesh.areas)  # as warp_mesh.turned_over
        opening = eye_openness(target.landmarks) / np.maximum(still_opening, 1e-6)
        watched = np.zeros(len(mesh.triangles), bool)
        for eye in (0, 1):
            if opening[eye] > open_share:
                watched |= of_eye[eye]
        for kind, of_kind in enumerate((watched, lips, mesh.watched)):
            folded = turned & of_kind
            tally[kind] += (folded.any(), -kept[folded].sum())
    return len(shot.shapes.frame_numbers), tally


def main(argv=None) -> int:
    parser = pair_arguments(__doc__.splitlines()[0])
    parser.add_argument("--open", type=float, default=0.35, help="an eye counts as open above this share "
                                                                 "of the still's opening")
    args = parser.parse_args(argv)
    pairs = shared_pairs(args, DEFAULT_PAIRS)
    print(f"{'still':34s} {'driver':20s} {'frames':>6s}" + "".join(f" {kind + ': frames':>18s} {'area px^2':>10s}"
                                                                  for kind in KINDS))
    for still, clip in pairs:
        driver = clip if clip.startswith("preset:") or os.path.isabs(clip) else os.path.join(MEDIA, "driving", clip)
        frames, tally = mesh_folds(os.path.join(MEDIA, "stills", still), driver, args.open, args.cache)
        print(f"{still:34s} {clip:20s} {frames:6d}" + "".join(f" {int(folded):18d} {area:10.0f}"
                                                              for folded, area in tally), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
