"""Motion transfer on a real face's landmarks (the bundled still), driven by synthetic motion of known size."""

import numpy as np
import pytest

from portrait_animator import align, motion
from portrait_animator.config import MotionConfig, MotionGains
from portrait_animator.landmarks import mediapipe_topology as mpt
from portrait_animator.landmarks.track import LandmarkTrack
from portrait_animator.motion.dense import interpolation_from_68
from portrait_animator.motion.eyes import OPEN_EYE
from portrait_animator.motion.lip_push import LIP_SKIN_KEPT, OUTER_LIP_LOOP, PUSH_REACH, lip_surround
from portrait_animator.motion.mouth_rest import MOUTH_REST_WIDEST
from portrait_animator.motion.neutral import choose_neutral
from portrait_animator.presets import preset_track


def _track(frames68, dense=None):
    frames68 = np.asarray(frames68, np.float32)
    return LandmarkTrack(frames68, np.ones(len(frames68)), np.arange(1, len(frames68) + 1),
                         dense=None if dense is None else np.asarray(dense, np.float32))


def _driver_face(bundled_face, scale=0.6, angle=0.2, shift=(40.0, -25.0)):
    """The same face seen by a different camera: a driver whose neutral shape differs from the still."""
    m = align.similarity_from_params(scale, angle, shift)
    return m, align.apply(m, bundled_face["landmarks"]).astype(np.float64), align.apply(
        m, bundled_face["dense"]).astype(np.float64)


def test_neutral_driver_reproduces_the_still(bundled_face):
    _, d68, ddense = _driver_face(bundled_face)
    track = _track([d68, d68, d68], [ddense, ddense, ddense])
    shapes = motion.MotionTransfer(MotionConfig(), bundled_face["landmarks"], bundled_face["dense"]).transfer(track)
    assert np.abs(shapes.landmarks - bundled_face["landmarks"]).max() < 0.05
    assert np.abs(shapes.dense - bundled_face["dense"]).max() < 0.05


def test_head_motion_is_carried_into_the_still_frame(bundled_face):
    m, d68, ddense = _driver_face(bundled_face)
    turn = align.similarity_from_params(1.0, np.deg2rad(10), (5.0, 3.0))  # driver rolls its head 10 degrees
    moved68 = align.apply(turn, d68)
    track = _track([d68, moved68], [ddense, align.apply(turn, ddense)])
    src = bundled_face["landmarks"]
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src, bundled_face["dense"]).transfer(track)
    fitted = align.fit_similarity(src, shapes.landmarks[1])
    scale, angle, _ = align.similarity_params(fitted)
    assert abs(np.rad2deg(angle) - 10.0) < 0.2 and abs(scale - 1.0) < 0.01
    # The residual after the rigid fit is tiny: the still's shape is kept, not the driver's.
    assert np.abs(align.apply(fitted, src) - shapes.landmarks[1]).max() < 0.2
    still = motion.MotionTransfer(MotionConfig(neutral="first", gains=MotionGains(head=0.0)), src,
                                  bundled_face["dense"])
    assert np.abs(still.transfer(track).landmarks[1] - src).max() < 0.2


def test_mouth_opening_scales_with_the_faces_and_gain(bundled_face):
    m, d68, ddense = _driver_face(bundled_face, scale=0.5)
    src = bundled_face["landmarks"]
    opened = d68.copy()
    opened[[56, 57, 58, 65, 66, 67]] += [0.0, 10.0]  # the driver's lower lip drops 10 px (= 20 px on the still)
    track = _track([d68, opened])
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src).transfer(track)
    drop = (shapes.landmarks[1] - src)[66]
    rotation = align.similarity_from_params(1.0, -0.2, (0, 0))[:, :2]  # undo the driver camera's roll
    assert np.allclose(drop, rotation @ [0.0, 20.0], atol=0.6)
    half = motion.MotionTransfer(MotionConfig(neutral="first", gains=MotionGains(mouth=0.5)), src).transfer(track)
    assert np.linalg.norm(half.landmarks[1][66] - src[66]) == pytest.approx(10.0, abs=0.5)
    frozen = motion.MotionTransfer(MotionConfig(neutral="first", gains=MotionGains(mouth=0.0)), src).transfer(track)
    assert np.abs(frozen.landmarks[1] - src).max() < 0.3


