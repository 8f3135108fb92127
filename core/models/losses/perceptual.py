"""VGG19 and VGGFace perceptual content losses, with each network's own input convention.

The paper sums L1 distances between activations of VGG19 (ImageNet) at Conv1,6,11,20,29 and VGGFace
(VGG16 architecture) at Conv1,6,11,18,25 — the ReLU outputs relu1_1 … relu5_1 in torchvision's
``features`` indexing — weighted 1.5e-1 and 2.5e-2. Both were Caffe-trained and expect BGR in [0, 255]
minus a per-channel mean; torchvision's own VGG19 expects RGB in [0, 1] standardised. Feeding a network
the wrong convention silently weakens the loss, so every weight file carries its convention: by its
known file name, or in a safetensors file's metadata.

Weights are never downloaded: they are looked up in files the user names, in
``$PORTRAIT_ANIMATOR_WEIGHTS``, and in the torch hub cache. A ``.pth`` is read with
``torch.load(weights_only=True)``, which refuses arbitrary pickled objects.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models import vgg16, vgg19

from ...errors import MissingWeightsError, UnreadableFileError

WEIGHTS_DIR_ENV = "PORTRAIT_ANIMATOR_WEIGHTS"


@dataclass(frozen=True)
class InputConvention:
    """How a network wants its pixels: channel order, value range, per-channel mean and std."""

    channel_order: str  # "rgb" or "bgr"
    value_range: float  # 1.0 or 255.0
    mean: tuple[float, float, float]  # in the network's channel order and value range
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self):
        if self.channel_order not in ("rgb", "bgr"):
            raise ValueError(f"channel_order must be rgb or bgr, got {self.channel_order!r}")

    def apply(self, rgb01: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) RGB in [0, 1] -> the network's input."""
        x = rgb01 * self.value_range
        if self.channel_order == "bgr":
            x = x.flip(1)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def to_metadata(self) -> dict[str, str]:
        return {"channel_order": self.channel_order, "value_range": json.dumps(self.value_range),
                "mean": json.dumps(list(self.mean)), "std": json.dumps(list(self.std))}


