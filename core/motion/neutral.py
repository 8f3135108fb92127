"""The driver's neutral frame, which its motion is measured from, and frames without a face filled from
their nearest neighbour."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import align
from ..landmarks.track import LandmarkTrack
from .openness import eye_openness, mouth_openness


def choose_neutral(track: LandmarkTrack, how: str) -> int:
    """Row index of the driver's neutral frame: ``first``, a 1-based frame number, or ``auto``.

    ``auto`` prefers a closed mouth, typical eye opening and a typical head pose, among confident frames.
    """
    valid = np.flatnonzero(track.valid)
    if how == "first":
        return int(valid[0])
    if how != "auto":
        wanted = int(how)
        rows = np.flatnonzero(track.frame_numbers == wanted)
        if len(rows) == 0 or not track.valid[rows[0]]:
            raise ValueError(f"neutral frame {wanted} has no face in the driver")
        return int(rows[0])
    points = track.landmarks[valid].astype(np.float64)
    mouth = mouth_openness(points)
    eyes = eye_openness(points).mean(-1)
    ref = np.nanmedian(points, axis=0)
    poses = np.array([align.similarity_params(align.fit_similarity(ref[list(align.RIGID_68)],
                                                                   p[list(align.RIGID_68)]))
                      for p in points], dtype=object)
    angles = np.array([abs(float(a)) for _, a, _ in poses])
    score = (mouth / (np.median(mouth) + 0.05)
             + np.abs(eyes - np.median(eyes)) / (np.median(eyes) + 1e-6) * 2.0
             + angles / 0.1
             + (1.0 - track.confidence[valid]) * 2.0)
    return int(valid[int(np.argmin(score))])


def fill_missing(track: LandmarkTrack) -> LandmarkTrack:
    """Frames without a face take the nearest frame's landmarks (the still holds its last pose)."""
    valid = track.valid
    if valid.all():
        return track
    if not valid.any():
        raise ValueError("the driver has no frame with a face")
    rows = np.arange(len(track))
    good = np.flatnonzero(valid)
    nearest = good[np.clip(np.searchsorted(good, rows), 0, len(good) - 1)]
    before = good[np.clip(np.searchsorted(good, rows) - 1, 0, len(good) - 1)]
    nearest = np.where(np.abs(before - rows) <= np.abs(nearest - rows), before, nearest)
    landmarks = track.landmarks[nearest]
    dense = None if track.dense is None else track.dense[nearest]
    return replace(track, landmarks=landmarks, dense=dense)
