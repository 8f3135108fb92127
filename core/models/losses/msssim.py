"""Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) as a differentiable, weight-free training loss.

Written out here rather than imported so training needs no evaluation extras; it follows piq's
definition (11-tap Gaussian, σ = 1.5, K1 = 0.01, K2 = 0.03, 2× average pooling between scales, the
standard five scale weights), and the tests compare the two. Images smaller than five scales allow
use fewer scales with the weights renormalised, so tiny test images still get a meaningful value.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
KERNEL_SIZE = 11
KERNEL_SIGMA = 1.5
_FLOOR = 1e-6  # (0)^w has an infinite gradient; piq's relu is exact, this floor keeps training finite


def _gaussian_kernel(channels: int, dtype, device) -> torch.Tensor:
    coords = torch.arange(KERNEL_SIZE, dtype=dtype, device=device) - (KERNEL_SIZE - 1) / 2
    g = torch.exp(-(coords ** 2) / (2 * KERNEL_SIGMA ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, KERNEL_SIZE, KERNEL_SIZE).contiguous()


def _ssim_and_cs(x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, data_range: float):
    c = x.shape[1]
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x = F.conv2d(x, kernel, groups=c)
    mu_y = F.conv2d(y, kernel, groups=c)
    xx = F.conv2d(x * x, kernel, groups=c) - mu_x ** 2
    yy = F.conv2d(y * y, kernel, groups=c) - mu_y ** 2
    xy = F.conv2d(x * y, kernel, groups=c) - mu_x * mu_y
    cs = (2 * xy + c2) / (xx + yy + c2)
    ssim = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1) * cs
    return ssim.mean(dim=(2, 3)), cs.mean(dim=(2, 3))


def scales_for(size: int) -> int:
    """How many of the five scales fit an image whose shorter side is ``size``."""
    levels = len(SCALE_WEIGHTS)
    while levels > 1 and size < (KERNEL_SIZE - 1) * 2 ** (levels - 1) + 1:
        levels -= 1
    if size < KERNEL_SIZE:
        raise ValueError(f"MS-SSIM needs images of at least {KERNEL_SIZE} pixels, got {size}")
    return levels


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """MS-SSIM per sample, (N,), of (N, C, H, W) images in [0, data_range]."""
    levels = scales_for(min(x.shape[-2:]))
    weights = torch.tensor(SCALE_WEIGHTS[:levels], dtype=x.dtype, device=x.device)
    weights = weights / weights.sum()
    kernel = _gaussian_kernel(x.shape[1], x.dtype, x.device)
    values = []
    for level in range(levels):
        if level > 0:
            pad = max(x.shape[2] % 2, x.shape[3] % 2)
            x = F.avg_pool2d(F.pad(x, [pad, 0, pad, 0], mode="replicate"), 2)
            y = F.avg_pool2d(F.pad(y, [pad, 0, pad, 0], mode="replicate"), 2)
        ssim, cs = _ssim_and_cs(x, y, kernel, data_range)
        values.append(ssim if level == levels - 1 else cs)
    stacked = torch.stack(values).clamp_min(_FLOOR)  # (levels, N, C)
    return torch.prod(stacked ** weights.view(-1, 1, 1), dim=0).mean(dim=1)
