"""The sRGB transfer functions: the IEC 61966-2-1 formula, OpenColorIO's opinion, and round trips."""

from __future__ import annotations

import numpy as np
import OpenImageIO as oiio
import pytest

from portrait_animator.io.colour import linear_to_srgb, srgb_to_linear


def _reference_decode(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((np.maximum(v, 0.04045) + 0.055) / 1.055) ** 2.4)


def _reference_encode(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.maximum(v, 0.0031308) ** (1 / 2.4) - 0.055)


def test_known_values():
    encoded = np.array([0.0, 0.04045, 0.5, 1.0], np.float32)
    expected = np.array([0.0, 0.04045 / 12.92, 0.21404114, 1.0], np.float32)
    np.testing.assert_allclose(srgb_to_linear(encoded), expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(linear_to_srgb(expected), encoded, rtol=1e-6, atol=1e-7)


def test_matches_the_piecewise_formula_to_float32_precision():
    grid = np.linspace(-0.25, 2.0, 200_001, dtype=np.float32)
    np.testing.assert_allclose(srgb_to_linear(grid), _reference_decode(grid), rtol=3e-6, atol=1e-8)
    np.testing.assert_allclose(linear_to_srgb(grid), _reference_encode(grid), rtol=3e-6, atol=1e-8)


def test_agrees_with_opencolorio_through_oiio():
    """OIIO's built-in OCIO config converts sRGB to linear independently of our code."""
    ramp = np.linspace(0.0, 1.0, 1024, dtype=np.float32).reshape(1, -1, 1).repeat(3, axis=2)
    converted = oiio.ImageBufAlgo.colorconvert(oiio.ImageBuf(ramp), "srgb_rec709_scene", "lin_rec709_scene")
    assert not converted.has_error, converted.geterror()
    np.testing.assert_allclose(srgb_to_linear(ramp), converted.get_pixels(oiio.FLOAT), atol=1e-4)


def test_round_trips_and_is_monotonic():
    values = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(values)), values, atol=2e-6)
    np.testing.assert_allclose(srgb_to_linear(linear_to_srgb(values)), values, atol=2e-6)
    ramp = np.linspace(0.0, 1.0, 65536, dtype=np.float32)
    assert np.all(np.diff(srgb_to_linear(ramp)) >= 0)
    assert np.all(np.diff(linear_to_srgb(ramp)) >= 0)


@pytest.mark.parametrize("function", [srgb_to_linear, linear_to_srgb])
def test_float32_out_of_range_finite_and_input_untouched(function):
    values = np.array([-1.0, -0.01, 0.0, 1.0, 4.0, 100.0], np.float32)
    before = values.copy()
    out = function(values)
    assert out.dtype == np.float32 and out.shape == values.shape
    assert np.all(np.isfinite(out))
    assert out[0] < 0 and out[-1] > 1  # toe and power law extended, not clipped
    np.testing.assert_array_equal(values, before)
