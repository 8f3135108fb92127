"""Running one contender on one case: render the window in memory, score every frame, summarise.

Rendering goes through ``AnimatePipeline.prepare`` and ``render_frames`` exactly as ``animate`` does, with
nothing written; only the time spent producing frames counts towards a renderer's frames per second.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from .. import align
from ..config import FrameRange, MotionConfig, OutputConfig, RenderJob
from ..io.atomic import atomic_path
from ..io.sources import open_frames
from ..pipeline import AnimatePipeline
from . import face_crops, image_metrics
from .contenders import Contender
from .dlib_instrument import DlibFace
from .face_measures import CURVES
from .frame_scoring import FrameScorer
from .motion_metrics import landmark_jitter
from .protocols import CrossCase, SelfCase
from .reference import THUMB_OUTSIDE, THUMB_SIZE, THUMB_ZOOM, VIEW_ZOOM, ClipReference
from .results import CROSS_SCORES, SELF_SCORES, CaseResult, summarise

MATTE_REGION = 0.5  # flicker is measured where the matte is above this


@dataclass
class EvaluationSettings:
    """How renders are made and measured; every field is part of the results' fingerprint."""

    crop_size: int = 512
    smoothing: float = MotionConfig.smoothing
    self_driver: str = "landmarks"  # self-reenactment driven by the clip's landmark track, or "video"
    device: str = "auto"
    landmark_backend: str = "mediapipe"
    max_frames: int | None = 64
    identity_frames: int = 16
    checkpoints: dict[str, str] = field(default_factory=dict)

    def fingerprint_fields(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class CaseInputs:
    """What all contenders of one case share."""

    case: SelfCase | CrossCase
    reference: ClipReference
    sources: list[str]  # stills handed to the pipeline (for self-reenactment: PNGs of the source frames)
    driver: str  # the clip, or its landmark track as .npz
    neutral: str  # the driver's neutral frame ("auto" for cross-reenactment)
    identity_frames: frozenset[int]
    sheet_frames: tuple[int, ...]


def build_job(inputs: CaseInputs, contender: Contender, settings: EvaluationSettings, cache_dir: str) -> RenderJob:
    window = inputs.case.window
    return RenderJob(
        sources=list(inputs.sources), driver=inputs.driver,
        output=OutputConfig(pattern=os.path.join(cache_dir, "never-written", "frame.####.png")),
        frames=FrameRange(window[0], window[-1]), renderer=contender.renderer,
        checkpoint=settings.checkpoints.get(contender.renderer), device=settings.device,
        crop_size=settings.crop_size, landmark_backend=settings.landmark_backend, cache_dir=cache_dir,
        motion=MotionConfig(neutral=inputs.neutral, smoothing=settings.smoothing))


def run_case(inputs: CaseInputs, contender: Contender, settings: EvaluationSettings, scorer: FrameScorer,
             cache_dir: str, fingerprint: str, thumbs_path: str,
             on_frame: Callable[[int], None] = lambda number: None) -> CaseResult:
    """Render and score ``inputs.case`` with ``contender``."""
    case, reference = inputs.case, inputs.reference
    window = list(case.window)
    started = time.monotonic()
    pipeline = AnimatePipeline(build_job(inputs, contender, settings, cache_dir))
    shot = pipeline.prepare()
    prepare_seconds = time.monotonic() - started

    is_self = isinstance(case, SelfCase)
    still_view = still_face = None
    if not is_self:
        still68 = align.apply(align.invert(shot.source.crop_from_still), shot.source.crop.landmarks)
        still_view = face_crops.crop_transform(still68, zoom=VIEW_ZOOM)
        still_face = scorer.instrument.measure(face_crops.to_uint8(face_crops.cut(shot.source.still_rgb, still_view)))
    held_back = set(case.held_back)
    per_frame: dict[str, list[float]] = {}
    landmarks = np.full((len(window), 68, 2), np.nan)
    thumbs = {}
    recent: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (output, matte, real) of the last 3 frames
    flicker, flicker_reference = [math.nan] * len(window), [math.nan] * len(window)
    render_seconds = 0.0
    fid_crops: tuple[list, list] = ([], [])
    outputs = iter(contender.frames(pipeline, shot, case, window))
    reals = open_frames(case.clip).frames(window[0], window[-1])
    for row, (number, real) in enumerate(reals):
        tick = time.monotonic()
        out_number, frame = next(outputs)
        render_seconds += time.monotonic() - tick
        assert out_number == number, (out_number, number)
        output = np.clip(frame.rgb, 0.0, 1.0).astype(np.float32)
        with_identity = number in inputs.identity_frames
        if is_self:
            score = scorer.score_self(number, output, real, reference, with_identity)
        else:
            score = scorer.score_cross(number, output, still_view, still_face, case.still, with_identity)
        for name, value in score.values.items():
            per_frame.setdefault(name, []).append(value)
        if score.landmarks is not None:
            landmarks[row] = score.landmarks
        if scorer.fid is not None and is_self and number in held_back:
            _collect_fid_crops(fid_crops, output, real, reference, number)
        if number in inputs.sheet_frames:  # framed like the source beside it (cross) or the real frame (self)
            thumbs[number] = (_thumb(output, reference.crops[reference.row(number)], face_crops.MEASURE_SIZE)
                              if is_self else _thumb(output, shot.source.crop_from_still, shot.source.crop_size))
        recent = (recent + [(output, frame.matte, real)])[-3:]
        if len(recent) == 3:
            flicker[row - 1], flicker_reference[row - 1] = _flicker(recent, reference, window[row - 1], is_self)
        on_frame(number)

    scored = [n in held_back and (not is_self or np.isfinite(reference.landmarks[reference.row(n)]).all())
              for n in window]
    jitter = landmark_jitter(landmarks, window)
    jitter_driver = landmark_jitter(reference.landmarks, reference.frame_numbers)
    extra = {"jitter": jitter, "jitter_driver": jitter_driver,
             "jitter_ratio": jitter / jitter_driver if jitter_driver and jitter_driver > 0 else math.nan,
             "flicker": _nanmean(flicker), "flicker_reference": _nanmean(flicker_reference),
             "prepare_seconds": prepare_seconds, "render_seconds": render_seconds,
             "fps": len(window) / render_seconds if render_seconds > 0 and not contender.baseline else math.nan}
    if "lpips_face" in per_frame:
        extra["lpips_face"] = _nanmean(np.asarray(per_frame["lpips_face"])[np.asarray(scored, bool)])
    if not is_self:
        extra["driver_identity_distance"] = _driver_identity(reference, still_face)
        extra["still_face_found"] = still_face is not None
    per_frame["flicker"], per_frame["flicker_reference"] = flicker, flicker_reference
    for name in CURVES:
        per_frame[f"driver_{name}"] = [float(reference.curves[name][reference.row(n)]) for n in window]
    summary = summarise(per_frame, scored, reference.curves, SELF_SCORES if is_self else CROSS_SCORES, extra)
    if fid_crops[0]:
        _save_fid_features(thumbs_path.replace(".thumbs.npz", ".fid.npz"), scorer.fid, fid_crops)
    source_thumb = _thumb(shot.source.still_rgb, shot.source.crop_from_still, shot.source.crop_size)
    _save_thumbs(thumbs_path, thumbs, source_thumb, reference)
    return CaseResult(case.case_id, case.group, case.name if is_self else os.path.basename(case.clip),
                      None if is_self else os.path.basename(case.still), contender.name, fingerprint, window,
                      scored, per_frame, summary, thumbs=os.path.basename(thumbs_path))


def _flicker(recent, reference: ClipReference, number: int, is_self: bool) -> tuple[float, float]:
    """Flicker of the output inside its matte, and of the real (self) or driver (cross) face, at ``number``."""
    (o0, _, r0), (o1, matte, r1), (o2, _, r2) = recent
    region = matte > MATTE_REGION
    out = image_metrics.temporal_second_difference(o0, o1, o2, region)
    if not is_self:
        region = _face_region(reference.landmarks[reference.row(number)], r1.shape[:2])
    if region is None or (is_self and o1.shape != r1.shape):
        return out, math.nan
    real = image_metrics.temporal_second_difference(r0.astype(np.float32) / 255.0, r1.astype(np.float32) / 255.0,
                                                     r2.astype(np.float32) / 255.0, region)
    return out, real


def _face_region(landmarks68: np.ndarray, shape) -> np.ndarray | None:
    if not np.isfinite(landmarks68).all():
        return None
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(cv2.convexHull(landmarks68.astype(np.float32)) - 0.5).astype(np.int32), 1)
    return mask.astype(bool)


