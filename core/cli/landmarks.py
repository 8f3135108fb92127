"""``portrait-animator landmarks INPUT -o track.npz``: detect and track face landmarks.

INPUT is a video, a frame folder or pattern, or a single still (a one-frame track). The file is the
landmark format the Blender rig reads and ``--driver track.npz`` accepts.
"""

from __future__ import annotations

import os
import sys

from ..config import LANDMARK_BACKENDS
from ..errors import JobFieldError
from .progress import add_progress_argument, reporter_for

STILL_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp", ".webp")


def register(subparsers) -> None:
    parser = subparsers.add_parser("landmarks", help="write a landmark track (.npz) of a video, frames or a still",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("input", help="a video, a frame folder or pattern, or a still image")
    parser.add_argument("-o", "--output", required=True, help="the .npz landmark file to write")
    parser.add_argument("--backend", choices=LANDMARK_BACKENDS, default="mediapipe")
    parser.add_argument("--smooth", type=float, default=0.0, metavar="S",
                        help="temporal smoothing 0..1 applied before writing (default 0: raw)")
    parser.add_argument("--face", type=int, help="which face, largest first (default: the largest)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    add_progress_argument(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from ..errors import OutputError
    from ..landmarks import smooth_track

    if not args.output.lower().endswith(".npz"):
        raise JobFieldError("--output", f"must end in .npz (got {args.output!r})")
    if os.path.exists(args.output) and not args.overwrite:
        raise OutputError(f"{args.output}: already exists; not overwriting it (use --overwrite)")
    if not 0.0 <= args.smooth <= 1.0:
        raise JobFieldError("--smooth", f"must be between 0 and 1 (got {args.smooth})")
    reporter = reporter_for(args)
    args.reporter = reporter
    if os.path.isfile(args.input) and args.input.lower().endswith(STILL_EXTENSIONS):
        track = _still_track(args)
    else:
        track = _video_track(args, reporter)
    if args.smooth > 0:
        track = smooth_track(track, args.smooth)
    folder = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(folder, exist_ok=True)
    track.save(args.output)
    reporter.close_line()
    valid = int(track.valid.sum())
    reporter.emit("done", output=os.path.abspath(args.output), frames=len(track), with_face=valid)
    if reporter.mode != "json":
        print(f"{len(track)} frames ({valid} with a face) -> {args.output}", file=sys.stderr)
    return 0


def _still_track(args):
    import numpy as np

    from ..io.images import read_image
    from ..io.provenance import file_sha256
    from ..landmarks import choose_face, create_detector
    from ..landmarks.track import LandmarkTrack

    still = read_image(args.input)
    rgb8 = np.clip(np.round(still.rgb * 255.0), 0, 255).astype(np.uint8)
    with create_detector(args.backend) as detector:
        faces = detector.find_faces(rgb8)
    face = choose_face(faces, args.face, still.size, args.input)
    return LandmarkTrack(face.landmarks[None], np.array([face.score], np.float32), np.array([1], np.int32),
                         dense=None if face.dense is None else face.dense[None], image_size=still.size, fps=1.0,
                         meta={"backend": args.backend, "source": os.path.basename(args.input),
                               "source_sha256": file_sha256(args.input), "faces_found": len(faces)})


def _video_track(args, reporter):
    from ..io.sources import open_frames
    from ..landmarks import track_frames

    frames = open_frames(args.input)
    total = frames.frame_count

    def progress(done, _total=None, message=""):
        reporter(done, total, message or f"frame {done}/{total}", stage="landmarks")

    track = track_frames(frames.frames(), backend=args.backend, face_index=args.face, fps=frames.fps,
                         source=args.input, progress=progress)
    track.meta.update({"source": os.path.basename(args.input.rstrip(os.sep)),
                       "source_sha256": frames.content_sha256()})
    return track
