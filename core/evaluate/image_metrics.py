"""Pixel-level similarity (SSIM, MS-SSIM, PSNR) and flicker, all on sRGB values in [0, 1].

SSIM is Wang et al.'s Gaussian-window SSIM (11 px, sigma 1.5, K1 0.01, K2 0.03) on each RGB channel,
averaged, over the "valid" region, after averaging images whose short side exceeds 256 px down by
round(side / 256) as Wang's reference code does — exactly piq's ``ssim`` (a test holds them together),
computed with OpenCV because it runs per frame and piq's is ten times slower on a busy CPU. MS-SSIM is
piq's. So numbers are computed the way most talking-head papers compute them — on our data, never theirs.
"""

from __future__ import annotations

import cv2
import numpy as np
import piq
import torch

from ..threads import torch_threads

MS_SSIM_MIN_SIDE = 161  # piq's MS-SSIM: five scales of an 11-px window need a 161 px image
_WINDOW = 11
_SIGMA = 1.5
_C1, _C2 = 0.01 ** 2, 0.03 ** 2


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None].clamp(0.0, 1.0)


def _downsampled(image: np.ndarray) -> np.ndarray:
    factor = max(1, round(min(image.shape[:2]) / 256))
    if factor == 1:
        return image
    h, w = image.shape[0] // factor * factor, image.shape[1] // factor * factor
    return image[:h, :w].reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of two HxWx3 images (1 = identical)."""
    x = _downsampled(np.clip(np.asarray(a, np.float32), 0.0, 1.0))
    y = _downsampled(np.clip(np.asarray(b, np.float32), 0.0, 1.0))

    def blur(image):
        filtered = cv2.GaussianBlur(image, (_WINDOW, _WINDOW), _SIGMA, borderType=cv2.BORDER_REFLECT)
        edge = _WINDOW // 2
        return filtered[edge:-edge, edge:-edge]

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    structure = (2.0 * cxy + _C2) / (vx + vy + _C2)
    luminance = (2.0 * mx * my + _C1) / (mx * mx + my * my + _C1)
    return float((luminance * structure).mean(dtype=np.float64))


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Multi-scale SSIM (piq, five scales); NaN for images smaller than 161 px."""
    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return float("nan")
    with torch.no_grad(), torch_threads(1):  # a small crop gains nothing from threads; a busy CPU loses
        return float(piq.multi_scale_ssim(_tensor(a), _tensor(b), data_range=1.0))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for values in [0, 1]; capped at 100 dB for identical images."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 100.0 if mse <= 1e-10 else float(10.0 * np.log10(1.0 / mse))


def temporal_second_difference(previous: np.ndarray, current: np.ndarray, following: np.ndarray,
                               region: np.ndarray) -> float:
    """Mean |f(t-1) - 2 f(t) + f(t+1)| inside ``region`` (bool HxW), in 8-bit levels; NaN if it is empty.

    Smooth motion (even fast) has a small second difference; flicker — a pixel that brightens then darkens —
    has a large one. This is the per-frame flicker the report averages.
    """
    if not region.any():
        return float("nan")
    laplacian = np.abs(previous[region].astype(np.float64) - 2.0 * current[region] + following[region])
    return float(laplacian.mean() * 255.0)
