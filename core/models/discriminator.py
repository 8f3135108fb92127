"""The projection discriminator D: is this (image, sketch) pair a real frame of this video?

D(x, y, i) = V(x, y)ᵀ (W_i + w₀) + b, as in the paper (after Miyato & Koyama's projection
discriminator): V is a downsampling residual network with self-attention at 32², one more residual
block at the final resolution, global sum pooling and a ReLU; W_i is the column of the video the frame
came from, w₀ is shared and b a scalar. In fine-tuning W_i is replaced by w′, initialised from the new
person's ê. Every block's output is returned for the generator's feature-matching loss.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import NetworkConfig
from .layers import DownPath, ResBlock


class Discriminator(nn.Module):
    def __init__(self, config: NetworkConfig, num_videos: int):
        super().__init__()
        if num_videos < 1:
            raise ValueError(f"the discriminator needs at least one video column, got {num_videos}")
        self.config = config
        sn = config.spectral_norm
        widths = [(r, config.channels_at(r)) for r in config.down_resolutions(config.embedder_final_size)]
        self.trunk = DownPath(6, widths, config.attention_down_size, sn=sn, norm=False)
        self.final = ResBlock(self.trunk.out_channels, sn=sn, norm="none")
        dim = config.embedding_dim
        self.video_embeddings = nn.Parameter(torch.randn(num_videos, dim) * 0.02)  # W, one row per video
        self.shared_embedding = nn.Parameter(torch.zeros(dim))  # w₀
        self.bias = nn.Parameter(torch.zeros(()))  # b

    def features(self, images: torch.Tensor, sketches: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """V(x, y) (N, D) and the intermediate feature maps used for feature matching."""
        x, maps = self.trunk(torch.cat([images, sketches], dim=1), collect=True)
        x = self.final(x)
        maps.append(x)
        return torch.relu(x.sum(dim=(2, 3))), maps

    def score(self, v: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """r = vᵀ(W_i + w₀) + b for given columns (N, D): (N,)."""
        return (v * (columns + self.shared_embedding)).sum(dim=1) + self.bias

    def forward(self, images: torch.Tensor, sketches: torch.Tensor, video_index: torch.Tensor | None = None,
                columns: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Realism scores (N,) and feature maps; pass ``video_index`` (meta-learning) or ``columns`` (w′)."""
        if (video_index is None) == (columns is None):
            raise ValueError("give exactly one of video_index and columns")
        v, maps = self.features(images, sketches)
        if columns is None:
            columns = self.video_embeddings[video_index]
        return self.score(v, columns), maps
