"""How close the painted mouth's light comes to real open mouths (cross-reenactment between the shared clips).

Each clip whose mouth opens (the tracker's opening over ``--open`` on at least 5 of its first ``--frames``
frames) is the still in turn, driven by the ``--drivers`` clips after it in name order, so every clip is a
still as often as a driver. The reference is the still-clip's own open mouth: the Lab lightness of the pixels
inside its inner lips over its open frames, at the 10th, 50th and 90th percentile (the cavity, the middle,
the teeth). The painted mouth is the driver's open-mouth pixels taken through the colour transfer, from the
driver's skin to the still's, both read on each clip's neutral frame as the renderer reads them. Only the
light is measured, not the shape: no frame is rendered.

Rows: the driver's pixels as filmed (the baseline, no transfer; its bias is zero by construction, each clip
being a still as often as a driver), the transfer's exposure alone (its texture gain held at 1), the colour
transfer (``match_colour``), and what the renderer paints (the transfer, then ``deepen_shadows``). A transfer right on the whole has no bias either; its error
is the rest, mostly what each person's mouth shows (teeth or none), which no transfer can know.
``--skin cheeks`` reads both skins on the cheeks instead of the ring round the lips.

    OMP_NUM_THREADS=2 .venv/bin/python bench/mouth_light.py [--skin ring|cheeks] [--cache DIR]
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from portrait_animator.cache import FileCache
from portrait_animator.motion import mouth_openness
from portrait_animator.render.colour_transfer import lab, lab_statistics, match_colour
from portrait_animator.render.mouth import deepen_shadows, driver_skin
from portrait_animator.render.regions import region_pixels
from driver_exposure import CHEEKS
from shot import clip_arguments, shared_clips, tracked_clip

PERCENTILES = (10, 50, 90)
MIN_OPEN_FRAMES = 5


def cheek_skin(rgb: np.ndarray, landmarks68: np.ndarray):
    """The skin on both cheeks, the alternative to the ring round the lips that was tried (docs/quality.md):
    the Lab median of both cheeks' pixels, and the spread within each cheek, averaged."""
    cheeks = [lab(region_pixels(rgb, landmarks68[list(cheek)])) for cheek in CHEEKS]
    cheeks = [values for values in cheeks if len(values) >= 16]
    if not cheeks:
        return lab_statistics(rgb)
    return np.median(np.vstack(cheeks), axis=0), np.mean([values.std(0) for values in cheeks], axis=0)


SKIN_READERS = {"ring": lambda rgb, landmarks: driver_skin(rgb, landmarks[48:60]), "cheeks": cheek_skin}


def open_mouths(clip: str, frames: int, opening: float, cache: FileCache, scratch: str):
    """The clip's neutral frame and its landmarks, and the pixels inside its inner lips on its open frames."""
    neutral_number, tracked = tracked_clip(clip, frames, cache, scratch)
    neutral, pixels = None, []
    for number, image, landmarks in tracked:
        if number == neutral_number:
            neutral = (image, landmarks)
        if number <= frames and mouth_openness(landmarks) > opening:
            inside = region_pixels(image, landmarks[60:68])
            if len(inside) >= 30:
                pixels.append(inside)
    return neutral, pixels


def main(argv=None) -> int:
    parser = clip_arguments(__doc__.splitlines()[0], frames=250)
    parser.add_argument("--open", type=float, default=0.25, help="mouth opening (gap / width) counted as open")
    parser.add_argument("--drivers", type=int, default=3, help="drivers per still")
    parser.add_argument("--skin", choices=sorted(SKIN_READERS), default="ring", help="where both skins are read")
    args = parser.parse_args(argv)
    clips = shared_clips(args)
    read_skin = SKIN_READERS[args.skin]
    mouths = {}
    with tempfile.TemporaryDirectory() as scratch:
        cache = FileCache(args.cache or os.path.join(scratch, "cache"))
        for clip in clips:
            neutral, pixels = open_mouths(clip, args.frames, args.open, cache, scratch)
            if neutral is not None and len(pixels) >= MIN_OPEN_FRAMES:
                mouths[clip] = (read_skin(*neutral), np.vstack(pixels).astype(np.float32) / 255.0)
    if len(mouths) <= args.drivers:
        raise SystemExit(f"only {len(mouths)} clips open their mouths past {args.open}")
    names = sorted(mouths)
    errors = {"as filmed (baseline)": [], "exposure alone": [], "colour transfer": [],
              "renderer (transfer, deepened shadows)": []}
    for index, still in enumerate(names):
        still_skin, real_pixels = mouths[still]
        real = np.percentile(lab(real_pixels)[:, 0], PERCENTILES)
        for step in range(1, args.drivers + 1):
            driver_skin_lab, pixels = mouths[names[(index + step) % len(names)]]
            matched = match_colour(pixels.reshape(-1, 1, 3), driver_skin_lab, still_skin)
            # The texture gain is the still's spread over the driver's, never under 1: a driver's spread
            # given as unbounded holds it at 1 and leaves the exposure as it is.
            exposed = match_colour(pixels.reshape(-1, 1, 3), (driver_skin_lab[0], np.full(3, np.inf)), still_skin)
            painted = deepen_shadows(matched, float(still_skin[0][0]) / 100.0)
            for row, values in zip(errors.values(), (pixels, exposed, matched, painted)):
                row.append(np.percentile(lab(values)[:, 0], PERCENTILES) - real)
    print(f"{len(names)} clips open their mouths past {args.open}, each driven by the next {args.drivers}: "
          f"{len(names) * args.drivers} pairs; skins read on the {args.skin}")
    labels = " / ".join(f"p{p}" for p in PERCENTILES)
    print(f"{'painted mouth':40s} {'bias (L) ' + labels:>26s} {'mean |error| (L)':>22s} {'ratio to baseline':>22s}")
    baseline = np.abs(np.array(errors["as filmed (baseline)"])).mean(0)
    for name, rows in errors.items():
        rows = np.array(rows)
        error = np.abs(rows).mean(0)
        print(f"{name:40s} {' '.join(f'{v:+7.2f}' for v in rows.mean(0)):>26s} "
              f"{' '.join(f'{v:6.2f}' for v in error):>22s} {' '.join(f'{v:6.3f}' for v in error / baseline):>22s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
