"""Building blocks shared by E, G and D: BigGAN-style residual blocks, self-attention, AdaIN.

As in the paper (after Brock et al. and Zhang et al.): residual blocks replace plain up/downsampling,
self-attention (SAGAN) sits at one resolution of each path, and every convolution is spectrally
normalised. AdaIN blocks take their per-sample scales and biases from the caller: the generator slices
them out of ψ = P·ê, so the person's identity enters the image only through them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from .. import ops

AdaINParams = list[tuple[torch.Tensor, torch.Tensor]]  # one (scale, bias) pair of (N, C) per AdaIN


def adain(x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Adaptive instance normalisation: normalise each (sample, channel) plane, then scale and shift.

    The one place the networks call the operator: ``portrait_animator.ops.adain``, the fused kernel of
    ``cuda_ext`` (CPU and CUDA) where it is built, its PyTorch reference otherwise.
    """
    return ops.adain(x, scale, bias, eps)


def maybe_sn(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectral normalisation of a conv or linear layer's weight when ``enabled``."""
    return _spectral_norm(module) if enabled else module


def conv3x3(cin: int, cout: int, sn: bool) -> nn.Module:
    return maybe_sn(nn.Conv2d(cin, cout, 3, padding=1), sn)


def conv1x1(cin: int, cout: int, sn: bool) -> nn.Module:
    return maybe_sn(nn.Conv2d(cin, cout, 1), sn)


class ResBlockDown(nn.Module):
    """Residual block that halves the resolution; optional instance norm (the generator's encoder).

    ``preactivate=False`` for a network's first block, whose input is an image, not features.
    """

    def __init__(self, cin: int, cout: int, *, sn: bool, norm: bool = False, preactivate: bool = True):
        super().__init__()
        self.preactivate = preactivate
        self.norm1 = nn.InstanceNorm2d(cin, affine=True) if norm and preactivate else nn.Identity()
        self.conv1 = conv3x3(cin, cout, sn)
        self.norm2 = nn.InstanceNorm2d(cout, affine=True) if norm else nn.Identity()
        self.conv2 = conv3x3(cout, cout, sn)
        self.skip = conv1x1(cin, cout, sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(x)) if self.preactivate else x
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        return F.avg_pool2d(h, 2) + F.avg_pool2d(self.skip(x), 2)


class ResBlock(nn.Module):
    """Residual block at constant resolution, normalised by ``norm``: "adain" (params given per call),
    "instance" or "none" (the discriminator's last block: a critic must see absolute statistics)."""

    def __init__(self, channels: int, *, sn: bool, norm: str = "adain"):
        super().__init__()
        if norm not in ("adain", "instance", "none"):
            raise ValueError(f"unknown norm {norm!r}")
        self.adaptive = norm == "adain"
        self.adain_widths = (channels, channels) if self.adaptive else ()
        self.norm1 = nn.InstanceNorm2d(channels, affine=True) if norm == "instance" else nn.Identity()
        self.conv1 = conv3x3(channels, channels, sn)
        self.norm2 = nn.InstanceNorm2d(channels, affine=True) if norm == "instance" else nn.Identity()
        self.conv2 = conv3x3(channels, channels, sn)

    def forward(self, x: torch.Tensor, params: AdaINParams | None = None) -> torch.Tensor:
        if self.adaptive:
            (s1, b1), (s2, b2) = params
            h = self.conv1(F.relu(adain(x, s1, b1)))
            h = self.conv2(F.relu(adain(h, s2, b2)))
        else:
            h = self.conv1(F.relu(self.norm1(x)))
            h = self.conv2(F.relu(self.norm2(h)))
        return x + h


class ResBlockUp(nn.Module):
    """Residual block that doubles the resolution, with AdaIN before each convolution."""

    def __init__(self, cin: int, cout: int, *, sn: bool):
        super().__init__()
        self.adain_widths = (cin, cout)
        self.conv1 = conv3x3(cin, cout, sn)
        self.conv2 = conv3x3(cout, cout, sn)
        self.skip = conv1x1(cin, cout, sn)

    def forward(self, x: torch.Tensor, params: AdaINParams) -> torch.Tensor:
        (s1, b1), (s2, b2) = params
        h = F.interpolate(F.relu(adain(x, s1, b1)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(adain(self.conv1(h), s2, b2)))
        return h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))


class SelfAttention(nn.Module):
    """SAGAN self-attention; its gain starts at 0 so a new block is an identity."""

    def __init__(self, channels: int, *, sn: bool):
        super().__init__()
        inner = max(1, channels // 8)
        self.query = conv1x1(channels, inner, sn)
        self.key = conv1x1(channels, inner, sn)
        self.value = conv1x1(channels, channels, sn)
        self.gain = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)[:, None]  # (N, 1, HW, C')
        k = self.key(x).flatten(2).transpose(1, 2)[:, None]
        v = self.value(x).flatten(2).transpose(1, 2)[:, None]  # (N, 1, HW, C)
        # SAGAN's softmax(q kᵀ) v, unscaled; the fused kernel never stores the (HW)² attention map.
        out = F.scaled_dot_product_attention(q, k, v, scale=1.0)[:, 0].transpose(1, 2).reshape(n, c, h, w)
        return x + self.gain * out


class DownPath(nn.Module):
    """The downsampling trunk shared in shape by E, G and D: residual blocks plus one self-attention.

    Returns the final features and, when asked, every block's output (D's feature matching).
    """

    def __init__(self, cin: int, widths: list[tuple[int, int]], attention_size: int, *, sn: bool,
                 norm: bool):
        super().__init__()
        blocks: list[nn.Module] = []
        previous = cin
        for index, (resolution, width) in enumerate(widths):
            blocks.append(ResBlockDown(previous, width, sn=sn, norm=norm, preactivate=index > 0))
            if resolution == attention_size:
                blocks.append(SelfAttention(width, sn=sn))
            previous = width
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = previous

    def forward(self, x: torch.Tensor, collect: bool = False):
        features = []
        for block in self.blocks:
            x = block(x)
            if collect:
                features.append(x)
        return (x, features) if collect else x
