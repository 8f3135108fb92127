"""Closing eyes against the real frames: self-reenactment, where the clip itself is the ground truth.

The clip's first frame is the still and the clip's own track drives it (neutral = that frame), so on every
later frame the real video shows what the output should be. On the frames where the eyes close (the
tracker's opening under a share of its median), the eye regions of the rendered crop are compared with the
real frame mapped into the same crop. The baseline is the warp alone on the same frames (the still's lid
stretched over the eye, nothing painted): the lid painter is worth its pixels only where it beats that.
The painted lid's lightness against the real lid's says whether the painter's light is right on the whole
(a lid painted darker than the real one reads as an open eye or a bruise) where the error alone cannot.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from .. import align
from ..config import FrameRange, MotionConfig, OutputConfig, RenderJob
from ..face_analysis import crop_face
from ..io.sources import open_frames
from ..landmarks.track import rows_by_number
from ..motion import eye_openness
from ..pipeline import AnimatePipeline
from ..render.base import TargetFace
from ..render.colour_transfer import lab
from ..render.warp import remap

PAINTED = 0.7  # the lid's lightness is compared where the painted overlay covers at least this much


@dataclass(frozen=True)
class ClosingEyes:
    """Mean absolute error (8-bit levels) over the eye regions of a clip's closing-eye frames."""

    frames: int
    warp_error: float  # the warp alone
    render_error: float  # the renderer, lids painted
    lid_lightness_bias: float | None  # painted lid's Lab lightness less the real lid's (None: none painted)


def eye_boxes(landmarks68: np.ndarray, size: int):
    """Each eye with its lids, lashes and the skin just above and below, as (x0, y0, x1, y1)."""
    for eye in (landmarks68[36:42], landmarks68[42:48]):
        centre, width = eye.mean(0), float(np.linalg.norm(eye[3] - eye[0]))
        x0, y0 = np.maximum(np.round(centre - [0.7 * width, 0.5 * width]).astype(int), 0)
        x1, y1 = np.minimum(np.round(centre + [0.7 * width, 0.4 * width]).astype(int), size)
        if x1 > x0 and y1 > y0:
            yield int(x0), int(y0), int(x1), int(y1)


def measure_closing_eyes(clip: str, frames: int, closing: float, cache_dir: str | None,
                         scratch: str) -> ClosingEyes | None:
    """The errors over the first ``frames`` frames of ``clip`` (the still is written to ``scratch``); None
    where the eyes never close that far."""
    source = open_frames(clip)
    first_number, first = next(iter(source.frames(1, 1)))
    still = os.path.join(scratch, os.path.basename(clip) + ".png")
    cv2.imwrite(still, cv2.cvtColor(first, cv2.COLOR_RGB2BGR))
    job = RenderJob(sources=[still], driver=clip, frames=FrameRange(first_number, first_number + frames - 1),
                    output=OutputConfig(pattern=os.path.join(scratch, "unused.####.png")),
                    motion=MotionConfig(neutral=str(first_number)), cache_dir=cache_dir)
    shot = AnimatePipeline(job).prepare()
    track, shapes, face = shot.driver.track, shot.shapes, shot.source
    openness = eye_openness(track.landmarks).mean(axis=1)
    typical = np.nanmedian(openness[track.valid])
    asked = set(shot.frame_numbers) - {first_number}
    track_row = rows_by_number(track.frame_numbers)
    wanted = {}  # frame number -> (row of the shapes, row of the track)
    for row, number in enumerate(int(n) for n in shapes.frame_numbers):
        r = track_row[number]
        if number in asked and track.valid[r] and openness[r] < closing * typical:
            wanted[number] = row, r
    if not wanted:
        return None
    size = face.crop_size
    warp_errors, render_errors, biases = [], [], []
    for number, image in source.frames(min(wanted), max(wanted)):
        if number not in wanted:
            continue
        row, r = wanted[number]
        out = shot.renderer.render(TargetFace(number, shapes.landmarks[row],
                                              None if shapes.dense is None else shapes.dense[row]))
        warp_only = remap(face.crop.rgb, out.source_map)
        real = crop_face(image.astype(np.float32) / 255.0, face.crop_from_still, size)
        for x0, y0, x1, y1 in eye_boxes(align.apply(face.crop_from_still, track.landmarks[r]), size):
            truth = real[y0:y1, x0:x1]
            warp_errors.append(255.0 * np.abs(np.clip(warp_only[y0:y1, x0:x1], 0, 1) - truth).mean())
            render_errors.append(255.0 * np.abs(np.clip(out.rgb[y0:y1, x0:x1], 0, 1) - truth).mean())
            if out.overlay_alpha is not None:
                painted = out.overlay_alpha[y0:y1, x0:x1] > PAINTED
                if painted.sum() >= 20:
                    lid = np.clip(out.rgb[y0:y1, x0:x1][painted], 0, 1)
                    biases.append(float((lab(lid)[:, 0] - lab(truth[painted])[:, 0]).mean()))
    return ClosingEyes(len(wanted), float(np.mean(warp_errors)), float(np.mean(render_errors)),
                       float(np.mean(biases)) if biases else None)
