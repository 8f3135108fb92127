"""The ``portrait-animator`` command: a thin layer over the engine's pipeline and tools.

Each subcommand lives in its own module with ``register(subparsers)`` that adds its parser and sets
``handler``; ``main`` turns user errors into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ..errors import PortraitAnimatorError, RenderCancelled
from ..version import __version__

# Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("animate", "render_job", "batch", "landmarks", "doctor", "prepare_data", "train", "finetune", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portrait-animator",
        description="Animate a still portrait from a driving video, a landmark file or a preset.")
    parser.add_argument("--version", action="version", version=f"portrait-animator {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also log analysis and cache steps on stderr (warnings are always shown)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_to_stderr(logging.INFO if args.verbose else logging.WARNING)
    try:
        return int(args.handler(args) or 0)
    except PortraitAnimatorError as error:
        _report_failure(args, type(error).__name__, str(error))
        return error.exit_code
    except RenderCancelled as cancelled:
        print(f"portrait-animator: cancelled: {cancelled}", file=sys.stderr)
        return RenderCancelled.exit_code
    except KeyboardInterrupt:
        print("portrait-animator: interrupted", file=sys.stderr)
        return RenderCancelled.exit_code


def _log_to_stderr(level: int) -> None:
    logger = logging.getLogger("portrait_animator")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("portrait-animator: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)


def _report_failure(args, kind: str, message: str) -> None:
    reporter = getattr(args, "reporter", None)
    if reporter is not None:
        reporter.error(kind, message)
    print(f"portrait-animator: error: {message}", file=sys.stderr)
