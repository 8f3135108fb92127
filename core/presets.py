"""Procedural drivers: ``preset:idle|blink|smile|talk`` — motion without any video.

Each preset deforms a neutral 68-point face (normally the still's own landmarks) over time, in units of
the face's eye distance, and returns it as a ``LandmarkTrack`` whose first frame is that neutral face. Motion
is deterministic for a given seed: blinks at natural intervals, for ``idle`` and ``talk`` small head turns,
nods and rolls, and for ``talk`` a speech-like jaw and lip rhythm (syllables at 3-5 Hz grouped into phrases
with pauses).
"""

from __future__ import annotations

import numpy as np

from . import align
from .errors import JobFieldError
from .landmarks import ibug68
from .landmarks.mediapipe_topology import IBUG68_MATRIX
from .landmarks.track import LandmarkTrack
from .motion.face_depth import FACE_DEPTH

PRESETS = ("idle", "blink", "smile", "talk")
DEFAULT_FPS = 25.0
DEFAULT_SECONDS = 5.0

_UPPER_LIDS = ((37, 41), (38, 40), (43, 47), (44, 46))  # (upper lid point, the lower lid point below it)
_LOWER_OUTER_LIP = (55, 56, 57, 58, 59)
_LOWER_INNER_LIP = (65, 66, 67)
_UPPER_INNER_LIP = (61, 62, 63)
_UPPER_OUTER_LIP = (49, 50, 51, 52, 53)
_CHIN = (5, 6, 7, 8, 9, 10, 11)
# Speech: the lower lip's drop at a syllable's widest, in eye distances, and the share of it a phrase holds
# between syllables. On nine real talking clips (``bench/talk_preset.py``) the mouth's opening (the inner
# lips' gap over the mouth's width) above its rest was 0.16-0.43 at its 90th percentile (median 0.24), and
# changed by 1.5-4.1 a second (90th percentile; median 2.0). With a drop of 0.42 and the jaw shut between
# syllables this preset reached 0.33-0.35 and changed by 5.0 a second: a chatter faster than any clip's.
SPEECH_DROP = 0.3
SPEECH_FLOOR = 0.25
# How far the head turns (yaw), nods (pitch) and rolls, in degrees: each angle's standard deviation over a
# take. On the nine talking clips (``evaluate.face_measures.head_pose``, ``bench/talk_preset.py``) they were
# yaw 1.3-12 (median 5.2), pitch 1.2-8.7 (median 4.3) and roll 0.4-4.6 (median 3.2), and on the speaker who
# sits stillest (dreamtalk_mead_w009_neutral) 1.3, 1.2 and 0.4. The presets keep to the calm end of that;
# before, they only rolled (1.5).
SWAY_DEGREES = {"idle": (1.5, 1.2, 1.0), "talk": (3.0, 2.5, 1.5)}
PIVOT_DEPTH = 0.9  # how far the head turns about an axis behind its face: eye distances behind the rigid points


def parse_preset(driver: str) -> str:
    """``preset:talk`` -> ``talk``; a clear error for an unknown name."""
    name = driver.split(":", 1)[1].strip().lower()
    if name not in PRESETS:
        raise JobFieldError("driver", f"names an unknown preset {name!r} (presets: {', '.join(PRESETS)})")
    return name


