"""``portrait-animator train --data DATASET -o RUN``: meta-learn E, G and D on a prepared dataset.

Resumes when RUN already holds a run. Distributed: ``torchrun --nproc-per-node N -m portrait_animator
train ...`` (gloo on CPUs, NCCL on GPUs); --batch-size is the total over all processes.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from .progress import add_progress_argument, reporter_for


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def _overrides(text: str) -> dict:
    import argparse
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object of network fields")
    return value


def register(subparsers) -> None:
    from ..models.config import PRESETS, RENDERER_KINDS
    from ..models.config import CONTENT_LOSSES

    parser = subparsers.add_parser("train", help="meta-learn the neural renderer on a prepared dataset",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="dataset folder made by prepare-data")
    parser.add_argument("-o", "--output", required=True, help="run folder (resumed if it exists)")
    parser.add_argument("--network", choices=sorted(PRESETS), default="small")
    parser.add_argument("--kind", choices=RENDERER_KINDS, default="neural-paper")
    parser.add_argument("--network-overrides", metavar="JSON", type=_overrides, default={},
                        help='change fields of the preset, e.g. \'{"base_channels": 16}\'')
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=2, help="episodes per step over all processes")
    parser.add_argument("--k-shots", type=int, default=8, help="frames embedded per episode (K)")
    parser.add_argument("--content-loss", choices=CONTENT_LOSSES, default="perceptual",
                        help="perceptual needs VGG19 + VGGFace weight files; l1-msssim needs none")
    parser.add_argument("--vgg19", metavar="PATH", help="VGG19 weights (default: searched)")
    parser.add_argument("--vggface", metavar="PATH", help="VGGFace weights (default: searched)")
    parser.add_argument("--persons", help="train on these persons only (comma-separated)")
    parser.add_argument("--exclude-persons", help="hold these persons back (comma-separated)")
    parser.add_argument("--discriminator-steps", type=int, default=None, help="D updates per G update (paper: 2)")
    parser.add_argument("--adversarial-weight", type=float, default=1.0, help="scales hinge + feature matching")
    parser.add_argument("--lr-generator", type=float, default=None, help="Adam rate of E and G (paper: 5e-5)")
    parser.add_argument("--lr-discriminator", type=float, default=None, help="Adam rate of D (paper: 2e-4)")
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--sample-every", type=int, default=500)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loader-workers", type=int, default=1)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--licence-note", default="", help="added to the model card beside the data licences")
    add_progress_argument(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from ..train.config import TrainConfig
    from ..train.meta import train

    config = TrainConfig(
        dataset=args.data, out_dir=args.output, network=args.network, kind=args.kind,
        network_overrides=args.network_overrides, steps=args.steps,
        batch_size=args.batch_size, k_shots=args.k_shots, content_loss=args.content_loss, vgg19=args.vgg19,
        vggface=args.vggface, persons=_names(args.persons), exclude_persons=_names(args.exclude_persons) or [],
        adversarial_weight=args.adversarial_weight, checkpoint_every=args.checkpoint_every,
        sample_every=args.sample_every, log_every=args.log_every, seed=args.seed,
        loader_workers=args.loader_workers, device=args.device, licence_note=args.licence_note)
    for field, value in (("discriminator_steps", args.discriminator_steps), ("lr_generator", args.lr_generator),
                         ("lr_discriminator", args.lr_discriminator)):
        if value is not None:
            setattr(config, field, value)
    main_process = os.environ.get("RANK", "0") == "0"
    reporter = reporter_for(args) if main_process else None
    args.reporter = reporter
    cancel = threading.Event()  # SIGINT/SIGTERM: checkpoint after the current step, exit 130; rerun resumes
    previous = {sig: signal.signal(sig, lambda *_: cancel.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        path = train(config, progress=reporter, cancel=cancel)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if reporter is not None:
        reporter.close_line()
        reporter.emit("done", output=os.path.abspath(path))
        if reporter.mode != "json":
            print(f"trained {config.steps} steps -> {path}", file=sys.stderr)
    return 0
