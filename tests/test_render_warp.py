"""The warp renderer on a real face (the bundled still): pixels, not just shapes."""

import cv2
import numpy as np
import pytest

from portrait_animator import align
from portrait_animator.landmarks import mediapipe_topology as mpt
from portrait_animator.landmarks.track import LandmarkTrack
from portrait_animator.motion import MotionTransfer
from portrait_animator.config import MotionConfig
from portrait_animator.presets import preset_track
from portrait_animator.render import gaze
from portrait_animator.render import head_band
from portrait_animator.render import mesh as warp_mesh
from portrait_animator.render.base import SourceFace, SourceShot, TargetFace
from portrait_animator.render.warp import WarpRenderer


@pytest.fixture(scope="module")
def renderer(bundled_source):
    warp = WarpRenderer()
    warp.prepare(bundled_source)
    return warp


def _target(bundled_source, frame=1, landmarks=None, dense=None):
    crop = bundled_source.crop
    return TargetFace(frame, crop.landmarks if landmarks is None else landmarks.astype(np.float32),
                      crop.dense if dense is None else dense.astype(np.float32))


def _bilinear(image, point):
    """``image`` sampled at ``point`` (our pixel convention: pixel centres at +0.5)."""
    return cv2.getRectSubPix(image, (1, 1), tuple(float(v) - 0.5 for v in point))[0, 0]


def _face_shift(bundled_source, out):
    """How far the face moved in the rendered crop (phase correlation over the still's face box)."""
    face = bundled_source.crop.landmarks
    x0, y0 = np.floor(face.min(0)).astype(int)
    x1, y1 = np.ceil(face.max(0)).astype(int)
    before = cv2.cvtColor(bundled_source.crop.rgb, cv2.COLOR_RGB2GRAY)[y0:y1, x0:x1]
    after = cv2.cvtColor(out.rgb, cv2.COLOR_RGB2GRAY)[y0:y1, x0:x1]
    window = cv2.createHanningWindow(before.shape[::-1], cv2.CV_32F)
    return np.array(cv2.phaseCorrelate(before.astype(np.float32), after.astype(np.float32), window)[0])


def _preset_shapes(bundled_source, name, frames=60):
    track = preset_track(name, bundled_source.crop.landmarks, frames=frames, seed=3)
    return MotionTransfer(MotionConfig(), bundled_source.crop.landmarks, bundled_source.crop.dense).transfer(track)


def test_the_neutral_target_gives_back_the_still(bundled_source, renderer):
    out = renderer.render(_target(bundled_source))
    assert np.abs(out.rgb - bundled_source.crop.rgb).max() < 1e-3
    assert out.matte.max() < 1e-3 and out.overlay is None


def test_head_motion_moves_the_face_and_leaves_the_crop_edge(bundled_source, renderer):
    shift = np.array([12.0, -7.0])
    out = renderer.render(_target(bundled_source, landmarks=bundled_source.crop.landmarks + shift,
                                  dense=bundled_source.crop.dense + shift))
    assert tuple(_face_shift(bundled_source, out)) == pytest.approx(tuple(shift), abs=1.0)  # let through whole
    face = bundled_source.crop.landmarks
    x0, y0 = np.floor(face.min(0)).astype(int)
    x1, y1 = np.ceil(face.max(0)).astype(int)
    # The warp fades to identity at the crop border and the matte to zero: paste-back leaves no seam.
    rim = np.zeros((512, 512), bool)
    rim[0], rim[-1], rim[:, 0], rim[:, -1] = True, True, True, True
    assert np.linalg.norm(out.source_map - renderer.identity_map, axis=-1)[rim].max() < 0.6
    assert out.matte[rim].max() == 0.0 and out.matte[y0:y1, x0:x1].min() > 0.99


def test_a_head_moving_further_than_the_crop_can_carry_is_held_back_and_tears_nothing(bundled_source, renderer):
    """A hand-held driver can carry the head a third of the crop away; the warp can only stretch the band
    between the face and the fixed crop border, and folded it: hair torn from the face, background over the
    cheek. A small move is let through whole, a larger one in part, the more the further it goes, and the
    band is never stretched past the limit: nothing folds."""
    moves = []
    for share in (0.05, 0.1, 0.15, 0.2, 0.45):
        shift = np.array([share * 512, 0.0])
        target = _target(bundled_source, landmarks=bundled_source.crop.landmarks + shift,
                         dense=bundled_source.crop.dense + shift)
        head = align.fit_similarity(bundled_source.crop.landmarks[list(align.RIGID_68)],
                                    target.landmarks[list(align.RIGID_68)])
        assert head_band.band_stretch(renderer.mesh, head_band.limit_head(renderer.mesh, head)) \
            <= head_band.HEAD_LIMIT + 1e-6
        out = renderer.render(target)
        moved = _face_shift(bundled_source, out)
        assert abs(moved[1]) < 1.0, (share, moved)
        jumps = [np.linalg.norm(np.diff(out.source_map, axis=axis), axis=-1).max() for axis in (0, 1)]
        assert max(jumps) < 3.5, (share, jumps)  # squeezed, never torn (a fold jumps tens of pixels)
        moves.append((shift[0], moved[0]))
    (small, small_moved), (far, far_moved) = moves[0], moves[-1]
    assert small_moved == pytest.approx(small, abs=1.0)
    assert head_band.band_stretch(renderer.mesh, align.similarity_from_params(1.0, 0.0, (far, 0.0))) \
        > head_band.HEAD_LIMIT  # the far move is one the band cannot carry
    assert small < far_moved < 0.5 * far
    assert all(a[1] <= b[1] + 0.5 for a, b in zip(moves, moves[1:]))  # no jump back where the limit starts


def test_the_heads_travel_is_held_back_before_its_turn(renderer):
    """Most of a hand-held driver's travel across the frame is the camera's; the head's turn is the
    performance. A tilted head carried far keeps its tilt and scale and travels less."""
    centre = renderer.mesh.centre
    turn = align.similarity_from_params(1.02, np.radians(5.0), (0.0, 0.0))  # the band carries it in place
    turn[:, 2] = centre - turn[:, :2] @ centre  # about the face's centre
    for travel in (np.array([0.3 * 512, 0.0]), np.array([0.0, -0.25 * 512])):
        head = turn.copy()
        head[:, 2] += travel
        limited = head_band.limit_head(renderer.mesh, head)
        np.testing.assert_allclose(limited[:, :2], head[:, :2], rtol=0, atol=1e-12)  # turn and scale kept
        carried = align.apply(limited, centre[None])[0] - align.apply(turn, centre[None])[0]
        assert 0.0 < carried @ travel / (travel @ travel) < 0.75  # along the same way, less far
        assert head_band.band_stretch(renderer.mesh, limited) <= head_band.HEAD_LIMIT + 1e-6


