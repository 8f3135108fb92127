"""The mouth painter: a parted still's own teeth ride on its lips, a dark gap opens painted; a driver's mouth
takes the still's colours, and a black-and-white still's none."""

import cv2
import numpy as np
import pytest

from portrait_animator.io.colour import linear_to_srgb, srgb_to_linear
from portrait_animator.render.mouth import (DriverMouth, MouthPainter, driver_mapping, driver_mouth_seen, driver_skin,
                                           lip_edges)
from portrait_animator.render.mouth_interior import synthetic_interior

SKIN = (0.80, 0.62, 0.52)
LIPS = (0.70, 0.35, 0.35)


def _arc(lift: float, t: np.ndarray, width: float = 120.0, centre=(100.0, 100.0)) -> np.ndarray:
    return np.stack([centre[0] + (t - 0.5) * width, centre[1] + lift * np.sin(np.pi * t)], axis=1)


def _parted_still(gap_colour):
    """A 200-px crop with lips 10 px apart (0.08 of the mouth's width) and ``gap_colour`` between them."""
    t = np.linspace(0.0, 1.0, 11)
    upper, lower = _arc(-3.0, t), _arc(7.0, t)
    outer = np.vstack([_arc(-15.0, t), _arc(20.0, t)[::-1][1:-1]])
    rgb = np.zeros((200, 200, 3), np.float32)
    rgb[:] = SKIN
    cv2.fillPoly(rgb, [np.round(outer - 0.5).astype(np.int32)], LIPS)
    cv2.fillPoly(rgb, [np.round(np.vstack([upper, lower[::-1][1:-1]]) - 0.5).astype(np.int32)], gap_colour)
    return rgb, upper, lower, outer


def _luma(rgb):
    return rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)


@pytest.mark.parametrize("gap_colour, has_teeth", [((0.08, 0.05, 0.05), False), ((0.92, 0.90, 0.85), True)])
def test_a_parted_still_shows_teeth_only_where_its_gap_is_lighter_than_its_lips(gap_colour, has_teeth):
    rgb, upper, lower, outer = _parted_still(gap_colour)
    assert MouthPainter(rgb, upper, lower, outer).shows_teeth == has_teeth


def test_a_dark_parted_mouth_opens_into_a_painted_mouth_without_teeth():
    """Parted lips over a gap that is dark throughout hide their teeth (or the light misses them): opened
    further, the mouth is the painted cavity, without teeth. Split along its lips, the still's own gap opened
    into stripes of lip edge and shadow."""
    rgb, upper, lower, outer = _parted_still((0.08, 0.05, 0.05))
    painter = MouthPainter(rgb, upper, lower, outer)
    assert painter.paint(upper, lower) is None  # at rest the still's own mouth stays as it is
    opened = lower + [0.0, 40.0] * np.sin(np.linspace(0.0, np.pi, len(lower)))[:, None]
    overlay = painter.paint(upper, opened)
    assert overlay is not None
    expected = synthetic_interior(upper, opened, overlay.box, painter.lips_rgb, 200, teeth=False)
    np.testing.assert_allclose(overlay.rgb, expected, atol=1e-6)
    x0, y0 = overlay.box[:2]
    assert overlay.alpha[int(upper[5, 1]) + 3 - y0:int(opened[5, 1]) - 3 - y0, 100 - x0].min() > 0.9
    under_upper_lip = _luma(overlay.rgb)[int(upper[5, 1]) + 3 - y0, 92 - x0:108 - x0]
    assert under_upper_lip.mean() < 0.5 * _luma(np.array(LIPS, np.float32))  # no teeth under the lip


