"""Choosing a renderer by name: the job's ``renderer`` field."""

from __future__ import annotations

from ..config import RenderJob
from .base import FaceRenderer
from .warp import WarpRenderer


def create_renderer(job: RenderJob) -> FaceRenderer:
    """A fresh renderer for ``job`` (``warp`` needs no weights; the neural ones load ``job.checkpoint_path``)."""
    if job.renderer == "warp":
        return WarpRenderer(glasses=job.glasses)
    from .neural import create_neural_renderer  # torch models load only when a neural renderer is asked for

    return create_neural_renderer(job)
