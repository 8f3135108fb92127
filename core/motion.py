"""Motion transfer: from a driver's landmark track to target landmarks on the still.

Relative mode (the default) keeps the still's identity: the driver's head motion and its expression
*changes* relative to a neutral driver frame are applied to the still's own face shape, so a painting keeps
its proportions whoever drives it (the paper's weakness — Mona Lisa turning into the driver — cannot happen).
Absolute mode places the driver's face shape itself on the still.

Per frame:
1. head pose: the similarity taking the neutral driver frame to this frame, fitted on rigid points;
2. expression: this frame with its head pose undone, minus the neutral frame;
3. the expression is carried into the still's frame (scale/rotation between the two faces, then each
   point's local stretch across the face between them, so that on a three-quarter still the far half of
   the face, narrower, moves less) and multiplied by per-region gains; eyelids use the driver's
   eye-opening *ratio* to its typical opening instead, so a blink closes the still's eyes fully whatever
   the relative eye sizes, and keep the still's lid shape about the eye's corners; a lip thins and swells
   in proportion to its own thickness, not the driver's; inner lips never cross, and the lips push the
   skin round them rather than pass over it;
4. the head pose, expressed in the still's frame and scaled by the head gain, moves the result.
In relative mode the expression is added to the still's face at rest: a still with an open mouth (a smile
with teeth, a vowel) is first closed to the neutral driver frame's opening (``close_mouth``), so its mouth
closes and opens with the driver's instead of holding open all shot; a still whose eyes are shut has them
opened to the driver's typical opening first (``open_shut_lids``; the renderer paints the eyeballs).
A driver with only 68 points still moves the source's dense mesh: each dense point follows a fixed
region-aware interpolation of the 68 displacements.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from . import align
from .config import MotionConfig
from .landmarks import ibug68
from .landmarks import mediapipe_topology as mpt
from .landmarks.track import LandmarkTrack

REGIONS = ("head", "eyes", "brows", "mouth")
_LOWER_JAW = tuple(range(4, 13))  # the chin and lower jaw move with the mouth
# A still's open mouth closes to the driver's neutral opening when it is open wider than that by this
# much (mouth_openness: the inner-lips' gap over the mouth's width; a closed mouth reads about 0.01, a
# smile with teeth or a spoken vowel 0.15-0.3). Lips parted at rest (0.05-0.08) are the sitter's own look.
MOUTH_REST_MARGIN = 0.08
# Wider than this (a shout, a yawn) the still keeps its opening: folded shut, so tall a mouth reopens under
# a lopsided driver in long thin strips, spikes of tongue below the lip (a shouting woman, 0.70).
MOUTH_REST_WIDEST = 0.45
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
# The share of a closing mouth's gap that the upper lip takes; the jaw lifts the lower lip the rest.
UPPER_LIP_SHARE = 0.3
# A lip's thickness follows the driver's in proportion (the still's over the driver's at neutral, within
# these bounds): added as it is, the change of a full-lipped driver's lips swelled a thin-lipped still's
# into a red band that read as an open mouth, and thinned them to nothing at the widest openings.
LIP_THICKNESS_SCALE = (0.25, 2.0)
# The local maps from the driver's neutral face to the still's: each point's affine fit over the points
# round it, weighted by a Gaussian this many eye spans (outer corner to outer corner) wide, with the map's
# stretch kept within these bounds. Half an eye span sees a turned face's foreshortening (the far half of a
# three-quarter face, 0.6-0.7 as wide as a frontal driver's) but not a lip's or a lid's own shape.
LOCAL_MAP_REACH = 0.5
LOCAL_MAP_STRETCH = (0.5, 1.5)
# iBUG jaw points that rise with the closing lower lip, and the share of its rise each takes.
_CHIN_RISE = {4: 0.15, 5: 0.4, 6: 0.7, 7: 0.9, 8: 0.9, 9: 0.9, 10: 0.7, 11: 0.4, 12: 0.15}


def region_of_68() -> np.ndarray:
    """(68,) region index (into REGIONS) of each iBUG point."""
    labels = np.zeros(ibug68.COUNT, dtype=np.int64)
    labels[list(ibug68.EYES)] = REGIONS.index("eyes")
    labels[list(ibug68.BROWS)] = REGIONS.index("brows")
    labels[list(ibug68.MOUTH) + list(_LOWER_JAW)] = REGIONS.index("mouth")
    return labels


def eye_openness(landmarks68: np.ndarray) -> np.ndarray:
    """(..., 2) eye-aspect ratios (subject's right, left): lid gap over eye width."""
    p = np.asarray(landmarks68, dtype=np.float64)

    def ratio(c0, u1, u2, c1, l2, l1):
        gap = np.linalg.norm(p[..., u1, :] - p[..., l1, :], axis=-1) + np.linalg.norm(
            p[..., u2, :] - p[..., l2, :], axis=-1)
        return gap / (2.0 * np.linalg.norm(p[..., c0, :] - p[..., c1, :], axis=-1) + 1e-9)

    return np.stack([ratio(36, 37, 38, 39, 40, 41), ratio(42, 43, 44, 45, 46, 47)], axis=-1)


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


@dataclass
class TargetShapes:
    """Target landmarks for a run of frames, in the source's (crop) coordinates."""

    landmarks: np.ndarray  # (F, 68, 2)
    dense: np.ndarray | None  # (F, 478, 2)
    frame_numbers: np.ndarray  # (F,)
    neutral_frame: int | None = None  # the driver frame the motion is measured from (the whole track's)


class MotionTransfer:
    """Turns a driver track into target shapes for one source face (see the module docstring)."""

    def __init__(self, config: MotionConfig, source_landmarks: np.ndarray,
                 source_dense: np.ndarray | None = None):
        self.config = config
        self.src68 = np.asarray(source_landmarks, dtype=np.float64)
        self.src_dense = None if source_dense is None else np.asarray(source_dense, dtype=np.float64)
        self.labels68 = region_of_68()
        if self.src_dense is not None:
            self.dense_labels = self._dense_regions()
            self.lid_skins = tuple((lid_skin(self.src_dense, halves, True), lid_skin(self.src_dense, halves, False))
                                   for halves in DENSE_LIDS)
            self.dense_from_68 = interpolation_from_68(self.src68, self.src_dense)
            self.lip_surround = lip_surround(self.src_dense)

    # ------------------------------------------------------------------------------------- public
    def transfer(self, track: LandmarkTrack, frame_numbers: Sequence[int] | None = None) -> TargetShapes:
        """Target shapes for the frames ``frame_numbers`` of ``track``, all of them by default (frames without
        a face hold the nearest pose). The neutral frame and the typical eye opening always come from the
        whole track, so a farm chunk's shapes are the whole shot's rows for its frames."""
        track = _fill_missing(track)
        rows = (np.arange(len(track)) if frame_numbers is None
                else np.flatnonzero(np.isin(track.frame_numbers, np.asarray(frame_numbers))))
        neutral = choose_neutral(track, "first" if track.meta.get("preset") else self.config.neutral)
        drv = track.landmarks.astype(np.float64)
        drv_dense = None if track.dense is None else track.dense.astype(np.float64)
        rigid = list(align.RIGID_68)
        to_source = align.fit_similarity(drv[neutral][rigid], self.src68[rigid])
        link = to_source[:, :2]
        centre = self.src68[rigid].mean(0)
        gains = self.config.gains
        gain_of = np.array([getattr(gains, name) for name in REGIONS])
        open_reference = typical_eye_opening(drv, track.valid)
        # Opening shut eyes is eye motion: an eyes gain of 0 keeps them shut.
        shut, up = shut_eyes(self.src68) * min(gains.eyes, 1.0), _face_up(self.src68)
        src68_open = open_shut_lids(self.src68, _EYES_68_LIDS, shut, open_reference, up)
        dense_open = (None if self.src_dense is None
                      else open_shut_lids(self.src_dense, DENSE_LIDS, shut, open_reference, up))
        open_src = eye_openness(src68_open)
        mode_absolute = self.config.mode == "absolute"
        rest68, rest_dense = self.src68, self.src_dense
        if not mode_absolute and self.config.close_mouth:
            rest68, rest_dense = self._mouth_at_rest(float(mouth_openness(drv[neutral])))

        eye_line = self.src68[45] - self.src68[36]
        # The maps compare the two faces at rest: a still's open mouth is its expression, not its shape.
        maps68 = LocalMaps(rest68, drv[neutral] @ link.T, eye_line)
        lips68 = LipThickness(self.src68, maps68.driver_mapped, _INNER_LIPS_68, _OUTER_LIPS_68)
        lips_dense = maps_dense = None
        if self.src_dense is not None and drv_dense is not None and np.isfinite(drv_dense[neutral]).all():
            maps_dense = LocalMaps(rest_dense, drv_dense[neutral] @ link.T, eye_line)
            lips_dense = LipThickness(self.src_dense, maps_dense.driver_mapped, DENSE_INNER_LIPS,
                                      DENSE_OUTER_LIPS, DENSE_LIP_RINGS)
        out68 = np.empty((len(rows), *drv.shape[1:]))
        out_dense = None if self.src_dense is None else np.empty((len(rows), len(self.src_dense), 2))
        for out, row in enumerate(rows):
            pose = align.fit_similarity(drv[neutral][rigid], drv[row][rigid])  # neutral -> this frame
            unposed = align.apply(align.invert(pose), drv[row]).astype(np.float64)
            if mode_absolute:
                delta68 = align.apply(to_source, unposed).astype(np.float64) - self.src68
                ratio = np.clip(eye_openness(drv[row]) / np.maximum(open_src, 1e-3), 0.0, 2.0)
            else:
                delta68 = lips68.scale(maps68.carry((unposed - drv[neutral]) @ link.T))
                ratio = eye_closing_targets(eye_openness(drv[row]), open_reference, gains.eyes)
            delta68 = delta68 * gain_of[self.labels68][:, None]
            head = align.scale_motion(align.compose(to_source, align.compose(pose, align.invert(to_source))),
                                      gains.head, centre)
            if out_dense is None:
                shape68 = _set_eye_opening(src68_open, rest68 + delta68, ratio, _EYES_68_LIDS)
                out68[out] = align.apply(head, _uncross(shape68, _INNER_LIPS_68))
                continue
            dense = self._dense_shape(drv_dense, neutral, row, pose, link, delta68, gain_of,
                                      mode_absolute, to_source, rest_dense, lips_dense, maps_dense)
            dense = _set_eye_opening(dense_open, dense, ratio, DENSE_LIDS, self.lid_skins)
            dense = _outside_lips(_uncross(dense, DENSE_INNER_LIPS), self.lip_surround)
            dense = align.apply(head, dense)
            out_dense[out] = dense
            out68[out] = mpt.to_ibug68(dense)
        return TargetShapes(out68.astype(np.float32),
                            None if out_dense is None else out_dense.astype(np.float32),
                            track.frame_numbers[rows], int(track.frame_numbers[neutral]))

    # ------------------------------------------------------------------------------------ helpers
    def _dense_regions(self) -> np.ndarray:
        """Region of each dense point: explicit contours first, else the nearest 68 point's region."""
        dist = np.linalg.norm(self.src_dense[:, None, :] - self.src68[None, :, :], axis=-1)
        labels = self.labels68[np.argmin(dist, axis=1)]
        labels[list(mpt.EYE_POINTS)] = REGIONS.index("eyes")
        labels[list(mpt.BROW_POINTS)] = REGIONS.index("brows")
        labels[list(mpt.LIP_POINTS)] = REGIONS.index("mouth")
        return labels

    def _mouth_at_rest(self, rest_openness: float) -> tuple[np.ndarray, np.ndarray | None]:
        """The still's shapes (68, dense) with an open mouth closed to ``rest_openness``.

        Relative motion adds the driver's opening to the still's own; a still with an open mouth (a smile
        with teeth, a vowel) would then never close, and open wider than the driver whenever it speaks.
        Closing it first to the driver's neutral opening makes it follow the driver's mouth; the warp
        folds the still's open mouth shut and reopens it, teeth and all, as the driver opens.
        """
        still_openness = float(mouth_openness(self.src68))
        if not rest_openness + MOUTH_REST_MARGIN < still_openness <= MOUTH_REST_WIDEST:
            return self.src68, self.src_dense
        close = 1.0 - rest_openness / still_openness
        down = self.src68[8] - self.src68[27]  # nose bridge to chin
        down = down / (np.linalg.norm(down) + 1e-9)
        offset68 = _closing_offsets(self.src68, _INNER_LIPS_68, _OUTER_LIPS_68, close, down)
        lower_rise = offset68[list(_INNER_LIPS_68.lower[1:-1])].mean(axis=0)
        for point, share in _CHIN_RISE.items():
            offset68[point] = share * lower_rise
        if self.src_dense is None:
            return self.src68 + offset68, None
        lips = list(mpt.LIP_RING_POINTS)
        chin = list(_CHIN_RISE)
        anchors = np.vstack([self.src_dense[lips], self.src68[chin]])
        lip_offsets = _closing_offsets(self.src_dense, DENSE_INNER_LIPS, DENSE_OUTER_LIPS, close, down,
                                       DENSE_LIP_RINGS)[lips]
        anchor_offsets = np.vstack([lip_offsets, offset68[chin]])
        eye_span = float(np.linalg.norm(self.src68[36] - self.src68[45]))
        offset = _fading_weights(self.src_dense, anchors, eye_span) @ anchor_offsets
        offset[lips] = lip_offsets
        return self.src68 + offset68, self.src_dense + offset

    def _dense_shape(self, drv_dense, neutral, row, pose, link, delta68, gain_of, absolute, to_source,
                     rest_dense, lips, maps):
        if drv_dense is None or not np.isfinite(drv_dense[row]).all() or (lips is None and not absolute):
            return rest_dense + self.dense_from_68 @ delta68  # (no dense neutral frame either: its 68 points)
        unposed = align.apply(align.invert(pose), drv_dense[row]).astype(np.float64)
        if absolute:
            delta = align.apply(to_source, unposed).astype(np.float64) - self.src_dense
        else:
            delta = lips.scale(maps.carry((unposed - drv_dense[neutral]) @ link.T))
        return rest_dense + delta * gain_of[self.dense_labels][:, None]


# ---------------------------------------------------------------------------------- eyes and lips
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


@dataclass(frozen=True)
class LoopHalves:
    """The upper and lower halves of a lip or eye contour, each from one corner to the other."""

    upper: tuple[int, ...]
    lower: tuple[int, ...]


_EYES_68_LIDS = (LoopHalves((36, 37, 38, 39), (36, 41, 40, 39)), LoopHalves((42, 43, 44, 45), (42, 47, 46, 45)))
_INNER_LIPS_68 = LoopHalves((60, 61, 62, 63, 64), (60, 67, 66, 65, 64))
_OUTER_LIPS_68 = LoopHalves((48, 49, 50, 51, 52, 53, 54), (48, 59, 58, 57, 56, 55, 54))
DENSE_LIDS = (LoopHalves(mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), LoopHalves(mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER))
DENSE_INNER_LIPS = LoopHalves(mpt.INNER_LIP_UPPER, mpt.INNER_LIP_LOWER)
DENSE_OUTER_LIPS = LoopHalves(mpt.OUTER_LIP_UPPER, mpt.OUTER_LIP_LOWER)
DENSE_LIP_RINGS = tuple(LoopHalves(upper, lower) for upper, lower in zip(mpt.UPPER_LIP_RINGS, mpt.LOWER_LIP_RINGS))


class LocalMaps:
    """Each point's local linear map from the driver's neutral face (``driver``, in the still's scale and
    orientation) to the still's face: a Gaussian-weighted affine fit over the points round it.

    The similarity between the two faces leaves what differs locally: on a three-quarter still the far half
    of the face is narrower than a frontal driver's and its midline slants, and a frontal driver's smile
    carried unchanged pulled that mouth corner towards the cheek's outline. Carried through these maps, a
    motion shrinks, stretches and turns as the still's face does there (first-order motion transfer, as in
    Siarohin et al. 2019, with the local maps taken from the two faces' landmarks)."""

    def __init__(self, still: np.ndarray, driver: np.ndarray, eye_line: np.ndarray):
        eye_span = float(np.linalg.norm(eye_line))
        reach = LOCAL_MAP_REACH * eye_span
        weights = np.exp(-((still[:, None] - still[None]) ** 2).sum(-1) / (2.0 * reach * reach))
        weights /= weights.sum(axis=1, keepdims=True)
        still_mean, driver_mean = weights @ still, weights @ driver
        still_off = still[None] - still_mean[:, None]  # (point, neighbour, 2)
        driver_off = driver[None] - driver_mean[:, None]
        cross = np.einsum("ij,ijk,ijl->ikl", weights, still_off, driver_off)
        spread = np.einsum("ij,ijk,ijl->ikl", weights, driver_off, driver_off)
        linear = cross @ np.linalg.inv(spread + 1e-9 * np.eye(2))
        u, stretch, vt = np.linalg.svd(linear)
        linear = u @ (np.clip(stretch, *LOCAL_MAP_STRETCH)[..., None] * vt)
        # Keep each map's scale along the face (perpendicular to the eye line): between two faces seen from
        # the front it is mostly the sitter's own proportions (a short chin), and a jaw drop shrunk with it
        # read as a mouth that barely opened (the 50 cross pairs: openings about a tenth smaller, dlib's
        # mouth r 0.752 -> 0.726). A head's turn foreshortens across the face, which the maps keep, and
        # slants its midline, which their shear keeps.
        across = eye_line / eye_span
        face = np.array([across, [-across[1], across[0]]])  # rows: across the face, along it
        in_face = face @ linear @ face.T
        in_face[:, 1, :] /= in_face[:, 1, 1:2]
        self.linear = face.T @ in_face @ face
        # The driver's neutral face as the maps carry it: the still's shape, but for what the Gaussian smooths.
        self.driver_mapped = self.carry(driver - driver_mean) + still_mean

    def carry(self, delta: np.ndarray) -> np.ndarray:
        """Per-point motion (driver's, in the still's scale) through each point's map."""
        return np.einsum("ikl,il->ik", self.linear, delta)


class LipThickness:
    """Scales the part of each lip point's motion that changes the lip's thickness (its motion less that of
    the inner lip across from it) by the still's thickness over the driver's at neutral, so that a lip thins
    and swells in proportion to its own thickness. ``driver`` is the driver's neutral shape in the still's
    scale; the ``rings`` between the contours (same columns as the inner lips) follow their columns."""

    def __init__(self, still: np.ndarray, driver: np.ndarray, inner: LoopHalves, outer: LoopHalves,
                 rings: tuple[LoopHalves, ...] = ()):
        self.columns = []  # (lip points, the inner half, weights onto it, thickness scales)
        for side in ("upper", "lower"):
            inner_half = list(getattr(inner, side))
            for half in [list(getattr(outer, side))] + [list(getattr(ring, side)) for ring in rings]:
                points = half[1:-1]  # the corners: no thickness
                weights = _resampling_weights(len(inner_half), len(half))[1:-1]
                thickness = [np.linalg.norm(shape[points] - weights @ shape[inner_half], axis=1)
                             for shape in (still, driver)]
                scales = np.clip(thickness[0] / np.maximum(thickness[1], 1e-6), *LIP_THICKNESS_SCALE)
                self.columns.append((points, inner_half, weights, scales))

    def scale(self, delta: np.ndarray) -> np.ndarray:
        """``delta`` (driver motion in the still's scale, per point) with the lips' thickness change scaled."""
        delta = delta.copy()
        for points, inner_half, weights, scales in self.columns:
            across = weights @ delta[inner_half]
            delta[points] = across + scales[:, None] * (delta[points] - across)
        return delta


def _resampling_weights(count_from: int, count_to: int) -> np.ndarray:
    """(count_to, count_from) linear interpolation weights between two polylines' points spaced evenly by
    index, ends matched (a lip contour of 7 points over one of 5)."""
    at = np.linspace(0.0, count_from - 1.0, count_to)
    low = np.minimum(np.floor(at).astype(int), count_from - 2)
    frac = at - low
    weights = np.zeros((count_to, count_from))
    weights[np.arange(count_to), low] = 1.0 - frac
    weights[np.arange(count_to), low + 1] = frac
    return weights


def _closing_offsets(points: np.ndarray, inner: LoopHalves, outer: LoopHalves, close: float,
                     down: np.ndarray, rings: tuple[LoopHalves, ...] = ()) -> np.ndarray:
    """Offsets of every point (zero but the lips) that close the inner-lip gap by the fraction ``close``.

    Each inner-lip point closes on the opposite lip's point of the same column (the halves run corner to
    corner in step); the lower lip, carried by the jaw, takes most of the way. Each outer-lip point ends up
    as far from its column's inner point as on the still, but along the face's ``down`` (``up`` for the
    upper lip), blended there by ``close``: the sides of a shout's U-shaped lower lip lie beside the
    opening, and carried up as they are they would leave the closed lip on its side. The ``rings`` of
    points between the contours (inner ring first, each in step with the contours) move in proportion.
    Corners stay.
    """
    offsets = np.zeros_like(points)
    gap = points[list(inner.upper[1:-1])] - points[list(inner.lower[1:-1])]  # lower lip to upper lip
    offsets[list(inner.upper[1:-1])] = -UPPER_LIP_SHARE * close * gap
    offsets[list(inner.lower[1:-1])] = (1.0 - UPPER_LIP_SHARE) * close * gap
    for outer_half, inner_half, sign in ((outer.upper, inner.upper, -1.0), (outer.lower, inner.lower, 1.0)):
        across = _resampling_weights(len(inner_half), len(outer_half))[1:-1]  # the inner lip at each outer point
        inner_now = points[list(inner_half)]
        at = [across @ inner_now, across @ (inner_now + offsets[list(inner_half)])]
        own = points[list(outer_half[1:-1])]
        thickness = np.linalg.norm(own - at[0], axis=1)
        upright = at[1] + sign * thickness[:, None] * down
        offsets[list(outer_half[1:-1])] = (1.0 - close) * (own + (at[1] - at[0])) + close * upright - own
    return _along_columns(offsets, inner, outer, rings)  # the corners' offsets are zero: theirs stay zero


def _along_columns(rows: np.ndarray, inner: LoopHalves, outer: LoopHalves,
                   rings: tuple[LoopHalves, ...]) -> np.ndarray:
    """``rows`` (one per point: an offset, a row of weights) with each lip ring point's set in proportion
    between its column's inner and outer lip points' (ring k of n at (k + 1) / (n + 1) of the way out, inner
    ring first, corners included), in place: the rings between the lip contours move with their columns."""
    for ring_pair, share in zip(rings, np.arange(1, len(rings) + 1) / (len(rings) + 1)):
        for ring, inner_half, outer_half in ((ring_pair.upper, inner.upper, outer.upper),
                                             (ring_pair.lower, inner.lower, outer.lower)):
            rows[list(ring)] = (1.0 - share) * rows[list(inner_half)] + share * rows[list(outer_half)]
    return rows


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
    return with_lids_parted(landmarks68, _EYES_68_LIDS, landmarks68)


def with_lids_parted(points: np.ndarray, lids, landmarks68: np.ndarray) -> np.ndarray:
    """``points`` (the 68 or the dense mesh; ``lids``: each eye's ``LoopHalves`` in them) with the lids of
    a shut-eyed still (read from its ``landmarks68``) parted to ``OPEN_EYE``."""
    return open_shut_lids(points, lids, shut_eyes(landmarks68), np.full(2, OPEN_EYE), _face_up(landmarks68))


def _face_up(landmarks68: np.ndarray) -> np.ndarray:
    """The unit vector from the mouth up to the eyes."""
    eyes = np.mean(align.eye_centres(landmarks68), axis=0)
    up = eyes - np.asarray(landmarks68, np.float64)[list(ibug68.MOUTH)].mean(axis=0)
    return up / (np.linalg.norm(up) or 1.0)


def _set_eye_opening(source: np.ndarray, shape: np.ndarray, ratio: np.ndarray, lids,
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


@dataclass(frozen=True)
class LipSurround:
    """Skin round the lips, each point placed against its nearest segment of the outer lip loop: the
    segment's index and place along it, the point's distance from there and its direction in the segment's
    own frame (along, across)."""

    indices: np.ndarray  # (S,) dense rows
    segment: np.ndarray  # (S,) index into OUTER_LIP_LOOP of the segment's first point
    along: np.ndarray  # (S,) 0..1 along the segment
    distance: np.ndarray  # (S,) on the still
    direction: np.ndarray  # (S, 2) unit, in the segment's (along, across) frame


OUTER_LIP_LOOP = np.array(mpt.OUTER_LIP_UPPER + mpt.OUTER_LIP_LOWER[-2:0:-1])
_FACE_OUTLINE = np.array(mpt.FACE_OVAL)
LIP_SURROUND_REACH = 0.8  # of the mouth's width: the skin round the lips that they push
LIP_SKIN_KEPT = 0.25  # share of its distance from the lips a skin point keeps however far the lips move
PUSH_REACH = 2.0  # a push is at most this many times the skin's shortfall from the lips' nearest point
OUTLINE_PUSH_SPREAD = (0.1, 0.2, 0.4, 0.2, 0.1)  # how a push spreads to the outline's neighbours, -2..2


def lip_surround(points: np.ndarray) -> LipSurround:
    """The skin points within ``LIP_SURROUND_REACH`` mouth widths outside the outer lips (``_outside_lips``)."""
    loop = points[OUTER_LIP_LOOP]
    edge = np.roll(loop, -1, axis=0) - loop
    width = float(np.linalg.norm(points[mpt.OUTER_LIP_UPPER[-1]] - points[mpt.OUTER_LIP_UPPER[0]])) or 1.0
    candidates = np.setdiff1d(np.arange(mpt.FACE_MESH_COUNT), np.array(mpt.LIP_POINTS))
    candidates = candidates[~align.inside_polygon(points[candidates], loop)]
    t, offsets, distance = _onto_loop_segments(points[candidates], loop)
    nearest = np.argmin(distance, axis=1)
    rows = np.arange(len(candidates))
    d0 = distance[rows, nearest]
    keep = (d0 < LIP_SURROUND_REACH * width) & (d0 > 1e-6)
    rows, nearest = rows[keep], nearest[keep]
    axis, normal = _segment_frame(edge[nearest])
    offset = offsets[rows, nearest] / d0[keep][:, None]
    direction = np.stack([(offset * axis).sum(axis=1), (offset * normal).sum(axis=1)], axis=1)
    return LipSurround(candidates[keep], nearest, t[rows, nearest], d0[keep], direction)


def _outside_lips(shape: np.ndarray, surround: LipSurround) -> np.ndarray:
    """``shape`` with the skin round the lips kept outside them: a lip that the driver's motion moves
    further than the still's skin beside it allows (the driver's lips and chin differ from the still's)
    pushes that skin ahead of it, so each point keeps at least ``LIP_SKIN_KEPT`` of its distance from the
    lip. Left alone, on the Mona Lisa driven wide open by ``lp_d10`` (frame 99) the lower lip moved 44 px,
    the skin under it 22 and the chin 14: the lip passed over the skin, and the warp tore a flap under it.

    A point moves straight out from its nearest lip segment on the still, in that segment's frame as it
    turns, which keeps the skin round a lip in order as the lip moves; but never more than ``PUSH_REACH``
    times what it lacks of its kept distance from the lips as they now are. Without that bound, a pout
    that turns the mouth's corners upright turned their frames with them and pushed skin far from any
    lip: the cheek 50-70 px across the face and the face's outline into a zigzag (the Mona Lisa crop
    driven by ``lp_d12``, frame 80). Twice, not once: a push of just what is lacking, straight from the
    nearest point, left skin beside the lips that folded over them more often (``bench/mesh_folds.py``).
    The face's outline is pushed as a curve: each outline point's push is shared with its neighbours
    along the outline (``OUTLINE_PUSH_SPREAD``)."""
    loop = shape[OUTER_LIP_LOOP]
    starts = loop[surround.segment]
    edge = np.roll(loop, -1, axis=0)[surround.segment] - starts
    axis, normal = _segment_frame(edge)
    direction = surround.direction[:, :1] * axis + surround.direction[:, 1:] * normal
    anchor = starts + surround.along[:, None] * edge
    points = shape[surround.indices]
    kept = LIP_SKIN_KEPT * surround.distance
    short = kept - ((points - anchor) * direction).sum(axis=1)
    close = short > 0.0
    if not close.any():
        return shape
    short[close] = np.minimum(short[close], PUSH_REACH * (kept[close] - _signed_distance(points[close], loop)))
    push = np.zeros_like(shape)
    push[surround.indices] = np.maximum(short, 0.0)[:, None] * direction
    # A push of one outline point alone cut a notch into the cheek where a three-quarter face's far mouth
    # corner reaches the outline (the Girl with a Pearl Earring under lp_d6: on most frames).
    along = push[_FACE_OUTLINE]
    push[_FACE_OUTLINE] = sum(w * np.roll(along, k, axis=0) for k, w in zip(range(-2, 3), OUTLINE_PUSH_SPREAD))
    return shape + push


def _onto_loop_segments(points: np.ndarray, loop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point against each segment of the closed polygon ``loop`` (segment k from point k to k + 1):
    (P, S) place of its foot along the segment (0..1), (P, S, 2) offset from the foot, (P, S) distance."""
    edge = np.roll(loop, -1, axis=0) - loop
    rel = points[:, None, :] - loop[None]
    t = np.clip((rel * edge[None]).sum(axis=2) / np.maximum((edge ** 2).sum(axis=1), 1e-12)[None], 0.0, 1.0)
    offsets = rel - t[..., None] * edge[None]
    return t, offsets, np.linalg.norm(offsets, axis=2)


def _signed_distance(points: np.ndarray, loop: np.ndarray) -> np.ndarray:
    """Each point's distance from the closed polygon ``loop``, negative inside it."""
    distance = _onto_loop_segments(points, loop)[2].min(axis=1)
    return np.where(align.inside_polygon(points, loop), -distance, distance)


def _segment_frame(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit along, unit across) of each segment of the lip loop: the frame a skin point is placed in."""
    axis = edges / np.maximum(np.linalg.norm(edges, axis=1), 1e-9)[:, None]
    return axis, np.stack([-axis[:, 1], axis[:, 0]], axis=1)


def _uncross(shape: np.ndarray, lips: LoopHalves) -> np.ndarray:
    """Inner lips may touch but not pass through each other (y grows downwards on an upright face)."""
    shape = shape.copy()
    upper, lower = list(lips.upper[1:-1]), list(lips.lower[1:-1])
    t_upper = shape[upper, 0]
    lower_y = np.interp(t_upper, *_sorted_xy(shape[lower]))
    crossed = shape[upper, 1] > lower_y
    if crossed.any():
        mid = (shape[upper, 1] + lower_y) / 2.0
        shape[np.array(upper)[crossed], 1] = mid[crossed]
        upper_y = np.interp(shape[lower, 0], *_sorted_xy(shape[upper]))
        below = shape[lower, 1] < upper_y
        shape[np.array(lower)[below], 1] = upper_y[below]
    return shape


def _sorted_xy(points: np.ndarray):
    order = np.argsort(points[:, 0])
    return points[order, 0], points[order, 1]


# ----------------------------------------------------------------------------- 68 -> dense motion
def interpolation_from_68(src68: np.ndarray, src_dense: np.ndarray) -> np.ndarray:
    """(D, 68) weights: a dense point's displacement as a blend of the 68 points' displacements.

    Inverse-distance weights (``_fading_weights``), region-aware: points of an upper lip or lid never take
    motion from the opposite lip or lid (on a closed mouth they lie on top of each other). The rings of
    points between the inner and outer lips move with their columns, in proportion, as in
    ``_closing_offsets``: weighted on their own, they took some of the opposite lip's motion, dropped with
    an opening mouth while the outer edge stayed, and turned the lip inside out at its corners.
    """
    forbidden = np.zeros((len(src_dense), len(src68)), dtype=bool)
    upper_lip, lower_lip = set(mpt.UPPER_LIP_POINTS), set(mpt.LOWER_LIP_POINTS)
    groups = [(upper_lip, (*range(55, 60), *range(65, 68))), (lower_lip, (*range(49, 54), *range(61, 64)))]
    for halves, (upper_68, lower_68) in zip(DENSE_LIDS, (((37, 38), (40, 41)), ((43, 44), (46, 47)))):
        groups += [(set(halves.upper[1:-1]), lower_68), (set(halves.lower[1:-1]), upper_68)]
    for dense_points, opposite in groups:
        forbidden[np.ix_(sorted(dense_points), list(opposite))] = True
    not_lips = np.setdiff1d(np.arange(len(src_dense)), sorted(upper_lip | lower_lip))
    forbidden[np.ix_(not_lips, list(ibug68.INNER_LIPS))] = True
    weights = _fading_weights(src_dense, src68, float(np.linalg.norm(src68[36] - src68[45])), forbidden)
    return _along_columns(weights, DENSE_INNER_LIPS, DENSE_OUTER_LIPS, DENSE_LIP_RINGS)


def _fading_weights(points: np.ndarray, anchors: np.ndarray, scale: float,
                    forbidden: np.ndarray | None = None) -> np.ndarray:
    """(P, A) weights blending the anchors' displacements at each point: inverse cube of the distance
    (``scale`` apart counts as 1), normalised, and fading out with the distance to the nearest anchor, so
    far points (the hairline) are not dragged by the mouth. ``forbidden`` (P, A): pairs that weigh nothing.
    """
    dist = np.linalg.norm(points[:, None, :] - anchors[None, :, :], axis=-1)
    weights = 1.0 / np.maximum(dist / scale, 1e-3) ** 3
    if forbidden is not None:
        weights[forbidden] = 0.0
    weights /= weights.sum(axis=1, keepdims=True)
    fade = np.exp(-(dist.min(axis=1) / (0.6 * scale)) ** 2)
    return weights * fade[:, None]


def _fill_missing(track: LandmarkTrack) -> LandmarkTrack:
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
