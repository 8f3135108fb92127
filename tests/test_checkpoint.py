"""Checkpoints: safetensors + model card round trip, and refusal of anything else."""

import json
import pickle

import pytest
import torch

from portrait_animator.errors import MissingWeightsError, UnreadableFileError
from portrait_animator.models.checkpoint import ModelCard, card_path, load_model, read_checkpoint, save_checkpoint
from portrait_animator.models.config import NetworkConfig
from portrait_animator.models.discriminator import Discriminator
from portrait_animator.models.embedder import Embedder
from portrait_animator.models.hybrid import HybridGenerator

TINY = NetworkConfig(name="tiny", image_size=32, base_channels=4, max_channels=16, bottleneck_size=8,
                     embedder_final_size=4, residual_blocks=1, attention_down_size=16, attention_up_size=16,
                     kind="neural-hybrid")


def _trained_parts():
    torch.manual_seed(0)
    e, g, d = Embedder(TINY), HybridGenerator(TINY), Discriminator(TINY, num_videos=2)
    with torch.no_grad():  # not the initial zero head, so a lost tensor would show
        g.head.weight.normal_(std=0.1)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    e(x, x), g(x, g.adain_parameters(e(x, x)), x), d(x, x, video_index=torch.tensor([0]))  # advance SN state
    return e.eval(), g.eval(), d.eval()


def test_round_trip_reproduces_outputs_and_card(tmp_path):
    e, g, d = _trained_parts()
    card = ModelCard(network=TINY, training={"steps": 12, "content_loss": {"kind": "l1-msssim"}},
                     data_licences=["MIT"], metrics={"ssim": 0.5})
    path = str(tmp_path / "model.safetensors")
    saved = save_checkpoint(path, card, {"embedder": e, "generator": g, "discriminator": d})
    assert saved.id.startswith("tiny-neural-hybrid-") and len(saved.id.rsplit("-", 1)[1]) == 12
    on_disk = json.loads(open(card_path(path)).read())
    assert on_disk["id"] == saved.id and on_disk["training"]["steps"] == 12
    assert on_disk["data_licences"] == ["MIT"] and on_disk["network"]["base_channels"] == 4

    model = load_model(path, with_discriminator=True)
    model.discriminator.eval()  # loaded for training; eval mode freezes spectral norm's power iteration
    assert model.card.id == saved.id and model.card.network == TINY
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        psi = g.adain_parameters(e(x, x))
        torch.testing.assert_close(model.embedder(x, x), e(x, x), rtol=0, atol=0)
        torch.testing.assert_close(model.generator(x, psi, x), g(x, psi, x), rtol=0, atol=0)
        torch.testing.assert_close(model.discriminator(x, x, video_index=torch.tensor([1, 0]))[0],
                                   d(x, x, video_index=torch.tensor([1, 0]))[0], rtol=0, atol=0)


def test_finetuned_checkpoint_keeps_the_person(tmp_path):
    e, g, d = _trained_parts()
    person = {"psi": torch.randn(1, g.psi_size), "w": torch.randn(1, TINY.embedding_dim)}
    path = str(tmp_path / "person.safetensors")
    save_checkpoint(path, ModelCard(network=TINY, stage="finetuned"), {"generator": g, "person": person})
    model = load_model(path)
    assert model.embedder is None
    torch.testing.assert_close(model.person["psi"], person["psi"])
    with pytest.raises(UnreadableFileError, match="discriminator"):
        load_model(path, with_discriminator=True)


def test_only_safetensors_checkpoints_with_a_card_load(tmp_path):
    with pytest.raises(MissingWeightsError, match="absent.safetensors"):
        read_checkpoint(str(tmp_path / "absent.safetensors"))
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(pickle.dumps({"generator.x": 1}))
    with pytest.raises(UnreadableFileError, match="model.pt"):
        read_checkpoint(str(pickled))
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(UnreadableFileError, match="corrupt.safetensors"):
        read_checkpoint(str(corrupt))
    from safetensors.torch import save_file
    save_file({"generator.w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(UnreadableFileError, match="model card"):
        read_checkpoint(str(tmp_path / "plain.safetensors"))


def test_weights_that_do_not_fit_the_card_are_refused(tmp_path):
    e, g, d = _trained_parts()
    other = NetworkConfig.from_dict({**TINY.to_dict(), "base_channels": 8, "max_channels": 32})
    path = str(tmp_path / "mismatch.safetensors")
    save_checkpoint(path, ModelCard(network=other), {"embedder": e, "generator": g})
    with pytest.raises(UnreadableFileError, match="mismatch.safetensors: generator.*shape"):
        load_model(path)


def test_metrics_are_added_to_the_card_without_touching_the_weights(tmp_path):
    from portrait_animator.models.checkpoint import record_metrics

    e, g, d = _trained_parts()
    path = str(tmp_path / "m.safetensors")
    saved = save_checkpoint(path, ModelCard(network=TINY, metrics={"train": 1}), {"embedder": e, "generator": g})
    before = read_checkpoint(path)[1]
    updated = record_metrics(path, {"held_out": {"ssim": 0.8}})
    card, after = read_checkpoint(path)
    assert updated.id == saved.id and card.metrics == {"train": 1, "held_out": {"ssim": 0.8}}
    assert json.loads(open(card_path(path)).read())["metrics"]["held_out"] == {"ssim": 0.8}
    for part in before:
        for key in before[part]:
            assert torch.equal(before[part][key], after[part][key])