@pytest.mark.parametrize("with_dense_driver", [True, False])
def test_a_driver_blink_closes_the_stills_eyes_fully(bundled_face, with_dense_driver):
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    track = preset_track("blink", src68, frames=60, seed=1)
    eyes = motion.eye_openness(track.landmarks).mean(-1)
    closed_row = int(np.argmin(eyes))
    assert eyes[closed_row] < 0.2 * eyes[0]  # the preset really blinks
    if with_dense_driver:  # the same blink given as a dense track: lids moved by the 68-point interpolation
        weights = interpolation_from_68(src68, src_dense)
        dense = np.stack([src_dense + weights @ (f - src68) for f in track.landmarks.astype(np.float64)])
        track = LandmarkTrack(track.landmarks, track.confidence, track.frame_numbers, dense=dense, meta=track.meta)
    shapes = motion.MotionTransfer(MotionConfig(), src68, src_dense).transfer(track)
    def opening_area(points, upper, lower):  # the area between the lids
        loop = points[list(upper) + list(lower[::-1][1:-1])]
        x, y = loop[:, 0], loop[:, 1]
        return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))

    for upper, lower in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), (mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER)):
        assert opening_area(shapes.dense[closed_row], upper, lower) < 0.03 * opening_area(src_dense, upper, lower)
    assert motion.eye_openness(shapes.landmarks[0]).mean() == pytest.approx(motion.eye_openness(src68).mean(), abs=0.01)


def test_a_wink_on_the_neutral_frame_does_not_hold_an_eye_open_all_shot(bundled_face):
    """Eye openings are measured against each eye's typical opening over the driver, not the neutral frame's:
    a neutral frame with the right eye half shut would otherwise open the still's right eye wide whenever
    the driver's eyes are simply open."""
    src68 = bundled_face["landmarks"]
    wink = src68.copy()
    wink[[37, 38]] += 0.5 * (wink[[41, 40]] - wink[[37, 38]])  # the right upper lid halfway down
    track = _track([wink] + [src68] * 10)
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68, bundled_face["dense"]).transfer(track)
    src_open = motion.eye_openness(src68)
    assert np.allclose(motion.eye_openness(shapes.landmarks[5]), src_open, rtol=0.05)
    assert motion.eye_openness(shapes.landmarks[0])[0] < 0.7 * src_open[0]  # the wink itself shows
    assert motion.eye_openness(shapes.landmarks[0])[1] == pytest.approx(src_open[1], rel=0.05)


def _lids_lowered(face, right: float, left: float) -> np.ndarray:
    """``face`` with each eye's upper lid lowered to leave that share of its opening."""
    lowered = face.copy()
    for upper, lower, share in (([37, 38], [41, 40], right), ([43, 44], [47, 46], left)):
        lowered[upper] += (1.0 - share) * (lowered[lower] - lowered[upper])
    return lowered


def test_two_lids_lowered_unequally_close_alike_but_a_wink_stays(bundled_face):
    """Looking down, both lids lower alike, but the tracker reads one eye shut and the other a third open;
    the output shut one eye and left the other open. Both lowered, they move together; a wink (the other
    eye open) stays a wink."""
    src68 = bundled_face["landmarks"]
    track = _track([src68] * 10 + [_lids_lowered(src68, 0.3, 0.6), _lids_lowered(src68, 0.3, 1.0)])
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68, bundled_face["dense"]).transfer(track)
    src_open = motion.eye_openness(src68)
    looking_down = motion.eye_openness(shapes.landmarks[10]) / src_open
    assert looking_down.max() < 0.35 and abs(looking_down[0] - looking_down[1]) < 0.05, looking_down
    wink = motion.eye_openness(shapes.landmarks[11]) / src_open
    assert wink[0] < 0.2 and wink[1] == pytest.approx(1.0, abs=0.05), wink


def _shut_still(bundled_face, share=0.0):
    """The bundled face with its lids lowered to ``share`` of their opening, the dense mesh following."""
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    shut68 = _lids_lowered(src68, share, share)
    return shut68, src_dense + interpolation_from_68(src68, src_dense) @ (shut68 - src68)


