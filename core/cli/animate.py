"""``portrait-animator animate``: animate a still from a driver, writing one frame per driver frame."""

from __future__ import annotations

from ..config import (CROP_SIZES, DEVICES, GLASSES_MODES, LANDMARK_BACKENDS, MOTION_MODES, RENDERERS, FrameRange,
                      MotionConfig, MotionGains, OutputConfig, RenderJob)
from .progress import add_progress_argument
from .render_job import run_job


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "animate", help="animate a still from a video, frames, a landmark file or a preset",
        description="Animate a still portrait. Writes the still's full frame with the face animated for every "
                    "driver frame (EXR: half-float linear RGBA + matte channel; PNG/TIFF: sRGB + a _matte "
                    "sequence). Finished frames are skipped on a rerun unless --overwrite.")
    parser.add_argument("--source", action="append", required=True, metavar="STILL",
                        help="the still to animate; repeat for more shots of the same person (K-shot)")
    parser.add_argument("--driver", required=True,
                        help="a video, a frame folder or pattern, a landmark .npz, or preset:idle|blink|smile|talk")
    parser.add_argument("--out", required=True, metavar="PATTERN",
                        help="output frames, e.g. renders/shot.####.exr (also .png, .tif)")
    parser.add_argument("--frames", help="driver frames to render, e.g. 10-120 (1-based, inclusive)")
    parser.add_argument("--motion", choices=MOTION_MODES, default="relative",
                        help="relative (default): the driver's motion on the still's own face shape; "
                             "absolute: the driver's face shape itself")
    parser.add_argument("--neutral", default="auto",
                        help="the driver's neutral frame for relative motion: auto, first or a frame number")
    for region in ("head", "eyes", "brows", "mouth"):
        parser.add_argument(f"--{region}-gain", type=float, default=1.0, metavar="G",
                            help=f"multiplier on the driver's {region} motion (default 1)")
    parser.add_argument("--max-turn", type=float, default=MotionConfig.max_turn, metavar="DEG",
                        help="the most the still's head turns or nods, in degrees: a warp squeezes the face "
                             "past about 30°; turns past half this are eased towards it (0: no limit; "
                             "default %(default)s)")
    parser.add_argument("--smooth", type=float, default=MotionConfig.smoothing, metavar="S",
                        help="temporal smoothing of driver landmarks, 0 (off) to 1 (strong); default %(default)s")
    parser.add_argument("--keep-open-mouth", action="store_true",
                        help="relative motion: a still with an open mouth keeps that opening as its rest "
                             "(default: it first closes to the driver's neutral opening, so it follows the driver)")
    parser.add_argument("--face", type=int, help="which face of the still, largest first (default: 0, the largest)")
    parser.add_argument("--crop-size", type=int, choices=CROP_SIZES, default=512)
    parser.add_argument("--glasses", choices=GLASSES_MODES, default="auto",
                        help="the still wears glasses, which move as one rigid piece with the head: read "
                             "from the still (auto, the default), or say so (on) or not (off)")
    parser.add_argument("--no-paste-back", action="store_true", help="write the aligned face crop only")
    parser.add_argument("--overwrite", action="store_true", help="re-render frames that already exist")
    parser.add_argument("--preview", metavar="MP4", help="also write an H.264 preview movie")
    parser.add_argument("--renderer", choices=RENDERERS, default="warp")
    parser.add_argument("--checkpoint", help="model checkpoint for the neural renderers "
                        "(neural-hybrid: the shipped small model when not given)")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--backend", choices=LANDMARK_BACKENDS, default="mediapipe", help="landmark backend")
    parser.add_argument("--bit-depth", type=int, choices=(8, 16), default=8, help="PNG/TIFF bit depth")
    parser.add_argument("--seed", type=int, default=0, help="seed of procedural presets")
    parser.add_argument("--cache-dir", help="analysis cache folder (default: next to the output)")
    parser.add_argument("--write-job", metavar="JOB.json", help="also save the job file (for render-job/farms)")
    add_progress_argument(parser)
    parser.set_defaults(handler=handle)


def job_from_args(args) -> RenderJob:
    gains = MotionGains(head=args.head_gain, eyes=args.eyes_gain, brows=args.brows_gain, mouth=args.mouth_gain)
    return RenderJob(
        sources=list(args.source), driver=args.driver,
        output=OutputConfig(pattern=args.out, bit_depth=args.bit_depth, paste_back=not args.no_paste_back,
                            overwrite=args.overwrite, preview=args.preview),
        frames=FrameRange.parse(args.frames, "--frames"), renderer=args.renderer, checkpoint=args.checkpoint,
        device=args.device, crop_size=args.crop_size, face=args.face, glasses=args.glasses,
        motion=MotionConfig(mode=args.motion, neutral=args.neutral, gains=gains, smoothing=args.smooth,
                            close_mouth=not args.keep_open_mouth, max_turn=args.max_turn),
        landmark_backend=args.backend, seed=args.seed, cache_dir=args.cache_dir,
    ).validate("command line")


def handle(args) -> int:
    job = job_from_args(args)
    if args.write_job:
        job.save(args.write_job)
    return run_job(job, args)
