"""How far ``preset:talk`` opens the mouth and how fast, and how far it and ``preset:idle`` turn the head,
beside real talking clips.

The mouth's measure is ``motion.mouth_openness`` (the inner lips' gap over the mouth's width) above its
rest (the 5th percentile of the clip): its median and 90th and 99th percentiles, and the 90th percentile of
how fast it changes, per second. The head's is the standard deviation of each angle of
``evaluate.face_measures.head_pose`` (degrees). The presets are shaped round the bundled still's own face,
as the README's first command runs it, for a few seeds.

    OMP_NUM_THREADS=2 .venv/bin/python bench/talk_preset.py [--clips a.mp4 ...] [--cache DIR] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

from portrait_animator.cache import FileCache
from portrait_animator.config import RenderJob
from portrait_animator.drivers import load_driver
from portrait_animator.evaluate.face_crops import to_uint8
from portrait_animator.evaluate.face_measures import head_pose
from portrait_animator.io.images import read_image
from portrait_animator.landmarks import create_detector
from portrait_animator.motion import mouth_openness
from portrait_animator.presets import preset_track
from shot import MEDIA

# The shared clips of people talking to camera (the others act expressions or turn without speaking).
TALKING = ("dreamtalk_mead_w009_neutral.mp4", "pcavs_vox_00015.mp4", "retalking_face1.mp4",
           "retalking_face4.mp4", "sadtalker_ref_aoc.mp4", "styletalk_andrew_clip1.mp4",
           "styletalk_happyenglish_clip1.mp4", "styletalk_kristinoem.mp4", "styletalk_reagan_clip1.mp4")
COLUMNS = ("median", "p90", "p99", "speed p90", "yaw sd", "pitch sd", "roll sd")
BUNDLED_STILL = os.path.join(os.path.dirname(__file__), "..", "core", "assets", "stills", "eileen_collins_nasa.png")


def motion_statistics(landmarks: np.ndarray, fps: float) -> tuple[float, ...]:
    """(median, 90th, 99th percentile) of the opening above its rest, the 90th percentile of its speed (per
    second), and the standard deviations of yaw, pitch and roll, over the frames with a face."""
    landmarks = landmarks[np.isfinite(landmarks).all(axis=(1, 2))]
    opening = mouth_openness(landmarks)
    above = opening - np.percentile(opening, 5)
    speed = np.abs(np.diff(opening)) * fps
    pose = np.array([head_pose(points) for points in landmarks])
    return (float(np.median(above)), float(np.percentile(above, 90)), float(np.percentile(above, 99)),
            float(np.percentile(speed, 90)), *(float(sd) for sd in pose.std(axis=0)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", default=list(TALKING),
                        help="clip file names in the shared media's driving folder (default: the talking ones)")
    parser.add_argument("--cache", help="landmark cache folder (reused between runs)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the preset's tracks")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'driver':36s}" + "".join(f"{c:>10s}" for c in COLUMNS))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        cache = args.cache or scratch
        for clip in args.clips:
            path = os.path.join(MEDIA, "driving", clip)
            track = load_driver(RenderJob(sources=[path], driver=path, cache_dir=cache), None,
                                FileCache(cache)).track
            rows.append(motion_statistics(track.landmarks, track.fps))
            print(f"{clip:36s}" + "".join(f"{v:10.3f}" for v in rows[-1]))
    rows = np.array(rows)
    for name, values in (("clips: least", rows.min(0)), ("clips: median", np.median(rows, 0)),
                         ("clips: most", rows.max(0))):
        print(f"{name:36s}" + "".join(f"{v:10.3f}" for v in values))
    with create_detector("mediapipe") as detector:
        neutral = detector.find_faces(to_uint8(read_image(BUNDLED_STILL).rgb))[0].landmarks
    for name in ("talk", "idle"):
        for seed in range(args.seeds):
            track = preset_track(name, neutral, frames=int(args.seconds * 25), seed=seed)
            print(f"{f'preset:{name} seed {seed}':36s}" + "".join(f"{v:10.3f}" for v in
                                                                motion_statistics(track.landmarks, track.fps)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
