"""Glasses: read from the bridge between the eyes, and carried by the warp as one flat piece."""

import cv2
import numpy as np
import pytest

from portrait_animator import align
from portrait_animator.landmarks import mediapipe_topology as mpt
from portrait_animator.render.base import TargetFace
from portrait_animator.render.glasses import GlassesCarrier, LensFrame, wears_glasses
from portrait_animator.render.warp import WarpRenderer

EYES = [(np.array(mpt.RIGHT_EYE_UPPER), np.array(mpt.RIGHT_EYE_LOWER)),
        (np.array(mpt.LEFT_EYE_UPPER), np.array(mpt.LEFT_EYE_LOWER))]


def _analysed(media, tmp_path, name):
    from portrait_animator.cache import FileCache
    from portrait_animator.config import RenderJob
    from portrait_animator.face_analysis import analyse_source

    still = media("stills", name)
    return analyse_source(RenderJob(sources=[str(still)], driver="preset:idle"), FileCache(str(tmp_path)))


def _skin(size=200):
    """A flat skin-coloured crop with soft shading, and inner eye corners 60 px apart."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    shade = 0.6 + 0.05 * np.sin(xs / 37.0) + 0.04 * np.cos(ys / 23.0)
    return np.dstack([shade, 0.8 * shade, 0.7 * shade]).astype(np.float32), (np.array([70.0, 100.0]),
                                                                               np.array([130.0, 100.0]))


def test_a_bar_across_the_bridge_reads_as_glasses_and_bare_or_wrinkled_skin_does_not():
    rgb, corners = _skin()
    assert not wears_glasses(rgb, corners)
    glasses = rgb.copy()
    cv2.line(glasses, (60, 92), (140, 90), (0.15, 0.12, 0.1), 2, cv2.LINE_AA)  # a thin dark bridge
    assert wears_glasses(glasses, corners)
    wrinkled = rgb.copy()  # short strokes at different heights, as painted wrinkles run
    for x, y in ((74, 80), (88, 95), (100, 74), (112, 88), (121, 99)):
        cv2.line(wrinkled, (x, y), (x + 7, y + 1), (0.25, 0.2, 0.18), 2, cv2.LINE_AA)
    assert not wears_glasses(wrinkled, corners)


@pytest.mark.parametrize("name, expected", [("avatarify_potter.jpg", True), ("avatarify_jobs.jpg", True),
                                            ("hallo_6_photo_woman.jpg", False),
                                            ("lp_s9_painting_mona_lisa.jpg", False),
                                            ("sadtalker_art_20_painted_old_woman.png", False)])
def test_glasses_are_read_from_real_stills(media, tmp_path, name, expected):
    """The painted old woman's wrinkles between the eyes are strong but broken: not a bridge."""
    crop = _analysed(media, tmp_path, name).crop
    assert wears_glasses(crop.rgb, (crop.dense[133], crop.dense[362])) is expected