def preset_track(name: str, neutral68: np.ndarray, frames: int | None = None, fps: float = DEFAULT_FPS,
                 seed: int = 0, image_size: tuple[int, int] | None = None) -> LandmarkTrack:
    """A ``frames``-long track of preset ``name`` around ``neutral68`` (default: 5 seconds)."""
    if name not in PRESETS:
        raise JobFieldError("driver", f"names an unknown preset {name!r} (presets: {', '.join(PRESETS)})")
    count = int(frames or round(DEFAULT_SECONDS * fps))
    rng = np.random.default_rng(seed)
    t = np.arange(count) / fps
    neutral = np.asarray(neutral68, dtype=np.float64)
    eye_r, eye_l = align.eye_centres(neutral)
    unit = float(np.linalg.norm(eye_l - eye_r))
    across = (eye_l - eye_r) / unit  # the face's own axes, so tilted faces move correctly
    down = np.array([-across[1], across[0]])

    blink = np.zeros(count) if name == "smile" else _blinks(t, rng, every=(2.0, 4.5) if name != "blink" else
                                                            (0.9, 1.6))
    shapes = np.repeat(neutral[None], count, axis=0)
    if name == "talk":
        opening, rounding = _speech(t, rng)
        _open_mouth(shapes, opening, rounding, unit, across, down)
        brows = 0.05 * unit * np.clip(opening - 0.3, 0, None)
        shapes[:, list(ibug68.BROWS)] -= (brows[:, None, None] * down)
    if name == "smile":
        _smile(shapes, _ramp(t, 0.6, 1.0, t[-1] - 1.2, 0.9) if count > 1 else np.zeros(count), unit, across,
               down)
    _close_eyes(shapes, blink)
    if name in SWAY_DEGREES:
        _sway(shapes, t, rng, unit, across, down, SWAY_DEGREES[name])
    shapes[0] = neutral  # frame 1 is the neutral the motion is measured from
    return LandmarkTrack(shapes.astype(np.float32), np.ones(count, np.float32),
                         np.arange(1, count + 1, dtype=np.int32), image_size=image_size, fps=fps,
                         meta={"preset": name, "seed": int(seed), "backend": "preset"})


# ------------------------------------------------------------------------------------------ signals
def _bump(t: np.ndarray, centre: float, rise: float, fall: float) -> np.ndarray:
    """A smooth 0..1..0 pulse: raised-cosine rise before ``centre`` and fall after it."""
    up = np.clip((t - (centre - rise)) / rise, 0.0, 1.0)
    down = np.clip(((centre + fall) - t) / fall, 0.0, 1.0)
    return np.where(t < centre, 0.5 - 0.5 * np.cos(np.pi * up), 0.5 - 0.5 * np.cos(np.pi * down))


def _ramp(t, start, rise, end, fall):
    on = 0.5 - 0.5 * np.cos(np.pi * np.clip((t - start) / rise, 0, 1))
    off = 0.5 - 0.5 * np.cos(np.pi * np.clip((end + fall - t) / fall, 0, 1))
    return np.minimum(on, off)


def _blinks(t: np.ndarray, rng, every: tuple[float, float]) -> np.ndarray:
    """Lid closure 0..1: blinks ~0.25 s long (fast close, slower open) at random natural intervals."""
    closure = np.zeros_like(t)
    when = rng.uniform(0.4, every[0])
    while when < t[-1] + 0.3:
        closure = np.maximum(closure, np.clip(_bump(t, when, 0.08, 0.16) * 1.15, 0.0, 1.0))
        when += rng.uniform(*every)
    return closure


