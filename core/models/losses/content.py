"""The content loss: the paper's VGG19 + VGGFace perceptual loss, or — by explicit choice — L1 + MS-SSIM.

The perceptual loss needs weight files the user supplies. When they are missing, training stops with a
``MissingWeightsError`` naming them; it never falls back silently, because a model trained without the
perceptual loss is a different model. ``l1-msssim`` is that different model, chosen on purpose (e.g. the
small CPU checkpoint), and the model card records which content loss trained a checkpoint.
"""

from __future__ import annotations

import hashlib
import os

import torch
import torch.nn.functional as F
from torch import nn

from .msssim import ms_ssim
from .perceptual import NETWORKS, PerceptualNetwork, find_weights, load_perceptual_network, missing_weights_error

from ..config import CONTENT_LOSSES  # torch-free home, so the CLI can list it without importing torch
L1_SHARE = 0.16  # Zhao et al. 2017's mix: 0.16 L1 + 0.84 (1 − MS-SSIM)
WEIGHT_FREE_SCALE = 10.0  # brings the mix to the magnitude the paper's adversarial weights expect


def _to_unit(images: torch.Tensor) -> torch.Tensor:
    return (images.clamp(-1, 1) + 1) * 0.5


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PerceptualContentLoss(nn.Module):
    """Σ_networks weight · Σ_layers mean |φ(fake) − φ(real)|, images in [-1, 1]."""

    def __init__(self, vgg19: PerceptualNetwork, vggface: PerceptualNetwork):
        super().__init__()
        self.networks = nn.ModuleList([vgg19, vggface])

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        fake01, real01 = _to_unit(fake), _to_unit(real)
        total = fake.new_zeros(())
        for network in self.networks:
            with torch.no_grad():
                targets = network(real01)
            layer_sum = sum(F.l1_loss(a, b) for a, b in zip(network(fake01), targets))
            total = total + network.spec.loss_weight * layer_sum
        return total

    def describe(self) -> dict:
        return {"kind": "perceptual", "networks": [
            {"network": n.spec.label, "file": os.path.basename(n.source), "sha256": _file_sha256(n.source),
             "layers": list(n.spec.layers), "weight": n.spec.loss_weight,
             "input": {"channel_order": n.convention.channel_order, "value_range": n.convention.value_range,
                       "mean": list(n.convention.mean), "std": list(n.convention.std)}}
            for n in self.networks]}


class WeightFreeContentLoss(nn.Module):
    """10 · (0.16 · L1 + 0.84 · (1 − MS-SSIM)), L1 on [-1, 1] images, MS-SSIM on [0, 1]."""

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        structural = 1.0 - ms_ssim(_to_unit(fake), _to_unit(real)).mean()
        return WEIGHT_FREE_SCALE * (L1_SHARE * F.l1_loss(fake, real) + (1 - L1_SHARE) * structural)

    def describe(self) -> dict:
        return {"kind": "l1-msssim", "l1_share": L1_SHARE, "scale": WEIGHT_FREE_SCALE}


def build_content_loss(kind: str, vgg19: str | None = None, vggface: str | None = None) -> nn.Module:
    """The content loss ``kind``; for ``perceptual``, both networks' weights must be found."""
    if kind == "l1-msssim":
        return WeightFreeContentLoss()
    if kind != "perceptual":
        raise ValueError(f"unknown content loss {kind!r}; choose one of {', '.join(CONTENT_LOSSES)}")
    paths = {"vgg19": vgg19 or find_weights("vgg19"), "vggface": vggface or find_weights("vggface")}
    missing = [name for name in NETWORKS if paths[name] is None]
    if missing:
        raise missing_weights_error(missing)
    return PerceptualContentLoss(load_perceptual_network("vgg19", paths["vgg19"]),
                                 load_perceptual_network("vggface", paths["vggface"]))
