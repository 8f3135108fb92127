"""The neural-hybrid generator: the paper's G, reading the warped still too, correcting the warp.

The warp renderer already moves the still's own pixels where the target landmarks say, so identity,
hair and background come for free; what it cannot do is invent what the still does not show (inner
mouth, teeth, the far side of a turned cheek) or change shading. This generator sees the sketch and the
warped still, and returns ``warp + mask * correction``. The correction starts at exactly zero, so an
untrained hybrid reproduces the warp bit for bit; the mask starts half open (σ(0)), because a nearly
closed mask would scale down every step the correction takes (at σ(-3) ≈ 0.05 the correction learned
ten times slower and had barely moved after 1000 steps). Training departs from the warp only where
that lowers the loss — a far smaller job than the paper's, which needs far less data.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import NetworkConfig
from .generator import Generator

CORRECTION_RANGE = 2.0  # images live in [-1, 1]: a correction of ±2 can reach any colour


class HybridGenerator(Generator):
    in_channels = 6  # sketch + warped still
    out_channels = 4  # correction RGB + blend-mask logit

    def __init__(self, config: NetworkConfig):
        super().__init__(config)
        # A plain (not spectrally normalised) head, so that it can start at exactly zero.
        self.head = nn.Conv2d(config.channels_at(config.image_size), self.out_channels, 3, padding=1)
        nn.init.zeros_(self.head.weight)  # correction 2·tanh(0) = 0, mask σ(0) = 0.5
        nn.init.zeros_(self.head.bias)

    def forward_with_mask(self, sketches: torch.Tensor, psi: torch.Tensor,
                          warped: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The corrected image (N, 3, S, S) and the blend mask (N, 1, S, S) in [0, 1]."""
        out = self.head(self.decode(torch.cat([sketches, warped], dim=1), psi))
        correction = CORRECTION_RANGE * torch.tanh(out[:, :3])
        mask = torch.sigmoid(out[:, 3:])
        return warped + mask * correction, mask

    def forward(self, sketches: torch.Tensor, psi: torch.Tensor, warped: torch.Tensor) -> torch.Tensor:
        return self.forward_with_mask(sketches, psi, warped)[0]
