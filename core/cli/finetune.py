"""``portrait-animator finetune --checkpoint META --source STILL [STILL ...] -o PERSON.safetensors``.

Fine-tunes a meta-learned checkpoint on K stills of one person (the paper's few-shot stage); render with
``animate --renderer neural --checkpoint PERSON.safetensors``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from ..config import LANDMARK_BACKENDS
from .progress import add_progress_argument, reporter_for


def register(subparsers) -> None:
    from ..models.config import CONTENT_LOSSES

    parser = subparsers.add_parser("finetune", help="fine-tune a meta-learned checkpoint on stills of one person",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="meta-learned checkpoint (.safetensors)")
    parser.add_argument("--source", action="append", required=True, nargs="+", metavar="STILL",
                        help="stills of the person (K shots)")
    parser.add_argument("-o", "--output", required=True, help="the person's checkpoint to write (.safetensors)")
    parser.add_argument("--steps", type=int, help="default: about 125 for one still, 230 for more than 30")
    parser.add_argument("--content-loss", choices=CONTENT_LOSSES, default="perceptual")
    parser.add_argument("--vgg19", metavar="PATH")
    parser.add_argument("--vggface", metavar="PATH")
    parser.add_argument("--backend", choices=LANDMARK_BACKENDS, default="mediapipe", help="landmark backend")
    parser.add_argument("--face", type=int, help="which face in the first still, largest first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output checkpoint")
    add_progress_argument(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from ..errors import OutputError
    from ..train.config import FinetuneConfig
    from ..train.finetune import finetune

    if os.path.exists(args.output) and not args.overwrite:
        raise OutputError(f"{args.output}: already exists; not overwriting it (use --overwrite)")
    sources = [path for group in args.source for path in group]
    config = FinetuneConfig(checkpoint=args.checkpoint, sources=sources, output=args.output, steps=args.steps,
                            content_loss=args.content_loss, vgg19=args.vgg19, vggface=args.vggface,
                            landmark_backend=args.backend, face=args.face, seed=args.seed, device=args.device)
    reporter = reporter_for(args)
    args.reporter = reporter
    cancel = threading.Event()  # SIGINT/SIGTERM: stop after the current step, write nothing, exit 130
    previous = {sig: signal.signal(sig, lambda *_: cancel.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        card = finetune(config, progress=reporter, cancel=cancel)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    reporter.close_line()
    reporter.emit("done", output=os.path.abspath(args.output), checkpoint=card.id)
    if reporter.mode != "json":
        print(f"fine-tuned {card.id} on {len(sources)} still(s) -> {args.output}", file=sys.stderr)
    return 0
