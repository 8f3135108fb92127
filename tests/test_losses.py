"""Losses: VGG input conventions through real weight files the test writes, safe loading, missing
weights, the weight-free MS-SSIM against piq, and the adversarial terms."""

import pickle

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import vgg16, vgg19

from portrait_animator.errors import MissingWeightsError, UnreadableFileError
from portrait_animator.models.losses import adversarial
from portrait_animator.models.losses.content import build_content_loss
from portrait_animator.models.losses.msssim import ms_ssim
from portrait_animator.models.losses.perceptual import (CAFFE_IMAGENET, VGGFACE_CAFFE, find_weights,
                                                        load_perceptual_network)

BIAS = 300.0  # keeps relu1_1 above zero so the test reads the preprocessed value itself

# Test image: R = 1.0, G = 0.5, B = 0.25 everywhere.
RGB = (1.0, 0.5, 0.25)


@pytest.fixture
def weight_dirs(tmp_path, monkeypatch):
    """Empty user and torch-hub folders, so nothing on this machine leaks into the test."""
    user, hub = tmp_path / "weights", tmp_path / "torch_home"
    user.mkdir()
    (hub / "hub" / "checkpoints").mkdir(parents=True)
    monkeypatch.setenv("PORTRAIT_ANIMATOR_WEIGHTS", str(user))
    monkeypatch.setenv("TORCH_HOME", str(hub))
    return user, hub / "hub" / "checkpoints"


def _probe_state(build, dag_names=False):
    """Random VGG weights whose first conv copies input channel k to output channel k (plus BIAS)."""
    torch.manual_seed(0)
    with torch.device("meta"):  # shapes only: building real VGGs (and their 100M-weight heads) is slow
        shapes = {k: v.shape for k, v in build(weights=None).features.state_dict().items()}
    state = {f"features.{k}": torch.randn(shape) * 0.01 for k, shape in shapes.items()}
    w = torch.zeros_like(state["features.0.weight"])
    for k in range(3):
        w[k, k, 1, 1] = 1.0
    state["features.0.weight"] = w
    state["features.0.bias"] = torch.full_like(state["features.0.bias"], BIAS)
    if dag_names:  # S. Albanie's vgg_face_dag layout
        names = {0: "conv1_1", 2: "conv1_2", 5: "conv2_1", 7: "conv2_2", 10: "conv3_1", 12: "conv3_2",
                 14: "conv3_3", 17: "conv4_1", 19: "conv4_2", 21: "conv4_3", 24: "conv5_1", 26: "conv5_2",
                 28: "conv5_3"}
        state = {f"{names[int(k.split('.')[1])]}.{k.split('.')[2]}": v
                 for k, v in state.items() if k.startswith("features.")}
    return state


def _first_relu(network):
    image = torch.tensor(RGB).view(1, 3, 1, 1).expand(1, 3, 32, 32).contiguous()
    return network(image)[0][0, :3, 16, 16]


def test_caffe_vgg19_reads_bgr_0_255_mean_subtracted(weight_dirs):
    user, _ = weight_dirs
    torch.save(_probe_state(vgg19), user / "vgg19-d01eb7cb.pth")
    net = load_perceptual_network("vgg19")
    expected = torch.tensor([255 * 0.25 - 103.939, 255 * 0.5 - 116.779, 255 * 1.0 - 123.68]) + BIAS
    torch.testing.assert_close(_first_relu(net), expected)
    assert [t.shape[1] for t in net(torch.rand(1, 3, 32, 32))] == [64, 128, 256, 512, 512]


def test_torchvision_vgg19_from_the_hub_cache_reads_standardised_rgb(weight_dirs):
    _, hub = weight_dirs
    torch.save(_probe_state(vgg19), hub / "vgg19-dcbb9e9d.pth")
    assert find_weights("vgg19") == str(hub / "vgg19-dcbb9e9d.pth")
    net = load_perceptual_network("vgg19")
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    expected = torch.tensor([(c - m) / s for c, m, s in zip(RGB, mean, std)]) + BIAS
    torch.testing.assert_close(_first_relu(net), expected)


def test_vggface_dag_file_reads_rgb_0_255_minus_the_face_mean(weight_dirs):
    user, _ = weight_dirs
    torch.save(_probe_state(vgg16, dag_names=True), user / "vgg_face_dag.pth")
    net = load_perceptual_network("vggface")
    expected = torch.tensor([255 * 1.0 - 129.186279296875, 255 * 0.5 - 104.76238250732422,
                             255 * 0.25 - 93.59396362304688]) + BIAS
    torch.testing.assert_close(_first_relu(net), expected)
    assert [t.shape[1] for t in net(torch.rand(1, 3, 32, 32))] == [64, 128, 256, 512, 512]