def test_a_head_turned_and_grown_in_place_squeezes_the_band_no_further_than_the_limit(renderer):
    """A head that rolls and comes closer in place squeezes the band between its outline and the crop
    border where that band is narrowest, much more than it stretches it anywhere; squeezed far enough the
    band turns over and the face's edge tears from the hair and the neck. The limit holds the squeeze too
    (left out of the band's measure, this head was held back only as far as its stretch asked: the band
    squeezed to 1/6.0)."""
    mesh, centre = renderer.mesh, renderer.mesh.centre
    head = align.similarity_from_params(1.1, np.radians(15.0), (0.0, 0.0))
    head[:, 2] = centre - head[:, :2] @ centre
    control = mesh.points[: mesh.control_count]
    for motion, held in ((head, False), (head_band.limit_head(mesh, head), True)):
        points = warp_mesh.target_points(mesh, align.apply(motion, control), motion)  # the head's motion alone
        corners, moved = mesh.points[mesh.triangles], points[mesh.triangles]
        before = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=-1)
        after = np.stack([moved[:, 1] - moved[:, 0], moved[:, 2] - moved[:, 0]], axis=-1)
        maps = after @ np.linalg.inv(before)
        singular = np.linalg.svd(maps, compute_uv=False)
        stretch, squeeze = float(np.log(singular[:, 0].max())), float(np.log(1.0 / singular[:, 1].min()))
        assert stretch <= head_band.HEAD_LIMIT + 1e-6  # the stretch alone is within the limit, held or not
        if held:
            assert (np.linalg.det(maps) > 0.0).all()
            assert squeeze * head_band.SQUEEZE_PER_STRETCH <= head_band.HEAD_LIMIT + 1e-6, np.exp(squeeze)
        else:
            assert squeeze * head_band.SQUEEZE_PER_STRETCH > head_band.HEAD_LIMIT, np.exp(squeeze)


@pytest.mark.parametrize("excess", [lambda x: x ** 3 + x - 0.5, lambda x: max(2.0 * x - 0.9, 0.3 * x - 0.1)])
def test_the_hold_back_search_ends_just_below_the_limit_in_few_measures(excess):
    """The share kept of a held-back head's motion: the largest whose stretch stays within the limit, found
    in fewer measures than halving the interval ten times, on a smooth and on a kinked stretch."""
    calls = []

    def counted(x):
        calls.append(x)
        return excess(x)

    share = head_band.kept_share(counted, excess(0.0), excess(1.0))
    assert -head_band.HEAD_SEARCH_TOLERANCE < excess(share) <= 0.0
    assert len(calls) < 8, len(calls)


def test_a_stretch_flat_at_the_limit_keeps_the_largest_share_below_it():
    """A head turning in place may stretch the band to just below the limit by itself, and its travel
    hardly more until far along: any share up to there is within the limit, and the largest keeps the
    travel of the frames on either side (the nearest, none, held the head back for a frame or two)."""
    excess = lambda x: -0.0003 + max(0.0, x - 0.9)
    share = head_band.kept_share(excess, excess(0.0), excess(1.0))
    assert 0.88 < share <= 0.9003


def test_the_rings_follow_the_head_less_towards_the_crop_border(renderer):
    shares = {share: renderer.mesh.points[rows] for share, rows in renderer.mesh.head_groups}
    assert sorted(shares) == sorted({1.0, *warp_mesh.RING_FOLLOW})
    edge = lambda points: np.minimum(points, 512 - points).min(axis=1)  # distance to the crop border
    assert np.median(edge(shares[1.0])) > np.median(edge(shares[min(warp_mesh.RING_FOLLOW)])) > 0.03 * 512


def test_the_rings_carry_the_outlines_own_motion_out_to_the_crop_border(bundled_source, renderer):
    """A head turning towards the camera widens its far cheek further than the head's rigid motion carries
    it; the hair and background beside the cheek give way all the way to the crop border, instead of being
    crushed against the first ring (a streaked strip of hair and a notch along the jaw: there the worst
    triangle beside this cheek kept 0.44 of its area)."""
    mesh, crop = renderer.mesh, bundled_source.crop
    dense = crop.dense.astype(np.float64).copy()
    oval = np.array(mpt.FACE_OVAL)
    centre = dense[: mpt.FACE_MESH_COUNT].mean(0)
    cheek = oval[dense[oval, 0] < centre[0] - 40]
    dense[cheek, 0] -= 0.08 * 512  # outwards
    control = renderer._control(mpt.to_ibug68(dense), dense)
    points = warp_mesh.target_points(mesh, control, np.eye(2, 3))
    beside = mesh.triangles[np.isin(mesh.triangles, mesh.rings.rows).any(axis=1)
                            & (mesh.points[mesh.triangles].mean(axis=1)[:, 0] < centre[0] - 40)]
    kept = warp_mesh.signed_areas(points, beside) / warp_mesh.signed_areas(mesh.points, beside)
    assert len(kept) > 20 and kept.min() > 0.65, np.sort(kept)[:5]
    ring = mesh.rings.rows[mesh.points[mesh.rings.rows, 0] < centre[0] - 60]
    assert (points[ring, 0] < mesh.points[ring, 0] - 2.0).all()  # every ring point beside it gave way


