"""The driver's neutral frame, which its motion is measured from, and frames without a face filled from
their nearest neighbour."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import align
from ..landmarks.track import LandmarkTrack
from .openness import eye_openness, mouth_openness

# A nose tip up to TURN_FREE eye distances off its usual place along the eye line (a turn of about 8°, the nose
# 0.35 eye distances in front of the eyes) costs nothing; past it, each further TURN_SCALE weighs as much as
# 0.1 rad of roll. Weighed from the first degree (and the nod with it), the rule traded a closed mouth or
# typical brows for a few degrees of turn, and dlib's reading of the ten goal pairs fell (docs/quality.md).
TURN_FREE = 0.05
TURN_SCALE = 0.05


def choose_neutral(track: LandmarkTrack, how: str) -> int:
    """Row index of the driver's neutral frame: ``first``, a 1-based frame number, or ``auto``.

    ``auto`` prefers a closed mouth, typical eye opening and a typical head pose, among confident frames.
    The pose is the head's roll and, past ``TURN_FREE``, its turn (``nose_turn``): relative motion turns the
    still as far as the driver turns from its neutral frame, and a neutral frame turned 27° from the clip's
    usual pose (`lp_d3`: 44 % of its first 250 frames then lay over 30° from it, ``bench/driver_turns.py``)
    turned the still that far whenever the driver faced the camera.
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
    turn = nose_turn(points)
    turned = np.maximum(np.abs(turn - np.median(turn)) - TURN_FREE, 0.0)
    score = (mouth / (np.median(mouth) + 0.05)
             + np.abs(eyes - np.median(eyes)) / (np.median(eyes) + 1e-6) * 2.0
             + angles / 0.1
             + turned / TURN_SCALE
             + (1.0 - track.confidence[valid]) * 2.0)
    return int(valid[int(np.argmin(score))])


def nose_turn(landmarks68: np.ndarray) -> np.ndarray:
    """(N,): the nose tip's offset from the midpoint between the eyes along the eye line, in eye distances
    (eye-corner midpoints, as ``evaluate.face_measures.head_pose`` reads the yaw): how far each face is
    turned, from rigid points only."""
    points = np.asarray(landmarks68, np.float64)
    right, left = (points[:, 36] + points[:, 39]) / 2.0, (points[:, 42] + points[:, 45]) / 2.0
    axis = left - right
    nose = points[:, 30] - (right + left) / 2.0
    return (nose * axis).sum(1) / np.maximum((axis * axis).sum(1), 1e-18)


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
