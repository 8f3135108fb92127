"""track_frames on real clips: following one face, confidence, NaN rows and short-gap interpolation."""

from __future__ import annotations

import numpy as np
import pytest

from landmark_media import clip_frames
from portrait_animator.errors import NoFaceError, UnusableFaceError
from portrait_animator.landmarks import (LandmarkTrack, create_detector, interpolate_gaps, rows_by_number,
                                         track_frames)

CLIP = "lp_d0.mp4"  # 512x512, 25 fps, one frontal face


@pytest.fixture(scope="module")
def detector():
    with create_detector("mediapipe") as found:
        yield found


@pytest.fixture(scope="module")
def frames():
    return clip_frames(CLIP, 60)


def test_tracks_a_real_clip(detector, frames):
    calls = []
    track = track_frames(frames, backend=detector, fps=25.0, source=f"/clips/{CLIP}",
                         progress=lambda done, total, message: calls.append((done, total, message)))
    assert len(track) == 60 and track.valid.all()
    assert track.confidence.min() > 0.9
    assert track.dense is not None and track.dense.shape == (60, 478, 2)
    np.testing.assert_array_equal(track.frame_numbers, np.arange(1, 61))
    assert track.image_size == (512, 512) and track.fps == 25.0
    assert track.meta["backend"] == "mediapipe" and track.meta["source"] == CLIP
    assert ((track.landmarks > 0) & (track.landmarks < 512)).all()
    assert [c[0] for c in calls] == list(range(1, 61)) and calls[-1][1] == 60 and "frame 60" in calls[-1][2]
    # following the face from frame to frame agrees with searching every frame afresh
    for row in (0, 29, 59):
        fresh = detector.find_faces(frames[row][1])[0].landmarks
        iod = np.linalg.norm(fresh[36] - fresh[45])
        assert np.linalg.norm(track.landmarks[row] - fresh, axis=1).mean() < 0.02 * iod


def test_blank_frames_give_interpolated_or_nan_rows(detector, frames):
    """A 3-frame dropout (0.12 s) is bridged with reduced confidence; a 16-frame one (0.64 s) stays NaN."""
    blank = np.zeros_like(frames[0][1])
    short, long = range(20, 23), range(35, 51)
    damaged = [(n, blank if n in short or n in long else image) for n, image in frames]
    track = track_frames(iter(damaged), backend=detector, fps=25.0, source=CLIP)
    rows = lambda numbers: [n - 1 for n in numbers]  # noqa: E731
    assert np.isfinite(track.landmarks[rows(short)]).all()
    assert (track.confidence[rows(short)] <= 0.5 * track.confidence[[18, 22]].min() + 1e-6).all()
    # the bridged rows lie between the frames around the gap
    before, after = track.landmarks[18], track.landmarks[22]
    np.testing.assert_allclose(track.landmarks[20], (before + after) / 2, atol=1e-3)
    assert np.isnan(track.landmarks[rows(long)]).all() and (track.confidence[rows(long)] == 0).all()
    assert np.isnan(track.dense[rows(long)]).all()
    assert track.valid[50:].all() and track.confidence[50:].min() > 0.9  # found again after the dropout
    assert track.meta["interpolated_frames"] == 3


def test_no_face_in_any_frame_names_the_source(detector, frames):
    blank = np.zeros_like(frames[0][1])
    with pytest.raises(NoFaceError, match=r"^/clips/empty\.mp4: no face found in any of its 8 frames"):
        track_frames([(n, blank) for n in range(1, 9)], backend=detector, source="/clips/empty.mp4")
    with pytest.raises(NoFaceError, match="no frames"):
        track_frames([], backend=detector, source="/clips/empty.mp4")


def test_face_index_beyond_the_faces_found(detector, frames):
    with pytest.raises(UnusableFaceError, match=rf"^{CLIP}: face index 2 asked for but frame 1 shows 1 face"):
        track_frames(frames[:3], backend=detector, face_index=2, source=CLIP)


def test_backend_by_name(frames):
    track = track_frames(frames[:4], backend="mediapipe", fps=25.0)
    assert track.valid.all() and track.meta["backend"] == "mediapipe" and track.meta["source"] is None


def test_interpolate_gaps_uses_frame_numbers_and_fps():
    points = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((10, 68, 2), np.float32)
    numbers = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    points[2:7] = np.nan  # 5 missing frames
    track = LandmarkTrack(points, np.where(np.isfinite(points[:, 0, 0]), 0.8, 0.0), numbers, fps=25.0)
    filled = interpolate_gaps(track)  # 5 frames at 25 fps = 0.2 s: bridged
    np.testing.assert_allclose(filled.landmarks[2:7, 0, 0], [2, 3, 4, 5, 6])
    np.testing.assert_allclose(filled.confidence[2:7], 0.4)
    slower = interpolate_gaps(LandmarkTrack(points, track.confidence, numbers, fps=20.0))  # 0.25 s: not
    assert np.isnan(slower.landmarks[2:7]).all()
    # the gap is counted in frames, not rows: one missing row of every other frame is 3 frames (bridged),
    # one missing row between frames 3 and 15 is 11 frames (not)
    rows = points[[0, 1, 2, 8, 9]]
    confidence = np.where(np.isfinite(rows[:, 0, 0]), 0.8, 0.0)
    assert interpolate_gaps(LandmarkTrack(rows, confidence, np.array([1, 3, 5, 7, 9]), fps=25.0)).valid.all()
    far = interpolate_gaps(LandmarkTrack(rows, confidence, np.array([1, 3, 9, 15, 17]), fps=25.0))
    assert not far.valid[2]
    edge = points.copy()
    edge[:2] = np.nan
    assert np.isnan(interpolate_gaps(LandmarkTrack(edge, track.confidence, numbers)).landmarks[:2]).all()


def test_rows_are_found_by_frame_number_across_gaps():
    # a farm chunk's track starts mid-clip and a sparse one skips frames: rows are not frame number - 1
    numbers = np.array([40, 41, 45, 50])
    points = np.arange(4, dtype=np.float32)[:, None, None] * np.ones((4, 68, 2), np.float32)
    track = LandmarkTrack(points, np.full(4, 0.9, np.float32), numbers)
    assert rows_by_number(numbers) == {40: 0, 41: 1, 45: 2, 50: 3}
    chosen = track.select([50, 40])
    np.testing.assert_array_equal(chosen.frame_numbers, [50, 40])
    np.testing.assert_allclose(chosen.landmarks[:, 0, 0], [3, 0])
    with pytest.raises(KeyError):
        track.select([42])
