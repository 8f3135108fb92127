"""The shot the per-frame benchmark scripts time: the bundled still (or another) animated by a driver, prepared
once, and the command line that names it (they run as ``python bench/NAME.py``, so this is importable)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from portrait_animator.config import FrameRange, OutputConfig, RenderJob
from portrait_animator.pipeline import AnimatePipeline, PreparedShot

ROOT = Path(__file__).resolve().parents[1]
MEDIA = os.environ.get("PORTRAIT_ANIMATOR_MEDIA", str(ROOT.parent / "shared" / "media"))  # the shared clips and stills


def shot_arguments(description: str, driver: str | None, frames: int) -> argparse.Namespace:
    """``--still``, ``--driver`` (required when ``driver`` is None), ``--frames`` and ``--repeat``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--still", default=str(ROOT / "core/assets/stills/eileen_collins_nasa.png"))
    if driver is None:
        parser.add_argument("--driver", required=True, help="a driving video")
    else:
        parser.add_argument("--driver", default=driver)
    parser.add_argument("--frames", type=int, default=frames)
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args()


def prepared_shot(args: argparse.Namespace) -> PreparedShot:
    """Frames 1 to ``args.frames`` of ``args.driver`` on ``args.still``, analysed and ready to render."""
    job = RenderJob(sources=[args.still], driver=args.driver, frames=FrameRange(1, args.frames),
                    output=OutputConfig(pattern="/tmp/unused.####.png"))
    return AnimatePipeline(job).prepare()
