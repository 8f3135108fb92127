"""Where the irises go: the driver's gaze, kept inside the eye opening it is drawn in.

The target iris centres carry the driver's eye movements (motion transfer moves them with the rest of the
dense mesh); each is a control point of the warp, which slides the iris with it and stretches the white of
the eye on one side as it compresses it on the other. (Points either side of the centre, to carry the iris
as a whole, sheared the pupil into a chevron on a sideways glance: only the centre is used.) A centre
must stay inside the eye's opening, or the mesh folds over the lids: along the eye it keeps a margin from
the corners, across it stays in the middle band between the lids, and on a closed eye it lies where the
lids meet.
"""

from __future__ import annotations

import numpy as np

from .. import align

CORNER_MARGIN = 0.33  # of the eye's width, iris centre to either corner (a wider glance smears the pupil)
LID_MARGIN = 0.3  # of the lid gap, between an iris centre and either lid
MIN_SOURCE_OPENING = 0.12  # lid gap over eye width below which a still's eye has no usable iris


def iris_inside_eye(centre: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """``centre`` (2,) moved into the opening between the ``upper`` and ``lower`` lids (corner to corner)."""
    origin = upper[0]
    width = float(np.linalg.norm(upper[-1] - origin)) or 1.0
    axis = (upper[-1] - origin) / width
    normal = np.array([-axis[1], axis[0]])
    along = float(np.clip((centre - origin) @ axis, CORNER_MARGIN * width, (1.0 - CORNER_MARGIN) * width))
    top = float((align.polyline_at(upper, along, origin, axis) - origin) @ normal)
    bottom = float((align.polyline_at(lower, along, origin, axis) - origin) @ normal)
    gap = bottom - top
    if gap <= 0.0:
        across = 0.5 * (top + bottom)
    else:
        across = float(np.clip((centre - origin) @ normal, top + LID_MARGIN * gap, bottom - LID_MARGIN * gap))
    return origin + along * axis + across * normal


def eye_is_open(upper: np.ndarray, lower: np.ndarray) -> bool:
    """Whether a still's eye is open enough for its iris to be moved."""
    width = float(np.linalg.norm(upper[-1] - upper[0])) or 1.0
    return align.mean_gap(upper, lower) / width > MIN_SOURCE_OPENING
