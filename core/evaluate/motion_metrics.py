"""Motion fidelity and temporal stability from landmark curves: correlation and jitter.

Correlation says whether the output's mouth, eyes, brows and head move *when* and *as much relative to
their own range as* the driver's (Pearson r of the two curves over time). It is only meaningful where the
driver actually moves that feature; below ``MOVING`` the driver's curve is mostly measurement noise and the
report leaves the case out of that feature's mean (and says how many cases it kept).
"""

from __future__ import annotations

import numpy as np

from .face_measures import inter_ocular

# Standard deviation of the driver's curve over the window above which a feature counts as moving:
# mouth/eyes opening ratios (see ``motion``), brow height per inter-ocular, head angles in degrees.
MOVING = {"mouth": 0.03, "eyes": 0.03, "brows": 0.015, "yaw": 2.0, "pitch": 2.0, "roll": 1.0}


def correlation(a, b) -> float:
    """Pearson r over the frames where both curves are finite; NaN with fewer than 3 or a flat curve."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def moves(driver_curve, feature: str) -> bool:
    """Whether the driver moves ``feature`` enough for a correlation with it to mean something."""
    values = np.asarray(driver_curve, dtype=np.float64)
    values = values[np.isfinite(values)]
    return len(values) >= 3 and float(values.std()) >= MOVING[feature]


def landmark_jitter(landmarks: np.ndarray, frame_numbers) -> float:
    """High-frequency landmark energy: RMS second temporal difference of the 68 points per inter-ocular.

    ``landmarks``: (F, 68, 2), NaN rows where no face was found; only triples of consecutive frame numbers
    with a face in all three count. NaN when there is no such triple.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    numbers = np.asarray(frame_numbers)
    values = []
    for i in range(1, len(points) - 1):
        if numbers[i - 1] + 1 != numbers[i] or numbers[i] + 1 != numbers[i + 1]:
            continue
        triple = points[i - 1:i + 2]
        if not np.isfinite(triple).all():
            continue
        second = triple[0] - 2.0 * triple[1] + triple[2]
        values.append(np.mean(np.sum(second ** 2, axis=-1)) / max(inter_ocular(triple[1]), 1e-9) ** 2)
    return float(np.sqrt(np.mean(values))) if values else float("nan")
