"""Which renderers the harness can run: baselines always, the warp renderer, neural ones only with weights."""

import pytest

from portrait_animator.errors import JobFieldError
from portrait_animator.evaluate.contenders import (OracleCropBaseline, StaticBaseline, _feathered_square,
                                                   build_contenders)
from portrait_animator.evaluate.protocols import CrossCase, SelfCase


def test_baselines_and_warp_run_and_a_neural_renderer_without_checkpoint_is_skipped():
    usable, skipped = build_contenders(["static", "warp", "oracle-crop", "neural-paper"], {})
    assert [c.name for c in usable] == ["static", "warp", "oracle-crop"]
    assert [c.baseline for c in usable] == [True, False, True]
    assert skipped == {"neural-paper": "skipped: renderer 'neural-paper' needs a checkpoint "
                                       "(--checkpoint neural-paper=PATH)"}


def test_the_hybrid_without_a_checkpoint_runs_the_shipped_small_model():
    usable, skipped = build_contenders(["warp", "neural-hybrid"], {})
    assert [c.name for c in usable] == ["warp", "neural-hybrid"] and not skipped


def test_a_checkpoint_that_cannot_be_loaded_is_skipped_with_the_reason(tmp_path):
    broken = tmp_path / "model.safetensors"
    broken.write_bytes(b"not a checkpoint")
    usable, skipped = build_contenders(["warp", "neural-paper"], {"neural-paper": str(broken)})
    assert [c.name for c in usable] == ["warp"]
    assert skipped["neural-paper"].startswith("skipped: renderer 'neural-paper' cannot be built here (")


def test_a_misspelt_renderer_is_an_error():
    with pytest.raises(JobFieldError, match="unknown renderer 'wrap'"):
        build_contenders(["warp", "wrap"], {})


def test_the_oracle_needs_a_real_frame():
    self_case = SelfCase("clip.mp4", 1, (1,), (2, 3, 4), (2, 3, 4))
    cross_case = CrossCase("still.png", "clip.mp4", (2, 3, 4))
    assert OracleCropBaseline().applies_to(self_case) and not OracleCropBaseline().applies_to(cross_case)
    assert StaticBaseline().applies_to(cross_case)
    matte = _feathered_square(100)
    assert matte[50, 50] == 1.0 and matte[0, 50] < 0.2 and matte[50, 99] < 0.2  # full inside, fading at the edge
