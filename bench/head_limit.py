"""What holding back a head that moves further than the crop can carry (``head_band.limit_head``) costs a frame.

Animates a still with a driving video and times, in one process, the warp renderer's whole ``render`` of
every frame (the baseline) and ``limit_head`` alone on the same frames' head motions, separately for the
frames it lets through whole (one measure of the band) and those it holds back (a search of a few more).
Prints per-frame medians and their share of the render, and for the held-back frames how many times the
search measured the band and how far below the wanted stretch it ended.

    OMP_NUM_THREADS=1 .venv/bin/python bench/head_limit.py --driver ../shared/media/driving/tpsmm_driving.mp4
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from portrait_animator import align
from portrait_animator.render import head_band
from portrait_animator.render.base import TargetFace
from shot import prepared_shot, shot_arguments
from timing import median_ms


def main() -> None:
    args = shot_arguments(__doc__.splitlines()[0], None, 120)
    shot = prepared_shot(args)
    shapes, source, mesh = shot.shapes, shot.source, shot.renderer.mesh
    wanted = set(shot.frame_numbers)
    rows = [i for i, n in enumerate(shapes.frame_numbers) if int(n) in wanted]
    targets = [TargetFace(int(shapes.frame_numbers[i]), shapes.landmarks[i],
                          None if shapes.dense is None else shapes.dense[i]) for i in rows]
    rigid = list(align.RIGID_68)
    heads = [align.fit_similarity(source.crop.landmarks[rigid], t.landmarks[rigid]) for t in targets]
    let_through = [head_band.limit_head(mesh, h) is h for h in heads]
    held = [h for h, whole in zip(heads, let_through) if not whole]
    whole = [h for h, whole in zip(heads, let_through) if whole]

    def render_all():
        for target in targets:
            shot.renderer.render(target)

    def limit_all(motions):
        return lambda: [head_band.limit_head(mesh, h) for h in motions]

    render_ms = median_ms(render_all, args.repeat) / len(targets)
    print(f"{Path(args.still).name}, {Path(args.driver).name}, crop {source.crop_size}, {len(targets)} frames, "
          f"{len(held)} held back")
    print(f"{'what':>30} | {'ms/frame':>8} | share of render")
    print(f"{'warp render (baseline)':>30} | {render_ms:8.2f} | 1.00")
    for name, motions in (("limit_head, let through", whole), ("limit_head, held back", held)):
        if motions:
            ms = median_ms(limit_all(motions), args.repeat) / len(motions)
            print(f"{name:>30} | {ms:8.3f} | {ms / render_ms:.3f}")
    if held:
        measures, gaps = _search_record(mesh, held)
        print(f"held back: {np.mean(measures):.2f} measures of the band a frame (at most {max(measures)}), "
              f"ending {np.mean(gaps):.5f} below the wanted stretch on average (at most {max(gaps):.5f})")


def _search_record(mesh, heads):
    """Per held-back head: the band measures ``limit_head`` made, and how far below the soft limit's
    stretch the held-back motion's stretch is."""
    measure = head_band.band_stretch
    count = [0]

    def counted(*args):
        count[0] += 1
        return measure(*args)

    measures, gaps = [], []
    for head in heads:
        count[0] = 0
        head_band.band_stretch = counted
        try:
            limited = head_band.limit_head(mesh, head)
        finally:
            head_band.band_stretch = measure
        measures.append(count[0])
        gaps.append(head_band.soft_limit(measure(mesh, head)) - measure(mesh, limited))
    return measures, gaps


if __name__ == "__main__":
    main()
