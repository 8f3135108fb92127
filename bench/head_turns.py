"""How much the warp squeezes a still's face where the driver turns its head far, with the turn held back
(``MotionConfig.max_turn``, the default) and without (``max_turn`` 0, the baseline), in one process.

A 2D warp shows a turn by narrowing the far half of the face; past about 30° the far cheek collapses and the
face creases (docs/quality.md). For each (still, clip) pair the same prepared shot is given both motions, and
for every frame this measures the warp mesh's face triangles (those of MediaPipe's face mesh): each one's
area against the still's, over the frame's median ratio (so the head's own scale is not counted), and the
share of triangles squeezed below ``--squeeze`` of their area. Printed per pair over the frames the driver
turns more than 20° from its neutral frame (by ``head_turn``'s fit): their number, the driver's largest
turn, the still's largest turn shown (the same fit, of the target points from the still's), and the squeezed share with
and without the limit, and their ratio; for scale, the squeezed share of the frames turned less than 5°.
Last, how much of those frames' turn the generic face depth explains: their rigid points' mean distance
from the neutral frame's, in eye distances, once the 2D pose is undone, and once the fitted turn is too.

    OMP_NUM_THREADS=1 .venv/bin/python bench/head_turns.py [--pairs STILL:CLIP ...] [--cache DIR]
"""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np

from portrait_animator import align
from portrait_animator.config import OutputConfig, RenderJob
from portrait_animator.landmarks import mediapipe_topology as mpt
from portrait_animator.motion.head_turn import HeadTurn
from portrait_animator.motion.neutral import choose_neutral, fill_missing
from portrait_animator.motion.transfer import MotionTransfer
from portrait_animator.pipeline import AnimatePipeline
from portrait_animator.render import mesh as warp_mesh
from portrait_animator.render.base import TargetFace
from shot import MEDIA, pair_arguments, shared_pairs

# Clips that turn more than 30° from their neutral frame (bench/driver_turns.py), on stills of each kind.
DEFAULT_PAIRS = [
    ("hallo_6_photo_woman.jpg", "styletalk_nice_clip1.mp4"),
    ("lp_s9_painting_mona_lisa.jpg", "styletalk_nice_clip1.mp4"),
    ("lp_s7_cartoon_3d_boy.jpg", "styletalk_nice_clip1.mp4"),
    ("avatarify_einstein_bw.jpg", "dagan_driving.mp4"),
    ("avatarify_obama.jpg", "pcavs_vox_741400104.mp4"),
    ("lia_taylor.png", "lp_d12.mp4"),
    ("sadtalker_art_20_painted_old_woman.png", "lp_d3.mp4"),
]
TURNED = 20.0  # degrees: the frames measured
FACING = 5.0  # degrees: the frames that show the warp's squeeze of a face that hardly turns, for scale


