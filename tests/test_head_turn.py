"""The head's turn told apart from the expression (``motion.head_turn``): fitted, scaled by the head gain and
held back past ``MotionConfig.max_turn``."""

import numpy as np
import pytest

from portrait_animator import align, motion
from portrait_animator.config import MotionConfig, MotionGains
from portrait_animator.landmarks.track import LandmarkTrack
from portrait_animator.motion.head_turn import HeadTurn, held_angle


def test_small_turns_pass_whole_and_large_ones_ease_below_the_limit():
    degrees = np.array([0.0, 5.0, 12.0, 20.0, 30.0, 45.0, 80.0])
    held = np.degrees(held_angle(np.radians(degrees), 1.0, 25.0))
    assert np.allclose(held[:3], degrees[:3])  # up to half the limit: unchanged
    assert np.all(np.diff(held) > 0) and held.max() < 25.0  # a bigger turn still turns more, never past 25°
    assert held[3] == pytest.approx(19.3, abs=0.3) and held[5] > 24.0
    assert np.allclose(np.degrees(held_angle(np.radians(-degrees), 1.0, 25.0)), -held)  # either way alike
    assert np.allclose(np.degrees(held_angle(np.radians(degrees), 1.0, 0.0)), degrees)  # 0: no limit
    assert np.allclose(np.degrees(held_angle(np.radians(degrees[:3]), 0.5, 25.0)), degrees[:3] / 2)  # the gain


def test_the_fit_finds_a_turn_and_nod_whatever_the_2d_pose(bundled_face):
    face = bundled_face["landmarks"]
    turn = HeadTurn(face)
    seen = align.apply(align.similarity_from_params(0.7, 0.3, (30.0, -12.0)), turn.shapes(0.6, -0.25)[0])
    yaw, pitch = turn.fit_frames(seen[None])[0]
    assert np.degrees(yaw) == pytest.approx(np.degrees(0.6), abs=0.2)
    assert np.degrees(pitch) == pytest.approx(np.degrees(-0.25), abs=0.2)
    assert turn.fit_frames(face[None])[0] == pytest.approx((0.0, 0.0), abs=1e-4)


def _turned_talking_driver(bundled_face, yaw_degrees: float):
    """A driver (the bundled face, seen smaller and rolled) at rest, then turned by ``yaw_degrees`` with its
    mouth opened."""
    camera = align.similarity_from_params(0.6, 0.2, (40.0, -25.0))
    rest68, rest_dense = (align.apply(camera, bundled_face[key]) for key in ("landmarks", "dense"))
    turn = HeadTurn(rest68, rest_dense)
    yaw = np.radians(yaw_degrees)
    turned68, turned_dense = turn.shapes(yaw, 0.0)
    opened68 = turned68.copy()
    opened68[[56, 57, 58, 65, 66, 67]] += [0.0, 8.0]  # the lower lip drops (the mesh's too, through 68)
    opened_dense = turned_dense + motion.dense.interpolation_from_68(turned68, turned_dense) @ (opened68 - turned68)
    frames68, dense = np.stack([rest68, opened68]), np.stack([rest_dense, opened_dense])
    return LandmarkTrack(frames68.astype(np.float32), np.ones(2), np.arange(1, 3), dense=dense.astype(np.float32))


def _shown(bundled_face, config: MotionConfig, track) -> tuple[float, float]:
    """The still's turn (degrees, fitted from its own face) and the gap between its inner lips (pixels; a
    turned mouth is narrower, so not over its width) on the driver's second frame."""
    still = bundled_face["landmarks"]
    shapes = motion.MotionTransfer(config, still, bundled_face["dense"]).transfer(track)
    target = shapes.landmarks[1].astype(np.float64)
    gap = np.linalg.norm(target[[65, 66, 67]] - target[[63, 62, 61]], axis=1).mean()
    return float(np.degrees(HeadTurn(still).fit_frames(target[None])[0, 0])), float(gap)


def test_a_far_turn_is_held_back_and_the_mouth_still_opens(bundled_face):
    track = _turned_talking_driver(bundled_face, 45.0)
    whole_turn, _ = _shown(bundled_face, MotionConfig(neutral="first", max_turn=0.0), track)
    held_turn, held_mouth = _shown(bundled_face, MotionConfig(neutral="first"), track)
    _, facing_mouth = _shown(bundled_face, MotionConfig(neutral="first"), _turned_talking_driver(bundled_face, 0.0))
    assert whole_turn == pytest.approx(45.0, abs=2.0)
    assert 20.0 < held_turn < 25.5  # default 25°: eased from 12.5°
    assert facing_mouth > 20.0 and held_mouth == pytest.approx(facing_mouth, rel=0.08)  # 4 % wider measured
    near_turn, _ = _shown(bundled_face, MotionConfig(neutral="first"), _turned_talking_driver(bundled_face, 10.0))
    assert near_turn == pytest.approx(10.0, abs=1.0)  # a small turn passes whole
    points_only = LandmarkTrack(track.landmarks, np.ones(2), track.frame_numbers)  # a dlib or rig driver
    held_turn, held_mouth = _shown(bundled_face, MotionConfig(neutral="first"), points_only)
    assert 20.0 < held_turn < 25.5 and held_mouth > 20.0