def test_safetensors_file_states_its_convention_in_metadata(weight_dirs):
    user, _ = weight_dirs
    state = {k: v.contiguous() for k, v in _probe_state(vgg16).items()}
    save_file(state, str(user / "vggface.safetensors"), metadata=VGGFACE_CAFFE.to_metadata())
    net = load_perceptual_network("vggface")
    expected = torch.tensor([255 * 0.25 - 93.5940, 255 * 0.5 - 104.7624, 255 * 1.0 - 129.1863]) + BIAS
    torch.testing.assert_close(_first_relu(net), expected)
    save_file(state, str(user / "no_metadata.safetensors"))
    with pytest.raises(UnreadableFileError, match="no_metadata.safetensors"):
        load_perceptual_network("vggface", str(user / "no_metadata.safetensors"))


def test_loaded_weights_are_the_files_weights(weight_dirs):
    user, _ = weight_dirs
    state = _probe_state(vgg19)
    torch.save(state, user / "vgg19-d01eb7cb.pth")
    net = load_perceptual_network("vgg19")
    torch.testing.assert_close(net.features[28].weight, state["features.28.weight"])
    assert net.convention == CAFFE_IMAGENET
    assert not any(p.requires_grad for p in net.parameters())


class _NotATensor:
    pass


def test_pickled_objects_are_refused_not_run(weight_dirs):
    user, _ = weight_dirs
    path = user / "vgg19-dcbb9e9d.pth"
    with open(path, "wb") as handle:
        pickle.dump({"features.0.weight": _NotATensor()}, handle, protocol=2)
    with pytest.raises(UnreadableFileError, match="vgg19-dcbb9e9d.pth"):
        load_perceptual_network("vgg19")
    torch.save(_probe_state(vgg19), user / "mystery.pth")
    with pytest.raises(UnreadableFileError, match="convention"):
        load_perceptual_network("vgg19", str(user / "mystery.pth"))
    torch.save({"features.0.weight": torch.zeros(3)}, user / "vgg19-d01eb7cb.pth")
    with pytest.raises(UnreadableFileError, match="vgg19-d01eb7cb.pth"):
        load_perceptual_network("vgg19")


def test_missing_weights_stop_training_unless_the_weight_free_loss_is_chosen(weight_dirs):
    with pytest.raises(MissingWeightsError) as info:
        build_content_loss("perceptual")
    message = str(info.value)
    for name in ("vgg19-d01eb7cb.pth", "vgg19-dcbb9e9d.pth", "vgg_face_dag.pth", "l1-msssim",
                 str(weight_dirs[0])):
        assert name in message
    with pytest.raises(MissingWeightsError, match="not found"):
        build_content_loss("perceptual", vgg19=str(weight_dirs[0] / "absent.pth"),
                           vggface=str(weight_dirs[0] / "absent2.pth"))
    loss = build_content_loss("l1-msssim")
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-5)
    assert loss(x, torch.zeros_like(x)).item() > 1.0


def test_perceptual_loss_compares_both_networks_and_gives_gradients(weight_dirs):
    user, _ = weight_dirs
    torch.save(_probe_state(vgg19), user / "vgg19-d01eb7cb.pth")
    torch.save(_probe_state(vgg16, dag_names=True), user / "vgg_face_dag.pth")
    loss = build_content_loss("perceptual")
    real = torch.rand(1, 3, 32, 32) * 2 - 1
    fake = (real + 0.3 * torch.randn_like(real)).requires_grad_()
    assert loss(real, real).item() == 0.0
    value = loss(fake, real)
    value.backward()
    assert value.item() > 0 and fake.grad.abs().sum() > 0
    description = loss.describe()
    assert [n["file"] for n in description["networks"]] == ["vgg19-d01eb7cb.pth", "vgg_face_dag.pth"]
    assert description["networks"][0]["input"]["channel_order"] == "bgr"


def test_ms_ssim_matches_piq():
    piq = pytest.importorskip("piq")
    torch.manual_seed(0)
    base = torch.nn.functional.interpolate(torch.rand(2, 3, 32, 32), size=256, mode="bilinear")
    noisy = (base + 0.05 * torch.randn_like(base)).clamp(0, 1)
    ours = ms_ssim(noisy, base)
    reference = piq.multi_scale_ssim(noisy, base, data_range=1.0, reduction="none")
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)
    assert ms_ssim(base, base).allclose(torch.ones(2))
    assert ms_ssim(base[..., :40, :40], noisy[..., :40, :40]).shape == (2,)  # fewer scales on small images


def test_adversarial_terms():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert adversarial.discriminator_hinge(real, fake).item() == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert adversarial.generator_hinge(fake).item() == pytest.approx(1.0)
    real_maps = [torch.ones(1, 2, 2, 2, requires_grad=True)]
    fake_maps = [torch.zeros(1, 2, 2, 2, requires_grad=True)]
    fm = adversarial.feature_matching(real_maps, fake_maps)
    fm.backward()
    assert fm.item() == pytest.approx(1.0) and real_maps[0].grad is None and fake_maps[0].grad is not None
    w, e = torch.zeros(2, 4), torch.ones(2, 4)
    assert adversarial.embedding_match(w, e).item() == pytest.approx(1.0)
    assert adversarial.FEATURE_MATCHING_WEIGHT == 10 and adversarial.EMBEDDING_MATCH_WEIGHT == 80
