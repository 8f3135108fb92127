"""LPIPS and FID: skipped (and said so) without weights; with weight files the user placed — here files this
test makes with random weights under the published names — the networks load and measure."""

import math

import numpy as np
import pytest
import torch

from portrait_animator.errors import MissingWeightsError
from portrait_animator.evaluate.lpips_alex import CHANNELS, alexnet_features
from portrait_animator.evaluate.perceptual import (ALEXNET_FILE, FID_INCEPTION_FILE, LPIPS_LINEAR_FILE,
                                                   PerceptualMetrics, frechet_distance)


def _images(count=3, size=96, seed=0):
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    base = np.stack([ramp[None, :].repeat(size, 0), ramp[:, None].repeat(size, 1), np.full((size, size), 0.4)], -1)
    return [np.clip(base + rng.normal(0, 0.05 * i, base.shape), 0, 1).astype(np.float32) for i in range(count)]


def test_without_weights_both_are_skipped_and_named(tmp_path):
    found = PerceptualMetrics.find(str(tmp_path))
    assert found.lpips is None and found.fid is None
    assert found.skipped["lpips"].startswith("skipped: no weights") and ALEXNET_FILE in found.skipped["lpips"]
    assert found.skipped["fid"] == f"skipped: no weights ({tmp_path / FID_INCEPTION_FILE})"


def _place_lpips_weights(folder, seed=0):
    torch.manual_seed(seed)
    state = {f"features.{k}": v for k, v in alexnet_features().state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(8, 8)  # the full torchvision file has more; it is ignored
    torch.save(state, folder / ALEXNET_FILE)
    linear = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(CHANNELS)}
    torch.save(linear, folder / LPIPS_LINEAR_FILE)
    return state, linear


def test_lpips_loads_the_users_weights_and_measures(tmp_path):
    state, linear = _place_lpips_weights(tmp_path)
    found = PerceptualMetrics.find(str(tmp_path))
    assert "lpips" not in found.skipped and found.used["lpips"][0].endswith(ALEXNET_FILE)
    net = found.lpips
    assert torch.equal(net.features[3].weight, state["features.3.weight"])
    assert torch.equal(net.lins[4].weight, linear["lin4.model.1.weight"])
    a, b, c = _images()
    assert net.distance(a, a) == pytest.approx(0.0, abs=1e-7)
    assert net.distance(a, c) > 0.0
    assert net.distance(a, c) == pytest.approx(net.distance(c, a), rel=1e-5)


def test_a_damaged_weight_file_is_one_clear_error(tmp_path):
    _place_lpips_weights(tmp_path)
    (tmp_path / ALEXNET_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(MissingWeightsError, match=ALEXNET_FILE):
        PerceptualMetrics.find(str(tmp_path))


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4000, 4))
    b = rng.normal(size=(4000, 4)) + 1.0  # same covariance, mean moved by 1 in each of 4 dimensions
    assert frechet_distance(a, b) == pytest.approx(4.0, abs=0.25)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.slow
def test_fid_features_from_the_users_inception_file(tmp_path):
    from portrait_animator.evaluate.fid_inception import FEATURES, fid_inception

    torch.manual_seed(0)
    torch.save(fid_inception().state_dict(), tmp_path / FID_INCEPTION_FILE)
    found = PerceptualMetrics.find(str(tmp_path))
    assert "fid" not in found.skipped
    features = found.fid.of_images(_images(4), batch=2)
    assert features.shape == (4, FEATURES) and np.isfinite(features).all()
    again = found.fid.of_images(_images(4)[:1])
    assert np.allclose(again[0], features[0], atol=1e-4)  # batching does not change a frame's features
    assert not math.isclose(float(np.abs(features[0] - features[3]).sum()), 0.0)
