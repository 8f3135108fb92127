"""How far the warp bends a still's glasses, with the glasses carried as one piece and without.

    OMP_NUM_THREADS=1 .venv/bin/python bench/glasses_bend.py [--pairs STILL:CLIP ...] [--frames 1-120]

A rim is rigid, so where it lies the warp's sampling map should be one affine map. For each frame this
takes the map over the band round each eye where rims lie (``glasses.LensFrame.on_lower_rim``)
and below the brows (a brow may move over a rim), fits one affine map to it and reports how far the map
strays from that fit: the mean over frames of the pixels' RMS distance, and the worst frame's largest
distance, in crop pixels (512-pixel crop). The still's rims themselves are not located: the band is where
they usually are.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

from portrait_animator import align
from portrait_animator.config import FrameRange, OutputConfig, RenderJob
from portrait_animator.landmarks import rows_by_number
from portrait_animator.pipeline import AnimatePipeline
from portrait_animator.render import mesh as warp_mesh
from portrait_animator.render.base import TargetFace
from portrait_animator.render.glasses import LensFrame
from portrait_animator.render.warp import WarpRenderer
from shot import MEDIA

DEFAULT_PAIRS = ["avatarify_potter.jpg:lp_d12.mp4", "avatarify_jobs.jpg:lp_d12.mp4",
                 "vincent_cranston.jpeg:lp_d3.mp4", "lp_d8img_photo_curly_man.jpg:lp_d18.mp4",
                 "mit_paint3_caricature.jpg:dagan_driving.mp4"]


def rim_band(renderer: WarpRenderer) -> np.ndarray:
    """Crop pixels (of the still) in the lower rim band of either eye."""
    points, size = renderer.mesh.points, renderer.source.crop_size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    pixels = np.stack([xs, ys], axis=-1)
    band = np.zeros((size, size), bool)
    for (upper, lower), brow in zip(renderer._eye_indices(), renderer._brow_indices()):
        band |= LensFrame.of_eye(points, np.array(upper), np.array(lower), np.array(brow)).on_lower_rim(pixels)
    return band


def bend(renderer: WarpRenderer, target: TargetFace, band_in_still: np.ndarray) -> tuple[float, float]:
    """RMS and largest distance (pixels) of the sampling map from its best affine fit where it samples the
    still's rim band."""
    _, dst_points = renderer.mesh_target(target)
    size = renderer.source.crop_size
    source_map = warp_mesh.sampling_map(renderer.mesh.points, dst_points, renderer.mesh.triangles, size)
    inside = np.clip(np.floor(source_map).astype(int), 0, size - 1)
    hits = band_in_still[inside[..., 1], inside[..., 0]]
    ys, xs = np.nonzero(hits)
    if len(ys) < 50:
        return float("nan"), float("nan")
    pixels = np.stack([xs, ys], axis=1) + 0.5
    sampled = source_map[ys, xs].astype(np.float64)
    matrix = align.fit_affine(pixels, sampled)
    distance = np.linalg.norm(align.apply(matrix, pixels) - sampled, axis=1)
    return float(np.sqrt(np.mean(distance ** 2))), float(distance.max())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="*", default=DEFAULT_PAIRS, help="STILL:CLIP in the shared media")
    parser.add_argument("--frames", default="1-120")
    parser.add_argument("--cache", help="landmark cache folder (default: a new temporary one)")
    args = parser.parse_args(argv)
    cache = args.cache or tempfile.mkdtemp(prefix="glasses_bend_")
    print(f"{'still':32s} {'driver':16s} {'glasses':>7s} | {'off: rms':>9s} {'worst':>6s} | {'on: rms':>8s} {'worst':>6s}")
    for pair in args.pairs:
        still, clip = pair.split(":", 1)
        job = RenderJob(sources=[os.path.join(MEDIA, "stills", still)], driver=os.path.join(MEDIA, "driving", clip),
                        frames=FrameRange.parse(args.frames), output=OutputConfig(pattern=os.path.join(cache, "f.####.png")),
                        cache_dir=cache)
        shot = AnimatePipeline(job).prepare()
        rows = rows_by_number(shot.shapes.frame_numbers)
        found = shot.renderer.glasses is not None
        results = []
        for mode in ("off", "on"):
            renderer = WarpRenderer(glasses=mode)
            renderer.prepare(shot.source)
            band = rim_band(renderer)
            measured = np.array([bend(renderer, TargetFace(n, shot.shapes.landmarks[rows[n]],
                                                           None if shot.shapes.dense is None
                                                           else shot.shapes.dense[rows[n]]), band)
                                 for n in shot.frame_numbers])
            results.append((np.nanmean(measured[:, 0]), np.nanmax(measured[:, 1])))
        (off_rms, off_worst), (on_rms, on_worst) = results
        print(f"{still[:32]:32s} {clip[:16]:16s} {'read' if found else 'missed':>7s} | {off_rms:9.3f} {off_worst:6.2f} | "
              f"{on_rms:8.3f} {on_worst:6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
