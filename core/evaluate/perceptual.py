"""Optional perceptual metrics — LPIPS and FID — used only where the user has placed their weights.

Their networks are trained on ImageNet and cannot be bundled or downloaded here. The harness looks in one
folder (``--perceptual-weights``, default the torch hub cache ``torch.hub.get_dir()/checkpoints``) for the
files under the names their projects publish them:

- LPIPS: ``alexnet-owt-7be5be79.pth`` (torchvision AlexNet) and the LPIPS v0.1 linear layers, either
  ``lpips_alex_v0.1.pth`` in that folder or ``weights/v0.1/alex.pth`` of an installed ``lpips`` package;
- FID: ``pt_inception-2015-12-05-6726825d.pth`` (pytorch-fid's port of TensorFlow's Inception).

Where a file is missing the metric is reported as "skipped: no weights (...)" — never a made-up number.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import MissingWeightsError

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
LPIPS_LINEAR_FILE = "lpips_alex_v0.1.pth"
FID_INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_MIN_RELIABLE = 2048  # fewer frames than feature dimensions: FID's covariance is rank-deficient and biased


def default_folder() -> str:
    import torch

    return os.path.join(torch.hub.get_dir(), "checkpoints")


def _lpips_package_weights() -> str | None:
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "weights", "v0.1", "alex.pth")
    return path if os.path.isfile(path) else None


def _load_state(path: str) -> dict:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged or foreign file: say which and why, in one line
        raise MissingWeightsError(f"{path}: cannot load these weights ({type(error).__name__}: {error})") from None


@dataclass
class PerceptualMetrics:
    """The perceptual networks this run can use, and a reason for each it cannot."""

    lpips: object | None = None  # lpips_alex.LPIPSAlex
    fid: object | None = None  # fid_inception.FIDFeatures
    skipped: dict[str, str] = field(default_factory=dict)
    used: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def find(cls, folder: str | None = None) -> "PerceptualMetrics":
        folder = folder or default_folder()
        found = cls()
        alexnet = os.path.join(folder, ALEXNET_FILE)
        linear = os.path.join(folder, LPIPS_LINEAR_FILE)
        linear = linear if os.path.isfile(linear) else _lpips_package_weights()
        if os.path.isfile(alexnet) and linear:
            from .lpips_alex import LPIPSAlex

            net = LPIPSAlex()
            try:
                net.load_weights(_load_state(alexnet), _load_state(linear))
            except (KeyError, RuntimeError) as error:
                raise MissingWeightsError(f"{alexnet} / {linear}: not LPIPS-AlexNet weights ({error})") from None
            found.lpips = net.eval()
            found.used["lpips"] = [alexnet, linear]
        else:
            missing = [p for p in (alexnet,) if not os.path.isfile(p)] + ([] if linear else [
                f"{os.path.join(folder, LPIPS_LINEAR_FILE)} (or the lpips package)"])
            found.skipped["lpips"] = "skipped: no weights (" + ", ".join(missing) + ")"
        inception = os.path.join(folder, FID_INCEPTION_FILE)
        if os.path.isfile(inception):
            from .fid_inception import FIDFeatures, fid_inception

            net = fid_inception()
            try:
                net.load_state_dict(_load_state(inception), strict=True)
            except RuntimeError as error:
                raise MissingWeightsError(f"{inception}: not the FID Inception weights ({error})") from None
            found.fid = FIDFeatures(net)
            found.used["fid"] = [inception]
        else:
            found.skipped["fid"] = f"skipped: no weights ({inception})"
        return found


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two (N, 2048) feature sets (piq's implementation)."""
    import piq
    import torch

    with torch.no_grad():
        return float(piq.FID()(torch.from_numpy(np.asarray(a, np.float64)), torch.from_numpy(np.asarray(b, np.float64))))