def test_a_shut_eyed_still_opens_to_the_drivers_opening_and_blinks_with_it(bundled_face):
    """Multiplied by the driver's ratio, a shut eye's opening stayed shut all shot. It opens to the driver's
    typical opening, and a blink closes it again."""
    src68 = bundled_face["landmarks"]
    shut68, shut_dense = _shut_still(bundled_face)
    assert motion.shut_eyes(shut68) == 1.0 and motion.shut_eyes(src68) == 0.0
    track = _track([src68] * 10 + [_lids_lowered(src68, 0.0, 0.0)])  # the open face drives, then blinks
    for dense in (None, shut_dense):
        shapes = motion.MotionTransfer(MotionConfig(neutral="first"), shut68, dense).transfer(track)
        opened = motion.eye_openness(shapes.landmarks[5])
        assert np.allclose(opened, motion.eye_openness(src68), rtol=0.15), opened
        # the blink (the dense lids meet; the 68 points read from them stay a little apart)
        assert motion.eye_openness(shapes.landmarks[10]).max() < 0.2 * opened.mean()
        above = shapes.landmarks[5][[37, 38, 43, 44], 1] < shut68[[37, 38, 43, 44], 1] - 1.0
        assert above.all()  # the upper lids rose
    still = MotionConfig(neutral="first", gains=MotionGains(eyes=0.0))  # no eye motion: they stay shut
    kept = motion.MotionTransfer(still, shut68, None).transfer(track)
    assert np.allclose(motion.eye_openness(kept.landmarks[5]), motion.eye_openness(shut68), atol=0.01)


def test_a_shut_eyed_still_driven_by_a_preset_opens_to_a_typical_eye(bundled_face):
    """A preset is drawn on the still's own face, with its shut eyes opened (``with_eyes_opened``)."""
    shut68, shut_dense = _shut_still(bundled_face)
    track = preset_track("blink", motion.with_eyes_opened(shut68), frames=60, seed=1)
    shapes = motion.MotionTransfer(MotionConfig(), shut68, shut_dense).transfer(track)
    openings = motion.eye_openness(shapes.landmarks)
    assert np.allclose(openings[0], OPEN_EYE, atol=0.05), openings[0]
    assert openings.mean(-1).min() < 0.2 * openings[0].mean()  # and blinks


def test_lids_lowered_but_apart_and_a_winking_still_keep_their_eyes(bundled_face):
    """A downcast look is not a shut eye, and a wink is one eye shut: both keep the still's lids."""
    src68 = bundled_face["landmarks"]
    for lowered in (_lids_lowered(src68, 0.45, 0.45), _lids_lowered(src68, 0.0, 1.0)):
        assert motion.shut_eyes(lowered) == 0.0
        shapes = motion.MotionTransfer(MotionConfig(neutral="first"), lowered, None).transfer(_track([src68] * 3))
        assert np.allclose(motion.eye_openness(shapes.landmarks[1]), motion.eye_openness(lowered), atol=0.01)


def test_lid_points_sliding_along_the_drivers_lids_leave_the_stills_lid_arc_alone(bundled_face):
    """The driver's lid points slide along its lids (another eye's shape, tracking noise) without the eye
    opening or closing; carried over, the slide bent the still's lid arc and changed its opening."""
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    slid = src68.copy()
    axis = (src68[39] - src68[36]) / np.linalg.norm(src68[39] - src68[36])
    slid[[37, 38, 40, 41]] += 4.0 * axis  # both lids' inner points slide 4 px towards the inner corner
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68, src_dense).transfer(
        _track([src68] * 5 + [slid] + [src68] * 5))
    for upper, lower in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), (mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER)):
        inner = list(upper[1:-1]) + list(lower[1:-1])
        np.testing.assert_allclose(shapes.dense[5][inner], src_dense[inner], atol=0.05)