def test_an_opening_mouth_is_painted_inside(bundled_source, renderer):
    shapes = _preset_shapes(bundled_source, "talk", frames=80)
    crop = bundled_source.crop
    gaps = np.linalg.norm(shapes.dense[:, list(mpt.INNER_LIP_UPPER[3:8])]
                          - shapes.dense[:, list(mpt.INNER_LIP_LOWER[3:8])], axis=-1).mean(-1)
    row = int(np.argmax(gaps))
    out = renderer.render(_target(bundled_source, row + 1, shapes.landmarks[row], shapes.dense[row]))
    inner = np.vstack([shapes.dense[row][list(mpt.INNER_LIP_UPPER)],
                       shapes.dense[row][list(mpt.INNER_LIP_LOWER)][::-1][1:-1]])
    mask = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(mask, [np.round(inner - 0.5).astype(np.int32)], 1)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
    assert mask.sum() > 150  # the preset really opens the mouth
    assert out.overlay_alpha[mask].mean() > 0.9
    # The opening holds a dark cavity (and the still's own teeth near the lips), not stretched lip colour.
    lips = np.vstack([crop.dense[list(mpt.OUTER_LIP_UPPER)], crop.dense[list(mpt.OUTER_LIP_LOWER)][::-1]])
    lip_mask = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(lip_mask, [np.round(lips - 0.5).astype(np.int32)], 1)
    luma = lambda im: im @ np.array([0.2126, 0.7152, 0.0722], np.float32)  # noqa: E731
    assert np.percentile(luma(out.rgb)[mask], 20) < 0.6 * np.median(luma(crop.rgb)[lip_mask.astype(bool)])


def test_a_wide_open_mouth_keeps_its_own_interior(media, tmp_path):
    """A shouting still already shows a whole mouth interior: opened further, that interior stretches with
    the lips and nothing is painted over it (no foreign teeth in the middle of the shout)."""
    from portrait_animator.cache import FileCache
    from portrait_animator.config import RenderJob
    from portrait_animator.face_analysis import analyse_source

    still = media("stills", "lp_d9img_photo_shouting_woman.jpg")
    source = analyse_source(RenderJob(sources=[str(still)], driver="preset:talk"), FileCache(str(tmp_path)))
    warp = WarpRenderer()
    warp.prepare(source)
    assert warp.mouth.open_wide
    dense = source.crop.dense.astype(np.float64).copy()
    dense[list(mpt.INNER_LIP_LOWER[1:-1]) + list(mpt.OUTER_LIP_LOWER[1:-1])] += [0.0, 12.0]
    out = warp.render(TargetFace(1, mpt.to_ibug68(dense).astype(np.float32), dense.astype(np.float32)))
    assert out.overlay_alpha is None or out.overlay_alpha.max() == 0.0
    mouth = np.vstack([dense[list(mpt.INNER_LIP_UPPER)], dense[list(mpt.INNER_LIP_LOWER)][::-1][1:-1]])
    mask = np.zeros(out.rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(mouth - 0.5).astype(np.int32)], 1)
    inside = mask.astype(bool)
    assert inside.sum() > 500
    warped = cv2.remap(source.crop.rgb, *(out.source_map - 0.5).transpose(2, 0, 1), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(out.rgb[inside] - warped[inside]).max() < 1e-5  # the still's own interior, moved


def test_a_blink_covers_the_eye_with_lid(bundled_source, renderer):
    shapes = _preset_shapes(bundled_source, "blink")
    crop = bundled_source.crop
    openness = np.array([np.linalg.norm(s[list(mpt.RIGHT_EYE_UPPER[3:6])] - s[list(mpt.RIGHT_EYE_LOWER[3:6])],
                                        axis=-1).mean() for s in shapes.dense])
    row = int(np.argmin(openness))
    out = renderer.render(_target(bundled_source, row + 1, shapes.landmarks[row], shapes.dense[row]))
    for upper, lower in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), (mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER)):
        eye = np.vstack([crop.dense[list(upper)], crop.dense[list(lower)][::-1][1:-1]])
        mask = np.zeros((512, 512), np.uint8)
        cv2.fillPoly(mask, [np.round(eye - 0.5).astype(np.int32)], 1)
        mask = mask.astype(bool)
        before = cv2.cvtColor(crop.rgb, cv2.COLOR_RGB2GRAY)[mask]
        after = cv2.cvtColor(out.rgb, cv2.COLOR_RGB2GRAY)[mask]
        # The open eye's dark iris and pupil give way to lid skin (only a thin line of lashes stays dark).
        iris = np.percentile(before, 30)
        assert (after < iris).mean() < 0.3 * (before < iris).mean()
        assert np.median(after) > np.median(before) + 0.1


def test_a_blink_under_low_dark_brows_paints_skin_not_brow(bundled_source):
    """Deep-set eyes under low, heavy brows show only a narrow strip of lid skin. The closed lid is painted in
    that skin's colour: a band at a fixed height above the lid found the brow hair and painted it black."""
    crop = bundled_source.crop
    rgb, dense = crop.rgb.copy(), crop.dense.astype(np.float64).copy()
    brow_colour = np.array([0.07, 0.05, 0.04], np.float32)
    for upper, brow in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_BROW), (mpt.LEFT_EYE_UPPER, mpt.LEFT_BROW)):
        lid = dense[list(upper)]
        width = np.linalg.norm(lid[-1] - lid[0])
        axis = (lid[-1] - lid[0]) / width
        arch = align.polyline_at(lid, np.linspace(0.0, width, 5), lid[0], axis)
        lower_edge = arch - [0.0, 0.3 * width]  # the brow comes down to 0.3 eye widths above the lid
        upper_edge = lower_edge - [0.0, 0.25 * width]
        dense[list(brow[5:])] = lower_edge
        dense[list(brow[:5])] = upper_edge
        outline = np.vstack([lower_edge, upper_edge[::-1]])
        cv2.fillPoly(rgb, [np.round(outline - 0.5).astype(np.int32)], brow_colour.tolist())
    low_brows = SourceFace([SourceShot(rgb, mpt.to_ibug68(dense).astype(np.float32), dense.astype(np.float32))],
                           512, bundled_source.crop_from_still, bundled_source.still_rgb)
    warp = WarpRenderer()
    warp.prepare(low_brows)
    shapes = MotionTransfer(MotionConfig(), low_brows.crop.landmarks, low_brows.crop.dense).transfer(
        preset_track("blink", low_brows.crop.landmarks, frames=60, seed=3))
    openness = np.array([np.linalg.norm(s[list(mpt.RIGHT_EYE_UPPER[3:6])] - s[list(mpt.RIGHT_EYE_LOWER[3:6])],
                                        axis=-1).mean() for s in shapes.dense])
    row = int(np.argmin(openness))
    out = warp.render(TargetFace(row + 1, shapes.landmarks[row], shapes.dense[row]))
    luma = lambda im: im @ np.array([0.2126, 0.7152, 0.0722], np.float32)  # noqa: E731
    cheeks = np.concatenate([luma(rgb)[int(y) - 8:int(y) + 8, int(x) - 8:int(x) + 8].ravel()
                             for x, y in dense[[50, 280]]])  # a patch on each cheek
    for upper, lower in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), (mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER)):
        eye = np.vstack([dense[list(upper)], dense[list(lower)][::-1][1:-1]])
        mask = np.zeros((512, 512), np.uint8)
        cv2.fillPoly(mask, [np.round(eye - 0.5).astype(np.int32)], 1)
        lid = np.median(luma(out.rgb)[mask.astype(bool)])
        # Lid skin, a little darker than the cheeks (the lid's shading and the crease); the brow is 0.05.
        assert lid > 0.5 * np.median(cheeks), (lid, np.median(cheeks))


