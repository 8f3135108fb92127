"""Plain dataclasses for a meta-learning run and a fine-tuning run; saved beside their outputs."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

PAPER_LR_GENERATOR = 5e-5  # embedder and generator (Zakharov et al. 2019)
PAPER_LR_DISCRIMINATOR = 2e-4
PAPER_DISCRIMINATOR_STEPS = 2  # discriminator updates per embedder/generator update


@dataclass
class TrainConfig:
    """Meta-learning over the videos of a prepared dataset."""

    dataset: str
    out_dir: str
    network: str = "small"  # a preset of models.config: paper, paper-512, small
    kind: str = "neural-paper"  # or "neural-hybrid"
    network_overrides: dict = field(default_factory=dict)  # e.g. {"base_channels": 16}
    steps: int = 10000
    batch_size: int = 2  # episodes per step, over all processes together
    k_shots: int = 8
    lr_generator: float = PAPER_LR_GENERATOR
    lr_discriminator: float = PAPER_LR_DISCRIMINATOR
    adam_betas: tuple[float, float] = (0.5, 0.999)
    discriminator_steps: int = PAPER_DISCRIMINATOR_STEPS
    adversarial_weight: float = 1.0  # scales hinge + feature matching (1 = the paper)
    content_loss: str = "perceptual"  # or "l1-msssim": the explicit weight-free choice
    vgg19: str | None = None
    vggface: str | None = None
    persons: list[str] | None = None  # train only on these persons' videos (None = all) ...
    exclude_persons: list[str] = field(default_factory=list)  # ... minus these (held back)
    mouth_from_target: float = 0.5  # hybrid: share of warps given the real frame as driver crop
    checkpoint_every: int = 1000
    sample_every: int = 500
    log_every: int = 10
    seed: int = 0
    loader_workers: int = 1
    device: str = "auto"
    licence_note: str = ""  # added to the model card next to the data's licences

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        data = dict(data)
        if "adam_betas" in data:
            data["adam_betas"] = tuple(data["adam_betas"])
        return cls(**data)

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=2)
            handle.write("\n")

    # Fields that may change when a run is resumed (more steps, another loader); the rest must match.
    RESUMABLE_CHANGES = ("steps", "checkpoint_every", "sample_every", "log_every", "loader_workers", "device")


def default_finetune_steps(k_shots: int) -> int:
    """The authors' guidance: about 125 steps for one image, about 230 for more than 30 images."""
    if k_shots <= 1:
        return 125
    if k_shots > 30:
        return 230
    return int(round(125 + (230 - 125) * (k_shots - 1) / 30))


@dataclass
class FinetuneConfig:
    """Fine-tuning G and D on the K shots of one person."""

    checkpoint: str
    sources: list[str]
    output: str  # the person's checkpoint (.safetensors)
    steps: int | None = None  # None: default_finetune_steps(K)
    batch_size: int = 1
    lr_generator: float = PAPER_LR_GENERATOR
    lr_discriminator: float = PAPER_LR_DISCRIMINATOR
    adam_betas: tuple[float, float] = (0.5, 0.999)
    adversarial_weight: float = 1.0
    content_loss: str = "perceptual"
    vgg19: str | None = None
    vggface: str | None = None
    landmark_backend: str = "mediapipe"
    face: int | None = None
    seed: int = 0
    device: str = "auto"
