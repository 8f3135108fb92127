"""The weight-free renderer: a landmark-driven piecewise-affine warp of the still itself.

Identity comes entirely from the still's own pixels, so it cannot drift; it needs no weights, so it is the
embedded default and the floor every neural model is measured against. Eyes close because the lid
contours meet, and look where the driver looks because the iris centres are control points (``gaze``);
the inside of an opening mouth is painted by ``mouth``, closing lids by ``eyelids``, and the eyeballs of a
still's shut eyes as they open by ``eye_opening``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .. import align
from ..landmarks import ibug68
from ..landmarks import mediapipe_topology as mpt
from ..motion import LoopHalves, shut_eyes, with_lids_parted
from . import crop_frame, gaze, head_band
from . import mesh as warp_mesh
from . import eye_opening, mouth
from .base import RenderedFace, SourceFace, TargetFace
from .eye_opening import DriverEyes, EyeOpener
from .eyelids import EyelidPainter
from .glasses import GlassesCarrier, wears_glasses
from .picture_border import find_picture
from .regions import Overlay

# Matte: pixels displaced by more than this (crop pixels) are fully "animated"; the edge is feathered.
MATTE_FULL_DISPLACEMENT = 0.75
MATTE_FEATHER = 0.012  # of the crop size


@dataclass
class _LipIndices:
    """The control points of the lips' rings from the opening out, each as its upper and lower halves
    (corner to corner); the inner lips' halves and the outer lips' loop follow from them."""

    rings: list[tuple[np.ndarray, np.ndarray]]

    @property
    def upper(self) -> np.ndarray:
        return self.rings[0][0]

    @property
    def lower(self) -> np.ndarray:
        return self.rings[0][1]

    @property
    def outer(self) -> np.ndarray:
        return warp_mesh.opening_loop(*self.rings[-1])


class WarpRenderer:
    """Warp the still's crop so its landmarks land on the target landmarks."""

    name = "warp"
    # A frame is a chain of small steps. Threads that torch's operators leave spinning between them took
    # the core the frame writer needs: at 512² on 2 cores the pipeline ran at 21 frames/s with two, 30
    # with one (docs/benchmarks.md).
    frame_threads = 1
    # A crop a quarter wider than FFHQ's framing: the band between the face and the crop edge carries the
    # head's travel, turn and growth, and on a tightly framed face it could carry little of it
    # (docs/quality.md, "A wider crop for the warp").
    crop_zoom = 0.8

    def __init__(self, glasses: str = "auto"):
        """``glasses``: "auto" reads from the still whether it wears glasses (``glasses.wears_glasses``)."""
        self.source: SourceFace | None = None
        self.glasses_mode = glasses
        self.glasses: GlassesCarrier | None = None  # set by prepare() for the still
        self._neutral_skins = None  # (the driver's neutral image, its skin round the mouth, round each eye)

    def describe(self) -> dict:
        return {"renderer": self.name, "checkpoint": None}

    def prepare(self, source: SourceFace) -> None:
        self.source = source
        self._neutral_skins = None  # which skins are read depends on the still (its eyes shut or not)
        crop = source.crop
        self.uses_dense = crop.dense is not None
        self.moves_irises = (self.uses_dense and len(crop.dense) >= mpt.DENSE_COUNT
                             and all(gaze.eye_is_open(crop.dense[list(u)], crop.dense[list(lo)])
                                     for u, lo in self._eye_indices()))
        control = self._control(crop.landmarks, crop.dense)
        self.lips = self._lip_indices()
        self.glasses = self._glasses(crop.rgb, control)
        frame = crop_frame.picture_frame(source.crop_size, source.crop_from_still, find_picture(source.still_rgb),
                                         control, warp_mesh.FRAME_INSET * source.crop_size)
        shut = shut_eyes(crop.landmarks)
        # A shut eye is triangulated as if open, so that no triangle spans its lid line.
        laid_out = (with_lids_parted(control, [LoopHalves(tuple(u), tuple(lo)) for u, lo in self._eye_indices()],
                                     crop.landmarks) if shut > 0.0 else None)
        self.mesh = warp_mesh.build_mesh(control, source.crop_size, self._feature_indices(), self._outline(),
                                         self._brow_points(), self.lips.rings, self._iris_fans(), frame, laid_out)
        self.mouth = mouth.MouthPainter(crop.rgb, control[self.lips.upper], control[self.lips.lower],
                                        control[self.lips.outer])
        self.eyelids = EyelidPainter(crop.rgb, control, self._eye_indices(), self._brow_indices())
        self.eye_opener = EyeOpener(crop.rgb, control, self._eye_indices(), shut)
        size = source.crop_size
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
        self.identity_map = np.stack([xs, ys], axis=-1)

    # ------------------------------------------------------------------------------------- render
    def render(self, target: TargetFace) -> RenderedFace:
        source = self.source
        size = source.crop_size
        control_dst, dst_points = self.mesh_target(target)
        source_map = warp_mesh.sampling_map(self.mesh.points, dst_points, self.mesh.triangles, size)
        rgb = remap(source.crop.rgb, source_map)
        matte = self._matte(source_map)

        overlays = [self.mouth.paint(control_dst[self.lips.upper], control_dst[self.lips.lower],
                                     self.driver_mouth(target)),
                    *self.eyelids.paint(control_dst, rgb),
                    *self._opened_eyes(control_dst, target.driver_frame, self._driver_skins(target.driver_neutral)[1])]
        overlays = [o for o in overlays if o is not None and o.alpha.size]
        overlay_rgb = overlay_alpha = None
        if overlays:
            # Straight (not premultiplied) colour: mouth, lids and opened eyes never overlap, so each box is
            # written once.
            overlay_rgb = np.zeros((size, size, 3), np.float32)
            overlay_alpha = np.zeros((size, size), np.float32)
            for overlay in overlays:
                x0, y0, x1, y1 = overlay.box
                keep = overlay.alpha > overlay_alpha[y0:y1, x0:x1]
                overlay_rgb[y0:y1, x0:x1][keep] = overlay.rgb[keep]
                overlay_alpha[y0:y1, x0:x1] = np.maximum(overlay_alpha[y0:y1, x0:x1], overlay.alpha)
            for overlay in overlays:  # only the overlays' boxes of the crop change
                x0, y0, x1, y1 = overlay.box
                a = overlay_alpha[y0:y1, x0:x1, None]
                rgb[y0:y1, x0:x1] += (overlay_rgb[y0:y1, x0:x1] - rgb[y0:y1, x0:x1]) * a
                matte[y0:y1, x0:x1] = np.maximum(matte[y0:y1, x0:x1], overlay_alpha[y0:y1, x0:x1])
        return RenderedFace(rgb=rgb, matte=matte, source_map=source_map, overlay=overlay_rgb,
                            overlay_alpha=overlay_alpha)

    def mesh_target(self, target: TargetFace) -> tuple[np.ndarray, np.ndarray]:
        """Where ``target`` puts the control points and every point of the mesh (the head held back where
        the crop cannot carry it)."""
        control_dst = self._control(target.landmarks, target.dense)
        head = align.fit_similarity(self.source.crop.landmarks[list(align.RIGID_68)],
                                    target.landmarks[list(align.RIGID_68)])
        limited = head_band.limit_head(self.mesh, head)
        if limited is not head:  # the face comes along: the rigid correction moves every landmark with it
            control_dst = align.apply(align.compose(limited, align.invert(head)), control_dst).astype(np.float64)
        carry = self.glasses.carry if self.glasses is not None else None
        return control_dst, warp_mesh.target_points(self.mesh, control_dst, limited, carry)

    # ------------------------------------------------------------------------------------ helpers
    def _control(self, landmarks68: np.ndarray, dense: np.ndarray | None) -> np.ndarray:
        """The landmarks the mesh uses: the dense face mesh and the iris centres (``gaze``) where the still's
        eyes are open, else the 68 points."""
        if not self.uses_dense:
            return np.asarray(landmarks68, dtype=np.float64)
        dense = np.asarray(dense, dtype=np.float64)
        face = dense[: mpt.FACE_MESH_COUNT]
        if not self.moves_irises:
            return face
        irises = [gaze.iris_inside_eye(dense[iris[0]], face[list(upper)], face[list(lower)])
                  for iris, (upper, lower) in zip((mpt.RIGHT_IRIS, mpt.LEFT_IRIS), self._eye_indices())]
        return np.vstack([face, irises])

    def _glasses(self, crop_rgb: np.ndarray, control: np.ndarray) -> GlassesCarrier | None:
        """The carrier of the still's glasses, where it wears them (or the job says so)."""
        eyes = [(np.array(upper), np.array(lower)) for upper, lower in self._eye_indices()]
        if self.glasses_mode == "off" or (self.glasses_mode == "auto"
                                          and not wears_glasses(crop_rgb, _inner_corners(control, eyes))):
            return None
        free = np.concatenate([self._feature_indices(), self._brow_points()])
        return GlassesCarrier(control, eyes, [np.array(brow) for brow in self._brow_indices()], free)

    def _lip_indices(self) -> _LipIndices:
        if self.uses_dense:
            return _LipIndices([(np.array(upper), np.array(lower)) for upper, lower in mpt.LIP_RINGS])
        return _LipIndices([(np.arange(60, 65), np.array([60, 67, 66, 65, 64])),
                            (np.arange(48, 55), np.array([48, 59, 58, 57, 56, 55, 54]))])

    def _feature_indices(self) -> np.ndarray:
        """Lips and eyes: the warp keeps their landmarks' motion as given (see mesh.untangle)."""
        if self.uses_dense:  # the iris centres follow the face mesh in the control points
            face = sorted(i for i in set(mpt.LIP_POINTS) | set(mpt.EYE_POINTS) if i < mpt.FACE_MESH_COUNT)
            irises = [mpt.FACE_MESH_COUNT, mpt.FACE_MESH_COUNT + 1] if self.moves_irises else []
            return np.array(face + irises)
        return np.arange(36, 68)

    def _iris_fans(self):
        """Each eye's lids and iris-centre control index, where the irises are control points."""
        if not self.moves_irises:
            return None
        return [(np.array(upper), np.array(lower), mpt.FACE_MESH_COUNT + eye)
                for eye, (upper, lower) in enumerate(self._eye_indices())]

    def _outline(self) -> np.ndarray | None:
        """The dense mesh's face outline, whose wobble the mesh smooths (68 points are too sparse to wobble
        against each other: three edges from the jaw would reach the brows)."""
        return np.array(mpt.FACE_OVAL) if self.uses_dense else None

    def _brow_points(self) -> np.ndarray:
        """The brows' control indices: contours the mesh neither smooths nor lets the rings follow."""
        if self.uses_dense:
            return np.array(mpt.BROW_POINTS)
        return np.array(ibug68.RIGHT_BROW + ibug68.LEFT_BROW)

    def _eye_indices(self):
        if self.uses_dense:
            return [(mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), (mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER)]
        return [((36, 37, 38, 39), (36, 41, 40, 39)), ((42, 43, 44, 45), (42, 47, 46, 45))]

    def _brow_indices(self):
        """Each eye's brow, as ``_eye_indices`` orders the eyes: the brow's lower edge in the dense mesh."""
        if self.uses_dense:
            return [mpt.RIGHT_BROW[5:], mpt.LEFT_BROW[5:]]
        return [ibug68.RIGHT_BROW, ibug68.LEFT_BROW]

    def _matte(self, source_map: np.ndarray) -> np.ndarray:
        """Where the warp moved pixels, grown and feathered; computed at a quarter of the crop size (it is
        smooth) and forced to zero at the crop edge."""
        size = source_map.shape[0]
        small = max(16, size // 4)
        step = size // small
        displacement = np.linalg.norm(source_map[step // 2::step, step // 2::step]
                                      - self.identity_map[step // 2::step, step // 2::step], axis=-1)
        matte = np.clip(displacement / MATTE_FULL_DISPLACEMENT, 0.0, 1.0)
        grown = cv2.dilate(matte, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
        feathered = cv2.GaussianBlur(grown, (0, 0), max(0.5, MATTE_FEATHER * small))
        full = cv2.resize(feathered, (size, size), interpolation=cv2.INTER_LINEAR)
        full[full < 1e-3] = 0.0  # float noise of an unmoved mesh is not animation: keep those pixels exact
        return np.clip(full, 0.0, 1.0) * _border_falloff(size)

    def driver_mouth(self, target: TargetFace) -> mouth.DriverMouth | None:
        """The driver's mouth as the mouth painter takes it: its image, lips, skin round them on its neutral
        frame and its yaw from that frame; None without a driver frame."""
        driver = target.driver_frame
        if driver is None:
            return None
        image, landmarks = driver
        return mouth.DriverMouth(image, landmarks[60:68], landmarks[48:60],
                                 self._driver_skins(target.driver_neutral)[0], target.driver_turn)

    def _opened_eyes(self, control_dst: np.ndarray, driver, skins) -> list[Overlay]:
        if not self.eye_opener.shut:
            return []
        shown = None if driver is None else DriverEyes(driver[0], (driver[1][36:42], driver[1][42:48]), skins)
        return self.eye_opener.paint(control_dst, shown)

    def _driver_skins(self, neutral: tuple[np.ndarray, np.ndarray] | None):
        """The driver's skin round its mouth and round each eye on its neutral frame (worked out on the
        shot's first frame), which the painted mouth and eyes take to the still's; (None, None) without one."""
        if neutral is None:
            return None, None
        image, landmarks = neutral
        if self._neutral_skins is None or self._neutral_skins[0] is not image:
            eyes = (tuple(eye_opening.driver_skin(image, landmarks[a:a + 6]) for a in (36, 42))
                    if self.eye_opener.shut else None)  # only a still with shut eyes paints the driver's
            self._neutral_skins = (image, mouth.driver_skin(image, landmarks[48:60]), eyes)
        return self._neutral_skins[1:]


def _inner_corners(points: np.ndarray, eyes) -> tuple[np.ndarray, np.ndarray]:
    """Each eye's corner nearer the other eye."""
    centres = [points[np.concatenate(eye)].mean(axis=0) for eye in eyes]
    return tuple(min((points[upper[0]], points[upper[-1]]), key=lambda corner: np.linalg.norm(corner - other))
                 for (upper, _), other in zip(eyes, centres[::-1]))


def remap(image: np.ndarray, source_map: np.ndarray) -> np.ndarray:
    """Sample ``image`` at ``source_map`` positions (our pixel convention), bilinear, edge-clamped."""
    return cv2.remap(image, source_map - 0.5, None, interpolation=cv2.INTER_LINEAR,  # one two-channel map
                     borderMode=cv2.BORDER_REPLICATE)


_FALLOFF_CACHE: dict[int, np.ndarray] = {}


def _border_falloff(size: int) -> np.ndarray:
    """1 inside, falling to exactly 0 two pixels from the crop edge: the matte never touches it."""
    if size not in _FALLOFF_CACHE:
        distance = np.minimum(np.arange(size) + 0.5, size - np.arange(size) - 0.5)
        ramp = np.clip((distance - 2.0) / (0.02 * size), 0, 1)
        _FALLOFF_CACHE[size] = np.minimum(ramp[:, None], ramp[None, :]).astype(np.float32)
    return _FALLOFF_CACHE[size]