def test_an_eye_the_expression_moves_takes_its_lids_along(bundled_face):
    """The expression may move an eye as a whole (a cheek raised under it, the far eye of a turning head):
    the lids keep the still's shape and opening about the eye's corners, wherever those go. Kept where they
    were on the still, the lids fell behind their own corners, the eye's outline twisted, and the mesh folded
    the iris's dark over the lower lid."""
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    raised68, raised_dense = src68.copy(), src_dense.copy()
    right_eye = list(mpt.RIGHT_EYE_UPPER + mpt.RIGHT_EYE_LOWER)
    raised68[36:42] += [0.0, -5.0]
    raised_dense[right_eye] += [0.0, -5.0]
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68, src_dense).transfer(
        _track([src68, raised68], [src_dense, raised_dense]))
    np.testing.assert_allclose(shapes.dense[1][right_eye] - src_dense[right_eye],
                               np.broadcast_to([0.0, -5.0], (len(right_eye), 2)), atol=0.3)
    upper, lower = list(mpt.RIGHT_EYE_UPPER), list(mpt.RIGHT_EYE_LOWER)
    opening = align.mean_gap(shapes.dense[1][upper], shapes.dense[1][lower])
    assert opening == pytest.approx(align.mean_gap(src_dense[upper], src_dense[lower]), rel=0.01)


def test_a_lip_moved_past_the_skin_beside_it_pushes_that_skin_along(bundled_face):
    """The driver's lips and chin are not the still's: its lower lip may move further than the still's skin
    under it can make room for. The skin keeps a share of its distance from the lip, in order down to the chin,
    and skin the lip does not reach stays as the driver moved it."""
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    dropped = src_dense.copy()
    lower_lip = list(mpt.LOWER_LIP_POINTS)
    dropped[lower_lip] += [0.0, 30.0]  # the lip alone, the skin under it left where it was
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68, src_dense).transfer(
        _track([src68, mpt.to_ibug68(dropped)], [src_dense, dropped]))
    out = shapes.dense[1]
    column = [17, 18, 200, 199, 175, 152]  # from the lower lip's middle down to the chin
    gaps = np.diff(out[column, 1])
    assert (gaps > 0.0).all(), gaps  # still in order from the lip to the chin
    assert out[18, 1] - out[17, 1] >= LIP_SKIN_KEPT * (src_dense[18, 1] - src_dense[17, 1]) - 0.5
    forehead = [10, 151, 9]
    np.testing.assert_allclose(out[forehead], src_dense[forehead], atol=0.05)


def test_a_lopsided_pout_pushes_only_the_skin_the_lips_come_close_to(bundled_face):
    """Lips drawn in to a tall, tilted pout come closer than its kept share of distance to a little of the
    skin round them: that skin is pushed, no further than twice what it lacks, and the rest stays where the
    driver left it. Pushed along the directions the skin had from its nearest lip segments on the still,
    turned as those segments turned, 30 points moved here, one by 17 px (and on the Mona Lisa crop driven
    by ``lp_d12`` the cheek 50-70 px across the face, the face's outline into a zigzag)."""
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    lips = list(mpt.LIP_POINTS)
    centre = src_dense[list(mpt.OUTER_LIP_UPPER + mpt.OUTER_LIP_LOWER)].mean(axis=0)
    turn = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
    pout = src_dense.copy()
    pout[lips] = centre + ((src_dense[lips] - centre) * [0.4, 1.5]) @ turn.T
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68, src_dense).transfer(
        _track([src68, mpt.to_ibug68(pout)], [src_dense, pout]))
    surround = lip_surround(src_dense)
    skin = src_dense[surround.indices]  # the driver moved the lips alone
    loop = pout[OUTER_LIP_LOOP]
    edges = np.roll(loop, -1, axis=0) - loop
    rel = skin[:, None] - loop[None]
    along = np.clip((rel * edges).sum(-1) / (edges ** 2).sum(-1), 0.0, 1.0)
    distance = np.linalg.norm(rel - along[..., None] * edges, axis=-1).min(axis=1)
    distance[align.inside_polygon(skin, loop)] *= -1.0
    lacking = LIP_SKIN_KEPT * surround.distance - distance
    moved = np.linalg.norm(shapes.dense[1][surround.indices] - skin, axis=1)
    assert (lacking > 0.0).any()  # the pout does come close to some skin
    assert (moved[lacking > 0.0] > 0.0).all()
    assert (moved <= PUSH_REACH * np.maximum(lacking, 0.0) + 1e-6).all(), moved.max()


