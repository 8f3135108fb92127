"""Checkpoints: one ``.safetensors`` file of weights with its JSON model card, plus a readable copy.

The card (architecture and network config, training data and its licences, steps, content loss,
metrics) lives inside the safetensors metadata, so weights and their description cannot drift apart;
``<name>.card.json`` beside it is the same card for people and tools. Loading reads only safetensors —
never a pickle — and checks the card before building any network.

Keys are ``<part>.<parameter>``: part ``embedder``, ``generator``, ``discriminator`` (its per-video
table ``W`` only in meta-learning checkpoints that keep it), and ``person`` (``psi``, ``w``) in a
fine-tuned checkpoint.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from dataclasses import dataclass, field

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from ..errors import MissingWeightsError, UnreadableFileError
from ..version import __version__
from .config import NetworkConfig
from .discriminator import Discriminator
from .embedder import Embedder
from .generator import Generator
from .hybrid import HybridGenerator

CHECKPOINT_FORMAT = "portrait-animator/checkpoint"
CHECKPOINT_VERSION = 1
STAGES = ("meta", "finetuned")


@dataclass
class ModelCard:
    """What a checkpoint is, what trained it and on what, and how well it did."""

    network: NetworkConfig
    stage: str = "meta"  # "meta" (feed-forward, any person) or "finetuned" (one person)
    training: dict = field(default_factory=dict)  # data, steps, losses, optimiser, seed, command
    data_licences: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    notes: str = ""
    id: str = ""  # set on save: "<config name>-<kind>-<first 12 hex of the weights' sha256>"
    created: str = ""
    software: str = f"portrait-animator {__version__}"

    def to_dict(self) -> dict:
        return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "id": self.id,
                "kind": self.network.kind, "stage": self.stage, "network": self.network.to_dict(),
                "training": self.training, "data_licences": self.data_licences, "metrics": self.metrics,
                "notes": self.notes, "created": self.created, "software": self.software}

    @classmethod
    def from_dict(cls, data: dict, path: str) -> "ModelCard":
        if data.get("format") != CHECKPOINT_FORMAT:
            raise UnreadableFileError(f"{path}: not a Portrait Animator checkpoint (format {data.get('format')!r})")
        if data.get("version") != CHECKPOINT_VERSION:
            raise UnreadableFileError(f"{path}: checkpoint version {data.get('version')!r} is not supported "
                                      f"(this software reads version {CHECKPOINT_VERSION})")
        if data.get("stage") not in STAGES:
            raise UnreadableFileError(f"{path}: unknown checkpoint stage {data.get('stage')!r}")
        try:
            network = NetworkConfig.from_dict(data["network"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UnreadableFileError(f"{path}: bad network config in the model card ({exc})") from None
        return cls(network=network, stage=data["stage"], training=data.get("training", {}),
                   data_licences=list(data.get("data_licences", [])), metrics=data.get("metrics", {}),
                   notes=data.get("notes", ""), id=data.get("id", ""), created=data.get("created", ""),
                   software=data.get("software", ""))


def card_path(checkpoint_path: str) -> str:
    return os.path.splitext(checkpoint_path)[0] + ".card.json"


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over names and bytes of the tensors, in name order: the checkpoint's identity."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _write_atomic_text(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def save_checkpoint(path: str, card: ModelCard, parts: dict[str, nn.Module | dict[str, torch.Tensor]]) -> ModelCard:
    """Write ``path`` (.safetensors) and its ``.card.json`` atomically; returns the card with its id set."""
    if not path.endswith(".safetensors"):
        raise ValueError(f"checkpoint paths end in .safetensors, got {path!r}")
    tensors = {}
    for part, value in parts.items():
        state = value.state_dict() if isinstance(value, nn.Module) else value
        for key, tensor in state.items():
            tensors[f"{part}.{key}"] = tensor.detach().to("cpu").contiguous().clone()
    card.id = f"{card.network.name}-{card.network.kind}-{weights_digest(tensors)[:12]}"
    card.created = card.created or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    card_json = json.dumps(card.to_dict(), indent=2, sort_keys=False)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        save_file(tensors, tmp, metadata={"format": CHECKPOINT_FORMAT, "model_card": card_json})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    _write_atomic_text(card_path(path), card_json + "\n")
    return card


def _open(path: str, with_tensors: bool) -> tuple[ModelCard, dict[str, torch.Tensor]]:
    if not os.path.isfile(path):
        raise MissingWeightsError(f"{path}: checkpoint not found")
    if not path.endswith(".safetensors"):
        raise UnreadableFileError(f"{path}: checkpoints are .safetensors files (other formats are not loaded: "
                                  "they could run code when unpickled)")
    try:
        with safe_open(path, framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()} if with_tensors else {}
    except Exception as exc:  # safetensors raises its own types for truncated or corrupt files
        raise UnreadableFileError(f"{path}: not a readable safetensors checkpoint ({exc})") from None
    if metadata.get("format") != CHECKPOINT_FORMAT or "model_card" not in metadata:
        raise UnreadableFileError(f"{path}: not a Portrait Animator checkpoint (no model card in its metadata)")
    try:
        return ModelCard.from_dict(json.loads(metadata["model_card"]), path), tensors
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(f"{path}: the model card is not valid JSON ({exc})") from None


def read_card(path: str) -> ModelCard:
    """The model card alone (no tensors are read)."""
    return _open(path, with_tensors=False)[0]


def read_checkpoint(path: str) -> tuple[ModelCard, dict[str, dict[str, torch.Tensor]]]:
    """The model card and the tensors grouped by part; safetensors only, nothing unpickled."""
    card, tensors = _open(path, with_tensors=True)
    parts: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        part, _, name = key.partition(".")
        parts.setdefault(part, {})[name] = tensor
    return card, parts


def record_metrics(path: str, metrics: dict) -> ModelCard:
    """Add ``metrics`` (e.g. an evaluation's results) to a checkpoint's card; the weights and id stay."""
    card, parts = read_checkpoint(path)
    card.metrics = {**card.metrics, **metrics}
    return save_checkpoint(path, card, parts)


@dataclass
class NeuralModel:
    """The networks of a checkpoint, built from its card and loaded."""

    card: ModelCard
    generator: Generator
    embedder: Embedder | None = None
    discriminator: Discriminator | None = None
    person: dict[str, torch.Tensor] = field(default_factory=dict)  # fine-tuned: "psi" (1, P), "w" (1, D)


def build_generator(config: NetworkConfig) -> Generator:
    return HybridGenerator(config) if config.hybrid else Generator(config)


def load_model(path: str, device: str | torch.device = "cpu", with_discriminator: bool = False) -> NeuralModel:
    """Build the networks a checkpoint describes and load its weights (strictly: every key must fit)."""
    card, parts = read_checkpoint(path)
    if "generator" not in parts:
        raise UnreadableFileError(f"{path}: the checkpoint has no generator weights")
    generator = build_generator(card.network)
    _load_part(path, "generator", generator, parts["generator"])
    model = NeuralModel(card=card, generator=generator.to(device).eval())
    if "embedder" in parts:
        model.embedder = Embedder(card.network)
        _load_part(path, "embedder", model.embedder, parts["embedder"])
        model.embedder.to(device).eval()
    if card.stage == "finetuned":
        person = parts.get("person", {})
        if set(person) != {"psi", "w"}:
            raise UnreadableFileError(f"{path}: a fine-tuned checkpoint needs person.psi and person.w")
        model.person = {k: v.to(device) for k, v in person.items()}
    elif model.embedder is None:
        raise UnreadableFileError(f"{path}: a meta-learned checkpoint needs the embedder")
    if with_discriminator:
        if "discriminator" not in parts:
            raise UnreadableFileError(f"{path}: the checkpoint has no discriminator (needed for fine-tuning)")
        state = parts["discriminator"]
        videos = state["video_embeddings"].shape[0] if "video_embeddings" in state else 1
        model.discriminator = Discriminator(card.network, videos)
        if "video_embeddings" not in state:  # exported without the per-video table: keep the fresh one
            state = {**state, "video_embeddings": model.discriminator.video_embeddings.detach()}
        _load_part(path, "discriminator", model.discriminator, state)
        model.discriminator.to(device)
    return model


def _load_part(path: str, part: str, module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise UnreadableFileError(
            f"{path}: {part} weights do not fit the architecture in its model card "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    for key, tensor in state.items():
        if tensor.shape != expected[key].shape:
            raise UnreadableFileError(f"{path}: {part}.{key} has shape {tuple(tensor.shape)}, "
                                      f"expected {tuple(expected[key].shape)}")
    module.load_state_dict(state)
