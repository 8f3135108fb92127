"""How close painted closing eyelids come to the real ones (self-reenactment, with ground truth).

Each clip's first frame is the still and the clip's own track drives it; on the frames where the eyes close
(the tracker's opening under ``--closing`` of its median), the eye regions of the rendered crop are compared
with the real frame (mean absolute error in 8-bit levels; ``portrait_animator.evaluate.closed_lids``). The
baseline, run in the same process on the same frames, is the warp alone (nothing painted). "lid L" is the
painted lid's Lab lightness less the real lid's where the lid is painted (negative: painted darker).

    OMP_NUM_THREADS=1 .venv/bin/python bench/closed_lids.py [--clips a.mp4 b.mp4] [--cache DIR]
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from portrait_animator.evaluate.closed_lids import measure_closing_eyes
from shot import clip_arguments, shared_clips


def main(argv=None) -> int:
    parser = clip_arguments(__doc__.splitlines()[0], frames=200)
    parser.add_argument("--closing", type=float, default=0.55, help="eye opening under this share of the "
                                                                    "clip's median counts as closing")
    args = parser.parse_args(argv)
    clips = shared_clips(args)
    results = []
    print(f"{'clip':36s} {'frames':>6s} {'warp alone':>10s} {'renderer':>9s} {'ratio':>6s} {'lid L':>6s}")
    with tempfile.TemporaryDirectory() as scratch:
        for clip in clips:
            result = measure_closing_eyes(clip, args.frames, args.closing, args.cache, scratch)
            if result is None:
                continue
            results.append(result)
            bias = "" if result.lid_lightness_bias is None else f"{result.lid_lightness_bias:+6.2f}"
            print(f"{os.path.basename(clip):36s} {result.frames:6d} {result.warp_error:10.2f} "
                  f"{result.render_error:9.2f} {result.render_error / result.warp_error:6.3f} {bias:>6s}", flush=True)
    if not results:
        raise SystemExit("no clip closes its eyes in the frames looked at")
    counts = np.array([r.frames for r in results])
    warp = np.array([r.warp_error for r in results])
    render = np.array([r.render_error for r in results])
    print(f"mean over {len(results)} clips: warp alone {warp.mean():.2f}, renderer {render.mean():.2f} "
          f"(ratio {render.mean() / warp.mean():.3f}); frame-weighted {np.average(warp, weights=counts):.2f} / "
          f"{np.average(render, weights=counts):.2f}; renderer closer on {(render < warp).sum()} of "
          f"{len(results)} clips")
    biases = np.array([r.lid_lightness_bias for r in results if r.lid_lightness_bias is not None])
    if len(biases):
        print(f"painted lid's lightness less the real lid's over {len(biases)} clips: mean {biases.mean():+.2f}, "
              f"median {np.median(biases):+.2f}, {(biases < 0).sum()} darker, {(biases > 0).sum()} lighter")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