def test_a_stills_own_teeth_stay_against_each_lip_as_it_bends():
    """Opened with the upper lip lifted most in its middle (a smile's bow), the still's teeth follow the lip
    along its whole length, and its lower half follows the lowered lower lip: teeth right under and over
    the lips, the painted cavity between. Fitted with one similarity per half, the straight top of the
    teeth left a dark sliver under the lifted middle of the lip."""
    teeth = np.array((0.92, 0.90, 0.85), np.float32)
    rgb, upper, lower, outer = _parted_still(tuple(float(v) for v in teeth))
    painter = MouthPainter(rgb, upper, lower, outer)
    assert painter.shows_teeth
    bow = np.sin(np.linspace(0.0, np.pi, len(upper)))[:, None]
    lifted, dropped = upper - [0.0, 8.0] * bow, lower + [0.0, 24.0] * bow
    overlay = painter.paint(lifted, dropped)
    assert overlay is not None
    x0, y0 = overlay.box[:2]
    luma = _luma(overlay.rgb * overlay.alpha[..., None])
    for k in range(2, 9):  # columns along the mouth, away from the corners
        column = int(lifted[k, 0]) - x0
        under_upper = luma[int(round(lifted[k, 1] + 2.0)) - y0, column]
        over_lower = luma[int(round(dropped[k, 1] - 2.0)) - y0, column]
        assert under_upper > 0.8 * _luma(teeth), (k, under_upper)
        assert over_lower > 0.8 * _luma(teeth), (k, over_lower)
    middle = 0.5 * (lifted[5] + dropped[5])
    assert luma[int(middle[1]) - y0, int(middle[0]) - x0] < 0.3 * _luma(teeth)  # the cavity between the halves


def _driver_frame():
    """A 200-px driver frame: pinkish skin, red lips, an open mouth with teeth, a dark cavity and a tongue;
    its iBUG inner (60-67) and outer (48-59) lip points."""
    rng = np.random.default_rng(0)
    t5, t7 = np.linspace(0.0, 1.0, 5), np.linspace(0.0, 1.0, 7)
    inner_upper, inner_lower = _arc(-6.0, t5), _arc(30.0, t5)
    inner = np.vstack([inner_upper, inner_lower[3:0:-1]])
    outer = np.vstack([_arc(-18.0, t7, width=132.0), _arc(42.0, t7, width=132.0)[5:0:-1]])
    rgb = np.empty((200, 200, 3), np.float32)
    rgb[:] = (0.86, 0.66, 0.58)
    rgb += rng.normal(0.0, 0.02, rgb.shape).astype(np.float32)
    cv2.fillPoly(rgb, [np.round(outer - 0.5).astype(np.int32)], (0.75, 0.35, 0.38))
    cv2.fillPoly(rgb, [np.round(inner - 0.5).astype(np.int32)], (0.25, 0.06, 0.08))
    rgb[96:104, 50:150] = (0.95, 0.93, 0.88)  # upper teeth
    rgb[118:126, 60:140] = (0.85, 0.45, 0.50)  # tongue
    return np.clip(rgb, 0.0, 1.0), inner, outer


def _closed_still(skin_rgb):
    t = np.linspace(0.0, 1.0, 11)
    upper, lower = _arc(-1.0, t), _arc(1.0, t)
    outer = np.vstack([_arc(-14.0, t), _arc(18.0, t)[::-1][1:-1]])
    rgb = np.clip(skin_rgb, 0.0, 1.0).astype(np.float32)
    cv2.fillPoly(rgb, [np.round(outer - 0.5).astype(np.int32)], tuple(float(v) for v in 0.8 * rgb[10, 10]))
    return rgb, upper, lower, outer


def _painted_driver_mouth(still_rgb, driver_image=None):
    """The driver frame's mouth (its image replaced by ``driver_image``, same lips) painted on a closed still,
    opened 30 px."""
    rgb, upper, lower, outer = _closed_still(still_rgb)
    image, inner, driver_outer = _driver_frame()
    image = image if driver_image is None else driver_image
    painter = MouthPainter(rgb, upper, lower, outer)
    opened = lower + [0.0, 30.0] * np.sin(np.linspace(0.0, np.pi, len(lower)))[:, None]
    overlay = painter.paint(upper, opened, DriverMouth(image, inner, driver_outer))
    assert overlay is not None
    return overlay


def test_a_drivers_mouth_on_a_black_and_white_still_stays_grey():
    grey = np.full((200, 200, 3), 0.6, np.float32)
    grey += np.random.default_rng(1).normal(0.0, 0.05, (200, 200, 1)).astype(np.float32)  # grey texture
    overlay = _painted_driver_mouth(grey)
    shown = overlay.alpha > 0.5
    assert shown.sum() > 500
    chroma = overlay.rgb.max(-1) - overlay.rgb.min(-1)
    assert chroma[shown].max() < 0.01  # (the driver's red tongue and lips came through at half strength)