def test_a_blink_in_a_shadowed_socket_paints_a_lit_lid(bundled_source):
    """Light from above leaves the skin between the crease and the brow in shadow; the closed lid bulges over
    the eyeball and is lit like the skin under the eye. Sampled from the shadow alone, a blink painted a dark
    patch over the eye that read as an open eye."""
    crop = bundled_source.crop
    rgb, dense = crop.rgb.copy(), crop.dense.astype(np.float64)
    luma = lambda im: im @ np.array([0.2126, 0.7152, 0.0722], np.float32)  # noqa: E731
    shadow = np.zeros((512, 512), np.uint8)
    for upper, brow in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_BROW), (mpt.LEFT_EYE_UPPER, mpt.LEFT_BROW)):
        lid = dense[list(upper)]
        width = np.linalg.norm(lid[-1] - lid[0])
        socket = np.vstack([lid - [0.0, 0.04 * width], dense[list(brow[5:])][::-1]])
        cv2.fillPoly(shadow, [np.round(socket - 0.5).astype(np.int32)], 1)
    rgb[shadow.astype(bool)] *= 0.3
    shaded = SourceFace([SourceShot(rgb, crop.landmarks, crop.dense)], 512, bundled_source.crop_from_still,
                        bundled_source.still_rgb)
    warp = WarpRenderer()
    warp.prepare(shaded)
    shapes = _preset_shapes(shaded, "blink")
    openness = np.array([np.linalg.norm(s[list(mpt.RIGHT_EYE_UPPER[3:6])] - s[list(mpt.RIGHT_EYE_LOWER[3:6])],
                                        axis=-1).mean() for s in shapes.dense])
    row = int(np.argmin(openness))
    out = warp.render(TargetFace(row + 1, shapes.landmarks[row], shapes.dense[row]))
    socket_luma = np.median(luma(rgb)[shadow.astype(bool)])
    for upper, lower in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), (mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER)):
        eye = np.vstack([dense[list(upper)], dense[list(lower)][::-1][1:-1]])
        width = np.linalg.norm(dense[upper[-1]] - dense[upper[0]])
        under = np.vstack([dense[list(lower)] + [0.0, 0.15 * width], (dense[list(lower)] + [0.0, 0.3 * width])[::-1]])
        masks = [np.zeros((512, 512), np.uint8) for _ in range(2)]
        cv2.fillPoly(masks[0], [np.round(eye - 0.5).astype(np.int32)], 1)
        cv2.fillPoly(masks[1], [np.round(under - 0.5).astype(np.int32)], 1)
        lid = np.median(luma(out.rgb)[masks[0].astype(bool)])
        under_eye = np.median(luma(rgb)[masks[1].astype(bool)])
        # Lit skin, well above the socket's shadow (a lid in the shadow's colour is at about 0.95 of it).
        assert lid > socket_luma + 0.3 * (under_eye - socket_luma), (lid, socket_luma, under_eye)


def test_a_turning_head_folds_no_triangle_and_tears_no_jaw(bundled_source, renderer):
    """A head turn slides the outline of a 2-D landmark mesh over the points inside it; unfolded as it comes,
    the mesh would map far-apart places of the still onto neighbouring pixels (a torn, stair-stepped jaw:
    jumps of 40 px between adjacent pixels here). The warp unfolds it and keeps the lips and eyes as given."""
    crop = bundled_source.crop
    dense = crop.dense.astype(np.float64).copy()
    oval = np.array(mpt.FACE_OVAL)
    centre = dense[: mpt.FACE_MESH_COUNT].mean(0)
    far_cheek = oval[dense[oval, 0] < centre[0] - 40]
    dense[far_cheek, 0] += 0.08 * 512
    dense[list(mpt.INNER_LIP_LOWER)] += [0.0, 9.0]  # and the mouth opens
    target = _target(bundled_source, landmarks=mpt.to_ibug68(dense), dense=dense)
    control = renderer._control(target.landmarks, target.dense)
    points = warp_mesh.target_points(renderer.mesh, control, np.eye(2, 3))
    assert not (warp_mesh.turned_over(renderer.mesh, points) & renderer.mesh.watched).any()
    features = renderer._feature_indices()
    np.testing.assert_allclose(points[features], control[features], rtol=0, atol=1e-9)
    out = renderer.render(target)
    jumps = [np.linalg.norm(np.diff(out.source_map, axis=axis), axis=-1).max() for axis in (0, 1)]
    assert max(jumps) < 15.0, jumps


def test_an_unfolded_target_mesh_is_left_exactly_as_it_is(bundled_source, renderer):
    mesh = renderer.mesh
    points = mesh.points.copy()
    points[: mesh.control_count] += [3.0, -2.0]  # the face moves a little inside its rings
    points[list(mpt.INNER_LIP_LOWER)] += [0.0, 4.0]
    assert not (warp_mesh.turned_over(mesh, points) & mesh.watched).any()
    np.testing.assert_array_equal(warp_mesh.untangle(mesh, points, mesh.points), points)


