"""Paste-back: untouched pixels stay bit-identical; big faces keep their full-resolution detail."""

import cv2
import numpy as np

from portrait_animator import align
from portrait_animator.paste import paste_back
from portrait_animator.render.base import RenderedFace


def _still(size=1200, seed=0):
    """Fine texture everywhere (detail a few pixels across), quantised to 8 bits like a real still."""
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.random((size, size, 3), dtype=np.float32), (0, 0), 1.5)
    texture = (texture - texture.mean()) / texture.std() * 0.2 + 0.5
    return np.round(np.clip(texture, 0, 1) * 255) / 255.0


def _shift_render(crop_size, shift):
    ys, xs = np.mgrid[0:crop_size, 0:crop_size].astype(np.float32) + 0.5
    source_map = np.stack([xs - shift[0], ys - shift[1]], -1)
    matte = np.zeros((crop_size, crop_size), np.float32)
    matte[crop_size // 4: 3 * crop_size // 4, crop_size // 4: 3 * crop_size // 4] = 1.0
    matte = cv2.GaussianBlur(matte, (0, 0), 4)
    return RenderedFace(rgb=np.zeros((crop_size, crop_size, 3), np.float32), matte=matte, source_map=source_map)


def test_pixels_outside_the_matte_are_bit_identical():
    still = _still()
    crop_from_still = align.similarity_from_params(256 / 900, 0.3, (-50.0, -20.0))
    pasted = paste_back(still, None, crop_from_still, _shift_render(256, (3.0, 0.0)))
    untouched = pasted.matte == 0.0
    assert untouched.mean() > 0.5 and (~untouched).sum() > 10000
    assert np.array_equal(pasted.rgb[untouched], still[untouched])
    assert not np.allclose(pasted.rgb[pasted.matte > 0.99], still[pasted.matte > 0.99])


def test_a_warp_resamples_the_full_resolution_still():
    """A face much larger than the crop: the sampling map is carried to full resolution, not the crop."""
    still = _still(seed=1)
    scale = 256 / 1000  # 1000 still pixels in a 256 crop
    crop_from_still = align.similarity_from_params(scale, 0.0, (-100 * scale, -100 * scale))
    shift_crop = np.array([2.0, 1.0])
    pasted = paste_back(still, None, crop_from_still, _shift_render(256, shift_crop))
    inside = pasted.matte > 0.999
    shift = shift_crop / scale  # the same motion in still pixels
    expected = cv2.warpAffine(still, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (1200, 1200),
                              flags=cv2.INTER_LINEAR)
    assert np.abs(pasted.rgb[inside] - expected[inside]).max() < 0.02  # OpenCV samples at 1/32 pixel
    # The detail survives; going through the 256-pixel crop would have blurred it away.
    through_crop = cv2.resize(cv2.resize(expected, (307, 307), interpolation=cv2.INTER_AREA), (1200, 1200))
    crop_error = np.abs(through_crop[inside] - expected[inside]).mean()
    assert np.abs(pasted.rgb[inside] - expected[inside]).mean() < 0.1 * crop_error


def test_alpha_is_warped_with_the_colour():
    still = _still(600)
    alpha = np.zeros((600, 600), np.float32)
    alpha[:, :300] = 1.0  # left half opaque
    crop_from_still = align.similarity_from_params(1.0, 0.0, (-172.0, -172.0))
    pasted = paste_back(still, alpha, crop_from_still, _shift_render(256, (10.0, 0.0)))
    row = 300
    edge_before = np.flatnonzero(alpha[row] < 0.5)[0]
    edge_after = np.flatnonzero(pasted.alpha[row] < 0.5)[0]
    assert edge_after == edge_before + 10
    assert np.array_equal(pasted.alpha[pasted.matte == 0], alpha[pasted.matte == 0])


def test_a_render_without_a_sampling_map_keeps_the_stills_alpha_and_leaves_the_still_alone():
    """A network's crop has no alpha of its own: the face keeps the still's, and pasting (which blends in
    place) neither changes the still's arrays nor the alpha under the face."""
    still = _still(600)
    alpha = np.zeros((600, 600), np.float32)
    alpha[:, :300] = 1.0
    still_before, alpha_before = still.copy(), alpha.copy()
    crop_from_still = align.similarity_from_params(1.0, 0.0, (-172.0, -172.0))
    shifted = _shift_render(256, (10.0, 0.0))
    network = RenderedFace(rgb=np.full((256, 256, 3), 0.25, np.float32), matte=shifted.matte)
    pasted = paste_back(still, alpha, crop_from_still, network)
    assert np.array_equal(still, still_before) and np.array_equal(alpha, alpha_before)
    assert np.array_equal(pasted.alpha, alpha)
    assert np.allclose(pasted.rgb[pasted.matte > 0.999], 0.25, atol=2e-3)


def test_the_overlay_is_painted_where_its_box_lands_and_nowhere_else():
    """The renderer's overlay (mouth, lids) covers a small box of the crop; paste-back resamples only the
    part of the still that box can reach, on a turned and scaled crop as on any other."""
    still = _still()
    crop_from_still = align.similarity_from_params(256 / 900, 0.3, (-50.0, -20.0))
    plain = _shift_render(256, (3.0, 0.0))
    overlay, overlay_alpha = np.zeros((256, 256, 3), np.float32), np.zeros((256, 256), np.float32)
    box = (140, 100, 170, 120)  # x0, y0, x1, y1 in the crop, inside the matte's flat top
    overlay[box[1]:box[3], box[0]:box[2]] = (1.0, 0.0, 0.0)
    overlay_alpha[box[1]:box[3], box[0]:box[2]] = 1.0
    painted = RenderedFace(plain.rgb, plain.matte, plain.source_map, overlay, overlay_alpha)
    without, with_overlay = (paste_back(still, None, crop_from_still, r).rgb for r in (plain, painted))
    ys, xs = np.mgrid[0:1200, 0:1200].astype(np.float64) + 0.5
    in_crop = align.apply(crop_from_still, np.stack([xs.ravel(), ys.ravel()], 1)).reshape(1200, 1200, 2)
    def within(margin):
        return ((in_crop[..., 0] > box[0] + margin) & (in_crop[..., 0] < box[2] - margin)
                & (in_crop[..., 1] > box[1] + margin) & (in_crop[..., 1] < box[3] - margin))
    inside, reach = within(1.0), within(-1.0)
    assert inside.sum() > 5000  # the box is about 30 x 20 crop pixels, 3.5 still pixels each way
    assert np.abs(with_overlay[inside] - [1.0, 0.0, 0.0]).max() < 1e-5
    assert np.array_equal(with_overlay[~reach], without[~reach])
