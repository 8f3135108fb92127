"""The Inception-v3 of FID (Heusel et al. 2017): TensorFlow's 2015 graph as ported by pytorch-fid.

Built from piq's FID blocks on torchvision's Inception-v3 (the FID graph differs from torchvision's in a
few pooling details), loaded from the user's ``pt_inception-2015-12-05-6726825d.pth`` with
``weights_only``; nothing is downloaded. It maps images to the 2048-d pool features FID compares.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from piq.feature_extractors.fid_inception import FIDInceptionA, FIDInceptionC, FIDInceptionE1, FIDInceptionE2
from torch import nn
from torchvision.models import inception_v3

FEATURES = 2048


def fid_inception() -> nn.Module:
    """The FID Inception graph with random weights (state-dict keys as pytorch-fid's weight file)."""
    net = inception_v3(weights=None, num_classes=1008, aux_logits=False, init_weights=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE1(1280)
    net.Mixed_7c = FIDInceptionE2(2048)
    return net


class FIDFeatures(nn.Module):
    """Images in [0, 1] -> (N, 2048) pool features, resized to 299 px as pytorch-fid does."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval()

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False) * 2.0 - 1.0
        for layer in (n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, nn.MaxPool2d(3, 2), n.Conv2d_3b_1x1,
                      n.Conv2d_4a_3x3, nn.MaxPool2d(3, 2), n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a,
                      n.Mixed_6b, n.Mixed_6c, n.Mixed_6d, n.Mixed_6e, n.Mixed_7a, n.Mixed_7b, n.Mixed_7c):
            x = layer(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def of_images(self, images: list[np.ndarray], batch: int = 16) -> np.ndarray:
        """(N, 2048) features of HxWx3 float images in [0, 1]."""
        chunks = []
        for start in range(0, len(images), batch):
            stack = np.stack(images[start:start + batch]).astype(np.float32)
            chunks.append(self(torch.from_numpy(stack).permute(0, 3, 1, 2)).numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, FEATURES), np.float32)