def test_wobble_near_the_outline_is_smoothed_and_smooth_motion_kept(bundled_source, renderer):
    """The driver's dense points wobble against each other, most near the face outline; carried point by
    point, the wobble broke the still's shading along the cheeks into a saw-tooth of facets. The warp
    smooths the motion near the outline: wobble is damped there, the head's motion and a smooth jaw drop are
    kept, and the inner face and the brows (lips, eyes, lid skin, brows) move exactly as given."""
    mesh, crop = renderer.mesh, bundled_source.crop
    control = mesh.points[: mesh.control_count]
    near = mesh.smoothed
    assert near[list(mpt.FACE_OVAL)].all() and not near[renderer._feature_indices()].any()
    assert not near[list(mpt.BROW_POINTS)].any()
    assert 0.2 < near.mean() < 0.6  # a band round the face, not all of it
    turn = np.array([[1.03, -0.02], [0.02, 1.03]])
    rigid = (control - control.mean(0)) @ turn.T + control.mean(0) + [4.0, -3.0]  # turns, nears and moves
    jaw = np.clip((control[:, 1] - control[:, 1].mean()) / 100.0, 0.0, None)[:, None] * [0.0, 5.0]
    smooth = rigid + jaw  # and the lower face drops smoothly
    wobble = np.random.default_rng(5).normal(0.0, 2.0, control.shape)
    np.testing.assert_allclose(warp_mesh.smooth_motion(mesh, rigid, rigid), rigid, rtol=0, atol=1e-9)
    assert np.abs(warp_mesh.smooth_motion(mesh, smooth, rigid) - smooth).max() < 0.1 * np.abs(jaw).max()
    damped = warp_mesh.smooth_motion(mesh, smooth + wobble, rigid) - smooth
    assert np.sqrt((damped[near] ** 2).mean()) < 0.4 * np.sqrt((wobble[near] ** 2).mean())
    np.testing.assert_allclose(damped[~near], wobble[~near], rtol=0, atol=1e-9)
    # In pixels: wobble near the outline no longer shows (mean change over the face, 8-bit levels).
    still = renderer.render(_target(bundled_source)).rgb
    dense = crop.dense.astype(np.float64).copy()
    dense[: mpt.FACE_MESH_COUNT] += np.where(near[:, None], wobble, 0.0)[: mpt.FACE_MESH_COUNT]
    moved = renderer.render(_target(bundled_source, landmarks=mpt.to_ibug68(dense), dense=dense)).rgb
    face = np.zeros((512, 512), np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(control - 0.5).astype(np.int32)), 1)
    change = np.abs(moved - still)[face.astype(bool)].mean() * 255
    assert change < 1.5, change  # 2.4 when the wobble is carried as it comes


def test_the_irises_follow_the_drivers_gaze(bundled_source, renderer):
    """The iris centres are control points: on a glance to the side, each iris is drawn where the driver's
    gaze puts it."""
    crop = bundled_source.crop
    dense = crop.dense.astype(np.float64).copy()
    eyes = ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_IRIS), (mpt.LEFT_EYE_UPPER, mpt.LEFT_IRIS))
    for upper, iris in eyes:
        dense[list(iris)] += [0.12 * np.linalg.norm(dense[upper[-1]] - dense[upper[0]]), 0.0]
    out = renderer.render(_target(bundled_source, dense=dense))
    for _, iris in eyes:
        source, target = crop.dense[iris[0]], dense[iris[0]]
        # The still's iris centre is drawn at the target (within the bilinear blur of the map's kink there).
        map_at_target = [_bilinear(out.source_map[..., k], target) for k in (0, 1)]
        assert np.allclose(map_at_target, source, atol=1.0), (map_at_target, source, target)
        # ... and the pixel there is the still's, sampled where the map says.
        x, y = np.floor(target).astype(int)
        assert np.abs(out.rgb[y, x] - _bilinear(crop.rgb, out.source_map[y, x])).max() < 0.01


@pytest.mark.parametrize("glance", [-0.2, -0.1, 0.1, 0.2])
def test_a_glance_folds_no_triangle_of_the_eye(bundled_source, renderer, glance):
    """Anywhere the iris centre may go inside the opening, the eye's triangles keep their orientation and
    the map stays continuous: Delaunay left the centre a small polygon of the lid points, a glance across
    its chords folded the triangles either side, and the raster cut the pupil into a hard-edged square."""
    crop = bundled_source.crop
    dense = crop.dense.astype(np.float64).copy()
    for upper, iris in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_IRIS), (mpt.LEFT_EYE_UPPER, mpt.LEFT_IRIS)):
        dense[list(iris)] += [glance * np.linalg.norm(dense[upper[-1]] - dense[upper[0]]), 0.0]
    target = _target(bundled_source, dense=dense)
    control, points = renderer.mesh_target(target)
    mesh = renderer.mesh
    eye_points = list(mpt.RIGHT_EYE_UPPER + mpt.RIGHT_EYE_LOWER + mpt.LEFT_EYE_UPPER + mpt.LEFT_EYE_LOWER)
    eye_points += [mpt.FACE_MESH_COUNT, mpt.FACE_MESH_COUNT + 1]
    of_eyes = np.isin(mesh.triangles, eye_points).any(axis=1)
    assert not (warp_mesh.turned_over(mesh, points) & of_eyes).any()
    out = renderer.render(target)
    for upper, lower in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), (mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER)):
        eye = control[list(upper) + list(lower)]
        x0, y0 = np.floor(eye.min(0)).astype(int)
        x1, y1 = np.ceil(eye.max(0)).astype(int)
        box = out.source_map[y0:y1, x0:x1]
        jumps = [np.linalg.norm(np.diff(box, axis=axis), axis=-1).max() for axis in (0, 1)]
        assert max(jumps) < 3.0, jumps  # a fold jumps across the iris between neighbouring pixels


def test_an_iris_stays_inside_its_eye():
    upper = np.array([[0.0, 10.0], [10.0, 5.0], [20.0, 4.0], [30.0, 5.0], [40.0, 10.0]])
    lower = np.array([[0.0, 10.0], [10.0, 14.0], [20.0, 15.0], [30.0, 14.0], [40.0, 10.0]])
    assert np.allclose(gaze.iris_inside_eye(np.array([20.0, 9.0]), upper, lower), [20.0, 9.0])  # left alone
    corner = gaze.iris_inside_eye(np.array([45.0, 2.0]), upper, lower)  # past the corner, above the lid
    assert corner[0] == pytest.approx(40.0 * (1 - gaze.CORNER_MARGIN)) and 5.0 < corner[1] < 14.0
    closed = gaze.iris_inside_eye(np.array([20.0, 9.0]), upper, upper.copy())  # the lids meet
    assert closed == pytest.approx([20.0, 4.0])


