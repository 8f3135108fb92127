"""The painted mouth's colour against the driver's own: shadows crushed, highlights clipped, and the teeth's tint.

    OMP_NUM_THREADS=2 .venv/bin/python bench/mouth_colour.py [--clip C] [--frames 40-49] [--stills A B ...]

Renders each still (all shared stills by default) with a driving clip whose teeth show, crop only, and
measures the pixels inside the target's inner lips; the baseline is the same measure inside the driver's
inner lips on the same frames, measured once for all stills:
- near black: the share at 5 of 255 or less in every channel. On a still with more skin texture than the
  driver the mouth's contrast is raised, and shadows pushed past black lose every shade inside the mouth;
- near white: the share at 250 of 255 or more in every channel. A driver filmed darker than the still
  has its mouth's exposure raised, and teeth pushed past white lose every gap between them;
- clipped: the share at 254 or more in some channel;
- the teeth's tint: Lab a and b of the brightest tenth. Teeth are near white and a little warm; negative
  a or b is green or blue teeth;
- pumping: how much the painted mouth's mean Lab lightness, and its contrast (the lightness's spread),
  jump from one frame to the next beyond what the driver's do: the median, over consecutive frames where
  both mouths are open, of the change in the residual of a straight-line fit of the output's value on the
  driver's (the transfer's gains, taken per frame from the skin round a moving mouth, made the painted
  mouth's exposure and contrast pump). The driver has none by construction: its columns show its own
  median frame-to-frame change, for scale.
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile

import cv2
import numpy as np

from portrait_animator.config import FrameRange, OutputConfig, RenderJob
from portrait_animator.evaluate.face_crops import to_uint8
from portrait_animator.landmarks import rows_by_number
from portrait_animator.pipeline import AnimatePipeline
from shot import MEDIA

INNER_LIPS = list(range(60, 68))


def mouth_colour(image: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """(near black share, near white share, clipped share, teeth a, teeth b, mean Lab lightness, its spread)
    inside the inner lips; NaNs when they are shut."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks68[INNER_LIPS]).astype(np.int32)], 1)
    inside = to_uint8(image[..., :3])[mask > 0]
    if len(inside) < 20:
        return np.full(7, np.nan)
    lab = cv2.cvtColor(inside.reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(np.float64)
    brightest = lab[lab[:, 0] >= np.percentile(lab[:, 0], 90)]
    tint = brightest[:, 1:].mean(0) - 128.0  # 8-bit Lab keeps a and b offset by 128
    return np.array([(inside.max(-1) <= 5).mean(), (inside.min(-1) >= 250).mean(), (inside.max(-1) >= 254).mean(),
                     *tint, lab[:, 0].mean() * 100.0 / 255.0, lab[:, 0].std() * 100.0 / 255.0])


def pumping(output: np.ndarray, driver: np.ndarray) -> tuple[float, float]:
    """(the output's frame-to-frame jump beyond the driver's, the driver's own frame-to-frame change), in Lab
    L points: ``output``/``driver`` are a value per frame (mean lightness, its spread), NaN where a mouth is
    shut."""
    both = np.isfinite(output) & np.isfinite(driver)
    if both.sum() < 3:
        return np.nan, np.nan
    slope, offset = np.polyfit(driver[both], output[both], 1)
    residual = output - (slope * driver + offset)
    steps = both[1:] & both[:-1]
    return (float(np.median(np.abs(np.diff(residual))[steps])) if steps.any() else np.nan,
            float(np.median(np.abs(np.diff(driver))[steps])) if steps.any() else np.nan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="styletalk_vscodehappy_clip1.mp4")
    parser.add_argument("--frames", default="40-49")
    parser.add_argument("--stills", nargs="*")
    args = parser.parse_args()
    stills = args.stills or sorted(os.path.basename(p) for p in glob.glob(os.path.join(MEDIA, "stills", "*")))
    driver = os.path.join(MEDIA, "driving", args.clip)
    print(f"{args.clip}, frames {args.frames}; output (driver)")
    print(f"{'still':45s} {'near black':>15s} {'near white':>15s} {'clipped':>15s} {'teeth a':>13s} {'teeth b':>13s}"
          f" {'pumping L':>15s} {'pumping spread':>15s}")
    baseline = None
    with tempfile.TemporaryDirectory() as scratch:
        for still in stills:
            job = RenderJob(sources=[os.path.join(MEDIA, "stills", still)], driver=driver,
                            frames=FrameRange.parse(args.frames), cache_dir=os.path.join(scratch, "cache"),
                            output=OutputConfig(pattern=os.path.join(scratch, "f.####.png"), paste_back=False))
            pipeline = AnimatePipeline(job)
            shot = pipeline.prepare()
            rows = rows_by_number(shot.shapes.frame_numbers)
            images = dict(pipeline.render_frames(shot, shot.frame_numbers))
            numbers = sorted(images)
            per_frame = np.array([mouth_colour(images[n].rgb, shot.shapes.landmarks[rows[n]]) for n in numbers])
            output = np.nanmean(per_frame, 0)
            if baseline is None:  # the driver's frames and track are every still's
                drivers = dict(shot.driver.frames.frames(shot.frame_numbers[0], shot.frame_numbers[-1]))
                track = shot.driver.track
                track_rows = rows_by_number(track.frame_numbers)
                driver_frames = np.array([mouth_colour(drivers[n] / 255.0, track.landmarks[track_rows[n]])
                                          for n in numbers])
                baseline = np.nanmean(driver_frames, 0)
            pumped = [pumping(per_frame[:, column], driver_frames[:, column]) for column in (5, 6)]
            print(f"{still:45s} " + " ".join(f"{value:6.3f} ({base:5.3f})" for value, base in
                                             zip(output[:3], baseline[:3]))
                  + " " + " ".join(f"{value:5.1f} ({base:4.1f})" for value, base in zip(output[3:5], baseline[3:5]))
                  + "".join(f" {value:6.2f} ({base:5.2f})" for value, base in pumped), flush=True)


if __name__ == "__main__":
    main()
