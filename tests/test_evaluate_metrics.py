"""Evaluation metrics on inputs whose right answer is known: real frames, synthetic faces, exact motions."""

import math

import numpy as np
import piq
import pytest
import torch

from portrait_animator import align
from portrait_animator.evaluate import face_measures, image_metrics, motion_metrics
from portrait_animator.io.sources import open_frames

from conftest import media_path


@pytest.fixture(scope="module")
def real_frames():
    clip = open_frames(str(media_path("driving", "lp_d12.mp4")))
    return [clip.frame(n).astype(np.float32) / 255.0 for n in (10, 40)]


def _piq_ssim(a, b):
    as_tensor = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]  # noqa: E731
    return float(piq.ssim(as_tensor(a), as_tensor(b), data_range=1.0))


def test_ssim_is_piqs_ssim_on_real_frames(real_frames):
    a, b = real_frames
    noisy = np.clip(a + np.random.default_rng(0).normal(0, 0.08, a.shape), 0, 1).astype(np.float32)
    for x, y in ((a, b), (a, noisy), (a[:300, :280], b[:300, :280])):  # 512 px is averaged down 2x, 300 px is not
        assert image_metrics.ssim(x, y) == pytest.approx(_piq_ssim(x, y), abs=1e-4)
    assert image_metrics.ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    assert image_metrics.ssim(a, noisy) < image_metrics.ssim(a, a) - 0.2


def test_ms_ssim_and_psnr(real_frames):
    a, b = real_frames
    crop_a, crop_b = a[100:356, 100:356], b[100:356, 100:356]
    assert image_metrics.ms_ssim(crop_a, crop_a) == pytest.approx(1.0, abs=1e-5)
    assert 0.0 < image_metrics.ms_ssim(crop_a, crop_b) < 0.99
    assert math.isnan(image_metrics.ms_ssim(crop_a[:150, :150], crop_b[:150, :150]))  # too small for 5 scales
    shifted = np.clip(crop_a + 0.1, 0, 1)
    mse = float(np.mean((shifted.astype(np.float64) - crop_a) ** 2))
    assert image_metrics.psnr(crop_a, shifted) == pytest.approx(10 * np.log10(1 / mse))
    assert image_metrics.psnr(crop_a, crop_a) == 100.0


def test_flicker_is_zero_for_smooth_change_and_large_for_flashing():
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.6, (32, 32, 3)).astype(np.float32)
    region = np.zeros((32, 32), bool)
    region[8:24, 8:24] = True
    steady = image_metrics.temporal_second_difference(base, base + 0.05, base + 0.10, region)
    flash = image_metrics.temporal_second_difference(base, base + 0.05, base, region)
    assert steady == pytest.approx(0.0, abs=1e-3)
    assert flash == pytest.approx(0.10 * 255, rel=1e-3)
    assert math.isnan(image_metrics.temporal_second_difference(base, base, base, np.zeros((32, 32), bool)))


