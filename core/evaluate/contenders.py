"""What the harness runs: any renderer the pipeline can build, and two baselines that bracket them.

- A renderer (``warp``, ``neural-paper``, ``neural-hybrid``, ...) runs through the same ``AnimatePipeline``
  as ``animate``, in memory.
- ``static``: the still unchanged in every frame — the floor: a renderer must beat it on motion.
- ``oracle-crop`` (self-reenactment only): the real frame's pixels inside the still's face-crop square,
  feathered into the still — the ceiling of any renderer that repaints only the face crop and pastes it
  back (it shows what paste-back alone costs on full-frame scores).

A renderer that cannot be built here (no checkpoint given, its module or weights missing) is skipped with
the reason; a name nobody knows is an error.
"""

from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np

from .. import pipeline as pipeline_module
from ..config import RENDERERS, RenderJob
from ..errors import JobFieldError
from ..face_analysis import crop_face
from ..io.sources import open_frames
from ..paste import PastedFrame, paste_back
from ..pipeline import AnimatePipeline, PreparedShot
from ..render.base import RenderedFace
from .protocols import CrossCase, SelfCase

BASELINES = ("static", "oracle-crop")
ORACLE_FEATHER = 0.03  # of the crop side: the oracle's crop square fades out over this margin


class Contender(Protocol):
    name: str
    renderer: str  # the renderer the pipeline prepares (baselines prepare the weight-free warp)
    baseline: bool  # baselines render nothing, so they have no speed to report

    def applies_to(self, case: SelfCase | CrossCase) -> bool:
        ...

    def frames(self, pipeline: AnimatePipeline, shot: PreparedShot, case: SelfCase | CrossCase,
               numbers: list[int]) -> Iterator[tuple[int, PastedFrame]]:
        ...


class RendererContender:
    """A renderer of the engine, run exactly as ``animate`` runs it (paste-back included)."""

    baseline = False

    def __init__(self, name: str):
        self.name = self.renderer = name

    def applies_to(self, case) -> bool:
        return True

    def frames(self, pipeline, shot, case, numbers):
        return pipeline.render_frames(shot, numbers)


class StaticBaseline:
    """The still unchanged: perfect identity, no motion at all."""

    name = "static"
    renderer = "warp"
    baseline = True

    def applies_to(self, case) -> bool:
        return True

    def frames(self, pipeline, shot, case, numbers):
        still = PastedFrame(shot.source.still_rgb, shot.source.still_alpha,
                            np.zeros(shot.source.still_rgb.shape[:2], np.float32))
        for number in numbers:
            yield number, still


class OracleCropBaseline:
    """The real frame inside the still's crop square: what a perfect crop renderer would paste back."""

    name = "oracle-crop"
    renderer = "warp"
    baseline = True

    def applies_to(self, case) -> bool:
        return isinstance(case, SelfCase)  # needs the real frame, and the same camera as the still

    def frames(self, pipeline, shot, case, numbers):
        source = shot.source
        size = source.crop_size
        matte = _feathered_square(size)
        wanted = set(numbers)
        for number, real in open_frames(case.clip).frames(min(numbers), max(numbers)):
            if number not in wanted:
                continue
            crop = crop_face(real.astype(np.float32) / 255.0, source.crop_from_still, size)
            yield number, paste_back(source.still_rgb, source.still_alpha, source.crop_from_still,
                                     RenderedFace(rgb=crop, matte=matte))


def _feathered_square(size: int) -> np.ndarray:
    ramp = np.clip((np.minimum(np.arange(size), size - 1 - np.arange(size)) + 0.5) / (ORACLE_FEATHER * size), 0, 1)
    return np.minimum(ramp[:, None], ramp[None, :]).astype(np.float32)


def build_contenders(names: list[str], checkpoints: dict[str, str], device: str = "auto"
                     ) -> tuple[list[Contender], dict[str, str]]:
    """(usable contenders in the given order, {skipped name: reason}).

    Raises ``JobFieldError`` for a name that is neither a baseline nor a renderer the pipeline can build.
    """
    usable, skipped = [], {}
    for name in names:
        if name == "static":
            usable.append(StaticBaseline())
        elif name == "oracle-crop":
            usable.append(OracleCropBaseline())
        else:
            reason = unavailable_reason(name, checkpoints.get(name), device)
            if reason is None:
                usable.append(RendererContender(name))
            else:
                skipped[name] = reason
    return usable, skipped


def unavailable_reason(name: str, checkpoint: str | None, device: str = "auto") -> str | None:
    """Why renderer ``name`` cannot run here, or None when the pipeline can build it."""
    job = RenderJob(sources=[], driver="", renderer=name, checkpoint=checkpoint, device=device)
    if name in RENDERERS and name != "warp" and not job.checkpoint_path:
        return f"skipped: renderer '{name}' needs a checkpoint (--checkpoint {name}=PATH)"
    try:
        pipeline_module.create_renderer(job)  # exactly the factory the pipeline will use
    except Exception as error:  # whatever stops it from being built here is the reason it is skipped
        if name not in RENDERERS:
            known = ", ".join(BASELINES + RENDERERS)
            raise JobFieldError("--renderers", f"has unknown renderer '{name}' (known: {known})") from None
        return f"skipped: renderer '{name}' cannot be built here ({type(error).__name__}: {error})"
    return None
