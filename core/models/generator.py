"""The generator G(sketch; ψ): a landmark sketch in, the person's face out.

Downsampling residual blocks with instance norm (and self-attention at 32²) encode the sketch; residual
blocks at the bottleneck and upsampling residual blocks (self-attention at 64²) decode it with AdaIN,
whose per-channel scales and biases are ψ = P·ê, P a learned projection. Identity therefore enters only
through ψ: in feed-forward mode ψ comes from the embedder, in fine-tuned mode ψ′ is a free parameter
initialised from P·ê (see ``train.finetune``). The AdaIN scale is ``1 + ψ_scale``, so a zero ψ is a
plain instance norm and a fresh P starts the generator near an ordinary image-to-image network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import NetworkConfig
from .layers import AdaINParams, DownPath, ResBlock, ResBlockUp, SelfAttention, conv3x3

# Standard deviation of P's entries times sqrt(embedding width): ψ starts small for typical ê.
_PROJECTION_INIT_GAIN = 0.1


class Generator(nn.Module):
    in_channels = 3  # the sketch
    out_channels = 3  # RGB

    def __init__(self, config: NetworkConfig):
        super().__init__()
        self.config = config
        sn = config.spectral_norm
        down = [(r, config.channels_at(r)) for r in config.down_resolutions(config.bottleneck_size)]
        self.encoder = DownPath(self.in_channels, down, config.attention_down_size, sn=sn, norm=True)
        width = self.encoder.out_channels
        self.residual = nn.ModuleList(
            ResBlock(width, sn=sn, norm="adain") for _ in range(config.residual_blocks))
        self.upsampling = nn.ModuleList()
        resolution = config.bottleneck_size
        while resolution < config.image_size:
            resolution *= 2
            out = config.channels_at(resolution)
            self.upsampling.append(ResBlockUp(width, out, sn=sn))
            if resolution == config.attention_up_size:
                self.upsampling.append(SelfAttention(out, sn=sn))
            width = out
        self.head = conv3x3(width, self.out_channels, sn)
        self.adain_widths = [w for block in self._adaptive_blocks() for w in block.adain_widths]
        self.psi_size = 2 * sum(self.adain_widths)
        self.projection = nn.Linear(config.embedding_dim, self.psi_size, bias=False)  # P
        nn.init.normal_(self.projection.weight, std=_PROJECTION_INIT_GAIN / config.embedding_dim ** 0.5)

    def _adaptive_blocks(self):
        return [b for b in list(self.residual) + list(self.upsampling) if getattr(b, "adain_widths", ())]

    def adain_parameters(self, embedding: torch.Tensor) -> torch.Tensor:
        """ψ = P·ê: (N, D) -> (N, psi_size)."""
        return self.projection(embedding)

    def split_psi(self, psi: torch.Tensor) -> list[AdaINParams]:
        """ψ cut into (scale, bias) pairs, one list per adaptive block, in forward order."""
        if psi.ndim != 2 or psi.shape[1] != self.psi_size:
            raise ValueError(f"ψ must have shape (N, {self.psi_size}), got {tuple(psi.shape)}")
        pairs, offset = [], 0
        for width in self.adain_widths:
            scale = 1.0 + psi[:, offset:offset + width]
            bias = psi[:, offset + width:offset + 2 * width]
            pairs.append((scale, bias))
            offset += 2 * width
        per_block, index = [], 0
        for block in self._adaptive_blocks():
            count = len(block.adain_widths)
            per_block.append(pairs[index:index + count])
            index += count
        return per_block

    def decode(self, inputs: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        """Features at full resolution, before the output head."""
        x = self.encoder(inputs)
        params = iter(self.split_psi(psi))
        for block in self.residual:
            x = block(x, next(params))
        for block in self.upsampling:
            x = block(x, next(params)) if isinstance(block, ResBlockUp) else block(x)
        return F.relu(x)

    def forward(self, sketches: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) sketches in [-1, 1] and ψ (N, psi_size) -> (N, 3, S, S) images in [-1, 1]."""
        return torch.tanh(self.head(self.decode(sketches, psi)))