def test_a_lip_pushes_the_face_outline_as_a_curve(bundled_face):
    """A mouth widened until its corners come close to the cheeks' outline pushes the outline, and the
    outline bends as a curve: its sharpest turn stays the still's. One outline point pushed alone (5.6 px
    here) turned the outline 30 degrees where the still's turns at most 22: on three-quarter faces, whose
    far mouth corner lies near the outline, a notch in the cheek on most frames of a talking driver."""
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    lips = list(mpt.LIP_POINTS)
    centre = src_dense[list(mpt.OUTER_LIP_UPPER + mpt.OUTER_LIP_LOWER)].mean(axis=0)
    wide = src_dense.copy()
    wide[lips] = centre + (src_dense[lips] - centre) * [1.8, 1.0]
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68, src_dense).transfer(
        _track([src68, mpt.to_ibug68(wide)], [src_dense, wide]))
    outline = list(mpt.FACE_OVAL)

    def sharpest_turn(curve):
        heading = np.arctan2(*np.diff(np.vstack([curve, curve[:1]]), axis=0).T[::-1])
        return np.degrees(np.abs((np.diff(np.append(heading, heading[0])) + np.pi) % (2 * np.pi) - np.pi)).max()

    assert np.linalg.norm(shapes.dense[1][outline] - src_dense[outline], axis=1).max() > 1.0  # pushed
    assert sharpest_turn(shapes.dense[1][outline]) < sharpest_turn(src_dense[outline]) + 2.0


def _far_half_narrowed(points, midline_x, width):
    """The still's points as a three-quarter view shows them: the half of the face left of its midline
    foreshortened to ``width`` of its frontal width."""
    points = points.copy()
    far = points[:, 0] < midline_x
    points[far, 0] = midline_x + (points[far, 0] - midline_x) * width
    return points


@pytest.mark.parametrize("with_dense", [True, False])
def test_a_three_quarter_stills_far_mouth_corner_moves_less_than_its_near_one(bundled_face, with_dense):
    """A frontal driver's smile carried by one similarity pulled a turned still's far mouth corner as far as
    its near one, over a half of the face 0.6 as wide, towards the cheek's outline. The local maps see that
    half's width through half an eye span round the corner, the midline's other side included: the far
    corner moves about 0.85 as far as the near one here (the old code: exactly as far)."""
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    midline_x = float(src68[[27, 30, 33, 51, 57, 8], 0].mean())
    _, d68, ddense = _driver_face(bundled_face, scale=0.5, angle=0.0, shift=(0.0, 0.0))
    corners68, corners_dense = (48, 54), (61, 291)  # the left one (image) first
    assert src68[48, 0] < midline_x < src68[54, 0] and src_dense[61, 0] < midline_x < src_dense[291, 0]
    smile68, smile_dense = d68.copy(), ddense.copy()
    for points, (left, right) in ((smile68, corners68), (smile_dense, corners_dense)):
        points[left, 0] -= 4.0  # each corner 4 px outwards on the driver, 8 px at the still's scale
        points[right, 0] += 4.0
    track = _track([d68, smile68], [ddense, smile_dense] if with_dense else None)

    def corner_moves(still68, still_dense):
        transfer = motion.MotionTransfer(MotionConfig(neutral="first"), still68, still_dense if with_dense else None)
        shapes = transfer.transfer(track)
        result, still, (left, right) = ((shapes.dense, still_dense, corners_dense) if with_dense
                                        else (shapes.landmarks, still68, corners68))
        return still[left, 0] - result[1][left, 0], result[1][right, 0] - still[right, 0]

    far, near = corner_moves(_far_half_narrowed(src68, midline_x, 0.6),
                             _far_half_narrowed(src_dense, midline_x, 0.6))
    assert near > 6.0 and 0.6 < far / near < 0.9, (far, near)
    frontal_far, frontal_near = corner_moves(src68, src_dense)
    assert frontal_far == pytest.approx(8.0, abs=0.5) and frontal_near == pytest.approx(8.0, abs=0.5)


