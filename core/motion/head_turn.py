"""The head's turn and nod told apart from the expression, so that the head gain scales them and a turn too
large for a 2D warp is held back.

The head pose that relative motion fits per frame is a 2D similarity (roll, scale, travel). A head that
turns or nods also changes the face's shape in the image — the nose passes over the near cheek, the far half
narrows — and that change was carried as expression: the head gain did not scale it, and a driver turned
40° from its neutral frame asked the warp for a 40° turn, which it can only fake by squeezing the far half
of the still's face until it creases (docs/quality.md, "Where the warp renderer fails"). Here each frame's
turn (yaw) and nod (pitch) are fitted on the rigid points of its pose-free shape with a generic face depth
(``face_depth``), and the image motion of that rotation is replaced by the motion of the rotation the still
should make: scaled by the head gain, and past ``MotionConfig.max_turn``'s knee drawn smoothly towards it.
What the generic depth does not explain (a nose longer than the table's) stays in the expression.
"""

from __future__ import annotations

import numpy as np

from .. import align
from ..landmarks.mediapipe_topology import IBUG68_MATRIX
from .face_depth import FACE_DEPTH

RIGID_68 = list(align.RIGID_68)
FIT_STEPS = 6  # Gauss-Newton steps of the (yaw, pitch) fit: on turns of 55° four settle it to 0.005°
STEP = 1e-3  # radians, for the fit's numerical derivatives
KNEE = 0.5  # share of ``max_turn`` shown unchanged; past it the turn bends smoothly towards ``max_turn``


def held_angle(angle: np.ndarray, gain: float, max_turn: float) -> np.ndarray:
    """The rotation (radians) the still makes for a driver rotation ``angle``: ``gain`` times it, passed whole
    up to ``KNEE`` of ``max_turn`` (degrees; 0 = no limit), then eased so that it never reaches
    ``max_turn``."""
    wanted = gain * np.asarray(angle, dtype=np.float64)
    if max_turn <= 0:
        return wanted
    limit = np.radians(max_turn)
    knee = KNEE * limit
    size = np.abs(wanted)
    eased = knee + (limit - knee) * np.tanh((size - knee) / (limit - knee))
    return np.where(size <= knee, wanted, np.sign(wanted) * eased)