def test_a_drivers_mouth_keeps_its_shadow_dark_on_a_still_smoother_than_the_driver():
    """The driver's skin has more texture than the still's (a transfer that took the skins' spread ratio as
    its lightness gain halved the contrast); the cavity (a seventh of the skin's brightness in the driver)
    must still read as a shadow."""
    skin = (0.86, 0.66, 0.58)  # the driver's skin colour, with less grain
    still = np.full((200, 200, 3), skin, np.float32)
    still += np.random.default_rng(1).normal(0.0, 0.02, (200, 200, 3)).astype(np.float32)
    overlay = _painted_driver_mouth(still)
    shown = overlay.alpha > 0.5
    darkest = np.percentile(_luma(overlay.rgb[shown]), 10)
    assert darkest < 0.45 * _luma(np.array(skin, np.float32)), darkest  # (0.47 of it with the contrast halved)


def test_a_drivers_dark_mouth_keeps_its_shades_on_a_still_with_more_texture():
    """A wrinkled or grainy still raises the driver's contrast (up to twice): its cavity's shades, pushed
    below black, were clipped into one flat black hole (both shades here at 0). They roll off towards black
    instead, the darker shade still darker, and the cavity still a deep shadow."""
    image = _driver_frame()[0]
    image[108:114, 70:130] = (0.10, 0.02, 0.03)  # the back of the mouth, darker than the cavity round it
    skin = (0.80, 0.62, 0.52)
    still = np.full((200, 200, 3), skin, np.float32)
    still += np.random.default_rng(3).normal(0.0, 0.1, (200, 200, 1)).astype(np.float32)  # heavy texture
    overlay = _painted_driver_mouth(still, image)
    cavity, back = (np.median(_luma(overlay.rgb[y0:y1, x0:x1].reshape(-1, 3)))
                    for y0, y1, x0, x1 in ((10, 13, 30, 90), (15, 18, 50, 80)))
    assert back > 0.002 and cavity > back + 0.004, (cavity, back)
    assert cavity < 0.3 * _luma(np.array(skin, np.float32)), cavity


def test_a_drivers_mouth_keeps_its_colour_when_the_skin_round_it_changes():
    """The colour transfer reads the driver's skin on its neutral frame, not on each frame: the skin round a
    moving mouth takes in chin shadow as the mouth opens, and read frame by frame the painted mouth's
    exposure and contrast pumped with it."""
    image, inner, outer = _driver_frame()
    shadowed = image.copy()
    shadowed[140:175] *= 0.6  # a shadow across the chin, below the lips, where the ring reaches
    rgb, upper, lower, still_outer = _closed_still(np.full((200, 200, 3), SKIN, np.float32)
                                                   + np.random.default_rng(4).normal(0.0, 0.06, (200, 200, 3)))
    painter = MouthPainter(rgb, upper, lower, still_outer)
    opened = lower + [0.0, 30.0] * np.sin(np.linspace(0.0, np.pi, len(lower)))[:, None]

    def painted(frame, skin):
        overlay = painter.paint(upper, opened, DriverMouth(frame, inner, outer, skin))
        return overlay.rgb[overlay.alpha > 0.5]

    neutral = driver_skin(image, outer)
    np.testing.assert_array_equal(painted(shadowed, neutral), painted(image, neutral))
    change = np.abs(painted(shadowed, None) - painted(image, None)).mean()  # read from each frame's own ring
    assert change > 0.02, change


def test_a_dim_drivers_mouth_on_a_bright_still_is_dark_with_light_teeth():
    """A driver filmed in dim light (its frame at a third of the light) on a brightly lit still: the transfer
    is an exposure change, so the cavity stays a deep shadow and the teeth lighter than the skin (an additive
    shift of lightness left them a few points from the skin: a grey slot with grey teeth)."""
    image, inner, outer = _driver_frame()
    dim = linear_to_srgb(srgb_to_linear(image) / 3.0).astype(np.float32)
    rgb, upper, lower, still_outer = _closed_still(np.full((200, 200, 3), (0.93, 0.78, 0.70), np.float32)
                                                   + np.random.default_rng(2).normal(0.0, 0.02, (200, 200, 3)))
    skin = _luma(np.array((0.93, 0.78, 0.70), np.float32))
    painter = MouthPainter(rgb, upper, lower, still_outer)
    opened = lower + [0.0, 30.0] * np.sin(np.linspace(0.0, np.pi, len(lower)))[:, None]
    overlay = painter.paint(upper, opened, DriverMouth(dim, inner, outer))
    shown = overlay.alpha > 0.5
    luma = _luma(overlay.rgb[shown])
    assert np.percentile(luma, 10) < 0.3 * skin, (np.percentile(luma, 10), skin)
    assert np.percentile(luma, 99) > skin, (np.percentile(luma, 99), skin)  # the teeth