def test_a_short_chinned_still_opens_its_mouth_as_far_as_the_driver(bundled_face):
    """The local maps keep the scale along the face: a still whose lower face is shorter than the driver's
    is the sitter's build, not a turned head, and its jaw drops as far as the driver's (shrunk with the
    face, openings read about a tenth smaller)."""
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    nose_y = float(src68[33, 1])

    def shorter(points):  # the face below the nose 0.8 as tall
        points = points.copy()
        below = points[:, 1] > nose_y
        points[below, 1] = nose_y + (points[below, 1] - nose_y) * 0.8
        return points

    _, d68, ddense = _driver_face(bundled_face, scale=0.5, angle=0.0, shift=(0.0, 0.0))
    opened68, opened_dense = _jaw_dropped(d68, ddense, 10.0)  # 20 px at the still's scale
    track = _track([d68, opened68], [ddense, opened_dense])
    still68, still_dense = shorter(src68), shorter(src_dense)
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), still68, still_dense).transfer(track)
    inner_lower = list(mpt.INNER_LIP_LOWER[1:-1])
    drop = shapes.dense[1][inner_lower, 1] - shapes.dense[0][inner_lower, 1]
    assert np.median(drop) == pytest.approx(20.0, abs=1.5)


def _lower_lip_thinned(dense, share):
    """``dense`` with the lower lip's outer contour and the rings inside it at ``share`` of their distance
    from the inner lip, column by column (the corners stay)."""
    out = dense.copy()
    inner = dense[list(mpt.INNER_LIP_LOWER[1:-1])]
    for half in (mpt.OUTER_LIP_LOWER, *mpt.LOWER_LIP_RINGS):
        out[list(half[1:-1])] = inner + share * (dense[list(half[1:-1])] - inner)
    return out


@pytest.mark.parametrize("with_dense_driver", [True, False])
def test_a_thin_lip_thins_in_proportion_to_its_own_thickness(bundled_face, with_dense_driver):
    """A full-lipped driver stretches its lower lip to a quarter of its thickness; a still whose lower lip
    is a third as thick keeps a quarter of its own, below its inner lip (the driver's change added as it is
    would pull the lip's outer edge above its inner edge: a fold)."""
    src_dense = bundled_face["dense"]
    still_dense = _lower_lip_thinned(src_dense, 1.0 / 3.0)
    still68 = mpt.to_ibug68(still_dense)
    stretched = _lower_lip_thinned(src_dense, 0.25)
    frames = [mpt.to_ibug68(src_dense), mpt.to_ibug68(stretched)]
    track = _track(frames, [src_dense, stretched] if with_dense_driver else None)
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), still68, still_dense).transfer(track)
    inner, outer = list(mpt.INNER_LIP_LOWER[2:-2]), list(mpt.OUTER_LIP_LOWER[2:-2])  # the lip's middle
    own = still_dense[outer, 1] - still_dense[inner, 1]
    now = shapes.dense[1][outer, 1] - shapes.dense[1][inner, 1]
    assert (now > 0.0).all(), now  # the lower lip's outer edge stays under its inner edge
    assert (now < own).all(), (now, own)
    if with_dense_driver:  # (a 68-point driver reaches the dense lip through an interpolation)
        np.testing.assert_allclose(now, 0.25 * own, atol=0.1 * own.max())
    upper = list(mpt.OUTER_LIP_UPPER)
    np.testing.assert_allclose(shapes.dense[1][upper], still_dense[upper], atol=0.3)  # the upper lip stays


def test_68_point_drivers_move_the_dense_mesh_region_by_region(bundled_face):
    src68, src_dense = bundled_face["landmarks"], bundled_face["dense"]
    opened = src68.copy()
    opened[[56, 57, 58, 65, 66, 67]] += [0.0, 12.0]
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68, src_dense).transfer(
        _track([src68, opened]))
    moved = np.linalg.norm(shapes.dense[1] - src_dense, axis=1)
    assert moved[list(mpt.INNER_LIP_LOWER[4:7])].min() > 10.0  # the middle of the lower lip follows
    assert moved[list(mpt.INNER_LIP_UPPER[1:-1])].max() < 1.5  # the upper lip does not, though it touched
    assert moved[list(mpt.RIGHT_EYE_UPPER)].max() < 1.0  # far regions stay


def test_inner_lips_never_cross(bundled_face):
    src68 = bundled_face["landmarks"]
    closing = src68.copy()
    closing[[56, 57, 58, 65, 66, 67]] -= [0.0, 25.0]  # the driver's lower lip rises far past the upper lip
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68, bundled_face["dense"]).transfer(
        _track([src68, closing]))
    dense = shapes.dense[1]
    upper = dense[list(mpt.INNER_LIP_UPPER[1:-1])]
    lower = dense[list(mpt.INNER_LIP_LOWER[1:-1])]
    assert (lower[:, 1] >= upper[:, 1] - 0.5).all()


