"""How far the shared clips turn their heads from their neutral frames (the turn the warp renderer is asked to show).

Relative motion applies the driver's change from its neutral frame to the still, so a driver that turns its
head 40° from that frame asks the warp to turn the still's face 40°, which a 2D warp can only fake by
squeezing one half of the face (docs/quality.md, "Where the warp renderer fails"). For each clip: how far the
neutral frame is turned and nodded from the clip's median pose (yaw and pitch by ``head_pose``: eye corners
and nose tip, so the angles are approximate), and the yaw of every tracked frame less the neutral frame's:
its 5th and 95th percentile and largest size, and the share of frames turned past 20° and 30°. Last, the
share of frames whose turn and nod, as ``head_turn`` fits them, pass the knee where the default
``max_turn`` starts to ease them (half of it).

    .venv/bin/python bench/driver_turns.py [--clips a.mp4 b.mp4] [--frames 250] [--cache DIR]
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from portrait_animator.cache import FileCache
from portrait_animator.config import MotionConfig
from portrait_animator.evaluate.face_measures import head_pose
from portrait_animator.motion.head_turn import KNEE, HeadTurn
from portrait_animator.motion.neutral import choose_neutral, fill_missing
from shot import clip_arguments, clip_driver, shared_clips

PAST = (20.0, 30.0)  # degrees
EASED = KNEE * MotionConfig.max_turn  # degrees: the default max_turn eases turns and nods past this


def poses(clip: str, frames: int, cache: FileCache, scratch: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(yaw, pitch) in degrees of each tracked frame (frames without a face left out), of the neutral
    frame, and of each frame from the neutral one as ``HeadTurn`` fits them."""
    track = clip_driver(clip, frames, cache, scratch).track
    neutral = choose_neutral(track, "auto")
    wanted = track.valid & (track.frame_numbers <= frames)
    frame_poses = np.array([head_pose(landmarks)[:2] for landmarks in track.landmarks[wanted]])
    landmarks = fill_missing(track).landmarks.astype(np.float64)
    fitted = np.degrees(HeadTurn(landmarks[neutral]).fit_frames(landmarks[wanted]))
    return frame_poses, np.array(head_pose(track.landmarks[neutral])[:2]), fitted


def main(argv=None) -> int:
    args = clip_arguments(__doc__.splitlines()[0], frames=250).parse_args(argv)
    print("neutral: the neutral frame's yaw and pitch less the clip's median; turn: each frame's yaw less the "
          f"neutral frame's; eased: the share of frames whose fitted yaw and pitch pass {EASED:.1f}°")
    print(f"{'clip':36s} {'frames':>6s} {'neutral yaw':>11s} {'pitch':>6s} | {'turn p5':>7s} {'p95':>6s} "
          f"{'largest':>7s} " + " ".join(f"{f'past {p:.0f}°':>8s}" for p in PAST)
          + f" | {'eased yaw':>9s} {'pitch':>6s}")
    shares, offsets, eased = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        cache = FileCache(args.cache or os.path.join(scratch, "cache"))
        for clip in shared_clips(args):
            frame_poses, neutral, fitted = poses(clip, args.frames, cache, scratch)
            offsets.append(neutral - np.median(frame_poses, axis=0))
            turn = frame_poses[:, 0] - neutral[0]
            past = [float(np.mean(np.abs(turn) > p)) for p in PAST]
            shares.append(past)
            low, high = np.percentile(turn, [5, 95])
            eased.append(np.mean(np.abs(fitted) > EASED, axis=0))
            print(f"{os.path.basename(clip):36s} {len(turn):6d} {offsets[-1][0]:+11.1f} {offsets[-1][1]:+6.1f} |"
                  f" {low:+7.1f} {high:+6.1f} {np.abs(turn).max():7.1f} "
                  + " ".join(f"{share:8.2f}" for share in past)
                  + f" | {eased[-1][0]:9.2f} {eased[-1][1]:6.2f}", flush=True)
    shares, offsets = np.array(shares), np.abs(np.array(offsets))
    print(f"neutral frame off the clip's median pose: yaw {offsets[:, 0].mean():.1f}° on average (largest "
          f"{offsets[:, 0].max():.1f}°), pitch {offsets[:, 1].mean():.1f}° (largest {offsets[:, 1].max():.1f}°); "
          "frames turned from it past " + ", ".join(f"{p:.0f}°: {shares[:, k].mean():.3f} of a clip's"
                                                 for k, p in enumerate(PAST)))
    print(f"{len(shares)} clips; turned past " + ", ".join(
        f"{p:.0f}° on some frame: {(shares[:, k] > 0).sum()} clips" for k, p in enumerate(PAST)))
    eased = np.array(eased)
    print(f"eased by the default max_turn (fitted turn or nod past {EASED:.1f}°): yaw {eased[:, 0].mean():.3f}, "
          f"pitch {eased[:, 1].mean():.3f} of a clip's frames; {(eased[:, 0] > 0).sum()} and "
          f"{(eased[:, 1] > 0).sum()} clips on some frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
