"""How far the engine's tracker and dlib agree on the eye and mouth openings of real clips.

The warp renderer follows the engine's tracker (MediaPipe), and the evaluation reads the output with dlib;
so on each clip, the correlation of the two landmarkers' opening curves on the *real* frames bounds how
closely an output can follow dlib's curve there. Measured on the window the evaluation scores (the clip's
middle ``--frames``) with the track as the renderer gets it (smoothed as by default). Given an evaluation's
results.json, each clip's self-reenactment correlations (K = 1) are printed beside it, and the means are
taken over the cases whose driver moves the feature, as the evaluation's own table does.

    OMP_NUM_THREADS=2 .venv/bin/python bench/tracker_agreement.py [--clips a.mp4 ...] [--frames 32]
        [--cache DIR] [--results REPORT/results.json] [--renderer warp]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np

from portrait_animator.cache import FileCache
from portrait_animator.config import RenderJob
from portrait_animator.drivers import load_driver
from portrait_animator.evaluate.dlib_instrument import DlibInstrument
from portrait_animator.evaluate.motion_metrics import correlation
from portrait_animator.evaluate.protocols import VIDEO_EXTENSIONS, clip_name, find_files, middle_window
from portrait_animator.io.sources import open_frames
from portrait_animator.landmarks import rows_by_number
from portrait_animator.motion import eye_openness, mouth_openness
from shot import MEDIA


def agreement(clip: str, frames: int, cache_dir: str, instrument: DlibInstrument) -> tuple[float, float, int]:
    """(eyes r, mouth r, frames measured) between dlib and the tracker on ``clip``'s middle ``frames``."""
    job = RenderJob(sources=[clip], driver=clip, cache_dir=cache_dir)
    track = load_driver(job, None, FileCache(cache_dir)).track
    window = middle_window(track.frame_numbers, frames)
    row_of = rows_by_number(track.frame_numbers)
    curves = []
    for number, image in open_frames(clip).frames(window[0], window[-1]):
        tracked = track.landmarks[row_of[number]]
        found = instrument.measure(image, with_descriptor=False)
        if found is None or not np.isfinite(tracked).all():
            continue
        curves.append((eye_openness(found.landmarks).mean(), eye_openness(tracked).mean(),
                       mouth_openness(found.landmarks), mouth_openness(tracked)))
    c = np.array(curves).reshape(-1, 4)
    return correlation(c[:, 0], c[:, 1]), correlation(c[:, 2], c[:, 3]), len(c)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", help="clip file names in the shared media's driving folder "
                                                   "(default: all of them)")
    parser.add_argument("--frames", type=int, default=32, help="the evaluation's window length")
    parser.add_argument("--cache", help="landmark cache folder (reused between runs)")
    parser.add_argument("--results", help="an evaluation's results.json: its self-reenactment scores beside")
    parser.add_argument("--renderer", default="warp", help="the contender of --results to show")
    args = parser.parse_args(argv)
    folder = os.path.join(MEDIA, "driving")
    clips = [os.path.join(folder, c) for c in args.clips] if args.clips else find_files(folder, VIDEO_EXTENSIONS)
    scored = {}
    if args.results:
        with open(args.results) as handle:
            scored = {case["clip"]: case["summary"] for case in json.load(handle)["cases"]
                      if case["group"] == "self-k1" and case["contender"] == args.renderer and case["summary"]}
    instrument = DlibInstrument()
    sums: dict[str, list[tuple[float, float]]] = {"eyes": [], "mouth": []}
    print(f"{'clip':36s} {'frames':>6s} {'eyes: agree':>11s} {args.renderer:>6s} {'mouth: agree':>12s} "
          f"{args.renderer:>6s}")
    with tempfile.TemporaryDirectory() as scratch:
        for clip in clips:
            eyes, mouth, count = agreement(clip, args.frames, args.cache or scratch, instrument)
            name = clip_name(clip)
            summary = scored.get(name, {})
            line = f"{name:36s} {count:6d} {eyes:11.3f} "
            for feature, agree in (("eyes", eyes), ("mouth", mouth)):
                value = summary.get(f"{feature}_r")
                line += f"{value:6.3f} " if value is not None else f"{'-':>6s} "
                if feature == "eyes":
                    line += f"{mouth:12.3f} "
                if value is not None and summary.get(f"{feature}_moving") and np.isfinite(agree):
                    sums[feature].append((agree, value))
            print(line, flush=True)
    for feature, pairs in sums.items():
        if pairs:
            agree, value = np.array(pairs).mean(0)
            print(f"{feature}: over the {len(pairs)} cases whose driver moves them, tracker-dlib agreement "
                  f"{agree:.3f}, {args.renderer} {value:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
