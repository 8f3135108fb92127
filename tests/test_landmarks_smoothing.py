"""smooth_track: One-Euro filtering that removes jitter but keeps blinks and mouth openings."""

from __future__ import annotations

import numpy as np
import pytest

from landmark_media import clip_fps, clip_frames, eye_opening, mouth_opening
from portrait_animator.errors import JobFieldError
from portrait_animator.landmarks import LandmarkTrack, ibug68, smooth_track, track_frames

CLIP = "lp_d0.mp4"  # frontal, mostly still head, with blinks, smiles and mouth openings in its first 75 frames


@pytest.fixture(scope="module")
def track():
    return track_frames(clip_frames(CLIP, 75), fps=clip_fps(CLIP), source=CLIP)


def jitter(points: np.ndarray) -> float:
    """Mean size of the frame-to-frame second difference of the given points (pixels)."""
    return float(np.nanmean(np.linalg.norm(points[2:] - 2 * points[1:-1] + points[:-2], axis=-1)))


def test_reduces_jitter_of_a_real_clip(track):
    rigid = list(ibug68.NOSE)  # the nose moves only with the head: frame-to-frame wobble there is jitter
    smoothed = smooth_track(track, 0.5)
    assert jitter(smoothed.landmarks[:, rigid]) < 0.6 * jitter(track.landmarks[:, rigid])
    assert jitter(smoothed.dense) < 0.6 * jitter(track.dense)
    strong = smooth_track(track, 1.0)
    assert jitter(strong.landmarks[:, rigid]) < jitter(smoothed.landmarks[:, rigid])
    assert smoothed.meta["smoothing"] == 0.5 and smoothed.meta["backend"] == "mediapipe"
    assert track.meta.get("smoothing") is None  # the input is not modified


@pytest.mark.parametrize("strength", [0.5, 1.0])
def test_keeps_blinks_and_mouth_openings(track, strength):
    smoothed = smooth_track(track, strength).landmarks
    for measure in (eye_opening, mouth_opening):
        raw, filtered = measure(track.landmarks), measure(smoothed)
        assert raw.max() - raw.min() > 0.15, "the clip should show blinks and mouth openings"
        assert np.corrcoef(raw, filtered)[0, 1] > 0.9
        assert (filtered.max() - filtered.min()) > 0.85 * (raw.max() - raw.min())


def test_nan_gaps_stay_and_the_filter_restarts_after_them(track):
    gapped = LandmarkTrack(track.landmarks.copy(), track.confidence.copy(), track.frame_numbers,
                           dense=track.dense.copy(), fps=track.fps)
    gapped.landmarks[30:40] = np.nan
    gapped.dense[30:40] = np.nan
    smoothed = smooth_track(gapped, 0.8)
    assert np.isnan(smoothed.landmarks[30:40]).all() and np.isnan(smoothed.dense[30:40]).all()
    assert np.isfinite(smoothed.landmarks[40:]).all()
    np.testing.assert_allclose(smoothed.landmarks[40], gapped.landmarks[40], atol=1e-3)  # restarted afresh


def test_time_comes_from_fps_and_frame_numbers():
    """The same samples are smoothed more when they are closer in time (the cutoff is in hertz)."""
    rng = np.random.default_rng(1)
    face = np.stack(np.meshgrid(np.linspace(100, 200, 17), np.linspace(100, 200, 4)), -1).reshape(-1, 2)[:68]
    points = face[None] + rng.normal(0, 1.0, (200, 68, 2))
    numbers = np.arange(1, 201)
    slow = smooth_track(LandmarkTrack(points, np.ones(200), numbers, fps=10.0), 0.5)
    fast = smooth_track(LandmarkTrack(points, np.ones(200), numbers, fps=100.0), 0.5)
    spaced = smooth_track(LandmarkTrack(points, np.ones(200), numbers * 10, fps=100.0), 0.5)
    assert jitter(fast.landmarks) < 0.7 * jitter(slow.landmarks)
    np.testing.assert_allclose(spaced.landmarks, slow.landmarks, atol=1e-4)  # every 10th frame at 100 = 10 fps


def test_strength_zero_is_off_and_bad_strength_is_refused(track):
    np.testing.assert_array_equal(smooth_track(track, 0.0).landmarks, track.landmarks)
    with pytest.raises(JobFieldError, match="smoothing"):
        smooth_track(track, 1.5)