# ----------------------------------------------------------------------------------- face measures
def _generic_face(yaw=0.0, pitch=0.0, roll=0.0):
    """68 points of a head with the generic nose, turned by known angles and seen from the front."""
    head = np.zeros((68, 3))
    head[36], head[39] = (-0.65, 0.0, 0.0), (-0.35, 0.0, 0.0)  # eye corners; eye midpoints 1 apart
    head[42], head[45] = (0.35, 0.0, 0.0), (0.65, 0.0, 0.0)
    head[30] = (0.0, face_measures.NOSE_DROP, -face_measures.NOSE_DEPTH)  # the camera looks along +z
    a, b, c = np.radians([-yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return ((rz @ rx @ ry @ head.T).T[:, :2] * 150.0 + 300.0).astype(np.float32)


@pytest.mark.parametrize("yaw, pitch, roll", [(12, 0, 0), (-25, 0, 0), (0, 10, 0), (0, -15, 0), (0, 0, 15)])
def test_head_pose_recovers_single_rotations_with_their_signs(yaw, pitch, roll):
    assert face_measures.head_pose(_generic_face(yaw, pitch, roll)) == pytest.approx((yaw, pitch, roll), abs=1e-3)


def test_head_pose_yaw_points_where_the_nose_moves():
    turned = _generic_face(yaw=15)
    assert turned[30, 0] > (turned[36, 0] + turned[45, 0]) / 2  # the nose moves to the image's right
    assert face_measures.head_pose(turned)[0] > 10


def test_expressions_do_not_move_the_head_pose(bundled_face):
    points = bundled_face["landmarks"].copy()
    before = face_measures.head_pose(points)
    iod = face_measures.inter_ocular(points)
    points[[65, 66, 67, 56, 57, 58, 5, 6, 7, 8, 9, 10, 11], 1] += 0.3 * iod  # jaw drops, mouth opens
    points[[48, 60], 0] -= 0.1 * iod  # one mouth corner pulls sideways
    points[[37, 38, 43, 44], 1] += 0.05 * iod  # lids half closed
    points[17:27, 1] -= 0.1 * iod  # brows up
    assert face_measures.head_pose(points) == pytest.approx(before, abs=1e-9)


def test_landmark_error_and_brows_are_scale_free(bundled_face):
    points = bundled_face["landmarks"]
    iod = face_measures.inter_ocular(points)
    assert face_measures.normalised_landmark_error(points, points) == 0.0
    assert face_measures.normalised_landmark_error(points + [0.1 * iod, 0.0], points) == pytest.approx(0.1)
    twice = align.apply(align.similarity_from_params(2.0, 0.3, (10.0, -5.0)), points)
    assert face_measures.brow_height(twice) == pytest.approx(face_measures.brow_height(points), rel=1e-6)
    raised = points.copy()
    raised[17:27, 1] -= 0.05 * iod  # brows up (y is down)
    assert face_measures.brow_height(raised) == pytest.approx(face_measures.brow_height(points) + 0.05, abs=0.01)


def test_face_curves_follow_an_opening_mouth(bundled_face):
    points = bundled_face["landmarks"].copy()
    closed = face_measures.face_curves(points)
    points[[65, 66, 67, 56, 57, 58, 7, 8, 9], 1] += 0.2 * face_measures.inter_ocular(points)
    opened = face_measures.face_curves(points)
    assert opened["mouth"] > closed["mouth"] + 0.1
    assert opened["eyes"] == pytest.approx(closed["eyes"])


# ------------------------------------------------------------------------------------ motion metrics
def test_correlation_ignores_missing_frames_and_refuses_flat_curves():
    t = np.linspace(0, 3, 40)
    driver = np.sin(t)
    output = 0.5 * np.sin(t) + 0.2
    output[5] = np.nan
    assert motion_metrics.correlation(output, driver) == pytest.approx(1.0)
    assert motion_metrics.correlation(-driver, driver) == pytest.approx(-1.0)
    assert math.isnan(motion_metrics.correlation(np.ones(40), driver))
    assert motion_metrics.moves(driver * 0.1, "mouth") and not motion_metrics.moves(driver * 0.02, "mouth")


def test_jitter_is_zero_for_steady_motion_and_grows_with_noise(bundled_face):
    points = bundled_face["landmarks"]
    frames = np.arange(1, 31)
    moving = np.stack([points + [2.0 * i, 0.0] for i in range(30)])  # constant velocity
    assert motion_metrics.landmark_jitter(moving, frames) == pytest.approx(0.0, abs=1e-6)
    iod = face_measures.inter_ocular(points)
    noisy = moving + np.random.default_rng(2).normal(0, 0.01 * iod, moving.shape)
    jitter = motion_metrics.landmark_jitter(noisy, frames)
    assert jitter == pytest.approx(0.01 * np.sqrt(6 * 2), rel=0.25)  # var of x-2y+z is 6 sigma^2 per axis
    gapped = noisy.copy()
    gapped[::2] = np.nan  # no three consecutive frames with a face
    assert math.isnan(motion_metrics.landmark_jitter(gapped, frames))
    assert math.isnan(motion_metrics.landmark_jitter(noisy, frames * 2))  # frame numbers not consecutive
