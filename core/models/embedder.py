"""The embedder E: (frame, landmark sketch) -> the person's 512-d embedding ê.

Downsampling residual blocks with self-attention at 32², global sum pooling and a ReLU, as in the
paper. ê of K shots is the mean of their embeddings; it is what makes the generator draw *this* person
(through ψ = P·ê) and what the discriminator's per-video column is matched to.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import NetworkConfig
from .layers import DownPath


class Embedder(nn.Module):
    def __init__(self, config: NetworkConfig):
        super().__init__()
        self.config = config
        widths = [(r, config.channels_at(r)) for r in config.down_resolutions(config.embedder_final_size)]
        self.trunk = DownPath(6, widths, config.attention_down_size, sn=config.spectral_norm, norm=False)

    def forward(self, frames: torch.Tensor, sketches: torch.Tensor) -> torch.Tensor:
        """Embeddings of (N, 3, S, S) frames and their sketches, both in [-1, 1]: (N, D)."""
        features = self.trunk(torch.cat([frames, sketches], dim=1))
        return torch.relu(features.sum(dim=(2, 3)))

    def embed_shots(self, frames: torch.Tensor, sketches: torch.Tensor) -> torch.Tensor:
        """ê of a person from K shots: (B, K, 3, S, S) -> (B, D), the mean over the shots."""
        b, k = frames.shape[:2]
        embeddings = self(frames.flatten(0, 1), sketches.flatten(0, 1))
        return embeddings.view(b, k, -1).mean(dim=1)
