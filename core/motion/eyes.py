"""Eye motion: a blink's opening as a share of the driver's typical one, lids that close over the
eyeball and drag their skin along, and a shut-eyed still's lids parted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import align
from ..landmarks import ibug68
from .contours import EYES_68_LIDS, LoopHalves
from .openness import eye_openness, eye_widths

# Lids lowered together (looking down, a squint, the middle of a blink) are read unequally by the tracker:
# on `lp_d3` looking down, one eye's points met while the other's stayed at 0.4-0.7 of its typical opening
# (ratios 0.19 and 0.40, 0.31 and 0.66), where both eyes look alike and dlib reads them within 0.2 of each
# other; the output then shut one eye and left the other open. While the more open eye is itself lowered
# (under the first ratio here), both move towards their mean, all the way once it is at the second. A wink
# keeps the other eye open and stays a wink.
BOTH_LIDS_LOWERED = (1.0, 0.7)
# A still whose eyes are shut (a blink the camera caught, a sleeper): multiplied by a ratio, their opening
# stays shut whatever the driver does. They open to the driver's typical opening instead, on lids drawn as
# arcs from the still's closed lid line (``open_shut_lids``), and the renderer paints the eyeballs. Read on
# both eyes' mean opening (lid gap over eye width), so that a wink stays a wink: shut at the first value or
# under (the tracker reads closed eyes at 0.02-0.07), apart at the second or over (a downcast look with
# lids lowered but apart, 0.09 and 0.23; the narrowest open eyes of the 50 shared stills, 0.15 and 0.23).
SHUT_EYES = (0.06, 0.1)
# The opening of the eyes a preset's face is given where the still's are shut: about the middle of open
# eyes' readings.
OPEN_EYE = 0.28
UPPER_LID_SHARE = 0.65  # of an open eye's gap that lies above the line between its corners
# A driver's head turned this far from its neutral frame (radians): from the first its far eye's reading
# starts to give way to the near eye's, all of it at the second (``far_eye_as_near``).
FAR_EYE_TURN = np.radians(20.0), np.radians(35.0)


def eye_closing_targets(current: np.ndarray, neutral: np.ndarray, gain: float) -> np.ndarray:
    """Per-eye opening relative to neutral, with the eyes gain, mapped so a detected blink closes fully.

    Landmark detectors rarely bring the lids together on a closed eye (they stop at ~20-30 % of the open
    gap), so ratios under ``CLOSED`` count as closed and the range above is stretched back to 0..1.
    Two lids lowered together move towards their mean first (``BOTH_LIDS_LOWERED``).
    """
    closed = 0.3
    ratio = current / np.maximum(neutral, 1e-3)
    lowered, fully = BOTH_LIDS_LOWERED
    together = np.clip((lowered - ratio.max(axis=-1, keepdims=True)) / (lowered - fully), 0.0, 1.0)
    ratio = ratio + together * (ratio.mean(axis=-1, keepdims=True) - ratio)
    ratio = 1.0 + gain * (ratio - 1.0)
    ratio = np.where(ratio < 1.0, np.clip((ratio - closed) / (1.0 - closed), 0.0, 1.0), ratio)
    return np.clip(ratio, 0.0, 1.6)


def far_eye_as_near(opening: np.ndarray, reference: np.ndarray, frame68: np.ndarray, neutral68: np.ndarray,
                    yaw: float) -> np.ndarray:
    """The driver's (2,) eye ``opening`` with the far eye's reading drawn towards the near eye's (each as a
    share of its ``reference``, the typical opening) where the head is turned ``yaw`` radians from its
    neutral frame.

    A turned head's far eye is foreshortened and half behind the nose: the tracker reads it open when it is
    shut. On `styletalk_nice_clip1`, turned 39-54° with both eyes shut (frames 37-61), the far eye read
    1.0-1.9 of its typical opening and the near one 0.3-0.5, and the still winked. The far eye is the one
    whose width shrank more against the neutral frame's; a real wink, rare in a turned head, is lost."""
    share = float(np.clip((abs(yaw) - FAR_EYE_TURN[0]) / (FAR_EYE_TURN[1] - FAR_EYE_TURN[0]), 0.0, 1.0))
    if share <= 0.0:
        return opening
    far = int(np.argmin(eye_widths(frame68) / np.maximum(eye_widths(neutral68), 1e-9)))
    ratio = np.asarray(opening, dtype=np.float64) / np.maximum(reference, 1e-3)
    ratio[far] += share * (ratio[1 - far] - ratio[far])
    return ratio * np.maximum(reference, 1e-3)