def test_a_dim_drivers_teeth_on_a_brighter_still_are_not_blown_out():
    """The exposure that takes a dim driver's skin to a bright still's takes its teeth past white: clipped,
    they were one flat white bar (a fifth of the painted mouth pure white here), with no gap between teeth.
    The highlights roll off towards white instead, and stay lighter than the skin."""
    image = _driver_frame()[0]
    image[96:104, 50:150:10] = (0.70, 0.66, 0.60)  # the gaps between the teeth
    dim = linear_to_srgb(srgb_to_linear(image) / 2.5).astype(np.float32)
    skin = (0.96, 0.88, 0.82)
    overlay = _painted_driver_mouth(np.full((200, 200, 3), skin, np.float32)
                                    + np.random.default_rng(2).normal(0.0, 0.02, (200, 200, 3)), dim)
    shown = overlay.rgb[overlay.alpha > 0.5]
    assert (shown.min(-1) >= 0.99).mean() == 0.0, (shown.min(-1) >= 0.99).mean()  # 0.21 clipped
    luma = _luma(shown)
    assert np.percentile(luma, 99) > _luma(np.array(skin, np.float32))  # the teeth


def test_a_drivers_white_teeth_stay_white_on_a_still_paler_than_the_driver():
    """A still whose skin has less colour than the driver's (a colourised photograph, a bust): the skins'
    difference subtracted from the driver's near-white teeth turned them blue-green (Lab a -12.5, b -7)."""
    overlay = _painted_driver_mouth(np.full((200, 200, 3), (0.74, 0.71, 0.69), np.float32)  # driver's teeth:
                                    + np.random.default_rng(2).normal(0.0, 0.02, (200, 200, 3)))  # a -0.5, b 6.9
    shown = overlay.rgb[overlay.alpha > 0.5]
    lab = cv2.cvtColor(shown.reshape(-1, 1, 3).astype(np.float32), cv2.COLOR_RGB2Lab).reshape(-1, 3)
    teeth = lab[lab[:, 0] >= np.percentile(lab[:, 0], 95)]
    assert teeth[:, 1].mean() > -2.0 and teeth[:, 2].mean() > -2.0, teeth.mean(0)


def _turned_driver_frame():
    """The driver frame seen turned: the far (left) half of its mouth squeezed to a fifth of its width towards
    the middle, and the face's edge just past that far corner, a white wall beyond it."""
    image, inner, outer = _driver_frame()
    middle = 100.0
    squeeze = lambda points: np.where(points[:, :1] < middle, middle + (points - middle) * [0.2, 1.0], points)
    inner, outer = squeeze(inner), squeeze(outer)
    image = image.copy()
    image[:, :int(outer[0, 0]) - 1] = 1.0  # the room behind the face, white
    return image, inner, outer


def _closed_still_opened():
    rgb, upper, lower, outer = _closed_still(np.full((200, 200, 3), (0.62, 0.45, 0.36), np.float32)
                                             + np.random.default_rng(3).normal(0.0, 0.02, (200, 200, 3)))
    opened = lower + [0.0, 30.0] * np.sin(np.linspace(0.0, np.pi, len(lower)))[:, None]
    return MouthPainter(rgb, upper, lower, outer), upper, opened


def test_a_turned_drivers_mouth_carried_past_its_far_corner_gives_way_to_the_synthesised_mouth():
    """A driver turned far enough to hide its far mouth corner: carried onto a frontal target, its mouth
    reached past that corner into the wall behind the face, painted as a white wedge in the still's mouth.
    The synthesised interior stands in for it there."""
    painter, upper, opened = _closed_still_opened()
    image, inner, outer = _turned_driver_frame()
    assert driver_mapping(upper, opened, DriverMouth(image, inner, outer))[1] > 0.12  # past the far corner
    frontal = painter.paint(upper, opened, DriverMouth(image, inner, outer))
    without_wall = painter.paint(upper, opened, DriverMouth(_driver_frame()[0], inner, outer))
    turned = painter.paint(upper, opened, DriverMouth(image, inner, outer, turn=np.radians(25.0)))
    far = (slice(None), slice(0, int(opened[3, 0]) - frontal.box[0]))
    wall = (np.abs(frontal.rgb - without_wall.rgb).max(-1) > 0.2) & (frontal.alpha > 0.5)
    assert wall[far].sum() > 50  # taken as frontal, the driver's mouth shows the wall in its far part
    synthetic = synthetic_interior(upper, opened, turned.box, painter.lips_rgb, 200, teeth=True)
    np.testing.assert_allclose(turned.rgb, synthetic, atol=1e-6)