def test_absolute_mode_uses_the_drivers_shape(bundled_face):
    src68 = bundled_face["landmarks"]
    other = src68.copy()
    other[[48, 60]] -= [12.0, 0.0]  # the driver's mouth is wider than the still's
    other[[54, 64]] += [12.0, 0.0]
    track = _track([other, other])
    relative = motion.MotionTransfer(MotionConfig(neutral="first"), src68).transfer(track)
    absolute = motion.MotionTransfer(MotionConfig(mode="absolute"), src68).transfer(track)
    width = lambda p: np.linalg.norm(p[54] - p[48])  # noqa: E731
    assert width(relative.landmarks[1]) == pytest.approx(width(src68), abs=0.5)
    assert width(absolute.landmarks[1]) == pytest.approx(width(src68) + 24.0, abs=1.5)


def test_auto_neutral_prefers_a_closed_mouth(bundled_face):
    src68 = bundled_face["landmarks"]
    frames = []
    for k in range(12):
        f = src68.copy()
        f[[56, 57, 58, 65, 66, 67]] += [0.0, 14.0 if k != 7 else 0.0]
        frames.append(f)
    track = _track(frames)
    assert choose_neutral(track, "auto") == 7
    assert choose_neutral(track, "first") == 0
    assert choose_neutral(track, "3") == 2


@pytest.mark.slow
def test_auto_neutral_is_not_a_turned_head(turning_driver_track):
    """Relative motion turns the still as far as the driver turns from its neutral frame. `lp_d3` looks at
    the camera most of the time and turns aside now and then; the neutral frame picked by mouth, eyes and
    roll alone was turned 27° from the clip's usual pose, which turned the still whenever the driver faced
    the camera. A turn of up to about 8° from the clip's usual pose is free, and beyond it costs as much as a
    roll; the neutral frame now lies near the usual pose."""
    from portrait_animator.evaluate.face_measures import head_pose

    track = turning_driver_track
    yaw = np.array([head_pose(landmarks)[0] for landmarks in track.landmarks[track.valid]])
    neutral = choose_neutral(track, "auto")
    assert abs(head_pose(track.landmarks[neutral])[0] - np.median(yaw)) < 12.0  # free up to about 8°; 27° before


def test_frames_without_a_face_hold_the_nearest_pose(bundled_face):
    src68 = bundled_face["landmarks"]
    raised = src68 + [0.0, -6.0]
    frames = np.stack([src68, raised, np.full_like(src68, np.nan), raised])
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), src68).transfer(_track(frames))
    assert np.isfinite(shapes.landmarks).all()
    assert np.allclose(shapes.landmarks[2], shapes.landmarks[1], atol=1e-4)


def _jaw_dropped(points68, dense, drop):
    """The face with its jaw dropped by ``drop`` px: everything below the upper lip moves down."""
    line = dense[list(mpt.INNER_LIP_UPPER), 1].max() + 1.0
    moved68, moved_dense = points68.astype(np.float64).copy(), dense.astype(np.float64).copy()
    moved68[moved68[:, 1] > line] += [0.0, drop]
    moved_dense[moved_dense[:, 1] > line] += [0.0, drop]
    return moved68, moved_dense