def test_a_68_point_source_mesh_also_renders(bundled_source):
    crop = bundled_source.crop
    sparse = SourceFace([SourceShot(crop.rgb, crop.landmarks, None)], 512, bundled_source.crop_from_still,
                        bundled_source.still_rgb)
    warp = WarpRenderer()
    warp.prepare(sparse)
    opened = crop.landmarks.copy()
    opened[[56, 57, 58, 65, 66, 67]] += [0.0, 14.0]
    out = warp.render(TargetFace(1, opened))
    assert np.isfinite(out.rgb).all() and out.matte.max() > 0.5
    assert out.overlay_alpha is not None and out.overlay_alpha.max() > 0.5


def test_a_68_point_meshs_rings_follow_its_jaw_not_its_brows(bundled_source):
    """A 68-point face's outline runs along the brows: a brow raise is the face's expression, and the hair
    above stays; a widening jaw carries the rings beside it, as the dense mesh's outline does."""
    crop = bundled_source.crop
    sparse = SourceFace([SourceShot(crop.rgb, crop.landmarks, None)], 512, bundled_source.crop_from_still,
                        bundled_source.still_rgb)
    warp = WarpRenderer()
    warp.prepare(sparse)
    mesh, landmarks = warp.mesh, crop.landmarks.astype(np.float64)
    above = mesh.rings.rows[mesh.points[mesh.rings.rows, 1] < landmarks[17:27, 1].min() - 10]
    beside = mesh.rings.rows[mesh.points[mesh.rings.rows, 0] < landmarks[0:17, 0].min() - 10]
    assert len(above) >= 4 and len(beside) >= 4
    raised = landmarks.copy()
    raised[17:27, 1] -= 8.0
    points = warp_mesh.target_points(mesh, raised, np.eye(2, 3))
    np.testing.assert_allclose(points[above], mesh.points[above], atol=1e-9)
    wide = landmarks.copy()
    wide[0:8, 0] -= 8.0
    points = warp_mesh.target_points(mesh, wide, np.eye(2, 3))
    assert (points[beside, 0] < mesh.points[beside, 0] - 1.0).any()


def test_a_smile_with_teeth_folds_shut_without_tearing(bundled_source, renderer):
    """The bundled still smiles with its teeth; a driver whose neutral mouth is shut closes it: the opening
    shrinks away with no triangle turned over, and its teeth give way to the lips."""
    crop = bundled_source.crop
    driver_dense = crop.dense.astype(np.float64).copy()
    inner_lower, inner_upper = list(mpt.INNER_LIP_LOWER[1:-1]), list(mpt.INNER_LIP_UPPER[1:-1])
    driver_dense[inner_lower] = driver_dense[inner_upper]
    track = LandmarkTrack(mpt.to_ibug68(driver_dense)[None].astype(np.float32), np.ones(1), np.array([1]),
                          dense=driver_dense[None].astype(np.float32))
    shapes = MotionTransfer(MotionConfig(neutral="first"), crop.landmarks, crop.dense).transfer(track)
    target = _target(bundled_source, landmarks=shapes.landmarks[0], dense=shapes.dense[0])
    control = renderer._control(target.landmarks, target.dense)
    points = warp_mesh.target_points(renderer.mesh, control, np.eye(2, 3))
    assert not warp_mesh.turned_over(renderer.mesh, points).any()

    out = renderer.render(target)
    opening = np.vstack([crop.dense[list(mpt.INNER_LIP_UPPER)], crop.dense[list(mpt.INNER_LIP_LOWER)][::-1][1:-1]])
    mask = np.zeros(out.rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(opening - 0.5).astype(np.int32)], 1)
    inside = mask.astype(bool)
    teeth = lambda rgb: (rgb.min(axis=-1) > 0.6) & (np.ptp(rgb, axis=-1) < 0.15)  # noqa: E731
    still_teeth = teeth(crop.rgb)[inside].mean()
    assert still_teeth > 0.3, still_teeth
    assert teeth(out.rgb)[inside].mean() < 0.2 * still_teeth


def test_a_tall_open_mouth_closes_in_strips_that_never_turn_over():
    """A shout-like opening (the lower lip a U wider than the upper lip) closed as motion closes it: the
    lower lip rising 0.7 of the way and drawing in, the upper lip coming down 0.3. Delaunay's triangles
    across the opening turn over (four of them here); the strips between lip columns shrink instead."""
    t = np.linspace(0.0, np.pi, 11)
    upper = np.stack([200 - 50 * np.cos(t), np.full(11, 250.0)], axis=1)
    lower = np.stack([200 - 50 * np.cos(t) * (1 + 0.3 * np.sin(t)), 250 + 70 * np.sin(t)], axis=1)
    around = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)
    face = np.stack([200 + 120 * np.cos(around), 270 + 120 * np.sin(around)], axis=1)
    control = np.vstack([upper, lower[1:-1], face])
    upper_rows, lower_rows = np.arange(11), np.r_[0, 11 + np.arange(9), 10]
    meet = upper[1:-1] + 0.3 * (lower[1:-1] - upper[1:-1])
    closed = control.copy()
    closed[upper_rows[1:-1]], closed[lower_rows[1:-1]] = meet, meet + [0.0, 1.0]
    opening_rows = np.r_[upper_rows, lower_rows[1:-1]]

    def turned_in_opening(lips):
        mesh = warp_mesh.build_mesh(control, 512, lips=lips)
        points = mesh.points.copy()
        points[: len(control)] = closed
        in_opening = np.isin(mesh.triangles, opening_rows).all(axis=1)
        assert in_opening.sum() == 18  # the opening is covered either way
        return int((warp_mesh.turned_over(mesh, points) & in_opening).sum())

    assert turned_in_opening(None) > 0
    assert turned_in_opening([(upper_rows, lower_rows)]) == 0