def test_a_turned_driver_whose_mouth_fits_keeps_it_and_a_frontal_one_always_does():
    """Turned drivers whose mouth carries onto the target within its corners keep their own mouth (20°
    turns of real talkers, `lp_d3`, fit it exactly); so does a frontal driver whose nearly shut mouth makes
    the fit reach wide. Turned far away, no driver's mouth is trusted."""
    painter, upper, opened = _closed_still_opened()
    image, inner, outer = _driver_frame()
    kept = painter.paint(upper, opened, DriverMouth(image, inner, outer, turn=np.radians(25.0)))
    np.testing.assert_array_equal(kept.rgb, painter.paint(upper, opened, DriverMouth(image, inner, outer)).rgb)
    assert driver_mouth_seen(np.radians(20.0), 0.0) == 1.0
    assert driver_mouth_seen(0.0, 4.0) == 1.0
    assert driver_mouth_seen(np.radians(-60.0), 0.0) == 0.0
    assert 0.0 < driver_mouth_seen(np.radians(15.0), 0.5) < 1.0  # faded in as the turn grows


def _teeth_smile_driver(between_teeth_and_lip, teeth_to=16.0):
    """A 200-px driver frame of a teeth smile: a full lower lip, teeth from the upper lip down to ``teeth_to`` px
    below the mouth's corners, then ``between_teeth_and_lip`` (the lower lip's inner half; or a tongue) down to the
    lower lip. The inner lower lip points sit 8 px inside the lip, as both landmarkers put them; returns the
    frame, the iBUG inner and outer lips, and the teeth's lower edge at the inner lower points."""
    t5, t7, fine = np.linspace(0.0, 1.0, 5), np.linspace(0.0, 1.0, 7), np.linspace(0.0, 1.0, 41)
    inner = np.vstack([_arc(-2.0, t5), _arc(24.0, t5)[3:0:-1]])
    outer = np.vstack([_arc(-14.0, t7, width=132.0), _arc(36.0, t7, width=132.0)[5:0:-1]])
    rgb = np.empty((200, 200, 3), np.float32)
    rgb[:] = (0.86, 0.66, 0.58)
    cv2.fillPoly(rgb, [np.round(outer - 0.5).astype(np.int32)], LIPS)
    cv2.fillPoly(rgb, [np.round(np.vstack([_arc(-2.0, fine), _arc(24.0, fine)[::-1]]) - 0.5).astype(np.int32)],
                 between_teeth_and_lip)
    cv2.fillPoly(rgb, [np.round(np.vstack([_arc(-2.0, fine), _arc(teeth_to, fine)[::-1]]) - 0.5).astype(np.int32)],
                 (0.95, 0.93, 0.88))
    return rgb, inner, outer, _arc(teeth_to, t5)[3:0:-1]


def test_a_teeth_smiles_inner_lower_lip_is_found_where_the_teeth_end():
    """The landmarkers' inner lower lip lies a third into a full lower lip: mapped as it is, the band of lip
    above it was painted under the teeth as a second lower lip. The edge is where the lip turns to teeth."""
    rgb, inner, outer, teeth_edge = _teeth_smile_driver(LIPS)
    edges = lip_edges(DriverMouth(rgb, inner, outer))
    np.testing.assert_allclose(edges[5:8], teeth_edge, atol=1.5)  # 8 px below it before
    np.testing.assert_array_equal(edges[:5], inner[:5])  # the upper lip and the corners stay
    assert (edges[:, 0] == inner[:, 0]).all()