def _thumb(image: np.ndarray, crop_from_frame: np.ndarray, crop_size: int) -> np.ndarray:
    """The contact-sheet view: a face crop of side ``crop_size``, reframed to the thumbnail's size and zoom."""
    if not np.isfinite(crop_from_frame).all():
        return np.zeros((THUMB_SIZE, THUMB_SIZE, 3), np.uint8)
    factor = THUMB_SIZE * THUMB_ZOOM / crop_size
    centre = crop_size / 2.0
    reframe = np.array([[factor, 0.0, THUMB_SIZE / 2.0 - factor * centre],
                        [0.0, factor, THUMB_SIZE / 2.0 - factor * centre]])
    return face_crops.to_uint8(face_crops.cut(image, align.compose(reframe, crop_from_frame), THUMB_SIZE,
                                              THUMB_OUTSIDE / 255.0))


def _driver_identity(reference: ClipReference, still: DlibFace | None) -> float:
    """How far the driver's own face is from the still: what a renderer copying the driver would score."""
    if still is None:
        return math.nan
    rows = np.isfinite(reference.descriptors).all(axis=1)
    if not rows.any():
        return math.nan
    return float(np.linalg.norm(reference.descriptors[rows] - still.descriptor, axis=1).mean())


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else math.nan


def _save_thumbs(path: str, thumbs: dict[int, np.ndarray], source: np.ndarray, reference: ClipReference) -> None:
    """Contact-sheet pieces: this contender's outputs, and the source and driver views beside them."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    numbers = sorted(thumbs)
    blank = np.zeros((THUMB_SIZE, THUMB_SIZE, 3), np.uint8)
    driver = {int(n): t for n, t in zip(reference.thumb_frames, reference.thumbs)}
    with atomic_path(path) as partial, open(partial, "wb") as handle:
        np.savez_compressed(handle, frames=np.asarray(numbers, np.int64), source=source,
                            output=np.asarray([thumbs[n] for n in numbers], np.uint8).reshape(
                                -1, THUMB_SIZE, THUMB_SIZE, 3),
                            driver=np.asarray([driver.get(n, blank) for n in numbers], np.uint8).reshape(
                                -1, THUMB_SIZE, THUMB_SIZE, 3))


def _collect_fid_crops(crops: tuple[list, list], output: np.ndarray, real: np.ndarray, reference: ClipReference,
                       number: int) -> None:
    crop_from_frame = reference.crops[reference.row(number)]
    if np.isfinite(crop_from_frame).all():
        crops[0].append(face_crops.cut(output, crop_from_frame))
        crops[1].append(face_crops.cut(real.astype(np.float32) / 255.0, crop_from_frame))


def _save_fid_features(path: str, extractor, crops: tuple[list, list]) -> None:
    """Inception features of the scored output and real face crops, pooled per K by the report."""
    with atomic_path(path) as partial, open(partial, "wb") as handle:
        np.savez_compressed(handle, output=extractor.of_images(crops[0]), real=extractor.of_images(crops[1]))
