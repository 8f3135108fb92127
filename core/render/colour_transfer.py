"""Colour transfer between two faces' skins in Lab: a patch of one face (the driver's mouth, its eye) shown in
the light and colour of another (the still)."""

from __future__ import annotations

import cv2
import numpy as np


def lab(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) CIE Lab of RGB, uint8 or in [0, 1] (any shape with 3 channels last): a video frame's pixels
    are converted here, not by each caller."""
    unit = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else np.clip(rgb, 0, 1).astype(np.float32)
    return cv2.cvtColor(unit.reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(-1, 3)


def lab_statistics(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Lab mean and spread of a skin's pixels: what ``match_colour`` takes from each face."""
    values = lab(pixels)
    return values.mean(0), values.std(0)


def match_colour(patch: np.ndarray, from_stats, to_stats) -> np.ndarray:
    """The patch (uint8 or float in [0, 1]) in the still's light and colour, as float in [0, 1], from the two
    skins' Lab statistics (the driver's where it has its own, the still's).

    Lightness changes as an exposure does: by a factor on luminance, which is a factor on Lab's L + 16 (L is
    nearly a cube root), the one that takes the driver's skin to the still's; then, on a still whose skin
    has more texture than the driver's at that exposure (a wrinkled face, a grainy print), its contrast up to
    twice, never down; highlights pushed past white roll off below it (``roll_off_highlights``), and
    shadows pushed past black roll off above it (``roll_off_shadows``: clipped, a raised contrast turned an
    open mouth on a wrinkled or grainy still into one flat black hole). An
    additive shift with the skins' spread ratio as gain (Reinhard's transfer) kept a dim driver's mouth a
    few points of L from a bright still's skin: an open mouth came out a grey slot (lia_taylor driven by
    `lp_d3`: the mouth at L 47 on skin at 74, where a factor gives 21).
    The colour channels scale about white by the ratio of the two skins' mean a and b (at most 2), as a
    tint of the light does, so the driver's near-white teeth stay near white, and a still without colour (a
    black-and-white photograph) gets a grey mouth. Shifted by the skins' difference instead, teeth turned
    blue-green on stills paler than the driver (the colourised Einstein, the marble bust: 12 of the 50
    shared stills with `styletalk_vscodehappy_clip1`, `bench/mouth_colour.py`). The skins' spread of hue
    is no gain: a few points of Lab, its ratio between two faces is noise (up to 8 on the pairs looked at),
    and it turned a driver's lower lip magenta on a painting.

    Against real open mouths (``bench/mouth_light.py``) the exposure alone comes closest; the texture gain
    paints the middle of the mouth 2 L darker. It stays for dlib's reading of wrinkled stills' mouths
    (docs/quality.md, "The painted mouth's light against real open mouths").
    """
    (src_mean, src_std), (dst_mean, dst_std) = from_stats, to_stats
    values = lab(patch)
    exposure = (dst_mean[0] + 16.0) / max(src_mean[0] + 16.0, 1e-3)
    texture = float(np.clip((dst_std[0] + 1e-3) / (src_std[0] * exposure + 1e-3), 1.0, 2.0))

    def relit(lightness):  # the driver's Lab lightness in the still's light
        return ((lightness + 16.0) * exposure - 16.0 - dst_mean[0]) * texture + dst_mean[0]

    knee = float(dst_mean[0])
    values[:, 0] = roll_off_shadows(roll_off_highlights(relit(values[:, 0]), knee, white=relit(100.0)), knee,
                                    black=relit(0.0))
    chroma_gain = np.clip(dst_mean[1:] / np.maximum(src_mean[1:], 1.0), 0.0, 2.0)
    values[:, 1:] = (values[:, 1:] - src_mean[1:]) * chroma_gain + dst_mean[1:]
    out = cv2.cvtColor(values.reshape(-1, 1, 3).astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(out.reshape(patch.shape), 0.0, 1.0)


def roll_off_highlights(lightness: np.ndarray, knee: float, white: float) -> np.ndarray:
    """Lab lightness above the still's skin (``knee``) compressed so that ``white``, where the transfer took
    the driver's white, lands on white again, with the slope kept at the knee: a camera's shoulder. A driver
    filmed darker than a bright still has its exposure raised, and clipped there, its teeth came out one
    flat white bar with no tooth in it (a studio portrait driven by `styletalk_vscodehappy_clip1`: a quarter
    of the mouth's patch blown out). Nothing changes where the driver's white stays within white."""
    room, over = 100.0 - knee, white - knee
    if over <= room or room <= 0.0:
        return lightness
    softness = over * room / (over - room)  # x / (1 + x / softness) takes ``over`` to ``room``
    above = np.maximum(lightness - knee, 0.0)
    return np.where(lightness > knee, knee + above / (1.0 + above / softness), lightness)


def roll_off_shadows(lightness: np.ndarray, knee: float, black: float) -> np.ndarray:
    """Lab lightness below the still's skin (``knee``) compressed so that ``black``, where the transfer took the
    driver's black, lands on black again: a film's toe, ``roll_off_highlights`` mirrored."""
    return 100.0 - roll_off_highlights(100.0 - lightness, 100.0 - knee, white=100.0 - black)