def _speech(t: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Jaw opening 0..1 and lip rounding -1..1 of speech-like phrases separated by pauses.

    Within a phrase the jaw stays part-open and each syllable opens it further, mostly a little: in real
    speech it rarely shuts between syllables, and wide vowels are few (``SPEECH_DROP``)."""
    opening = np.zeros_like(t)
    rounding = np.zeros_like(t)
    start = 0.35
    while start < t[-1]:
        length = rng.uniform(1.2, 2.8)
        phrase = _ramp(t, start, 0.15, start + length, 0.2)
        syllables = np.zeros_like(t)
        when = start
        while when < min(start + length, t[-1] + 0.2):
            duration = rng.uniform(0.18, 0.3)  # one syllable: 3-5 a second
            peak = when + duration * 0.45
            height = 0.2 + 0.8 * rng.uniform() ** 2  # mostly small, now and then a stressed vowel
            syllables = np.maximum(syllables, height * _bump(t, peak, duration * 0.45, duration * 0.55))
            rounding += rng.uniform(-1.0, 1.0) * _bump(t, peak, duration * 0.5, duration * 0.5)
            when += duration
        opening = np.maximum(opening, phrase * (SPEECH_FLOOR + (1.0 - SPEECH_FLOOR) * syllables))
        start += length + rng.uniform(0.25, 0.6)
    return opening, np.clip(rounding, -1.0, 1.0)


# -------------------------------------------------------------------------------------- deformations
def _open_mouth(shapes, opening, rounding, unit, across, down):
    drop = SPEECH_DROP * unit * opening
    for indices, share in ((_LOWER_INNER_LIP, 1.0), (_LOWER_OUTER_LIP, 0.95), (_CHIN, 0.8), ((4, 12), 0.45),
                           ((3, 13), 0.2), ((64, 60), 0.35), ((54, 48), 0.25)):
        shapes[:, list(indices)] += (share * drop)[:, None, None] * down
    shapes[:, list(_UPPER_INNER_LIP)] -= (0.05 * unit * opening)[:, None, None] * down
    shapes[:, list(_UPPER_OUTER_LIP)] -= (0.03 * unit * opening)[:, None, None] * down
    # Rounding ("oo") pulls the corners in; spreading ("ee") pushes them out.
    pull = 0.07 * unit * rounding
    for left, right in ((48, 54), (60, 64), (49, 53), (59, 55)):
        shapes[:, left] += pull[:, None] * across
        shapes[:, right] -= pull[:, None] * across


def _smile(shapes, amount, unit, across, down):
    a = amount[:, None]
    for corner, side in ((48, -1.0), (60, -1.0), (54, 1.0), (64, 1.0)):
        shapes[:, corner] += a * unit * (0.12 * side * across - 0.09 * down)
    for index, side in ((49, -1.0), (59, -1.0), (53, 1.0), (55, 1.0)):
        shapes[:, index] += a * unit * (0.06 * side * across - 0.05 * down)
    shapes[:, [50, 51, 52, 61, 62, 63]] -= (0.02 * unit * amount)[:, None, None] * down
    for upper, lower in _UPPER_LIDS:  # cheeks push the lower lids up a little
        gap = shapes[:, lower] - shapes[:, upper]
        shapes[:, lower] -= 0.18 * a * gap
    shapes[:, [3, 4, 12, 13]] += np.array([-1, -1, 1, 1])[None, :, None] * (0.03 * unit * a)[..., None] * across


def _close_eyes(shapes, closure):
    for upper, lower in _UPPER_LIDS:
        gap = shapes[:, lower] - shapes[:, upper]
        shapes[:, upper] += 0.85 * closure[:, None] * gap
        shapes[:, lower] -= 0.15 * closure[:, None] * gap


def _sway(shapes, t, rng, unit, across, down, degrees):
    """Small, slow head motion of a person sitting still: turns, nods and rolls, each two slow waves whose
    standard deviations are ``degrees`` (yaw, pitch, roll), and a little drift. Turns and nods turn the
    generic face depth motion transfer fits turns with (``motion.face_depth``) about an axis ``PIVOT_DEPTH``
    behind the face, so the nose passes over the cheeks and the face moves as on a real head."""
    angles = []
    for spread in degrees:
        phases = rng.uniform(0.0, 2.0 * np.pi, size=2)
        slow, quick = rng.uniform(0.15, 0.3), rng.uniform(0.45, 0.7)
        wave = np.sin(2 * np.pi * slow * t + phases[0]) + 0.4 * np.sin(2 * np.pi * quick * t + phases[1])
        wave = np.deg2rad(spread / np.sqrt(0.5 * (1.0 + 0.4 ** 2))) * wave  # the two waves' deviation: spread
        angles.append(wave - wave[0])
    yaw, pitch, roll = angles
    phases = rng.uniform(0.0, 2.0 * np.pi, size=2)
    drift = (0.05 * unit * np.sin(2 * np.pi * 0.17 * t + phases[0]))[:, None] * across + (
        0.04 * unit * np.sin(2 * np.pi * 0.29 * t + phases[1]))[:, None] * down
    centre = shapes[0].mean(0)
    depth = (PIVOT_DEPTH - IBUG68_MATRIX @ np.asarray(FACE_DEPTH)) * unit  # towards the camera from the axis
    for row in range(len(shapes)):
        offset = shapes[row] - centre
        side, height = offset @ across, offset @ down
        side, depth_now = (side * np.cos(yaw[row]) + depth * np.sin(yaw[row]),
                           depth * np.cos(yaw[row]) - side * np.sin(yaw[row]))
        height = height * np.cos(pitch[row]) + depth_now * np.sin(pitch[row])  # seen straight on
        turned = side[:, None] * across + height[:, None] * down
        rolled = turned @ align.similarity_from_params(1.0, roll[row], (0.0, 0.0))[:, :2].T
        shapes[row] = centre + rolled + drift[row] - drift[0]
