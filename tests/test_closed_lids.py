"""Painted closing eyelids against the real frames (self-reenactment: the clip is the ground truth)."""

import pytest

from portrait_animator.evaluate.closed_lids import measure_closing_eyes

from conftest import media_path

# Clips whose blinks the painter got wrong before (a dark lid in the brow's shadow, a faint lash line), and
# how far the painted lid's lightness may stray from the real lid's (Lab L; at stop 36: -0.9 and -6.0).
CLIPS = (("lp_d18.mp4", 3.0), ("pcavs_vox_00098.mp4", 8.0))


@pytest.mark.slow
@pytest.mark.parametrize("clip, lightness_bound", CLIPS)
def test_painted_lids_are_closer_to_the_real_closed_eyes_than_the_warp_alone(clip, lightness_bound, tmp_path):
    result = measure_closing_eyes(str(media_path("driving", clip)), 200, 0.55, str(tmp_path / "cache"),
                                  str(tmp_path))
    assert result is not None and result.frames >= 5, result  # the clip blinks
    assert result.render_error < 0.95 * result.warp_error, result
    assert result.lid_lightness_bias is not None and abs(result.lid_lightness_bias) < lightness_bound, result