def test_an_open_mouthed_still_closes_with_the_driver_and_reopens_with_it(bundled_face):
    """A still with a smile full of teeth or a spoken vowel must not hold its mouth open all shot and open
    wider than the driver whenever it speaks: it first closes to the driver's neutral opening."""
    # The bundled still smiles with its teeth (opening 0.16); the still animated here has its jaw dropped
    # further, and the driver is the bundled face itself, whose neutral frame has the smile's opening.
    open68, open_dense = _jaw_dropped(bundled_face["landmarks"], bundled_face["dense"], 20.0)
    neutral_opening = motion.mouth_openness(bundled_face["landmarks"])
    assert neutral_opening + 0.1 < motion.mouth_openness(open68) < MOUTH_REST_WIDEST
    _, d68, ddense = _driver_face(bundled_face, scale=0.5, angle=0.0, shift=(0.0, 0.0))
    opened68, opened_dense = _jaw_dropped(d68, ddense, 8.0)  # the driver opens by 16 px at the still's scale
    track = _track([d68, opened68], [ddense, opened_dense])

    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), open68, open_dense).transfer(track)
    closed, reopened = shapes.dense
    assert motion.mouth_openness(shapes.landmarks[0]) == pytest.approx(neutral_opening, abs=0.01)
    inner_lower = list(mpt.INNER_LIP_LOWER[1:-1])
    # The lower lip keeps its thickness below the closed opening, and the chin rises with it.
    thickness = open_dense[list(mpt.OUTER_LIP_LOWER[5:6]), 1] - open_dense[list(mpt.INNER_LIP_LOWER[5:6]), 1]
    closed_thickness = closed[list(mpt.OUTER_LIP_LOWER[5:6]), 1] - closed[list(mpt.INNER_LIP_LOWER[5:6]), 1]
    assert closed_thickness == pytest.approx(thickness, abs=1.0)
    assert open68[8, 1] - shapes.landmarks[0][8, 1] > 0.5 * 20.0
    # Then it opens as far as the driver does, from closed.
    drop = reopened[inner_lower, 1] - closed[inner_lower, 1]
    assert np.median(drop) == pytest.approx(16.0, abs=1.5)
    upper_and_eyes = list(mpt.INNER_LIP_UPPER) + list(mpt.RIGHT_EYE_UPPER)
    assert np.abs(reopened[upper_and_eyes] - closed[upper_and_eyes]).max() < 1.0

    kept = motion.MotionTransfer(MotionConfig(neutral="first", close_mouth=False), open68, open_dense)
    assert np.abs(kept.transfer(track).dense[0] - open_dense).max() < 0.05
    # A still measured with 68 points alone closes the same way.
    only68 = motion.MotionTransfer(MotionConfig(neutral="first"), open68).transfer(_track([d68, opened68]))
    assert motion.mouth_openness(only68.landmarks[0]) == pytest.approx(neutral_opening, abs=0.01)
    assert motion.mouth_openness(only68.landmarks[1]) > neutral_opening + 0.1


def test_a_shouting_still_keeps_its_opening(bundled_face):
    """Past MOUTH_REST_WIDEST (a shout) the still keeps its own opening: folded shut, so tall a mouth would
    reopen in long thin strips."""
    open68, open_dense = _jaw_dropped(bundled_face["landmarks"], bundled_face["dense"], 60.0)
    assert motion.mouth_openness(open68) > MOUTH_REST_WIDEST
    _, d68, ddense = _driver_face(bundled_face)
    shapes = motion.MotionTransfer(MotionConfig(neutral="first"), open68, open_dense).transfer(
        _track([d68, d68], [ddense, ddense]))
    assert np.abs(shapes.dense[0] - open_dense).max() < 0.05


def test_a_chunk_of_frames_gets_the_whole_tracks_rows(bundled_face):
    """A farm chunk transfers only its own frames, yet with the whole track's neutral frame and typical eye
    opening: its shapes equal the whole track's rows for those frames."""
    _, d68, ddense = _driver_face(bundled_face)
    rng = np.random.default_rng(3)
    frames68 = [d68 + rng.normal(0.0, 1.5, d68.shape) for _ in range(12)]
    frames_dense = [ddense + rng.normal(0.0, 1.5, ddense.shape) for _ in range(12)]
    frames68[0][list(range(60, 68))] += rng.normal(0.0, 6.0, (8, 2))  # the first frame is no neutral
    track = _track(frames68, frames_dense)
    transfer = motion.MotionTransfer(MotionConfig(), bundled_face["landmarks"], bundled_face["dense"])
    whole = transfer.transfer(track)
    chunk = transfer.transfer(track, [9, 10, 11])
    np.testing.assert_array_equal(chunk.frame_numbers, [9, 10, 11])
    np.testing.assert_array_equal(chunk.landmarks, whole.landmarks[8:11])
    np.testing.assert_array_equal(chunk.dense, whole.dense[8:11])
    alone = transfer.transfer(_track(frames68[8:11], frames_dense[8:11]))  # the chunk's frames as a track
    assert np.abs(alone.dense - chunk.dense).max() > 0.1