def _lip_folds(dense, targets, lips):
    """The mesh of ``dense`` with ``lips`` and the area its lip triangles (the opening's strips left out)
    turn over, summed over the ``targets``."""
    mesh = warp_mesh.build_mesh(dense[: mpt.FACE_MESH_COUNT], 512, features=np.array(mpt.LIP_POINTS), lips=lips)
    of_lips = np.isin(mesh.triangles, mpt.LIP_RING_POINTS).any(axis=1)
    of_lips &= ~np.isin(mesh.triangles, mpt.INNER_LIP_UPPER + mpt.INNER_LIP_LOWER).all(axis=1)
    folded = 0.0
    for target in targets:
        points = warp_mesh.target_points(mesh, target[: mpt.FACE_MESH_COUNT], np.eye(2, 3))
        turned = warp_mesh.turned_over(mesh, points) & of_lips
        folded -= (warp_mesh.signed_areas(points, mesh.triangles) * np.sign(mesh.areas))[turned].sum()
    return mesh, folded


def test_the_lips_are_cut_along_their_rings(media, tmp_path):
    """Where a still's lips lie on each other (the Mona Lisa), Delaunay over every point joined two points
    of the upper lip's band to one of the lower inner lip (MediaPipe 12-13-14, 82-87-38), and speech turned
    those over along the inside of the upper lip: the raster tore it. Cut along the lips' rings, only the
    opening's strips join the upper lip to the lower, and speech folds the lips far less."""
    from portrait_animator.cache import FileCache
    from portrait_animator.config import RenderJob
    from portrait_animator.face_analysis import analyse_source

    still = media("stills", "lp_s9_painting_mona_lisa.jpg")
    crop = analyse_source(RenderJob(sources=[str(still)], driver="preset:talk"), FileCache(str(tmp_path))).crop
    dense = crop.dense.astype(np.float64)
    track = preset_track("talk", crop.landmarks, frames=60, seed=3)
    targets = MotionTransfer(MotionConfig(), crop.landmarks, dense).transfer(track).dense
    upper_lip = [i for upper, _ in mpt.LIP_RINGS for i in upper[1:-1]]
    lower_lip = [i for _, lower in mpt.LIP_RINGS for i in lower[1:-1]]

    def seams(mesh):
        joins = np.isin(mesh.triangles, upper_lip).any(axis=1) & np.isin(mesh.triangles, lower_lip).any(axis=1)
        return int((joins & ~np.isin(mesh.triangles, mpt.INNER_LIP_UPPER + mpt.INNER_LIP_LOWER).all(axis=1)).sum())

    mesh, folded = _lip_folds(dense, targets, mpt.LIP_RINGS)
    delaunay_mesh, delaunay_folded = _lip_folds(dense, targets, mpt.LIP_RINGS[:1])  # the opening alone re-cut
    assert seams(mesh) == 0 and seams(delaunay_mesh) > 0
    assert folded < 0.4 * delaunay_folded, (folded, delaunay_folded)


def test_a_68_point_driver_moves_the_lip_rings_with_their_columns(bundled_source):
    """A 68-point driver (a preset, the rig) moves the dense rings between the inner and outer lips as
    blends of their columns' contour points: weighted on their own they took some of the other lip's
    motion, and speech turned the lips inside out at their corners (1432 px^2 over these frames)."""
    crop = bundled_source.crop
    dense = crop.dense.astype(np.float64)
    track = preset_track("talk", crop.landmarks, frames=60, seed=3)
    targets = MotionTransfer(MotionConfig(), crop.landmarks, dense).transfer(track).dense
    assert _lip_folds(dense, targets, mpt.LIP_RINGS)[1] < 60.0  # under a pixel squared a frame


def _tight_source(bundled_face, margin, border=0):
    """The bundled still cut ``margin`` face widths round its face (the crop reaches past the cut), as the
    warp renderer frames it; with a black strip ``border`` pixels tall along its top, as on a scan."""
    from portrait_animator.face_analysis import crop_face

    still, face = bundled_face["still"], bundled_face["face"]
    x0, y0 = np.floor(face.dense.min(0) - margin * np.ptp(face.dense, axis=0)).astype(int)
    x1, y1 = np.ceil(face.dense.max(0) + margin * np.ptp(face.dense, axis=0)).astype(int)
    rgb = np.ascontiguousarray(still.rgb[y0:y1, x0:x1])
    rgb = np.concatenate([np.zeros((border, x1 - x0, 3), rgb.dtype), rgb])
    landmarks, dense = face.landmarks - (x0, y0 - border), face.dense - (x0, y0 - border)
    matrix = align.face_crop_transform(landmarks, 512, WarpRenderer.crop_zoom)
    return SourceFace([SourceShot(crop_face(rgb, matrix, 512), align.apply(matrix, landmarks).astype(np.float32),
                                  align.apply(matrix, dense).astype(np.float32))], 512, matrix, rgb)


def test_a_border_strip_stays_as_it_is_and_nothing_of_it_comes_into_the_picture(bundled_face):
    """A scan's or a letterbox's strip along the still's top: the band round a moving head carried it along
    as picture, tilting and bending its straight edge. The frame now ends at the strip, which never moves."""
    border = 24
    source = _tight_source(bundled_face, 0.3, border)
    height, width = source.still_rgb.shape[:2]
    ys, xs = np.mgrid[0:512, 0:512] + 0.5
    in_still = align.apply(align.invert(source.crop_from_still), np.stack([xs, ys], -1).reshape(-1, 2))
    within = ((in_still >= 0) & (in_still <= (width, height))).all(axis=1)
    picture = (within & (in_still[:, 1] >= border + 1.0)).reshape(512, 512)
    strip = (within & (in_still[:, 1] <= border - 1.0)).reshape(512, 512)
    assert strip.sum() > 1000  # the crop reaches the strip
    renderer = WarpRenderer()
    renderer.prepare(source)
    crop = source.crop
    turn = align.similarity_from_params(1.0, np.radians(8.0), (0.0, 0.0))
    turn[:, 2] = renderer.mesh.centre - turn[:, :2] @ renderer.mesh.centre
    for motion in ((0.0, 0.06 * 512), (0.0, -0.06 * 512), (0.06 * 512, 0.0), turn):
        if isinstance(motion, tuple):
            target = TargetFace(1, crop.landmarks + np.float32(motion), crop.dense + np.float32(motion))
        else:
            target = TargetFace(1, align.apply(motion, crop.landmarks).astype(np.float32),
                                align.apply(motion, crop.dense).astype(np.float32))
        out = renderer.render(target)
        assert _face_shift(source, out).any()  # the head does move
        np.testing.assert_array_equal(out.source_map[strip], renderer.identity_map[strip])  # the strip stays
        sampled = align.apply(align.invert(source.crop_from_still), out.source_map[picture].astype(np.float64))
        assert sampled[:, 1].min() > border - 0.5  # and the picture shows none of it


