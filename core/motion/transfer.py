"""Motion transfer: from a driver's landmark track to target landmarks on the still.

Relative mode (the default) keeps the still's identity: the driver's head motion and its expression
*changes* relative to a neutral driver frame are applied to the still's own face shape, so a painting keeps
its proportions whoever drives it (the paper's weakness — Mona Lisa turning into the driver — cannot happen).
Absolute mode places the driver's face shape itself on the still.

Per frame:
1. head pose: the similarity taking the neutral driver frame to this frame, fitted on rigid points;
2. expression: this frame with its head pose undone, and its turn and nod (which a 2D pose cannot take)
   replaced by the ones the still makes — scaled by the head gain, held back past ``max_turn``
   (``head_turn``) — minus the neutral frame;
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

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import align
from ..config import MotionConfig
from ..landmarks import ibug68
from ..landmarks import mediapipe_topology as mpt
from ..landmarks.track import LandmarkTrack
from .contours import (DENSE_INNER_LIPS, DENSE_LIDS, DENSE_LIP_RINGS, DENSE_OUTER_LIPS, EYES_68_LIDS, INNER_LIPS_68,
                       OUTER_LIPS_68)
from .dense import interpolation_from_68
from .eyes import (eye_closing_targets, face_up, far_eye_as_near, lid_skin, open_shut_lids, set_eye_opening,
                   shut_eyes)
from .head_turn import HeadTurn, held_angle
from .lip_push import lip_surround, outside_lips
from .lips import LipThickness, uncross
from .local_maps import LocalMaps
from .mouth_rest import mouth_at_rest
from .neutral import choose_neutral, fill_missing
from .openness import eye_openness, mouth_openness, typical_eye_opening

REGIONS = ("head", "eyes", "brows", "mouth")
_LOWER_JAW = tuple(range(4, 13))  # the chin and lower jaw move with the mouth


def region_of_68() -> np.ndarray:
    """(68,) region index (into REGIONS) of each iBUG point."""
    labels = np.zeros(ibug68.COUNT, dtype=np.int64)
    labels[list(ibug68.EYES)] = REGIONS.index("eyes")
    labels[list(ibug68.BROWS)] = REGIONS.index("brows")
    labels[list(ibug68.MOUTH) + list(_LOWER_JAW)] = REGIONS.index("mouth")
    return labels


@dataclass
class TargetShapes:
    """Target landmarks for a run of frames, in the source's (crop) coordinates."""

    landmarks: np.ndarray  # (F, 68, 2)
    dense: np.ndarray | None  # (F, 478, 2)
    frame_numbers: np.ndarray  # (F,)
    neutral_frame: int | None = None  # the driver frame the motion is measured from (the whole track's)
    turns: np.ndarray | None = None  # (F,) the driver's yaw from that frame (radians, ``HeadTurn.fit``)

    def turn_of(self, row: int) -> float:
        """The driver's yaw on ``row`` (radians); 0 where the shapes carry none."""
        return 0.0 if self.turns is None else float(self.turns[row])


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
        track = fill_missing(track)
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
        shut, up = shut_eyes(self.src68) * min(gains.eyes, 1.0), face_up(self.src68)
        src68_open = open_shut_lids(self.src68, EYES_68_LIDS, shut, open_reference, up)
        dense_open = (None if self.src_dense is None
                      else open_shut_lids(self.src_dense, DENSE_LIDS, shut, open_reference, up))
        open_src = eye_openness(src68_open)
        mode_absolute = self.config.mode == "absolute"
        rest68, rest_dense = self.src68, self.src_dense
        if not mode_absolute and self.config.close_mouth:
            rest68, rest_dense = mouth_at_rest(self.src68, self.src_dense, float(mouth_openness(drv[neutral])))

        eye_line = self.src68[45] - self.src68[36]
        # The maps compare the two faces at rest: a still's open mouth is its expression, not its shape.
        maps68 = LocalMaps(rest68, drv[neutral] @ link.T, eye_line)
        lips68 = LipThickness(self.src68, maps68.driver_mapped, INNER_LIPS_68, OUTER_LIPS_68)
        lips_dense = maps_dense = None
        if self.src_dense is not None and drv_dense is not None and np.isfinite(drv_dense[neutral]).all():
            maps_dense = LocalMaps(rest_dense, drv_dense[neutral] @ link.T, eye_line)
            lips_dense = LipThickness(self.src_dense, maps_dense.driver_mapped, DENSE_INNER_LIPS,
                                      DENSE_OUTER_LIPS, DENSE_LIP_RINGS)
        turn = HeadTurn(drv[neutral], None if maps_dense is None else drv_dense[neutral])
        out68 = np.empty((len(rows), *drv.shape[1:]))
        out_dense = None if self.src_dense is None else np.empty((len(rows), len(self.src_dense), 2))
        poses, pose_free = turn.pose_free(drv[rows])
        fitted = turn.fit(pose_free)
        shown = held_angle(fitted, gains.head, self.config.max_turn)
        for out, (row, pose) in enumerate(zip(rows, poses)):
            change68, change_dense = ((0.0, 0.0) if np.array_equal(shown[out], fitted[out])
                                      else turn.retarget(fitted[out], shown[out]))
            unposed = pose_free[out] + change68
            opening = far_eye_as_near(eye_openness(drv[row]), open_reference, drv[row], drv[neutral], fitted[out, 0])
            if mode_absolute:
                delta68 = align.apply(to_source, unposed).astype(np.float64) - self.src68
                ratio = np.clip(opening / np.maximum(open_src, 1e-3), 0.0, 2.0)
            else:
                delta68 = lips68.scale(maps68.carry((unposed - drv[neutral]) @ link.T))
                ratio = eye_closing_targets(opening, open_reference, gains.eyes)
            delta68 = delta68 * gain_of[self.labels68][:, None]
            head = align.scale_motion(align.compose(to_source, align.compose(pose, align.invert(to_source))),
                                      gains.head, centre)
            if out_dense is None:
                shape68 = set_eye_opening(src68_open, rest68 + delta68, ratio, EYES_68_LIDS)
                out68[out] = align.apply(head, uncross(shape68, INNER_LIPS_68))
                continue
            dense = self._dense_shape(drv_dense, neutral, row, pose, link, delta68, gain_of, mode_absolute,
                                      to_source, rest_dense, lips_dense, maps_dense, change_dense)
            dense = set_eye_opening(dense_open, dense, ratio, DENSE_LIDS, self.lid_skins)
            dense = outside_lips(uncross(dense, DENSE_INNER_LIPS), self.lip_surround)
            dense = align.apply(head, dense)
            out_dense[out] = dense
            out68[out] = mpt.to_ibug68(dense)
        return TargetShapes(out68.astype(np.float32),
                            None if out_dense is None else out_dense.astype(np.float32),
                            track.frame_numbers[rows], int(track.frame_numbers[neutral]),
                            fitted[:, 0].astype(np.float32))

    # ------------------------------------------------------------------------------------ helpers
    def _dense_regions(self) -> np.ndarray:
        """Region of each dense point: explicit contours first, else the nearest 68 point's region."""
        dist = np.linalg.norm(self.src_dense[:, None, :] - self.src68[None, :, :], axis=-1)
        labels = self.labels68[np.argmin(dist, axis=1)]
        labels[list(mpt.EYE_POINTS)] = REGIONS.index("eyes")
        labels[list(mpt.BROW_POINTS)] = REGIONS.index("brows")
        labels[list(mpt.LIP_POINTS)] = REGIONS.index("mouth")
        return labels

    def _dense_shape(self, drv_dense, neutral, row, pose, link, delta68, gain_of, absolute, to_source,
                     rest_dense, lips, maps, turn_change):
        if drv_dense is None or not np.isfinite(drv_dense[row]).all() or lips is None:
            return rest_dense + self.dense_from_68 @ delta68  # (no dense neutral frame either: its 68 points)
        unposed = align.apply(align.invert(pose), drv_dense[row]).astype(np.float64) + turn_change
        if absolute:
            delta = align.apply(to_source, unposed).astype(np.float64) - self.src_dense
        else:
            delta = lips.scale(maps.carry((unposed - drv_dense[neutral]) @ link.T))
        return rest_dense + delta * gain_of[self.dense_labels][:, None]
