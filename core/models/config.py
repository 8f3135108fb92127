"""Network configurations: the published architecture, a CPU-sized one, and a 512² one.

One plain dataclass describes E, G and D together, because they share their downsampling shape and the
embedding width: the embedder's output, the generator's projection input and the discriminator's
per-video columns must all agree.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

CONTENT_LOSSES = ("perceptual", "l1-msssim")  # see losses.content

RENDERER_KINDS = ("neural-paper", "neural-hybrid")


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes of the embedder E, generator G and projection discriminator D.

    Channel widths follow the paper: ``base_channels`` at the first downsampling (128² for 256²
    images), doubling per halving of resolution up to ``max_channels``; the embedding ê is
    ``max_channels`` wide (512 in the paper).
    """

    name: str
    image_size: int = 256
    base_channels: int = 64
    max_channels: int = 512
    bottleneck_size: int = 16  # G downsamples to this resolution, then runs its AdaIN residual blocks
    embedder_final_size: int = 4  # E and D downsample to this resolution before global sum pooling
    residual_blocks: int = 5
    attention_down_size: int = 32  # self-attention in every downsampling path (E, G, D)
    attention_up_size: int = 64  # self-attention in G's upsampling path
    spectral_norm: bool = True
    kind: str = "neural-paper"  # or "neural-hybrid": G also reads the warped still

    def __post_init__(self):
        for name in ("image_size", "bottleneck_size", "embedder_final_size"):
            value = getattr(self, name)
            if value < 4 or value & (value - 1):
                raise ValueError(f"{name} must be a power of two and at least 4, got {value}")
        if not self.embedder_final_size <= self.bottleneck_size < self.image_size:
            raise ValueError("need embedder_final_size <= bottleneck_size < image_size")
        if self.kind not in RENDERER_KINDS:
            raise ValueError(f"kind must be one of {', '.join(RENDERER_KINDS)}, got {self.kind!r}")
        if self.base_channels < 2 or self.max_channels < self.base_channels:
            raise ValueError("need 2 <= base_channels <= max_channels")

    @property
    def embedding_dim(self) -> int:
        return self.max_channels

    @property
    def hybrid(self) -> bool:
        return self.kind == "neural-hybrid"

    def channels_at(self, resolution: int) -> int:
        """Feature width at a spatial resolution (the full-resolution layers keep ``base_channels``)."""
        if resolution >= self.image_size:
            return self.base_channels
        factor = self.image_size // (2 * resolution)
        return min(self.base_channels * factor, self.max_channels)

    def down_resolutions(self, final: int) -> list[int]:
        """Output resolutions of the downsampling blocks from the image size to ``final``."""
        steps = int(math.log2(self.image_size // final))
        return [self.image_size >> (i + 1) for i in range(steps)]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NetworkConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown network config fields: {', '.join(unknown)}")
        return cls(**data)


PRESETS: dict[str, NetworkConfig] = {
    # As published: 256², 64 -> 512 channels, 5 AdaIN residual blocks at 16², attention at 32² / 64².
    "paper": NetworkConfig(name="paper"),
    # 512² output for users with GPUs: one more downsampling stage, same bottleneck and widths.
    "paper-512": NetworkConfig(name="paper-512", image_size=512, base_channels=32),
    # Trains and runs on 2 CPU cores: same topology, an eighth of the widths, 2 residual blocks, and the
    # upsampling path's attention at 32² (at 64² its 4096² attention map costs more than all convolutions).
    "small": NetworkConfig(name="small", base_channels=8, max_channels=128, residual_blocks=2,
                           attention_up_size=32),
}


def network_config(name: str, kind: str = "neural-paper", **overrides) -> NetworkConfig:
    """A preset by name, as a paper or hybrid network, with any fields overridden."""
    if name not in PRESETS:
        raise ValueError(f"unknown network preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], kind=kind, **overrides)
