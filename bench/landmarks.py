"""Landmark speed: MediaPipe per-frame time, searching every frame vs following the face from the last frame.

    .venv/bin/python bench/landmarks.py [--clip PATH] [--frames 150] [--repeat 3]

All in one process, on the same decoded frames (decoding is not timed):
- ``find_faces``: the full search on every frame (detectors on the downscaled frame, two mesh passes);
- ``follow``: one mesh pass on the region of the previous frame's mesh (what ``track_frames`` does);
- ``track_frames``: the whole tracker (follow + its bookkeeping), ms per frame;
- baseline: MediaPipe's own ``mp.solutions.face_mesh.FaceMesh`` in video mode with ``refine_landmarks``
  (its own tracking), which the ratios are against.
Each figure is the best of ``--repeat`` passes over the frames (the least disturbed on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import cv2
import numpy as np

from portrait_animator.landmarks import create_detector, track_frames
from shot import MEDIA

CLIP = os.path.join(MEDIA, "driving", "lp_d3.mp4")  # 512x512, 30 fps


def decode(path: str, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(path)
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    if not frames:
        raise SystemExit(f"{path}: no frames decoded")
    return frames


def best_ms_per_frame(run, frames, repeat: int) -> float:
    run(frames[:5])  # warm-up: graph start, first inference
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(frames)
        best = min(best, time.perf_counter() - start)
    return best / len(frames) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clip", default=CLIP)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frames = decode(args.clip, args.frames)
    height, width = frames[0].shape[:2]
    print(f"#### MediaPipe landmarks, {os.path.basename(args.clip)} {width}x{height}, {len(frames)} frames, "
          f"best of {args.repeat}; {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")

    import mediapipe as mp

    def baseline(batch):
        with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=True,
                                             max_num_faces=1) as mesh:
            for image in batch:
                mesh.process(image)

    with create_detector("mediapipe") as detector:
        first = detector.find_faces(frames[0])[0]

        def search(batch):
            for image in batch:
                detector.find_faces(image)

        def follow(batch):
            face = first
            for image in batch:
                face = detector.follow(image, face) or detector.find_faces(image)[0]

        def tracker(batch):
            track_frames(enumerate(batch, start=1), backend=detector)

        results = [("mp.solutions FaceMesh, video mode (baseline)", best_ms_per_frame(baseline, frames, args.repeat)),
                   ("find_faces on every frame", best_ms_per_frame(search, frames, args.repeat)),
                   ("follow from the previous frame", best_ms_per_frame(follow, frames, args.repeat)),
                   ("track_frames", best_ms_per_frame(tracker, frames, args.repeat))]
    base = results[0][1]
    print(f"{'method':48s} {'ms/frame':>9s} {'fps':>7s} {'x baseline':>11s}")
    for name, ms in results:
        print(f"{name:48s} {ms:9.2f} {1e3 / ms:7.1f} {ms / base:11.2f}")


if __name__ == "__main__":
    main()
