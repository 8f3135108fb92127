"""``portrait-animator prepare-data VIDEOS_DIR -o DATASET``: aligned face crops and landmarks for training.

Any folder of talking-face videos (VoxCeleb2's id/video/clip.mp4 included). Resumable: run it again to
finish an interrupted dataset or to add new videos.
"""

from __future__ import annotations

import sys

from ..config import LANDMARK_BACKENDS
from .progress import add_progress_argument, reporter_for


def register(subparsers) -> None:
    parser = subparsers.add_parser("prepare-data", help="turn a folder of talking-face videos into training shards",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("videos", help="folder of videos (searched recursively)")
    parser.add_argument("-o", "--output", required=True, help="dataset folder to create or complete")
    parser.add_argument("--size", type=int, choices=(256, 512), default=256, help="crop size (default 256)")
    parser.add_argument("--backend", choices=LANDMARK_BACKENDS, default="mediapipe", help="landmark backend")
    parser.add_argument("--workers", type=int, default=1, help="videos processed in parallel (default 1)")
    parser.add_argument("--every", type=int, default=1, metavar="N", help="keep every N-th frame (default 1)")
    parser.add_argument("--clip-info", metavar="JSON",
                        help='persons and licences: {"clips": {"rel/path.mp4": {"person": ..., "licence": ...}}}')
    add_progress_argument(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from ..errors import JobFieldError
    from ..train.prepare import prepare_data

    if args.workers < 1:
        raise JobFieldError("--workers", f"must be 1 or more (got {args.workers})")
    if args.every < 1:
        raise JobFieldError("--every", f"must be 1 or more (got {args.every})")
    reporter = reporter_for(args)
    args.reporter = reporter
    index = prepare_data(args.videos, args.output, args.size, backend=args.backend, workers=args.workers,
                         every=args.every, clip_info_file=args.clip_info, progress=reporter)
    reporter.close_line()
    frames = sum(v["frames"] for v in index.videos)
    reporter.emit("done", output=args.output, videos=len(index.videos), persons=len(index.persons),
                  frames=frames, skipped=index.skipped)
    if reporter.mode != "json":
        print(f"{len(index.videos)} videos of {len(index.persons)} persons, {frames} frames -> {args.output}",
              file=sys.stderr)
        for skipped in index.skipped:
            print(f"skipped {skipped['source']}: {skipped['reason']}", file=sys.stderr)
    return 0
