"""Frames of the face crop alone (``--no-paste-back``): the rendered crop, with an alpha that says which of
its pixels show the still.

Why: the warp's crop is wider than most stills are framed, so part of it lies beyond the still's edges,
where the crop repeats the edge pixels. Written opaque, those streaks reached the compositor as picture,
and a still's own transparency was lost. The crop's alpha is the still's (1 for an opaque still) carried
into the crop, 0 beyond the still's edges, and moved with the face by the renderer's sampling map.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import align
from .face_analysis import crop_face
from .paste import PastedFrame
from .render.base import RenderedFace, SourceFace

EDGE_PAD = 2  # zero pixels round the still, so resampling beyond its edges finds no alpha


class CropOutput:
    """Turns a shot's rendered crops into output frames; the still's alpha in the crop is computed once."""

    def __init__(self, source: SourceFace):
        height, width = source.still_rgb.shape[:2]
        coverage = np.ones((height, width), np.float32) if source.still_alpha is None else source.still_alpha
        padded = np.pad(coverage.astype(np.float32), EDGE_PAD)
        padded_from_still = np.array([[1.0, 0.0, EDGE_PAD], [0.0, 1.0, EDGE_PAD]])
        self.alpha = np.clip(crop_face(padded, align.compose(source.crop_from_still, align.invert(padded_from_still)),
                                       source.crop_size), 0.0, 1.0)

    def __call__(self, rendered: RenderedFace) -> PastedFrame:
        alpha = self.alpha
        if rendered.source_map is not None:  # each pixel shows the still where the map samples it
            alpha = cv2.remap(alpha, rendered.source_map - 0.5, None, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if rendered.overlay_alpha is not None:  # a painted mouth or lid covers what it is painted over
            alpha = np.maximum(alpha, rendered.overlay_alpha)
        return PastedFrame(np.clip(rendered.rgb, 0.0, 1.0), alpha, rendered.matte)