class HeadTurn:
    """Turns and nods the driver's neutral frame (its 68 points and, when given, its mesh) with the generic
    depth, in the neutral frame's own eye-line axes, and fits the rotation of a pose-free frame."""

    def __init__(self, neutral68: np.ndarray, neutral_dense: np.ndarray | None = None):
        self.neutral68 = np.asarray(neutral68, dtype=np.float64)
        right, left = self.neutral68[36], self.neutral68[45]
        eyes = float(np.linalg.norm(left - right))
        self.across = (left - right) / max(eyes, 1e-9)
        self.down = np.array([-self.across[1], self.across[0]])
        self.centre = self.neutral68[RIGID_68].mean(axis=0)
        depth = np.asarray(FACE_DEPTH, dtype=np.float64) * eyes
        # The points as along + i * below the eye line from the rigid points' centre, and their depth: every
        # step below works in these axes (a similarity fit does not depend on them) and only results go back.
        self._face = (self._local(self.neutral68), IBUG68_MATRIX @ depth)
        self._mesh = None if neutral_dense is None else (self._local(neutral_dense), depth)
        self._rigid = (self._face[0][RIGID_68], self._face[1][RIGID_68])
        self._rigid_spread = float((np.abs(self._rigid[0] - self._rigid[0].mean()) ** 2).sum())

    def _local(self, points: np.ndarray) -> np.ndarray:
        offset = np.asarray(points, dtype=np.float64) - self.centre
        return offset @ self.across + 1j * (offset @ self.down)

    def _image(self, local: np.ndarray) -> np.ndarray:
        return self.centre + local.real[..., None] * self.across + local.imag[..., None] * self.down

    @staticmethod
    def _rotated(points: tuple[np.ndarray, np.ndarray], angles: np.ndarray) -> np.ndarray:
        """Local ``points`` (with their depth, away from the camera) turned by each (yaw, pitch) of ``angles``
        (K, 2): by the yaw (the nose towards the image's right for yaw > 0), then nodded by the pitch (the
        nose down for pitch > 0), about the rigid points' centre, seen without perspective. (K, P) local."""
        local, depth = points
        yaw, pitch = (angles[:, k, None] for k in (0, 1))
        turned = local.real * np.cos(yaw) - depth * np.sin(yaw)
        depth_turned = local.real * np.sin(yaw) + depth * np.cos(yaw)
        return turned + 1j * (local.imag * np.cos(pitch) - depth_turned * np.sin(pitch))

    def _pose_undone(self, angles: np.ndarray, points: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """``points`` (the rigid points by default) turned and nodded by each of ``angles`` (K, 2), with the 2D
        pose undone that motion transfer fits to a frame so turned (the least-squares similarity from the
        neutral rigid points to the turned ones, in complex form) — the part of the rotation that pose
        takes. (K, P) local."""
        rigid = self._rotated(self._rigid, angles)
        moved_centre = rigid.mean(axis=1, keepdims=True)
        neutral = self._rigid[0]  # centred: the local axes start at the rigid points' centre
        scale = (np.conj(neutral) * (rigid - moved_centre)).sum(axis=1, keepdims=True) / self._rigid_spread
        turned = rigid if points is None else self._rotated(points, angles)
        return (turned - moved_centre) / scale

    def shapes(self, yaw: float, pitch: float) -> tuple[np.ndarray, np.ndarray | None]:
        """The neutral 68 points and mesh (None without one) turned and nodded, with the 2D pose that
        rotation implies undone."""
        angles = np.array([[yaw, pitch]], dtype=np.float64)
        shape68 = self._image(self._pose_undone(angles, self._face)[0])
        return shape68, None if self._mesh is None else self._image(self._pose_undone(angles, self._mesh)[0])

    def retarget(self, fitted, shown) -> tuple[np.ndarray, np.ndarray | None]:
        """What to add to a pose-free frame (its 68 points and its mesh, None without one) turned and nodded
        by ``fitted`` to make it turned and nodded by ``shown`` instead."""
        angles = np.array([fitted, shown], dtype=np.float64)

        def change(points):
            moved = np.diff(self._pose_undone(angles, points), axis=0)[0]
            return np.stack([moved.real, moved.imag], axis=-1) @ np.stack([self.across, self.down])

        return change(self._face), None if self._mesh is None else change(self._mesh)

    def pose_free(self, frames68: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Each of (F, 68, 2) tracked frames' 2D pose from the neutral frame (the similarity fitted on the
        rigid points, neutral -> frame) and the frames with it undone, (F, 68, 2)."""
        frames68 = np.asarray(frames68, dtype=np.float64)
        poses = [align.fit_similarity(self.neutral68[RIGID_68], frame[RIGID_68]) for frame in frames68]
        undone = [align.apply(align.invert(pose), frame) for pose, frame in zip(poses, frames68)]
        return poses, np.array(undone, dtype=np.float64).reshape(frames68.shape)

    def fit_frames(self, frames68: np.ndarray) -> np.ndarray:
        """``fit`` of (F, 68, 2) frames as tracked: their 2D pose from the neutral frame undone first."""
        return self.fit(self.pose_free(frames68)[1])

    def fit(self, pose_free68: np.ndarray) -> np.ndarray:
        """(F, 2) the (yaw, pitch) in radians whose turned neutral frame best matches each of (F, 68, 2)
        pose-free frames on the rigid points (all frames at once, by Gauss-Newton from facing the camera;
        each step measures the angles and two nudges). A frame with under four rigid points gets (0, 0)."""
        wanted = self._local(np.asarray(pose_free68, dtype=np.float64)[:, RIGID_68])
        keep = np.isfinite(wanted)
        usable = keep.sum(axis=1) >= 4
        wanted = np.where(keep, wanted, 0.0)
        nudges = np.array([[0.0, 0.0], [STEP, 0.0], [0.0, STEP]])
        angles = np.zeros((len(wanted), 2))
        for _ in range(FIT_STEPS):
            tried = self._pose_undone((angles[:, None] + nudges).reshape(-1, 2)).reshape(len(wanted), 3, -1)
            residuals = np.where(keep[:, None], tried - wanted[:, None], 0.0)
            residuals = np.concatenate([residuals.real, residuals.imag], axis=2)  # (F, 3, 2R)
            jacobian = (residuals[:, 1:] - residuals[:, :1]) / STEP  # (F, 2, 2R)
            normal = jacobian @ jacobian.transpose(0, 2, 1) + 1e-12 * np.eye(2)
            step = np.linalg.solve(normal, -(jacobian @ residuals[:, 0, :, None]))[..., 0]
            angles = np.clip(angles + step, -1.2, 1.2)  # about 70°: past it the frame is no face the fit knows
            if np.abs(step).max() < 1e-5:
                break
        return np.where(usable[:, None], angles, 0.0)