def test_the_band_moves_as_one_affine_and_the_eyes_and_brows_keep_their_motion():
    rng = np.random.default_rng(0)
    eye_a = np.array([[60.0 + 10 * np.cos(t), 100.0 + 4 * np.sin(t)] for t in np.linspace(0, 2 * np.pi, 16, False)])
    eye_b = eye_a + [80.0, 0.0]
    brow_a = np.stack([np.linspace(48.0, 72.0, 5), np.full(5, 84.0)], axis=1)
    brow_b = brow_a + [80.0, 0.0]
    under_brow = np.stack([np.full(4, 60.0), np.array([86.0, 89.0, 92.0, 95.0])], axis=1)  # up from the lid
    around = rng.uniform([30.0, 60.0], [170.0, 140.0], (60, 2))
    points = np.vstack([eye_a, eye_b, brow_a, brow_b, under_brow, around])
    order = lambda start: np.r_[start, start + 1:start + 8, start + 8]  # noqa: E731 - corner, upper lid, corner
    eyes = [(order(0), np.r_[0, 15:8:-1, 8]), (order(16), np.r_[16, 31:24:-1, 24])]
    carrier = GlassesCarrier(points, eyes, [np.arange(32, 37), np.arange(37, 42)], np.arange(42))
    head = align.similarity_from_params(1.05, 0.1, [3.0, -2.0])
    target = align.apply(head, points).astype(np.float64) + rng.normal(0.0, 2.0, points.shape)  # skin wobble
    carried = carrier.carry(target)
    assert np.array_equal(carried[:42], target[:42])  # the eye contours and the brows keep their own motion
    full = carrier.weights == 1.0
    assert full.sum() > 10
    matrix = align.fit_affine(points[full], carried[full])
    assert np.abs(align.apply(matrix, points[full]) - carried[full]).max() < 1e-4  # one flat piece
    off_head = lambda moved: np.linalg.norm(moved[full] - align.apply(head, points[full]), axis=1).mean()  # noqa: E731
    assert off_head(carried) < 0.75 * off_head(target)  # the head's motion, the skin's wobble averaged out
    # the skin just under a brow takes the brow's motion, not the band's: none at the brow, full near the eye
    weights = carrier.weights[42:46]
    assert weights[0] < 0.2 and weights[-1] == 1.0 and np.all(np.diff(weights) >= 0), weights


def test_a_still_with_glasses_keeps_its_rims_whole_under_a_squint(media, tmp_path):
    """Potter's round rims: a squint (the skin under the eyes up 5 px) bent their lower halves with the skin
    round them; with glasses read from the still, the band round each eye below the brows, rims included,
    is the still's own pixels under one affine motion, and with ``glasses="off"`` it is not."""
    source = _analysed(media, tmp_path, "avatarify_potter.jpg")
    dense = source.crop.dense.astype(np.float64)
    head = align.similarity_from_params(1.02, 0.04, [4.0, 2.0])
    moved = dense.copy()
    size = np.ptp(dense[:, 0])
    eye_lines = [dense[list(upper) + list(lower)].mean(0)[1] for upper, lower in EYES]
    under = (dense[:, 1] > max(eye_lines) + 0.04 * size) & (dense[:, 1] < max(eye_lines) + 0.2 * size)
    moved[under] += [0.0, -5.0]
    moved = align.apply(head, moved).astype(np.float64)
    target = TargetFace(1, mpt.to_ibug68(moved).astype(np.float32), moved.astype(np.float32))

    errors = {}
    for mode in ("auto", "off"):
        warp = WarpRenderer(glasses=mode)
        warp.prepare(source)
        assert (warp.glasses is not None) is (mode == "auto")
        out = warp.render(target)
        carried = WarpRenderer(glasses="on")
        carried.prepare(source)
        control = carried.glasses.carry(carried._control(target.landmarks, target.dense))
        full = carried.glasses.weights > 0.999
        matrix = align.fit_affine(carried.glasses.source[full], control[full])
        rigid = cv2.warpAffine(source.crop.rgb, align.to_opencv(matrix), source.crop.rgb.shape[1::-1],
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        band = _rim_band(carried, matrix, source.crop.rgb.shape[0])
        errors[mode] = float(np.abs(out.rgb[band] - rigid[band]).mean())
    assert errors["auto"] < 0.006 and errors["off"] > 3 * errors["auto"], errors


def _rim_band(renderer, matrix, size):
    """Pixels of the target crop where the still's lower rims lie (``LensFrame.on_lower_rim``, where these
    glasses' rims are), mapped by ``matrix``."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    source = align.apply(align.invert(matrix), np.stack([xs, ys], axis=-1).reshape(-1, 2)).reshape(size, size, 2)
    band = np.zeros((size, size), bool)
    for (upper, lower), brow in zip(EYES, renderer._brow_indices()):
        band |= LensFrame.of_eye(renderer.glasses.source, upper, lower, np.array(brow)).on_lower_rim(source)
    return band