def fitted_turns(landmarks: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|yaw| in degrees of each frame of a 68-point sequence from the ``reference`` face, by ``HeadTurn``."""
    return np.degrees(np.abs(HeadTurn(reference).fit_frames(landmarks)[:, 0]))


def unexplained(landmarks: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(F, 2) how far each frame's rigid points lie from the ``reference`` face's once the 2D pose is undone,
    and from the reference turned and nodded as ``HeadTurn`` fits them (mean distance, eye distances): how
    much of a turn the generic depth explains."""
    turn, rigid = HeadTurn(reference), list(align.RIGID_68)
    _, pose_free = turn.pose_free(landmarks)
    fitted = np.array([turn.shapes(*angles)[0] for angles in turn.fit(pose_free)]).reshape(pose_free.shape)
    off = [np.linalg.norm(pose_free[:, rigid] - shape[:, rigid], axis=2).mean(axis=1)
           for shape in (reference[None], fitted)]
    return np.stack(off, axis=1) / np.linalg.norm(reference[45] - reference[36])


def squeezed_shares(shot, shapes, squeeze: float) -> np.ndarray:
    """Per frame, the share of the face mesh's triangles squeezed below ``squeeze`` of their area."""
    renderer = shot.renderer
    triangles = renderer.mesh.triangles
    face = (triangles < mpt.FACE_MESH_COUNT).all(axis=1)
    still_areas = renderer.mesh.areas[face]
    shares = []
    for row, number in enumerate(shapes.frame_numbers):
        target = TargetFace(int(number), shapes.landmarks[row], None if shapes.dense is None else shapes.dense[row])
        _, points = renderer.mesh_target(target)
        ratio = warp_mesh.signed_areas(points, triangles[face]) / still_areas
        shares.append(float(np.mean(ratio < squeeze * np.median(ratio))))
    return np.array(shares)


def measure(still: str, clip: str, squeeze: float, cache: str | None) -> dict:
    job = RenderJob(sources=[still], driver=clip, output=OutputConfig(pattern="/unused/f.####.png"), cache_dir=cache)
    shot = AnimatePipeline(job).prepare()
    track = fill_missing(shot.driver.track)
    neutral = choose_neutral(track, job.motion.neutral)
    driver = track.landmarks.astype(np.float64)
    driver_turn = fitted_turns(driver, driver[neutral])
    rigid_error = unexplained(driver[driver_turn > TURNED], driver[neutral])
    source = shot.source.crop
    results = {}
    for name, max_turn in (("held", job.motion.max_turn), ("whole", 0.0)):
        motion = dataclasses.replace(job.motion, max_turn=max_turn)
        shapes = MotionTransfer(motion, source.landmarks, source.dense).transfer(shot.driver.track)
        rows = np.isin(track.frame_numbers, shapes.frame_numbers)
        turned, facing = driver_turn[rows] > TURNED, driver_turn[rows] < FACING
        shown = fitted_turns(shapes.landmarks.astype(np.float64), source.landmarks.astype(np.float64))
        shares = squeezed_shares(shot, shapes, squeeze)
        results[name] = (shares[turned], shown[turned])
    return {"frames": int(turned.sum()), "driver": float(driver_turn.max()), "results": results,
            "unexplained": rigid_error.mean(axis=0) if len(rigid_error) else np.full(2, np.nan),
            "facing": float(shares[facing].mean()) if facing.any() else float("nan")}


def main(argv=None) -> int:
    parser = pair_arguments(__doc__.splitlines()[0])
    parser.add_argument("--squeeze", type=float, default=0.5, help="a triangle counts as squeezed below this "
                                                                  "share of its area (over the frame's median)")
    args = parser.parse_args(argv)
    pairs = shared_pairs(args, DEFAULT_PAIRS)
    print(f"{'still':38s} {'driver':26s} {'frames':>6s} {'driver':>7s} {'shown':>13s} {'squeezed share':>30s}")
    print(f"{'':38s} {'':26s} {f'>{TURNED:.0f}°':>6s} {'largest':>7s} {'held':>6s} {'whole':>6s} "
          f"{'held':>7s} {'whole':>7s} {'ratio':>6s} {f'<{FACING:.0f}°':>7s} {'rigid pose':>10s} {'turn':>6s}")
    held_all, whole_all = [], []
    for still, clip in pairs:
        found = measure(os.path.join(MEDIA, "stills", still), os.path.join(MEDIA, "driving", clip), args.squeeze,
                        args.cache)
        (held, held_turn), (whole, whole_turn) = found["results"]["held"], found["results"]["whole"]
        if not found["frames"]:
            print(f"{still:38s} {clip:26s} {0:6d} {found['driver']:7.1f}  (no frame turned past {TURNED:.0f}°)")
            continue
        held_all.append(held.mean())
        whole_all.append(whole.mean())
        print(f"{still:38s} {clip:26s} {found['frames']:6d} {found['driver']:7.1f} {held_turn.max():6.1f} "
              f"{whole_turn.max():6.1f} {held.mean():7.4f} {whole.mean():7.4f} "
              f"{held.mean() / max(whole.mean(), 1e-9):6.2f} {found['facing']:7.4f} "
              f"{found['unexplained'][0]:10.3f} {found['unexplained'][1]:6.3f}", flush=True)
    if held_all:
        print(f"mean over pairs: squeezed share held {np.mean(held_all):.4f}, whole {np.mean(whole_all):.4f}, "
              f"ratio {np.mean(held_all) / max(np.mean(whole_all), 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