def _lid_meeting(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Where the lids meet when the eye closes: near the lower lid, as in a real blink."""
    return lower + 0.2 * (upper - lower)


@dataclass(frozen=True)
class LidSkin:
    """Skin points that slide with one lid: their indices, position along the eye, and share of the motion."""

    indices: np.ndarray
    t: np.ndarray  # position along the corner-to-corner axis (pixels from the first corner)
    weight: np.ndarray


def lid_skin(points: np.ndarray, halves: LoopHalves, upper: bool) -> LidSkin:
    """The skin above an upper lid (or below a lower lid) that a blink drags along.

    A closing eye is the upper lid sliding down over the eyeball, not the eye being squashed: the lid up to
    its crease (about a quarter of the eye's width) moves as a whole, so lashes and lid skin keep their look;
    above it the motion fades out before the brow. Lower lids drag a little of the cheek.
    """
    lid = points[list(halves.upper if upper else halves.lower)]
    corner_a, corner_b = points[halves.upper[0]], points[halves.upper[-1]]
    width = float(np.linalg.norm(corner_b - corner_a)) or 1.0
    axis = (corner_b - corner_a) / width
    normal = np.array([-axis[1], axis[0]])  # points down on an upright face
    rigid, reach = ((0.28, 0.75) if upper else (0.05, 0.3))
    rigid, reach = rigid * width, reach * width
    t = (points - corner_a) @ axis
    along_lid = align.polyline_at(lid, t, corner_a, axis)
    away = ((along_lid - points) @ normal) * (1.0 if upper else -1.0)  # distance outward from the lid
    inside = (away > 0.5) & (away < reach) & (t > -0.1 * width) & (t < 1.1 * width)
    inside[list(halves.upper) + list(halves.lower)] = False
    taper = np.clip(np.minimum(t + 0.1 * width, 1.1 * width - t) / (0.25 * width), 0.0, 1.0)
    fade = np.clip((away - rigid) / (reach - rigid), 0.0, 1.0)
    weight = (0.5 + 0.5 * np.cos(np.pi * fade)) * taper * (1.0 if upper else 0.6)
    rows = np.flatnonzero(inside)
    return LidSkin(rows, t[rows], weight[rows])


def shut_eyes(landmarks68: np.ndarray) -> float:
    """How shut a still's eyes are: 0 (apart, a mean opening of ``SHUT_EYES[1]`` or more) to 1 (shut,
    ``SHUT_EYES[0]`` or less)."""
    low, high = SHUT_EYES
    return float(np.clip((high - eye_openness(landmarks68).mean()) / (high - low), 0.0, 1.0))


def open_shut_lids(points: np.ndarray, lids, shut: float, opening: np.ndarray, up: np.ndarray) -> np.ndarray:
    """``points`` with each eye's lids parted, ``shut`` of the way, to an open eye ``opening[eye]`` (lid gap
    over eye width) wide: the upper lid rises ``UPPER_LID_SHARE`` of what the gap lacks, the lower lid drops
    the rest, the gap an arc between the corners (``up``: the face's up, unit)."""
    points = np.array(points, dtype=np.float64)
    if shut <= 0.0:
        return points
    for eye, halves in enumerate(lids):
        start, end = points[halves.upper[0]], points[halves.upper[-1]]
        width = float(np.linalg.norm(end - start)) or 1.0
        axis = (end - start) / width
        gap_now = align.mean_gap(points[list(halves.upper)], points[list(halves.lower)]) / width
        lacking = max(opening[eye] - gap_now, 0.0)
        for indices, share in ((halves.upper, UPPER_LID_SHARE), (halves.lower, UPPER_LID_SHARE - 1.0)):
            inner = list(indices[1:-1])
            along = np.clip((points[inner] - start) @ axis / width, 0.0, 1.0)
            # an arc whose gap a third and two thirds of the way, where eye_openness reads it, is what lacks
            gap = lacking * width * (np.sin(np.pi * along) / np.sin(np.pi / 3.0)) ** 0.7
            points[inner] += (shut * share * gap)[:, None] * up
    return points


def with_eyes_opened(landmarks68: np.ndarray) -> np.ndarray:
    """A still's 68 points with shut eyes parted to ``OPEN_EYE``: the face a preset is drawn on, whose
    openings then give the still's shut eyes something to open to and to blink from."""
    return with_lids_parted(landmarks68, EYES_68_LIDS, landmarks68)


def with_lids_parted(points: np.ndarray, lids, landmarks68: np.ndarray) -> np.ndarray:
    """``points`` (the 68 or the dense mesh; ``lids``: each eye's ``LoopHalves`` in them) with the lids of
    a shut-eyed still (read from its ``landmarks68``) parted to ``OPEN_EYE``."""
    return open_shut_lids(points, lids, shut_eyes(landmarks68), np.full(2, OPEN_EYE), face_up(landmarks68))


def face_up(landmarks68: np.ndarray) -> np.ndarray:
    """The unit vector from the mouth up to the eyes."""
    eyes = np.mean(align.eye_centres(landmarks68), axis=0)
    up = eyes - np.asarray(landmarks68, np.float64)[list(ibug68.MOUTH)].mean(axis=0)
    return up / (np.linalg.norm(up) or 1.0)


def set_eye_opening(source: np.ndarray, shape: np.ndarray, ratio: np.ndarray, lids,
                     skins: tuple[tuple[LidSkin, LidSkin], ...] | None = None) -> np.ndarray:
    """Move each eye's lids so its opening is ``ratio`` times the still's.

    Each lid point is paired with the opposite lid at the same position along the corner-to-corner axis;
    the pair closes towards their meeting point. The lids between the corners keep the still's shape: the
    driver's lid points also slide along its lids (another eye's shape, tracking noise), and carried over,
    that slide bent the still's lid arc (lia_taylor driven by ``lp_d3``: an opening of 0.73 of the still's
    where 0.92 was asked for). That shape goes where the expression put the eye's corners (a similarity):
    left where it was on the still, it fell behind corners that a raised cheek or a turning head had moved,
    the outline twisted, and the warp folded the eye (open-eye folds on 65-299 frames of the pairs looked
    at, ``avatarify_jobs`` + ``lp_d12`` frame 80: the iris's dark spilled over the lower lid).
    ``skins`` (upper, lower) per eye: skin that slides with each lid's closing.
    """
    shape = shape.copy()
    for eye, halves in enumerate(lids):
        corners = [halves.upper[0], halves.upper[-1]]
        with_corners = align.fit_similarity(source[corners], shape[corners])
        upper = align.apply(with_corners, source[list(halves.upper)])
        lower = align.apply(with_corners, source[list(halves.lower)])
        axis = upper[-1] - upper[0]
        axis = axis / (np.linalg.norm(axis) + 1e-9)
        for side, (indices, own, other, own_is_upper) in enumerate(((halves.upper, upper, lower, True),
                                                                    (halves.lower, lower, upper, False))):
            inner = list(indices[1:-1])  # the corners stay where the expression put them
            own_inner = own[1:-1]
            t_lid = (own_inner - upper[0]) @ axis
            opposite = align.polyline_at(other, t_lid, upper[0], axis)
            meet = _lid_meeting(own_inner, opposite) if own_is_upper else _lid_meeting(opposite, own_inner)
            closing = (1.0 - ratio[eye]) * (meet - own_inner)
            shape[inner] = own_inner + closing
            if skins is not None:
                skin = skins[eye][side]
                order = np.argsort(t_lid)
                slide = np.stack([np.interp(skin.t, t_lid[order], closing[order, k]) for k in (0, 1)], axis=1)
                shape[skin.indices] += skin.weight[:, None] * slide
    return shape
