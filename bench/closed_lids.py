"""How close painted closing eyelids come to the real ones (self-reenactment, with ground truth).

Each clip's first frame is the still; the clip's own landmark track drives it (neutral = that frame), so on
every later frame the real video shows what the output should be. On the frames where the eyes close (the
tracker's opening under ``--closing`` of its median), the eye regions of the rendered crop are compared with
the real frame mapped into the same crop: mean absolute error in 8-bit levels. The baseline, run in the same
process on the same frames, is the warp alone (the still's lid stretched over the eye, nothing painted).

    OMP_NUM_THREADS=1 .venv/bin/python bench/closed_lids.py [--clips a.mp4 b.mp4] [--cache DIR]
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile

import cv2
import numpy as np

from portrait_animator import align
from portrait_animator.config import FrameRange, MotionConfig, OutputConfig, RenderJob
from portrait_animator.face_analysis import crop_face
from portrait_animator.io.sources import open_frames
from portrait_animator.motion import eye_openness
from portrait_animator.pipeline import AnimatePipeline
from portrait_animator.render.base import TargetFace

MEDIA = os.environ.get("PORTRAIT_ANIMATOR_MEDIA",
                       os.path.join(os.path.dirname(__file__), "..", "..", "shared", "media"))


def eye_boxes(landmarks68: np.ndarray, size: int):
    """Each eye with its lids, lashes and the skin just above and below, as (x0, y0, x1, y1)."""
    for eye in (landmarks68[36:42], landmarks68[42:48]):
        centre, width = eye.mean(0), float(np.linalg.norm(eye[3] - eye[0]))
        x0, y0 = np.maximum(np.round(centre - [0.7 * width, 0.5 * width]).astype(int), 0)
        x1, y1 = np.minimum(np.round(centre + [0.7 * width, 0.4 * width]).astype(int), size)
        if x1 > x0 and y1 > y0:
            yield int(x0), int(y0), int(x1), int(y1)


def measure_clip(clip: str, frames: int, closing: float, cache: str | None, scratch: str):
    """(number of closing frames, error of the warp alone, error of the renderer), or None without any."""
    source = open_frames(clip)
    first_number, first = next(iter(source.frames(1, 1)))
    still = os.path.join(scratch, os.path.basename(clip) + ".png")
    cv2.imwrite(still, cv2.cvtColor(first, cv2.COLOR_RGB2BGR))
    job = RenderJob(sources=[still], driver=clip, frames=FrameRange(first_number, first_number + frames - 1),
                    output=OutputConfig(pattern=os.path.join(scratch, "unused.####.png")),
                    motion=MotionConfig(neutral=str(first_number)), cache_dir=cache)
    shot = AnimatePipeline(job).prepare()
    track, shapes, face = shot.driver.track, shot.shapes, shot.source
    openness = eye_openness(track.landmarks).mean(axis=1)
    typical = np.nanmedian(openness[track.valid])
    asked = set(shot.frame_numbers) - {first_number}
    rows = [r for r in range(len(shapes.frame_numbers))
            if track.valid[r] and openness[r] < closing * typical and int(shapes.frame_numbers[r]) in asked]
    if not rows:
        return None
    wanted = {int(shapes.frame_numbers[r]): r for r in rows}
    size = face.crop_size
    warp_errors, render_errors = [], []
    for number, image in source.frames(min(wanted), max(wanted)):
        if number not in wanted:
            continue
        row = wanted[number]
        out = shot.renderer.render(TargetFace(number, shapes.landmarks[row],
                                              None if shapes.dense is None else shapes.dense[row]))
        warp_only = cv2.remap(face.crop.rgb, *(out.source_map - 0.5).transpose(2, 0, 1), cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        real = crop_face(image.astype(np.float32) / 255.0, face.crop_from_still, size)
        real_points = align.apply(face.crop_from_still, track.landmarks[row])
        for x0, y0, x1, y1 in eye_boxes(real_points, size):
            truth = real[y0:y1, x0:x1]
            warp_errors.append(255.0 * np.abs(np.clip(warp_only[y0:y1, x0:x1], 0, 1) - truth).mean())
            render_errors.append(255.0 * np.abs(np.clip(out.rgb[y0:y1, x0:x1], 0, 1) - truth).mean())
    return len(rows), float(np.mean(warp_errors)), float(np.mean(render_errors))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", help="clip file names in the shared media's driving folder "
                                                   "(default: all of them)")
    parser.add_argument("--frames", type=int, default=200, help="frames of each clip from its first")
    parser.add_argument("--closing", type=float, default=0.55, help="eye opening under this share of the "
                                                                    "clip's median counts as closing")
    parser.add_argument("--cache", help="landmark cache folder (reused between runs)")
    args = parser.parse_args(argv)
    folder = os.path.join(MEDIA, "driving")
    clips = [os.path.join(folder, c) for c in args.clips] if args.clips else sorted(
        glob.glob(os.path.join(folder, "*.mp4")))
    totals, better = [], 0
    print(f"{'clip':36s} {'frames':>6s} {'warp alone':>10s} {'renderer':>9s} {'ratio':>6s}")
    with tempfile.TemporaryDirectory() as scratch:
        for clip in clips:
            result = measure_clip(clip, args.frames, args.closing, args.cache, scratch)
            if result is None:
                continue
            count, warp_error, render_error = result
            totals.append(result)
            better += render_error < warp_error
            print(f"{os.path.basename(clip):36s} {count:6d} {warp_error:10.2f} {render_error:9.2f} "
                  f"{render_error / warp_error:6.3f}", flush=True)
    if not totals:
        raise SystemExit("no clip closes its eyes in the frames looked at")
    counts, warp, render = (np.array(column) for column in zip(*totals))
    print(f"mean over {len(totals)} clips: warp alone {warp.mean():.2f}, renderer {render.mean():.2f} "
          f"(ratio {render.mean() / warp.mean():.3f}); frame-weighted {np.average(warp, weights=counts):.2f} / "
          f"{np.average(render, weights=counts):.2f}; renderer closer on {better} of {len(totals)} clips")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
