"""Procedural drivers: deterministic, starting from the neutral face, and each doing what it says."""

import numpy as np
import pytest

from portrait_animator.errors import JobFieldError
from portrait_animator.evaluate.face_measures import head_pose
from portrait_animator.motion import eye_openness, mouth_openness
from portrait_animator.presets import PRESETS, parse_preset, preset_track


@pytest.mark.parametrize("name", PRESETS)
def test_presets_start_neutral_and_are_deterministic(bundled_face, name):
    neutral = bundled_face["landmarks"]
    a = preset_track(name, neutral, frames=150, seed=4)
    b = preset_track(name, neutral, frames=150, seed=4)
    c = preset_track(name, neutral, frames=150, seed=5)
    assert len(a) == 150 and np.isfinite(a.landmarks).all()
    assert np.allclose(a.landmarks[0], neutral, atol=1e-4)
    assert np.array_equal(a.landmarks, b.landmarks)
    if name != "smile":  # smile has no random part
        assert not np.array_equal(a.landmarks, c.landmarks)


def test_each_preset_moves_what_it_names(bundled_face):
    neutral = bundled_face["landmarks"]
    tracks = {name: preset_track(name, neutral, frames=200, seed=2) for name in PRESETS}
    eyes = {name: eye_openness(t.landmarks).mean(-1) for name, t in tracks.items()}
    mouth = {name: mouth_openness(t.landmarks) for name, t in tracks.items()}
    width = {name: np.linalg.norm(t.landmarks[:, 54] - t.landmarks[:, 48], axis=1) for name, t in tracks.items()}
    for name in ("blink", "idle", "talk"):
        assert eyes[name].min() < 0.2 * eyes[name][0]  # lids close fully at least once
    assert (eyes["blink"] < 0.5 * eyes["blink"][0]).sum() >= 4  # several blinks
    assert mouth["talk"].max() > mouth["talk"][0] + 0.25 and np.ptp(mouth["talk"][100:]) > 0.2
    assert np.ptp(mouth["blink"]) < 1e-3
    assert width["smile"].max() > 1.1 * width["smile"][0]
    sway = np.linalg.norm(tracks["idle"].landmarks[:, 30] - tracks["idle"].landmarks[0, 30], axis=1)
    assert sway.max() > 1.0 and np.ptp(mouth["idle"]) < 5e-3  # idle does not talk (a nod foreshortens the lips)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_talk_opens_the_mouth_as_far_and_as_fast_as_real_talkers(bundled_face, seed):
    # The spans of nine real talking clips, measured by bench/talk_preset.py with the same measure: the
    # opening above its rest at its 90th percentile, and how fast it changes a second (90th percentile).
    track = preset_track("talk", bundled_face["landmarks"], frames=250, seed=seed)
    opening = mouth_openness(track.landmarks)
    above = opening - np.percentile(opening, 5)
    speed = np.abs(np.diff(opening)) * track.fps
    assert 0.16 <= np.percentile(above, 90) <= 0.43
    assert 1.5 <= np.percentile(speed, 90) <= 4.1


def test_idle_and_talk_turn_and_nod_the_head_in_depth(bundled_face):
    # standard deviations of yaw, pitch and roll on the nine talking clips (bench/talk_preset.py): at most
    # 12, 8.7 and 4.6 degrees; the presets keep to the calm end, talking moving more than sitting idle
    spread = {}
    for name in ("idle", "talk"):
        track = preset_track(name, bundled_face["landmarks"], frames=250, seed=1)
        pose = np.array([head_pose(points) for points in track.landmarks])
        spread[name] = pose.std(axis=0)
        assert np.all(spread[name] >= 0.5) and np.all(spread[name] <= [12.0, 8.7, 4.6])
        # the widest turn carries the nose tip further across the face than the jaw's ends: a turn in depth
        row = int(np.abs(pose[:, 0] - pose[0, 0]).argmax())
        moved = track.landmarks[row] - track.landmarks[0]
        assert abs(moved[30, 0]) > 1.5 * np.abs(moved[[0, 16], 0]).mean()
    assert np.all(spread["talk"][:2] > spread["idle"][:2])


def test_unknown_preset_is_a_named_job_error():
    assert parse_preset("preset:Talk") == "talk"
    with pytest.raises(JobFieldError, match="unknown preset 'dance'"):
        parse_preset("preset:dance")
