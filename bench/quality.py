"""Cross-reenactment quality of the warp renderer on real (still, clip) pairs, measured with dlib.

    .venv/bin/python bench/quality.py [--frames 1-150] [--pairs STILL:CLIP ...] [--cache DIR] [--json FILE]

Prints, per pair, dlib identity distance to the still (same person < 0.6), the correlation of the
output's mouth- and eye-opening curves with the driver's, and (in brackets) the correlation of dlib's
curves with the engine's own tracker's on the driver itself: the renderer follows that tracker, so where
the two landmarkers disagree on a real video the output cannot follow dlib closely.
"""

from __future__ import annotations

import json
import os
import sys
import time

from portrait_animator.config import FrameRange, RenderJob
from portrait_animator.evaluate.cross_reenactment import measure_cross
from portrait_animator.evaluate.dlib_instrument import DlibInstrument
from shot import MEDIA, pair_arguments, shared_pairs

DEFAULT_PAIRS = [
    ("lp_s9_painting_mona_lisa.jpg", "lp_d10.mp4"),
    ("avatarify_einstein_bw.jpg", "dagan_driving.mp4"),
    ("hallo_6_photo_woman.jpg", "lp_d18.mp4"),
    ("lp_s5_painting_girl_with_book.jpg", "retalking_face4.mp4"),
    ("avatarify_obama.jpg", "tpsmm_driving.mp4"),
    ("sadtalker_art_20_painted_old_woman.png", "lp_d14.mp4"),
]


def main(argv=None) -> int:
    parser = pair_arguments(__doc__.splitlines()[0])
    parser.add_argument("--frames", default="1-150")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    pairs = shared_pairs(args, DEFAULT_PAIRS)
    job = RenderJob(sources=[], driver="", cache_dir=args.cache)  # the pairs fill in the still and the driver
    instrument = DlibInstrument()
    rows = []
    print("mouth r and eyes r: dlib on the output against dlib on the driver; in brackets, dlib on the driver "
          "against the engine's tracker on it (how far the landmarkers agree), then dlib on the output against "
          "that tracker (how far the output follows what the renderer was asked to draw)")
    print(f"{'still':40s} {'driver':28s} {'id dist':>8s} {'mouth r':>24s} {'eyes r':>24s} {'eyes range':>10s} "
          f"{'s':>6s}")
    for still, clip in pairs:
        started = time.monotonic()
        result = measure_cross(os.path.join(MEDIA, "stills", still), os.path.join(MEDIA, "driving", clip),
                               FrameRange.parse(args.frames), job=job, instrument=instrument)
        row = result.summary()
        row["seconds"] = round(time.monotonic() - started, 1)
        rows.append(row)
        print(f"{still:40s} {clip:28s} {row['identity_distance']:8.3f} "
              f"{row['mouth_correlation']:8.3f} ({row['mouth_tracker_agreement']:5.3f}, "
              f"{row['mouth_follows_tracker']:5.3f}) "
              f"{row['eyes_correlation']:8.3f} ({row['eyes_tracker_agreement']:5.3f}, "
              f"{row['eyes_follow_tracker']:5.3f}) "
              f"{row['driver_eyes_range']:10.3f} {row['seconds']:6.1f}")
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
