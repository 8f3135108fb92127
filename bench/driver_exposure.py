"""How far a driving clip's light drifts from its neutral frame, where the engine reads the driver's skin.

The mouth and eye painters colour the driver's pixels by its skin read once a shot, on its neutral frame
(docs/quality.md, "The painted mouth's light holds still over a shot"): a driver whose exposure drifts
(a camera's auto-exposure, a head turning into the light) would bring its drift into the painted mouth.
This measures that drift: on every ``--step``-th frame, the median Lab lightness of both cheeks (under the
eyes, beside the nose) as a factor on L + 16 (an exposure's factor on luminance) against the neutral frame's,
and what that factor does to a dark mouth interior (L 20).

    .venv/bin/python bench/driver_exposure.py [--clips a.mp4 b.mp4] [--frames 300] [--cache DIR]
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from portrait_animator.cache import FileCache
from portrait_animator.render.colour_transfer import lab
from portrait_animator.render.regions import region_pixels
from shot import clip_arguments, shared_clips, tracked_clip

CHEEKS = ((1, 3, 31, 40), (15, 13, 35, 47))  # iBUG points round each cheek under the eye
DARK_MOUTH = 20.0  # Lab lightness of an open mouth's interior


def cheek_lightness(rgb: np.ndarray, landmarks68: np.ndarray) -> float:
    pixels = np.vstack([region_pixels(rgb, landmarks68[list(cheek)]) for cheek in CHEEKS])
    return float(np.median(lab(pixels)[:, 0])) if len(pixels) else float("nan")


def drift(clip: str, frames: int, step: int, cache: FileCache, scratch: str) -> np.ndarray:
    """Exposure factors of the sampled frames against the neutral frame's."""
    neutral, tracked = tracked_clip(clip, frames, cache, scratch)
    lightness = {number: cheek_lightness(image, landmarks) for number, image, landmarks in tracked
                 if number == neutral or (number <= frames and (number - 1) % step == 0)}
    reference = lightness[neutral] + 16.0
    return np.array([(value + 16.0) / reference for n, value in sorted(lightness.items()) if n != neutral])


def main(argv=None) -> int:
    parser = clip_arguments(__doc__.splitlines()[0], frames=300)
    parser.add_argument("--step", type=int, default=5, help="measure every this many frames")
    args = parser.parse_args(argv)
    clips = shared_clips(args)
    print(f"{'clip':36s} {'frames':>6s} {'p5':>6s} {'p95':>6s} {'min':>6s} {'max':>6s} {'mouth L at p5-p95':>18s}")
    spreads = []
    with tempfile.TemporaryDirectory() as scratch:
        cache = FileCache(args.cache or os.path.join(scratch, "cache"))
        for clip in clips:
            factors = drift(clip, args.frames, args.step, cache, scratch)
            if not len(factors):
                continue
            low, high = np.percentile(factors, [5, 95])
            mouth = [(DARK_MOUTH + 16.0) * f - 16.0 for f in (low, high)]
            spreads.append(max(1.0 - low, high - 1.0))
            print(f"{os.path.basename(clip):36s} {len(factors):6d} {low:6.3f} {high:6.3f} {factors.min():6.3f} "
                  f"{factors.max():6.3f} {mouth[0]:8.1f} - {mouth[1]:5.1f}", flush=True)
    spreads = np.array(spreads)
    print(f"{len(spreads)} clips: the 5-95 % drift from the neutral frame is within 2 % on "
          f"{(spreads <= 0.02).sum()}, within 5 % on {(spreads <= 0.05).sum()}, above 10 % on "
          f"{(spreads > 0.10).sum()} (largest {spreads.max():.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