def test_a_head_gain_of_zero_keeps_the_face_from_turning_not_from_talking(bundled_face):
    track = _turned_talking_driver(bundled_face, 30.0)
    turn, mouth = _shown(bundled_face, MotionConfig(neutral="first", gains=MotionGains(head=0.0)), track)
    assert abs(turn) < 1.0 and mouth > 10.0


def test_the_shapes_carry_the_drivers_own_turn_for_the_painters(bundled_face):
    """The renderer's mouth painter asks how far the driver itself is turned (its mouth's far half hides),
    not how far the still is shown turned: the shapes carry the driver's fitted yaw, held back or not."""
    track = _turned_talking_driver(bundled_face, 45.0)
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), bundled_face["landmarks"],
                                   bundled_face["dense"]).transfer(track)
    assert np.degrees(shapes.turn_of(0)) == pytest.approx(0.0, abs=0.5)
    assert np.degrees(shapes.turn_of(1)) == pytest.approx(45.0, abs=2.0)


def _far_eye_left_open(bundled_face, yaw_degrees: float):
    """The bundled face at rest for six frames, then turned by ``yaw_degrees`` with its near eye shut and its
    far eye (the one the turn narrowed more) left open, as the tracker reads a turned head's shut eyes."""
    rest = _turned_talking_driver(bundled_face, 0.0).landmarks[0].astype(np.float64)
    turned = _turned_talking_driver(bundled_face, yaw_degrees).landmarks[1].astype(np.float64)
    widths = lambda points: np.linalg.norm(points[[39, 45]] - points[[36, 42]], axis=1)
    near = int(np.argmax(widths(turned) / widths(rest)))
    upper, lower = ([37, 38], [41, 40]) if near == 0 else ([43, 44], [47, 46])
    turned[upper] = turned[lower]
    frames = np.stack([rest] * 6 + [turned]).astype(np.float32)
    return LandmarkTrack(frames, np.ones(7), np.arange(1, 8)), near


def test_a_turned_drivers_far_eye_read_open_shuts_with_the_near_one_but_a_facing_wink_stays(bundled_face):
    """A head turned far from the camera with both eyes shut: the tracker reads the far eye open (it is
    foreshortened and half behind the nose), and the still winked. Past 35° the far eye follows the near
    one; a driver facing the camera keeps its wink."""
    still = bundled_face["landmarks"]
    for yaw, wink in ((45.0, False), (10.0, True)):
        track, near = _far_eye_left_open(bundled_face, yaw)
        shapes = motion.MotionTransfer(MotionConfig(neutral="first"), still, bundled_face["dense"]).transfer(track)
        opening = motion.eye_openness(shapes.landmarks[-1]) / motion.eye_openness(still)
        assert opening[near] < 0.25, (yaw, opening)
        assert (opening[1 - near] > 0.8) if wink else (opening[1 - near] < 0.25), (yaw, opening)


@pytest.mark.slow
def test_a_real_turn_is_fitted_as_the_nose_shows_it_and_held_back(bundled_face):
    """`styletalk_nice_clip1` turns about 40° from its neutral frame on frames 36-61 (where the warp creased
    faces). The fitted turn follows the turn read from the nose against the eye corners (``head_pose``, a
    different geometry), and the still's turn stays within the limit while the driver's goes past it."""
    from landmark_media import clip_frames
    from portrait_animator.evaluate.face_measures import head_pose
    from portrait_animator.landmarks.tracking import track_frames
    from portrait_animator.motion.neutral import choose_neutral

    track = track_frames(clip_frames("styletalk_nice_clip1.mp4", 70), source="styletalk_nice_clip1.mp4")
    neutral = choose_neutral(track, "auto")
    driver = track.landmarks.astype(np.float64)
    turn = HeadTurn(driver[neutral])
    fitted = np.degrees(turn.fit_frames(driver)[:, 0])
    nose = np.array([head_pose(frame)[0] for frame in driver]) - head_pose(driver[neutral])[0]
    assert np.corrcoef(fitted, nose)[0, 1] > 0.95 and np.abs(fitted).max() > 35.0
    still = bundled_face["landmarks"]
    shown = {}
    for max_turn in (0.0, 25.0):
        shapes = motion.MotionTransfer(MotionConfig(max_turn=max_turn), still, bundled_face["dense"]).transfer(track)
        shown[max_turn] = np.abs(np.degrees(HeadTurn(still).fit_frames(shapes.landmarks)[:, 0]))
    assert shown[0.0].max() > 35.0 and shown[25.0].max() < 27.0
