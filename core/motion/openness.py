"""How open the eyes and the mouth are, read from 68 landmarks: what motion transfer scales the
lids by, and what the evaluation compares between driver and output."""

from __future__ import annotations

import numpy as np


def eye_widths(landmarks68: np.ndarray) -> np.ndarray:
    """(..., 2) each eye's width, corner to corner (subject's right, left): what its opening is measured
    against, and what a head turned away from the camera narrows most on its far eye."""
    p = np.asarray(landmarks68, dtype=np.float64)
    return np.linalg.norm(p[..., [39, 45], :] - p[..., [36, 42], :], axis=-1)


def eye_openness(landmarks68: np.ndarray) -> np.ndarray:
    """(..., 2) eye-aspect ratios (subject's right, left): lid gap over eye width."""
    p = np.asarray(landmarks68, dtype=np.float64)

    def gap(u1, u2, l2, l1):
        return np.linalg.norm(p[..., u1, :] - p[..., l1, :], axis=-1) + np.linalg.norm(
            p[..., u2, :] - p[..., l2, :], axis=-1)

    return np.stack([gap(37, 38, 40, 41), gap(43, 44, 46, 47)], axis=-1) / (2.0 * eye_widths(p) + 1e-9)


def mouth_openness(landmarks68: np.ndarray) -> np.ndarray:
    """(...) inner-lip gap over mouth width."""
    p = np.asarray(landmarks68, dtype=np.float64)
    gap = sum(np.linalg.norm(p[..., a, :] - p[..., b, :], axis=-1) for a, b in ((61, 67), (62, 66), (63, 65)))
    return gap / (3.0 * np.linalg.norm(p[..., 48, :] - p[..., 54, :], axis=-1) + 1e-9)


def typical_eye_opening(landmarks68: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(2,) each eye's median opening over the frames with a face: what the still's own eye opening stands
    for. One frame's opening (the neutral frame's) would be hostage to a wink or half blink there, and would
    then hold one of the still's eyes wide open, or shut, all shot long."""
    rows = np.flatnonzero(valid) if np.any(valid) else np.arange(len(landmarks68))
    return np.median(eye_openness(landmarks68[rows]), axis=0)