def test_a_tightly_framed_still_moves_nothing_from_beyond_its_edge_into_its_picture(bundled_face):
    """The crop of a still framed tightly round the face reaches past the still's edges, where the crop
    repeats the edge pixels. Held at the crop's edge, the band pulled those streaks into the picture as
    the head moved away from an edge; ending at the still's edges, which give way outwards and along
    themselves only, every pixel of the picture shows a pixel of the picture, and the head still moves
    (held back by the room the still leaves behind it)."""
    source = _tight_source(bundled_face, 0.12)
    height, width = source.still_rgb.shape[:2]
    picture = align.apply(source.crop_from_still, np.array([[0, 0], [width, 0], [width, height], [0, height]],
                                                           np.float64))
    ys, xs = np.mgrid[0:512, 0:512] + 0.5
    in_still = align.apply(align.invert(source.crop_from_still), np.stack([xs, ys], -1).reshape(-1, 2))
    shown = ((in_still >= 0) & (in_still <= (width, height))).all(axis=1).reshape(512, 512)
    assert not shown.all()  # the crop does reach past the still
    renderer = WarpRenderer()
    renderer.prepare(source)
    mesh = renderer.mesh
    on_frame = mesh.points[mesh.control_count:][~mesh.movable[mesh.control_count:]]  # the mesh ends in the picture
    assert all(cv2.pointPolygonTest(picture.astype(np.float32), tuple(map(float, p)), True) > -1e-3
               for p in on_frame)
    crop = source.crop
    for shift in ((0.08 * 512, 0.0), (-0.08 * 512, 0.0), (0.0, -0.08 * 512)):
        out = renderer.render(TargetFace(1, crop.landmarks + np.float32(shift), crop.dense + np.float32(shift)))
        sampled = align.apply(align.invert(source.crop_from_still), out.source_map[shown].astype(np.float64))
        outside = np.maximum(np.maximum(-sampled, sampled - (width, height)), 0.0).max(axis=1)
        assert outside.max() < 0.5, (shift, outside.max())
        moved = _face_shift(source, out)
        assert 0.2 * np.abs(shift).max() < np.abs(moved).max() <= np.abs(shift).max() + 1.0, (shift, moved)
    # A head coming closer moves the still's face out towards every edge: the edges give way outwards, corners
    # too, and the head comes nearly as close as asked (held on the still's edges, it came 1.12 of 1.2).
    grow = align.similarity_from_params(1.2, 0.0, (0.0, 0.0))
    grow[:, 2] = mesh.centre - 1.2 * mesh.centre
    assert align.similarity_params(head_band.limit_head(mesh, grow))[0] > 1.18
    out = renderer.render(TargetFace(1, align.apply(grow, crop.landmarks).astype(np.float32),
                                     align.apply(grow, crop.dense).astype(np.float32)))
    sampled = align.apply(align.invert(source.crop_from_still), out.source_map[shown].astype(np.float64))
    assert np.maximum(np.maximum(-sampled, sampled - (width, height)), 0.0).max() < 0.5


def test_the_warps_frame_is_the_crop_where_the_still_covers_it_and_the_picture_where_not():
    from portrait_animator.render import crop_frame
    from portrait_animator.render.picture_border import PictureBox

    control = np.array([[200.0, 200.0], [300.0, 210.0], [260.0, 330.0]])
    square = crop_frame.crop_square(512)
    covering = align.similarity_from_params(0.5, np.radians(10.0), (-200.0, -300.0))  # a large still round the crop
    whole = crop_frame.picture_frame(512, covering, PictureBox.whole(2000, 2000), control, 15.0)
    np.testing.assert_array_equal(whole.polygon, square)
    np.testing.assert_array_equal(whole.give, 0.0)
    cut = np.array([[1.0, 0.0, 60.0], [0.0, 1.0, -40.0]])  # a 400 x 500 still placed at (60, -40) in the crop
    frame = crop_frame.picture_frame(512, cut, PictureBox.whole(400, 500), control, 15.0)
    np.testing.assert_allclose(np.sort(frame.polygon, axis=0), [[60, 0], [60, 0], [460, 460], [460, 460]],
                               atol=1e-4)
    assert crop_frame.inside(control, frame.polygon, 15.0).all()
    reaching = np.vstack([control, [[250.0, 470.0]]])  # a chin past the still's lower edge (y 460)
    widened = crop_frame.picture_frame(512, cut, PictureBox.whole(400, 500), reaching, 15.0).polygon
    assert crop_frame.inside(reaching, widened, 15.0 - 1e-3).all()
    assert crop_frame.inside(widened, crop_frame.crop_square(512), -1e-3).all()  # and never past the crop
    exits, edges = crop_frame.ray_exit(np.array([256.0, 256.0]), np.array([[300.0, 256.0], [256.0, 200.0]]),
                                       frame.polygon)
    np.testing.assert_allclose(exits, [[460.0, 256.0], [256.0, 0.0]], atol=1e-4)
    # The still's right edge gives way outwards (+x); the crop's top edge never moves.
    np.testing.assert_allclose(frame.give[edges], [[1.0, 0.0], [0.0, 0.0]], atol=1e-6)
    # A border strip 30 px wide down the still's right side: the frame ends at its inner edge, which never
    # moves; the still's own left edge still gives way.
    bordered = crop_frame.picture_frame(512, cut, PictureBox(0, 0, 370, 500, (False, False, True, False)),
                                        control, 15.0)
    exits, edges = crop_frame.ray_exit(np.array([256.0, 256.0]), np.array([[300.0, 256.0], [200.0, 256.0]]),
                                       bordered.polygon)
    np.testing.assert_allclose(exits, [[430.0, 256.0], [60.0, 256.0]], atol=1e-4)
    np.testing.assert_allclose(bordered.give[edges], [[0.0, 0.0], [-1.0, 0.0]], atol=1e-6)


