"""Per-stage time of the animate pipeline on a real clip, at several crop sizes.

    .venv/bin/python bench/pipeline.py [--clip lp_d3.mp4] [--still lp_s9_painting_mona_lisa.jpg]
                                       [--frames 120] [--crop-sizes 256 512] [--format png|exr]

Stages per frame: decode (driver video), landmarks (MediaPipe tracking), motion (transfer, amortised),
warp (renderer), paste (full-resolution paste-back), write (atomic frame + matte). "warp path" is
everything but landmark detection, which a re-render takes from the cache; its stages run one after
another here. "animate" is the real pipeline on the same frames with the analysis cache warm, where writing
frame N overlaps rendering frame N+1 (FrameWriteQueue). The baseline, measured in the same process, is the
cheapest possible frame loop: decode, then write the still unchanged.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

from portrait_animator.config import FrameRange, OutputConfig, RenderJob
from portrait_animator.io.frames import FrameWriter
from portrait_animator.io.sources import open_frames
from portrait_animator.landmarks import rows_by_number, track_frames
from portrait_animator.motion import MotionTransfer
from portrait_animator.paste import PasteBack
from portrait_animator.pipeline import AnimatePipeline, attach_driver
from portrait_animator.render.base import TargetFace
from shot import MEDIA


def _timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def bench(still: str, clip: str, frames: int, crop_size: int, fmt: str, scratch: str) -> dict:
    job = RenderJob(sources=[still], driver=clip, frames=FrameRange(1, frames), crop_size=crop_size,
                    output=OutputConfig(pattern=os.path.join(scratch, f"s{crop_size}", f"f.####.{fmt}")),
                    cache_dir=os.path.join(scratch, "cache"))
    pipeline = AnimatePipeline(job)
    shot = pipeline.prepare()  # analysis + driver tracking (cached for the stage runs below)
    numbers = shot.frame_numbers[:frames]
    source = shot.source
    times = {name: [] for name in ("decode", "landmarks", "motion", "warp", "paste", "write", "baseline")}

    decoded = []
    reader = open_frames(clip).frames(numbers[0], numbers[-1])
    for _ in numbers:
        (number, image), seconds = _timed(next, reader)
        decoded.append((number, image))
        times["decode"].append(seconds)
    _, seconds = _timed(track_frames, iter(decoded), "mediapipe", None, shot.driver.track.fps, clip)
    times["landmarks"] = [seconds / len(decoded)] * len(decoded)
    transfer = MotionTransfer(job.motion, source.crop.landmarks, source.crop.dense)
    _, seconds = _timed(transfer.transfer, shot.driver.track)
    times["motion"] = [seconds / len(shot.driver.track)] * len(decoded)

    paste = PasteBack(source.still_rgb, source.still_alpha, source.crop_from_still, crop_size)
    writer = FrameWriter(job.output.pattern, overwrite=True)
    baseline = FrameWriter(os.path.join(scratch, f"b{crop_size}", f"f.####.{fmt}"), overwrite=True)
    still_matte = np.zeros(source.still_rgb.shape[:2], np.float32)
    rows = rows_by_number(shot.shapes.frame_numbers)
    track_rows = rows_by_number(shot.driver.track.frame_numbers)
    for number, image in decoded:
        row = rows[number]
        target = TargetFace(number, shot.shapes.landmarks[row], shot.shapes.dense[row]
                            if shot.shapes.dense is not None else None)
        start = time.perf_counter()
        attach_driver(target, image, shot.driver.track.landmarks[track_rows[number]], shot.driver_neutral,
                      shot.shapes.turn_of(row))
        rendered = shot.renderer.render(target)
        times["warp"].append(time.perf_counter() - start)
        frame, seconds = _timed(paste, rendered)
        times["paste"].append(seconds)
        _, seconds = _timed(writer.write, number, frame.rgb, frame.matte, frame.alpha)
        times["write"].append(seconds)
        _, seconds = _timed(baseline.write, number, source.still_rgb, still_matte, None)
        times["baseline"].append(seconds + times["decode"][len(times["baseline"])])
    medians = {name: statistics.median(values) for name, values in times.items()}
    rerun = dataclasses.replace(job, output=dataclasses.replace(job.output, overwrite=True))
    result = AnimatePipeline(rerun).run()
    medians["animate"] = result.seconds / len(result.written)
    return medians


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="lp_d3.mp4")
    parser.add_argument("--still", default="lp_s42_photo_young_woman.jpg")  # 512x512
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--crop-sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--format", choices=("png", "exr"), default="png")
    args = parser.parse_args(argv)
    clip = os.path.join(MEDIA, "driving", args.clip)
    still = os.path.join(MEDIA, "stills", args.still)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load average "
          f"{os.getloadavg()[0]:.1f}; still {args.still}, clip {args.clip}, {args.frames} frames, {args.format}")
    print(f"{'crop':>5s} | " + " | ".join(f"{n:>9s}" for n in
                                         ("decode", "landmarks", "motion", "warp", "paste", "write")) +
          " | warp path ms | warp path fps | animate fps | baseline fps | path/baseline")
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.crop_sizes:
            t = bench(still, clip, args.frames, size, args.format, scratch)
            path = t["decode"] + t["motion"] + t["warp"] + t["paste"] + t["write"]
            print(f"{size:5d} | " + " | ".join(f"{t[n] * 1000:9.2f}" for n in
                                               ("decode", "landmarks", "motion", "warp", "paste", "write")) +
                  f" | {path * 1000:12.1f} | {1 / path:13.1f} | {1 / t['animate']:11.1f} | "
                  f"{1 / t['baseline']:12.1f} | {path / t['baseline']:12.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
