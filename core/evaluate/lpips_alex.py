"""LPIPS (Zhang et al., CVPR 2018), version 0.1 on AlexNet: a learned perceptual distance between images.

The network is torchvision's AlexNet convolution stack (ImageNet weights, ``features.*`` of
``alexnet-owt-7be5be79.pth``) with LPIPS's per-layer linear weights (``lin{0-4}.model.1.weight`` of the
``lpips`` project's ``weights/v0.1/alex.pth``). Both files come from the user; nothing is downloaded.
Inputs are scaled as the ``lpips`` package does (its ScalingLayer on [-1, 1] images), features are
unit-normalised per pixel, squared differences weighted per channel, averaged over space, summed over layers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
CHANNELS = (64, 192, 384, 256, 256)
_SLICES = ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12))  # relu1 .. relu5 of AlexNet's ``features``


def alexnet_features() -> nn.Sequential:
    """torchvision's AlexNet convolution stack, layer for layer (so its state-dict keys load unchanged)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=False), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=False), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=False),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=False),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=False), nn.MaxPool2d(3, 2))


class LPIPSAlex(nn.Module):
    """LPIPS v0.1 (AlexNet): 0 for identical images, larger for perceptually different ones."""

    def __init__(self):
        super().__init__()
        self.features = alexnet_features()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))

    def load_weights(self, alexnet_state: dict, linear_state: dict) -> None:
        """``alexnet_state``: torchvision AlexNet keys (only ``features.*`` are used); ``linear_state``: LPIPS keys."""
        features = {k[len("features."):]: v for k, v in alexnet_state.items() if k.startswith("features.")}
        self.features.load_state_dict(features, strict=True)
        self.lins.load_state_dict({f"{i}.weight": linear_state[f"lin{i}.model.1.weight"]
                                   for i in range(len(CHANNELS))}, strict=True)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(N,) distances between (N, 3, H, W) images in [0, 1]."""
        a = ((a * 2.0 - 1.0) - self.shift) / self.scale
        b = ((b * 2.0 - 1.0) - self.shift) / self.scale
        total = torch.zeros(a.shape[0], device=a.device)
        for (start, stop), lin in zip(_SLICES, self.lins):
            for layer in self.features[start:stop]:
                a, b = layer(a), layer(b)
            na = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            nb = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + lin((na - nb) ** 2).mean(dim=(1, 2, 3))
        return total

    @torch.no_grad()
    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """LPIPS between two HxWx3 float images in [0, 1]."""
        to = lambda x: torch.from_numpy(np.ascontiguousarray(x, np.float32)).permute(2, 0, 1)[None]  # noqa: E731
        return float(self(to(a), to(b))[0])
