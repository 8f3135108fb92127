"""``portrait-animator evaluate``: measure renderers on real clips and stills, and write a report."""

from __future__ import annotations

import math
import os
import shlex
import sys

from ..config import CROP_SIZES, DEVICES, LANDMARK_BACKENDS, MotionConfig
from ..errors import JobFieldError
from .progress import add_progress_argument, reporter_for


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="measure renderers on real clips (self- and cross-reenactment) and write a report",
        description="Run renderers and baselines over real clips and stills; measure realism (SSIM, PSNR, "
                    "MS-SSIM), identity (CSIM-dlib), motion fidelity (landmark error, curve correlations) and "
                    "temporal stability; write OUT/index.html and OUT/results.json. Resumable: finished "
                    "results in OUT are reused.")
    parser.add_argument("--clips", required=True, metavar="DIR", help="folder of driving clips (videos)")
    parser.add_argument("--stills", metavar="DIR", help="folder of stills for cross-reenactment")
    parser.add_argument("--renderers", default="warp,static", metavar="A,B",
                        help="renderers and baselines to run, comma-separated: warp, neural-paper, neural-hybrid, "
                             "static (the still unchanged), oracle-crop (real pixels in the face crop; "
                             "self-reenactment only). Default: warp,static")
    parser.add_argument("--out", required=True, metavar="DIR", help="report folder (index.html, results.json)")
    parser.add_argument("--frames", default="64", metavar="N",
                        help="frames scored per clip: the middle N consecutive frames, or 'all' (default 64)")
    parser.add_argument("--k", default="1,8,32", metavar="K,K", help="source frames for self-reenactment")
    parser.add_argument("--protocols", default="self,cross", metavar="P,P", help="self, cross or both")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="[RENDERER=]PATH",
                        help="checkpoint of a neural renderer; a bare PATH applies to every neural renderer")
    parser.add_argument("--only", metavar="NAME,NAME",
                        help="keep only these clips and stills (file names or globs, e.g. 'lp_d*,hallo_*')")
    parser.add_argument("--groups", metavar="FILE",
                        help="who is who: an identity-groups text file or a media MANIFEST.md (default: the "
                             "MANIFEST.md beside the clips, if any)")
    parser.add_argument("--cross-pairs", type=int, metavar="N",
                        help="number of (still, clip) pairs (default: the larger of the two counts)")
    parser.add_argument("--identity-frames", type=int, default=16, metavar="N",
                        help="frames per case on which dlib's face descriptor is computed (default 16)")
    parser.add_argument("--self-driver", choices=("landmarks", "video"), default="landmarks",
                        help="drive self-reenactment by the clip's landmarks (default: the renderer never sees "
                             "the real frame it is scored against) or by the video itself")
    parser.add_argument("--crop-size", type=int, choices=CROP_SIZES, default=512)
    parser.add_argument("--smooth", type=float, default=MotionConfig.smoothing, metavar="S",
                        help="driver landmark smoothing, as in animate (default %(default)s)")
    parser.add_argument("--backend", choices=LANDMARK_BACKENDS, default="mediapipe", help="landmark backend")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--perceptual-weights", metavar="DIR",
                        help="folder with LPIPS/FID weight files (default: the torch hub cache); see docs/quality.md")
    parser.add_argument("--fresh", action="store_true", help="measure everything again (ignore earlier results)")
    add_progress_argument(parser)
    parser.set_defaults(handler=handle)


def _positive_ints(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise JobFieldError(option, f"must be whole numbers separated by commas (got {text!r})") from None
    if not values or min(values) < 1:
        raise JobFieldError(option, f"must be 1 or more (got {text!r})")
    return values


def _checkpoints(values: list[str]) -> dict[str, str]:
    from ..config import RENDERERS

    found = {}
    for value in values:
        name, sep, path = value.partition("=")
        if sep and name in RENDERERS:
            found[name] = path
        else:
            for renderer in RENDERERS:
                if renderer != "warp":
                    found.setdefault(renderer, value)
    for name, path in found.items():
        if not os.path.exists(path):
            raise JobFieldError("--checkpoint", f"{path}: file not found (for renderer '{name}')")
    return found


def request_from_args(args):
    from ..evaluate.case_run import EvaluationSettings
    from ..evaluate.runner import EvaluationRequest

    frames = None if args.frames.strip().lower() == "all" else _positive_ints(args.frames, "--frames")[0]
    protocols = tuple(p.strip() for p in args.protocols.split(",") if p.strip())
    if not protocols or any(p not in ("self", "cross") for p in protocols):
        raise JobFieldError("--protocols", f"must be self, cross or self,cross (got {args.protocols!r})")
    if not 0.0 <= args.smooth <= 1.0:
        raise JobFieldError("--smooth", f"must be between 0 and 1 (got {args.smooth})")
    renderers = [r.strip() for r in args.renderers.split(",") if r.strip()]
    if not renderers:
        raise JobFieldError("--renderers", "is empty")
    settings = EvaluationSettings(
        crop_size=args.crop_size, smoothing=args.smooth, self_driver=args.self_driver, device=args.device,
        landmark_backend=args.backend, max_frames=frames,
        identity_frames=_positive_ints(str(args.identity_frames), "--identity-frames")[0],
        checkpoints=_checkpoints(args.checkpoint))
    return EvaluationRequest(
        clips_dir=args.clips, out=args.out, renderers=renderers, stills_dir=args.stills,
        ks=_positive_ints(args.k, "--k"), protocols=protocols, settings=settings, groups=args.groups,
        cross_pairs=args.cross_pairs, only=[p.strip() for p in args.only.split(",")] if args.only else None,
        fresh=args.fresh, perceptual_weights=args.perceptual_weights,
        command="portrait-animator " + " ".join(shlex.quote(a) for a in sys.argv[1:]))


def handle(args) -> int:
    from ..evaluate.runner import run_evaluation

    request = request_from_args(args)
    reporter = reporter_for(args)
    args.reporter = reporter
    reporter.emit("start", output=os.path.abspath(args.out))
    document = run_evaluation(request, progress=reporter)
    reporter.close_line()
    reporter.emit("done", output=os.path.join(os.path.abspath(args.out), "index.html"),
                  seconds=document["seconds"])
    if reporter.mode != "json":
        print_summary(document)
        print(f"\nreport: {os.path.join(os.path.abspath(args.out), 'index.html')}")
    return 0


def print_summary(document: dict) -> None:
    """The headline table on stdout: one block per protocol, one line per renderer."""
    columns = {"self": ("ssim_face", "psnr_face", "ssim_full", "nme", "csim_dlib", "mouth_r", "eyes_r", "fps"),
               "cross": ("identity_distance", "csim_dlib", "mouth_r", "eyes_r", "yaw_r", "fps")}
    for name, message in document["skipped_renderers"].items():
        print(f"{name}: {message}")
    for name, message in document["skipped_metrics"].items():
        print(f"{name.upper()}: {message}")
    for note in document["notes"]:
        print(note)
    for group, table in document["summary"].items():
        metrics = columns["cross" if group == "cross" else "self"]
        print(f"\n{group}")
        print(f"  {'renderer':14s}" + "".join(f"{m:>18s}" for m in metrics))
        for renderer, values in table.items():
            cells = "".join(f"{_number(values[m]['mean']):>18s}" for m in metrics)
            print(f"  {renderer:14s}{cells}")


def _number(value) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.3f}"