def test_a_shadow_line_at_the_teeths_base_is_passed_but_a_dark_mouth_is_not():
    """A pixel of shadow between the lip and the teeth (two samples of the walk) is the line at the teeth's
    base: the edge is found past it; five pixels are a dark mouth between them, and the points stay."""
    for shadow, moves in ((1, True), (5, False)):
        rgb, inner, outer, teeth_edge = _teeth_smile_driver(LIPS, teeth_to=16.0 - shadow)
        lip_top = np.round(_arc(16.0, np.linspace(0.0, 1.0, 201)) - 0.5).astype(int)
        for x, y in lip_top:
            rgb[y - shadow:y, x] = (0.12, 0.05, 0.06)  # ``shadow`` rows right above the lip
        edges = lip_edges(DriverMouth(rgb, inner, outer))
        if moves:
            np.testing.assert_allclose(edges[5:8], teeth_edge, atol=1.5)
        else:
            np.testing.assert_array_equal(edges, inner)


@pytest.mark.parametrize("opening", [(0.72, 0.36, 0.37), (0.10, 0.04, 0.05)], ids=["tongue", "dark mouth"])
def test_a_lower_lip_under_a_tongue_or_a_dark_mouth_stays_where_it_is(opening):
    """No lighter colour than the lip within reach across the opening: a tongue as red as the lip lying on
    it, or a dark mouth (walking on across a dark mouth could cross dim lower teeth that read as lip); the
    teeth are a sliver under the upper lip."""
    rgb, inner, outer, _ = _teeth_smile_driver(opening, teeth_to=3.0)
    edges = lip_edges(DriverMouth(rgb, inner, outer))
    np.testing.assert_array_equal(edges, inner)


def test_the_painted_teeth_smile_has_no_second_lower_lip():
    """Painted onto a still's opening, the driver's cavity is teeth down to the target's lower lip."""
    driver, inner, outer, _ = _teeth_smile_driver(LIPS)
    rgb, upper, lower, still_outer = _closed_still(np.full((200, 200, 3), (0.86, 0.66, 0.58), np.float32))
    painter = MouthPainter(rgb, upper, lower, still_outer)
    opened = lower + [0.0, 20.0] * np.sin(np.linspace(0.0, np.pi, len(lower)))[:, None]
    overlay = painter.paint(upper, opened, DriverMouth(driver, inner, outer))
    x0, y0 = overlay.box[:2]
    luma = _luma(overlay.rgb)[:, 92 - x0:108 - x0]
    teeth = luma[int(upper[5, 1]) + 4 - y0].mean()  # under the upper lip
    bottom = luma[int(opened[5, 1]) - 4 - y0]  # just above the target's inner lower lip
    assert bottom.min() > 0.95 * teeth, (bottom, teeth)  # (lip, 0.62 of it, before the edges were found)


def test_a_filmed_teeth_smiles_lower_lip_moves_up_to_its_teeth():
    """``lp_d14``'s grin (frames 28 and 40): MediaPipe's inner lower lip lies inside the lip; the moved points
    lie a few pixels higher, with the teeth's light just above them and the lip's colour where they were."""
    from landmark_media import clip_frames
    from portrait_animator.landmarks import create_detector
    from portrait_animator.render.colour_transfer import lab as _lab

    frames = dict(clip_frames("lp_d14.mp4", 40))
    with create_detector("mediapipe") as detector:
        for number in (28, 40):
            image = frames[number]
            landmarks = detector.find_faces(image)[0].landmarks.astype(np.float64)
            inner, outer = landmarks[60:68], landmarks[48:60]
            moved = lip_edges(DriverMouth(image, inner, outer))
            rise = inner[5:8, 1] - moved[5:8, 1]
            assert rise[1] >= 2.0 and (rise >= 2.0).sum() >= 2, rise  # the middle point and one beside it
            assert (rise < 0.6 * (inner[5:8, 1] - inner[3:0:-1, 1])).all(), rise
            np.testing.assert_array_equal(moved[:5], inner[:5])
            lifted = moved[5:8][rise >= 2.0]
            above = lifted - [0.0, 2.0]
            pixels = np.round(np.vstack([above, inner[5:8][rise >= 2.0]]) - 0.5).astype(int)
            lightness = _lab(image[pixels[:, 1], pixels[:, 0]].astype(np.float32) / 255.0)[:, 0]
            half = len(lifted)
            assert (lightness[:half] > lightness[half:] + 10).all(), lightness  # teeth above, lip where it was
