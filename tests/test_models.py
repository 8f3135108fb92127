"""The networks: shapes, AdaIN fed by P·ê, the projection discriminator's formula, the hybrid's start."""

import pytest
import torch
import torch.nn.functional as F

from portrait_animator.models.config import PRESETS, NetworkConfig, network_config
from portrait_animator.models.discriminator import Discriminator
from portrait_animator.models.embedder import Embedder
from portrait_animator.models.generator import Generator
from portrait_animator.models.hybrid import HybridGenerator
from portrait_animator.models.layers import adain

TINY = NetworkConfig(name="tiny", image_size=32, base_channels=4, max_channels=16, bottleneck_size=8,
                     embedder_final_size=4, residual_blocks=1, attention_down_size=16, attention_up_size=16)


def _images(n, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def test_tiny_networks_have_the_right_shapes():
    torch.manual_seed(0)
    # eval(): in training mode every forward also advances spectral norm's power iteration
    e, g, d = Embedder(TINY).eval(), Generator(TINY).eval(), Discriminator(TINY, num_videos=3).eval()
    frames, sketches = _images(2), _images(2, seed=1)
    emb = e(frames, sketches)
    assert emb.shape == (2, TINY.embedding_dim) and (emb >= 0).all()  # ReLU after sum pooling
    k_shots = e.embed_shots(frames.view(1, 2, 3, 32, 32), sketches.view(1, 2, 3, 32, 32))
    torch.testing.assert_close(k_shots[0], emb.mean(0))
    psi = g.adain_parameters(emb)
    assert psi.shape == (2, g.psi_size) and g.psi_size == 2 * sum(g.adain_widths)
    out = g(sketches, psi)
    assert out.shape == (2, 3, 32, 32) and out.abs().max() <= 1
    scores, features = d(out, sketches, video_index=torch.tensor([0, 2]))
    assert scores.shape == (2,)
    assert [f.shape[-1] for f in features][-1] == TINY.embedder_final_size


def test_paper_configuration_is_as_published():
    cfg = PRESETS["paper"]
    assert cfg.image_size == 256 and cfg.embedding_dim == 512
    assert [cfg.channels_at(r) for r in (128, 64, 32, 16)] == [64, 128, 256, 512]
    g = Generator(cfg)
    assert g.encoder.out_channels == 512
    e = Embedder(cfg)
    with torch.no_grad():
        emb = e(_images(1, 256), _images(1, 256, seed=1))
        out = g(_images(1, 256, seed=2), g.adain_parameters(emb))
    assert emb.shape == (1, 512) and out.shape == (1, 3, 256, 256)
    assert PRESETS["paper-512"].image_size == 512


def test_every_convolution_is_spectrally_normalised():
    for module in (Embedder(TINY), Generator(TINY), Discriminator(TINY, 1)):
        convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
        assert convs and all(hasattr(m, "parametrizations") for m in convs)
        module.train()
        for _ in range(20):  # power iteration converges over forward passes
            for conv in convs:
                conv.weight
        w = convs[1].weight.detach().flatten(1)
        assert torch.linalg.matrix_norm(w, ord=2) == pytest.approx(1.0, abs=0.05)


def test_adain_is_instance_norm_with_per_sample_scale_and_bias():
    x = torch.randn(2, 5, 7, 9)
    scale, bias = torch.randn(2, 5), torch.randn(2, 5)
    expected = F.instance_norm(x, eps=1e-5) * scale[:, :, None, None] + bias[:, :, None, None]
    torch.testing.assert_close(adain(x, scale, bias), expected, atol=1e-5, rtol=1e-5)


def test_adain_parameters_come_from_the_projection_of_the_embedding():
    torch.manual_seed(0)
    g = Generator(TINY).eval()
    sketches = _images(1)
    e1, e2 = torch.rand(1, TINY.embedding_dim), torch.rand(1, TINY.embedding_dim)
    with torch.no_grad():
        torch.testing.assert_close(g.adain_parameters(e1), e1 @ g.projection.weight.T)
        out1 = g(sketches, g.adain_parameters(e1))
        out2 = g(sketches, g.adain_parameters(e2))
        assert (out1 - out2).abs().mean() > 1e-3, "changing ê must change the image"
        torch.testing.assert_close(g(sketches, g.adain_parameters(e1)), out1)  # deterministic
        g.projection.weight.zero_()  # with P = 0 the embedding has no other way in
        torch.testing.assert_close(g(sketches, g.adain_parameters(e1)), g(sketches, g.adain_parameters(e2)))


def test_projection_discriminator_score_matches_its_formula():
    torch.manual_seed(0)
    d = Discriminator(TINY, num_videos=4).eval()
    with torch.no_grad():
        d.shared_embedding.normal_()
        d.bias.fill_(0.7)
        images, sketches, index = _images(3), _images(3, seed=1), torch.tensor([3, 0, 3])
        scores, _ = d(images, sketches, video_index=index)
        v, _ = d.features(images, sketches)
        expected = torch.stack([v[n] @ (d.video_embeddings[i] + d.shared_embedding) + 0.7
                                for n, i in enumerate(index.tolist())])
        torch.testing.assert_close(scores, expected)
        w_prime = torch.randn(3, TINY.embedding_dim)
        torch.testing.assert_close(d(images, sketches, columns=w_prime)[0],
                                   (v * (w_prime + d.shared_embedding)).sum(1) + 0.7)
    with pytest.raises(ValueError):
        d(images, sketches)


def test_untrained_hybrid_passes_the_warp_through_exactly_and_then_learns():
    torch.manual_seed(0)
    cfg = NetworkConfig.from_dict({**TINY.to_dict(), "kind": "neural-hybrid"})
    g = HybridGenerator(cfg)
    sketches, warped, target = _images(2), _images(2, seed=1), _images(2, seed=2)
    psi = g.adain_parameters(torch.rand(2, cfg.embedding_dim))
    out, mask = g.forward_with_mask(sketches, psi, warped)
    assert torch.equal(out, warped), "an untrained hybrid must reproduce the warp bit for bit"
    assert mask.shape == (2, 1, 32, 32) and torch.allclose(mask, torch.full_like(mask, 0.5))  # half open
    optimiser = torch.optim.Adam(g.parameters(), lr=1e-3)
    for _ in range(3):
        optimiser.zero_grad()
        F.l1_loss(g(sketches, psi.detach(), warped), target).backward()
        optimiser.step()
    assert not torch.equal(g(sketches, psi.detach(), warped), warped)


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        NetworkConfig(name="x", image_size=200)
    with pytest.raises(ValueError):
        network_config("nope")
    assert NetworkConfig.from_dict(TINY.to_dict()) == TINY
