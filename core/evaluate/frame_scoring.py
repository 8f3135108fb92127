"""Scoring one output frame: against the real frame (self-reenactment) or the still (cross-reenactment).

Pixel scores (SSIM, PSNR, MS-SSIM, LPIPS) compare face crops placed by the real frame's landmarks, the same
crop for output and truth. dlib measures through one fixed crop per case — the window's (self-reenactment,
shared with the truth) or one around the still's face (cross-reenactment) — so identical frames give
identical landmarks and curves live in one coordinate system. Identical output frames (a static baseline,
a single-shot renderer re-run for another K) are measured once: results are memoised by pixel content.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from . import face_crops, image_metrics
from .dlib_instrument import DlibFace, DlibInstrument, identity_distance, identity_cosine
from .face_measures import CURVES, face_curves, normalised_landmark_error
from .reference import ClipReference

NO_FACE = {name: math.nan for name in CURVES}


def _digest(pixels: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(pixels).tobytes(), digest_size=16).digest()


@dataclass
class FrameScore:
    """Everything measured on one output frame; ``landmarks`` in frame pixels or None."""

    values: dict[str, float]
    landmarks: np.ndarray | None


class FrameScorer:
    """Measures output frames with one dlib instrument, remembering frames it has already seen."""

    def __init__(self, instrument: DlibInstrument, lpips=None, fid=None):
        self.instrument = instrument
        self.lpips = lpips  # an LPIPS network (see perceptual), or None when its weights are not there
        self.fid = fid  # FID's Inception features (see perceptual), or None likewise
        self._memo: dict[tuple, FrameScore] = {}  # whole-frame scores by (case kind, frame, pixels)
        self._faces: dict[tuple, DlibFace | None] = {}  # dlib's measurements by the pixels it saw

    def _face(self, crop: np.ndarray, with_descriptor: bool) -> DlibFace | None:
        pixels = face_crops.to_uint8(crop)
        key = ("dlib", with_descriptor, _digest(pixels))
        if key not in self._faces:
            self._faces[key] = self.instrument.measure(pixels, with_descriptor=with_descriptor)
        return self._faces[key]

    def _remembered(self, kind, number, rgb, compute) -> FrameScore:
        key = (kind, number, _digest(rgb))
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def forget(self) -> None:
        """Drop what was remembered (call between clips: nothing of one clip recurs in the next)."""
        self._memo.clear()
        self._faces.clear()

    # --------------------------------------------------------------------------- self-reenactment
    def score_self(self, number: int, output: np.ndarray, real: np.ndarray, reference: ClipReference,
                   with_identity: bool) -> FrameScore:
        """``output`` float HxWx3 in [0, 1]; ``real`` the real frame, uint8."""
        return self._remembered(("self", reference.clip, with_identity), number, output,
                                lambda: self._self(number, output, real, reference, with_identity))

    def _self(self, number, output, real, reference, with_identity) -> FrameScore:
        row = reference.row(number)
        crop_from_frame = reference.crops[row]
        values = {"found": 0.0, **{k: math.nan for k in
                                   ("ssim_face", "ms_ssim_face", "psnr_face", "ssim_full", "psnr_full", "nme",
                                    "identity_distance", "csim_dlib")}, **NO_FACE}
        real01 = real.astype(np.float32) / 255.0
        if output.shape == real01.shape:
            values["ssim_full"] = image_metrics.ssim(output, real01)
            values["psnr_full"] = image_metrics.psnr(output, real01)
        if not np.isfinite(crop_from_frame).all():
            return FrameScore(values, None)
        out_crop = face_crops.cut(output, crop_from_frame)
        real_crop = face_crops.cut(real01, crop_from_frame)
        values["ssim_face"] = image_metrics.ssim(out_crop, real_crop)
        values["ms_ssim_face"] = image_metrics.ms_ssim(out_crop, real_crop)
        values["psnr_face"] = image_metrics.psnr(out_crop, real_crop)
        if self.lpips is not None:
            values["lpips_face"] = self.lpips.distance(out_crop, real_crop)
        face = self._face(face_crops.cut(output, reference.view), with_identity)
        if face is None:
            return FrameScore(values, None)
        landmarks = face_crops.to_frame(face.landmarks, reference.view)
        values["found"] = 1.0
        values.update(face_curves(landmarks))
        truth = reference.landmarks[row]
        if np.isfinite(truth).all():
            values["nme"] = normalised_landmark_error(landmarks, truth)
        truth_descriptor = reference.descriptors[row]
        if with_identity and np.isfinite(truth_descriptor).all():
            truth_face = DlibFace(truth, truth_descriptor)
            values["identity_distance"] = identity_distance(face, truth_face)
            values["csim_dlib"] = identity_cosine(face, truth_face)
        return FrameScore(values, landmarks)

    # -------------------------------------------------------------------------- cross-reenactment
    def score_cross(self, number: int, output: np.ndarray, crop_from_frame: np.ndarray, still: DlibFace | None,
                    still_key: str, with_identity: bool) -> FrameScore:
        """``crop_from_frame``: the fixed measuring crop around the still's face; ``still``: dlib's still."""
        return self._remembered(("cross", still_key, with_identity), number, output,
                                lambda: self._cross(output, crop_from_frame, still, with_identity))

    def _cross(self, output, crop_from_frame, still, with_identity) -> FrameScore:
        values = {"found": 0.0, "identity_distance": math.nan, "csim_dlib": math.nan, **NO_FACE}
        face = self._face(face_crops.cut(output, crop_from_frame), with_identity)
        if face is None:
            return FrameScore(values, None)
        landmarks = face_crops.to_frame(face.landmarks, crop_from_frame)
        values["found"] = 1.0
        values.update(face_curves(landmarks))
        if with_identity and still is not None:
            values["identity_distance"] = identity_distance(face, still)
            values["csim_dlib"] = identity_cosine(face, still)
        return FrameScore(values, landmarks)
