"""The sRGB transfer functions (IEC 61966-2-1), exact and piecewise, on float32 arrays.

The engine works on sRGB-encoded pixels; EXR files hold linear light. These two functions are the only
place that converts between them, so reading an EXR and writing one back round-trips.
"""

from __future__ import annotations

import numpy as np

# IEC 61966-2-1: a linear toe below these thresholds, a 2.4 power law (with offset) above.
_DECODE_THRESHOLD = np.float32(0.04045)
_ENCODE_THRESHOLD = np.float32(0.0031308)
_TOE_SLOPE = np.float32(12.92)
_OFFSET = np.float32(0.055)
_SCALE = np.float32(1.055)
_GAMMA = np.float32(2.4)
_INV_GAMMA = np.float32(1.0 / 2.4)


def srgb_to_linear(encoded: np.ndarray) -> np.ndarray:
    """The sRGB EOTF: encoded values to linear light (float32, new array).

    Values above 1 follow the power law; values below 0 follow the linear toe, so HDR and negative
    inputs stay finite and the function stays monotonic.
    """
    x = np.asarray(encoded, dtype=np.float32)
    out = np.maximum(x, _DECODE_THRESHOLD)
    out += _OFFSET
    out /= _SCALE
    np.power(out, _GAMMA, out=out)
    toe = x < _DECODE_THRESHOLD
    np.divide(x, _TOE_SLOPE, out=out, where=toe)
    return out


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """The inverse sRGB EOTF: linear light to encoded values (float32, new array)."""
    y = np.asarray(linear, dtype=np.float32)
    out = np.maximum(y, _ENCODE_THRESHOLD)
    np.power(out, _INV_GAMMA, out=out)
    out *= _SCALE
    out -= _OFFSET
    toe = y < _ENCODE_THRESHOLD
    np.multiply(y, _TOE_SLOPE, out=out, where=toe)
    return out