# The original Caffe VGG19 (Simonyan & Zisserman): BGR, 0-255, ImageNet mean in BGR.
CAFFE_IMAGENET = InputConvention("bgr", 255.0, (103.939, 116.779, 123.68))
# torchvision's PyTorch-trained VGG19: RGB, 0-1, standardised.
TORCHVISION_IMAGENET = InputConvention("rgb", 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
# VGG-Face (Parkhi et al. 2015) as released for Caffe: BGR, 0-255, its face-data mean in BGR.
VGGFACE_CAFFE = InputConvention("bgr", 255.0, (93.5940, 104.7624, 129.1863))
# The same network converted from MatConvNet (vgg_face_dag.pth): RGB order, same mean in RGB.
VGGFACE_MATCONVNET = InputConvention("rgb", 255.0, (129.186279296875, 104.76238250732422, 93.59396362304688))


@dataclass(frozen=True)
class NetworkSpec:
    name: str  # "vgg19" or "vggface"
    build: callable
    layers: tuple[int, ...]  # ReLU indices of torchvision's ``features``
    loss_weight: float
    label: str


VGG19 = NetworkSpec("vgg19", vgg19, (1, 6, 11, 20, 29), 1.5e-1, "VGG19 (ImageNet)")
VGGFACE = NetworkSpec("vggface", vgg16, (1, 6, 11, 18, 25), 2.5e-2, "VGGFace (VGG16 architecture)")
NETWORKS = {spec.name: spec for spec in (VGG19, VGGFACE)}


@dataclass(frozen=True)
class KnownWeightFile:
    file_name: str
    network: str
    convention: InputConvention | None  # None: read it from the safetensors metadata
    layout: str  # "torchvision" (features.N.weight) or "vgg_face_dag" (conv1_1.weight)
    origin: str


# Search order per network: the paper's Caffe-trained weights first.
KNOWN_WEIGHT_FILES = (
    KnownWeightFile("vgg19-d01eb7cb.pth", "vgg19", CAFFE_IMAGENET, "torchvision",
                    "the original Caffe VGG19 converted by jcjohnson/pytorch-vgg"),
    KnownWeightFile("vgg19.safetensors", "vgg19", None, "torchvision",
                    "a safetensors export whose metadata states its input convention"),
    KnownWeightFile("vgg19-dcbb9e9d.pth", "vgg19", TORCHVISION_IMAGENET, "torchvision",
                    "torchvision's VGG19 IMAGENET1K_V1, as torch.hub caches it"),
    KnownWeightFile("vgg_face_dag.pth", "vggface", VGGFACE_MATCONVNET, "vgg_face_dag",
                    "VGG-Face converted from MatConvNet by S. Albanie"),
    KnownWeightFile("vggface.safetensors", "vggface", None, "torchvision",
                    "a safetensors export whose metadata states its input convention"),
)

# vgg_face_dag's layer names -> torchvision VGG16 ``features`` indices.
_DAG_CONV_INDEX = {"conv1_1": 0, "conv1_2": 2, "conv2_1": 5, "conv2_2": 7, "conv3_1": 10, "conv3_2": 12,
                   "conv3_3": 14, "conv4_1": 17, "conv4_2": 19, "conv4_3": 21, "conv5_1": 24,
                   "conv5_2": 26, "conv5_3": 28}


def weight_search_dirs() -> list[str]:
    """Folders searched for perceptual weights, in order."""
    dirs = []
    if os.environ.get(WEIGHTS_DIR_ENV):
        dirs.append(os.environ[WEIGHTS_DIR_ENV])
    dirs.append(os.path.join(torch.hub.get_dir(), "checkpoints"))
    return dirs


def find_weights(network: str) -> str | None:
    """The first known weight file for ``network`` in the search folders, or None."""
    for folder in weight_search_dirs():
        for known in KNOWN_WEIGHT_FILES:
            if known.network == network and os.path.isfile(os.path.join(folder, known.file_name)):
                return os.path.join(folder, known.file_name)
    return None


def missing_weights_error(networks: list[str]) -> MissingWeightsError:
    parts = []
    for network in networks:
        names = ", ".join(k.file_name for k in KNOWN_WEIGHT_FILES if k.network == network)
        parts.append(f"{NETWORKS[network].label}: one of {names}")
    return MissingWeightsError(
        f"perceptual-loss weights not found ({'; '.join(parts)}) in {', '.join(weight_search_dirs())}; "
        f"place them there, set ${WEIGHTS_DIR_ENV}, pass --vgg19/--vggface PATH, or choose the "
        "weight-free content loss with --content-loss l1-msssim (nothing is downloaded)")


def _read_tensors(path: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and (safetensors) metadata of a weight file, without unpickling Python objects."""
    if not os.path.isfile(path):
        raise MissingWeightsError(f"{path}: weight file not found")
    if path.endswith(".safetensors"):
        from safetensors import safe_open
        try:
            with safe_open(path, framework="pt") as handle:
                return {k: handle.get_tensor(k) for k in handle.keys()}, dict(handle.metadata() or {})
        except Exception as exc:  # safetensors raises its own error types for corrupt headers
            raise UnreadableFileError(f"{path}: not a readable safetensors file ({exc})") from None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnreadableFileError(
            f"{path}: refused: the file holds pickled Python objects, not only tensors "
            f"({str(exc).splitlines()[0]}); supply a plain state dict or a .safetensors file") from None
    except Exception as exc:
        raise UnreadableFileError(f"{path}: not a readable PyTorch weight file ({exc})") from None
    if isinstance(data, dict) and "state_dict" in data and isinstance(data["state_dict"], dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise UnreadableFileError(f"{path}: expected a state dict of tensors")
    return data, {}


def _convention_from_metadata(path: str, metadata: dict[str, str]) -> InputConvention:
    try:
        return InputConvention(metadata["channel_order"], float(json.loads(metadata["value_range"])),
                               tuple(json.loads(metadata["mean"])), tuple(json.loads(metadata.get("std", "[1, 1, 1]"))))
    except (KeyError, ValueError, TypeError) as exc:
        raise UnreadableFileError(
            f"{path}: its metadata must state the input convention (channel_order, value_range, mean, std); "
            f"problem: {exc!r}") from None


class PerceptualNetwork(nn.Module):
    """A frozen VGG trunk returning the activations the content loss compares."""

    def __init__(self, spec: NetworkSpec, convention: InputConvention, source: str):
        super().__init__()
        self.spec = spec
        self.convention = convention
        self.source = source
        with torch.device("meta"):  # torchvision's architecture without initialising 140M weights
            trunk = spec.build(weights=None).features[: max(spec.layers) + 1]
        self.features = trunk.to_empty(device="cpu")
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):  # always in eval mode: a loss network never trains
        return super().train(False)

    def forward(self, rgb01: torch.Tensor) -> list[torch.Tensor]:
        x = self.convention.apply(rgb01)
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.spec.layers:
                outputs.append(x)
        return outputs


def load_perceptual_network(network: str, path: str | None = None,
                            convention: InputConvention | None = None) -> PerceptualNetwork:
    """Load VGG19 or VGGFace from ``path`` (or the first known file found); never downloads.

    The input convention comes from ``convention``, else the safetensors metadata, else the known file
    name; a file whose convention cannot be determined is refused rather than guessed.
    """
    spec = NETWORKS[network]
    path = path or find_weights(network)
    if path is None:
        raise missing_weights_error([network])
    tensors, metadata = _read_tensors(path)
    known = next((k for k in KNOWN_WEIGHT_FILES if k.file_name == os.path.basename(path)), None)
    if convention is None:
        if metadata:
            convention = _convention_from_metadata(path, metadata)
        elif known is not None and known.convention is not None:
            convention = known.convention
        else:
            raise UnreadableFileError(
                f"{path}: unknown weight file, so its input convention (BGR/RGB, 0-255/0-1, mean) is unknown; "
                f"use a known file name ({', '.join(k.file_name for k in KNOWN_WEIGHT_FILES if k.network == network)}) "
                "or a .safetensors file with channel_order/value_range/mean/std metadata")
    model = PerceptualNetwork(spec, convention, path)
    model.features.load_state_dict(_to_features_layout(path, tensors, model.features))
    return model


def _to_features_layout(path: str, tensors: dict[str, torch.Tensor], features: nn.Sequential) -> dict:
    """The file's tensors renamed to the truncated ``features`` module's keys, checked."""
    renamed = {}
    for key, value in tensors.items():
        key = key.removeprefix("module.")
        layer, _, kind = key.rpartition(".")
        if layer in _DAG_CONV_INDEX:
            renamed[f"{_DAG_CONV_INDEX[layer]}.{kind}"] = value
        elif key.startswith("features."):
            renamed[key.removeprefix("features.")] = value
    expected = features.state_dict()
    missing = [k for k in expected if k not in renamed]
    if missing:
        raise UnreadableFileError(
            f"{path}: missing weights for {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''} "
            "(is this the right network?)")
    for key, tensor in expected.items():
        if renamed[key].shape != tensor.shape:
            raise UnreadableFileError(
                f"{path}: '{key}' has shape {tuple(renamed[key].shape)}, expected {tuple(tensor.shape)}")
    return {k: renamed[k].to(torch.float32) for k in expected}
