"""Meta-learning (the paper's first stage): E, G and D trained on episodes from many videos.

Each step: E embeds K frames of one video into ê (their mean), G draws the (K+1)-th frame from its
sketch with ψ = P·ê, and D scores it against the real frame with that video's column W_i. E and G
minimise content + adversarial (hinge, feature matching ×10) + embedding match (‖W_i − ê_i‖₁ ×80); then D
takes ``discriminator_steps`` hinge steps (and moves W_i towards ê_i by the same match term). Adam,
with the paper's rates: 5e-5 for E and G, 2e-4 for D.

A run lives in one folder: ``train_config.json``, ``log.jsonl``, ``samples/``, ``checkpoints/`` (full
state for resuming, with ``train_state.safetensors`` beside them) and, at the end, ``model.safetensors``
(the shippable checkpoint, without the per-video table) with its model card.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import threading
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler

from ..errors import JobFieldError, RenderCancelled
from ..models.checkpoint import ModelCard, build_generator, read_checkpoint, save_checkpoint
from ..models.config import NetworkConfig, network_config
from ..models.discriminator import Discriminator
from ..models.embedder import Embedder
from ..models.losses import adversarial
from ..models.losses.content import build_content_loss
from . import distributed
from .config import TrainConfig
from .episodes import EpisodeDataset
from .samples import write_grid
from .shards import DatasetIndex
from .state import load_train_state, save_train_state

Progress = Callable[..., None]
STATE_NAME = "train_state.safetensors"
CONFIG_NAME = "train_config.json"
FINAL_NAME = "model.safetensors"
KEEP_CHECKPOINTS = 3


class MetaModel(nn.Module):
    """E and G as one module (one data-parallel unit): K shots and a target sketch -> image, ê."""

    def __init__(self, config: NetworkConfig):
        super().__init__()
        self.embedder = Embedder(config)
        self.generator = build_generator(config)

    def forward(self, shots, shot_sketches, target_sketch, warped=None):
        embedding = self.embedder.embed_shots(shots, shot_sketches)
        psi = self.generator.adain_parameters(embedding)
        if warped is None:
            return self.generator(target_sketch, psi), embedding
        return self.generator(target_sketch, psi, warped), embedding


class MetaLearner:
    """The networks, their optimisers and one training step."""

    def __init__(self, config: TrainConfig, network: NetworkConfig, num_videos: int,
                 placement: distributed.Placement, content_loss: nn.Module):
        self.config = config
        self.network = network
        self.placement = placement
        device = placement.device
        torch.manual_seed(config.seed)
        self.model = MetaModel(network).to(device)
        self.discriminator = Discriminator(network, num_videos).to(device)
        self.content_loss = content_loss.to(device)
        self.model_parallel = distributed.wrap(self.model, placement)
        self.discriminator_parallel = distributed.wrap(self.discriminator, placement)
        betas = tuple(config.adam_betas)
        self.optimizers = {
            "generator": torch.optim.Adam(self.model.parameters(), lr=config.lr_generator, betas=betas),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=config.lr_discriminator,
                                              betas=betas),
        }

    def step(self, batch: dict) -> tuple[dict[str, float], torch.Tensor]:
        """One E/G update and ``discriminator_steps`` D updates; returns the losses and G's output."""
        device = self.placement.device
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        real, sketch, video = batch["target"], batch["target_sketch"], batch["video"]
        n = real.shape[0]
        adv_weight = self.config.adversarial_weight

        opt_g, opt_d = self.optimizers["generator"], self.optimizers["discriminator"]
        opt_g.zero_grad(set_to_none=True)
        fake, embedding = self.model_parallel(batch["shots"], batch["shot_sketches"], sketch, batch.get("warped"))
        # Alone, D's weights need no gradient in this phase (saves a third of its backward); under DDP every
        # parameter must take part in each backward, so there they get one and it is discarded.
        frozen = not self.placement.distributed
        self.discriminator.requires_grad_(not frozen)
        scores, features = self.discriminator_parallel(torch.cat([real, fake]), torch.cat([sketch, sketch]),
                                                       video_index=torch.cat([video, video]))
        content = self.content_loss(fake, real)
        adv = adversarial.generator_hinge(scores[n:])
        matching = adversarial.feature_matching([f[:n] for f in features], [f[n:] for f in features])
        columns = self.discriminator.video_embeddings[video]
        match = adversarial.embedding_match(columns.detach(), embedding)
        loss_g = (content + adv_weight * (adv + adversarial.FEATURE_MATCHING_WEIGHT * matching)
                  + adversarial.EMBEDDING_MATCH_WEIGHT * match)
        loss_g.backward()
        opt_g.step()
        self.discriminator.requires_grad_(True)

        fake_detached, embedding_detached = fake.detach(), embedding.detach()
        for _ in range(self.config.discriminator_steps):
            opt_d.zero_grad(set_to_none=True)
            scores, _ = self.discriminator_parallel(torch.cat([real, fake_detached]), torch.cat([sketch, sketch]),
                                                    video_index=torch.cat([video, video]))
            hinge = adversarial.discriminator_hinge(scores[:n], scores[n:])
            match_d = adversarial.embedding_match(self.discriminator.video_embeddings[video], embedding_detached)
            loss_d = adv_weight * hinge + adversarial.EMBEDDING_MATCH_WEIGHT * match_d
            loss_d.backward()
            opt_d.step()
        losses = {"content": content.item(), "adversarial": adv.item(), "feature_matching": matching.item(),
                  "embedding_match": match.item(), "generator": loss_g.item(), "discriminator_hinge": hinge.item(),
                  "real_score": scores[:n].mean().item(), "fake_score": scores[n:].mean().item()}
        return losses, fake_detached

    def parts(self, with_video_table: bool = True) -> dict:
        d_state = self.discriminator.state_dict()
        if not with_video_table:
            d_state = {k: v for k, v in d_state.items() if k != "video_embeddings"}
        return {"embedder": self.model.embedder, "generator": self.model.generator, "discriminator": d_state}

    def load_parts(self, parts: dict) -> None:
        self.model.embedder.load_state_dict(parts["embedder"])
        self.model.generator.load_state_dict(parts["generator"])
        self.discriminator.load_state_dict(parts["discriminator"])


class StepEpisodes(Sampler):
    """Episode numbers per step: step s uses episodes s·B … s·B+B−1; rank r of R takes every R-th."""

    def __init__(self, first_step: int, last_step: int, batch_size: int, rank: int, world_size: int):
        if batch_size % world_size:
            raise JobFieldError("batch_size", f"({batch_size}) must be divisible by the number of "
                                f"processes ({world_size})")
        self.first, self.last, self.batch = first_step, last_step, batch_size
        self.rank, self.world = rank, world_size

    def __iter__(self):
        for step in range(self.first, self.last):
            yield list(range(step * self.batch + self.rank, (step + 1) * self.batch, self.world))

    def __len__(self) -> int:
        return max(0, self.last - self.first)


def _network(config: TrainConfig, index: DatasetIndex) -> NetworkConfig:
    try:
        network = network_config(config.network, kind=config.kind, **config.network_overrides)
    except (TypeError, ValueError) as exc:
        raise JobFieldError("network", str(exc)) from None
    if network.image_size != index.crop_size:
        raise JobFieldError("network", f"'{config.network}' draws {network.image_size}² images but the dataset "
                            f"{index.root} has {index.crop_size}² crops (prepare it with --size "
                            f"{network.image_size} or pick a matching network)")
    return network


def _check_resumable(config: TrainConfig, path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)
    current = config.to_dict()
    changed = [k for k in current if k not in TrainConfig.RESUMABLE_CHANGES
               and json.dumps(saved.get(k)) != json.dumps(current[k])]
    if changed:
        raise JobFieldError(changed[0], f"differs from the run being resumed in {os.path.dirname(path)} "
                            f"(saved: {saved.get(changed[0])!r}); use a new output folder to change it")


def _licences(index: DatasetIndex) -> list[str]:
    return sorted({v.get("licence", "unknown") for v in index.videos})


def train(config: TrainConfig, progress: Progress | None = None,
          cancel: threading.Event | None = None) -> str:
    """Run (or resume) meta-learning; returns the path of the final ``model.safetensors``."""
    placement = distributed.start(config.device)
    try:
        return _train(config, placement, progress, cancel)
    finally:
        distributed.stop()


def _train(config, placement, progress, cancel) -> str:
    index = DatasetIndex.load(config.dataset).select(config.persons, config.exclude_persons)
    network = _network(config, index)
    dataset = EpisodeDataset(index, config.k_shots, seed=config.seed, hybrid=network.hybrid,
                             mouth_from_target=config.mouth_from_target)
    content_loss = build_content_loss(config.content_loss, config.vgg19, config.vggface)
    learner = MetaLearner(config, network, dataset.num_videos, placement, content_loss)
    out = config.out_dir
    checkpoints = os.path.join(out, "checkpoints")
    state_path = os.path.join(checkpoints, STATE_NAME)
    first_step = 0
    if placement.is_main:
        os.makedirs(checkpoints, exist_ok=True)
    distributed.barrier(placement)
    if os.path.exists(state_path):
        _check_resumable(config, os.path.join(out, CONFIG_NAME))
        first_step, checkpoint_name, rng = load_train_state(state_path, learner.optimizers)
        _, parts = read_checkpoint(os.path.join(checkpoints, checkpoint_name))
        learner.load_parts(parts)
        torch.set_rng_state(rng)
    elif placement.is_main:
        config.save(os.path.join(out, CONFIG_NAME))

    loader = DataLoader(dataset, batch_sampler=StepEpisodes(first_step, config.steps, config.batch_size,
                                                            placement.rank, placement.world_size),
                        num_workers=config.loader_workers, persistent_workers=False,
                        pin_memory=placement.device.type == "cuda")
    log_path = os.path.join(out, "log.jsonl")
    started, timed_steps, timed_from = time.time(), 0, None
    recent: list[dict] = []
    step = first_step
    try:
        for step, batch in enumerate(loader, start=first_step + 1):
            losses, fake = learner.step(batch)
            if timed_from is None:
                timed_from = time.time()  # the first step includes start-up: not timed
            else:
                timed_steps += 1
            recent = (recent + [losses])[-config.log_every:]
            if placement.is_main and config.sample_every and step % config.sample_every == 0:
                columns = [batch["shots"][:, 0], batch["target_sketch"]]
                columns += [batch["warped"]] if "warped" in batch else []
                write_grid(os.path.join(out, "samples", f"step_{step:07d}.png"),
                           columns + [fake.cpu(), batch["target"]], step)
            if step % config.log_every == 0 or step == config.steps:
                mean = {k: distributed.mean_across(sum(r[k] for r in recent) / len(recent), placement)
                        for k in recent[0]}
                rate = timed_steps / (time.time() - timed_from) if timed_steps else 0.0
                if placement.is_main:
                    with open(log_path, "a", encoding="utf-8") as handle:
                        handle.write(json.dumps({"step": step, "time": round(time.time() - started, 2),
                                                 "steps_per_s": round(rate, 4), **mean}) + "\n")
                    if progress:
                        progress(step, config.steps, f"step {step}: content {mean['content']:.4f}, "
                                 f"D hinge {mean['discriminator_hinge']:.3f}", steps_per_s=rate, losses=mean)
            if step % config.checkpoint_every == 0 and step != config.steps:
                _save_checkpoint(config, learner, index, placement, step, recent)
            if distributed.any_across(cancel is not None and cancel.is_set(), placement):
                raise KeyboardInterrupt  # every process stops after the same step
    except KeyboardInterrupt:
        if step > first_step:
            _save_checkpoint(config, learner, index, placement, step, recent)
        raise RenderCancelled(f"training stopped at step {step}; run the same command again to resume") from None
    if step > first_step or not os.path.exists(os.path.join(out, FINAL_NAME)):
        _save_checkpoint(config, learner, index, placement, step, recent)
        if placement.is_main:
            card = _card(config, learner, index, placement, step, recent)
            save_checkpoint(os.path.join(out, FINAL_NAME), card, learner.parts(with_video_table=False))
    distributed.barrier(placement)
    return os.path.join(out, FINAL_NAME)


def _card(config: TrainConfig, learner: MetaLearner, index: DatasetIndex, placement, step: int,
          recent: list[dict]) -> ModelCard:
    metrics = {k: round(sum(r[k] for r in recent) / len(recent), 5) for k in recent[0]} if recent else {}
    persons = index.persons
    return ModelCard(
        network=learner.network, stage="meta",
        training={
            "stage": "meta-learning", "steps": step, "batch_size": config.batch_size, "k_shots": config.k_shots,
            "processes": placement.world_size, "device": placement.device.type,
            "optimiser": {"name": "Adam", "lr_generator": config.lr_generator,
                          "lr_discriminator": config.lr_discriminator, "betas": list(config.adam_betas),
                          "discriminator_steps": config.discriminator_steps},
            "losses": {"content": learner.content_loss.describe(), "adversarial_weight": config.adversarial_weight,
                       "feature_matching_weight": adversarial.FEATURE_MATCHING_WEIGHT,
                       "embedding_match_weight": adversarial.EMBEDDING_MATCH_WEIGHT},
            "data": {"dataset": os.path.basename(os.path.normpath(config.dataset)),
                     "videos": [v["source"] for v in index.videos], "persons": persons,
                     "excluded_persons": list(config.exclude_persons), "crop_size": index.crop_size,
                     "landmark_backend": index.landmark_backend},
            "seed": config.seed, "command": " ".join(sys.argv),
        },
        data_licences=_licences(index) + ([config.licence_note] if config.licence_note else []),
        metrics={"final_training_losses": metrics})


def _save_checkpoint(config, learner, index, placement, step, recent) -> None:
    if not placement.is_main:
        return
    checkpoints = os.path.join(config.out_dir, "checkpoints")
    name = f"step_{step:07d}.safetensors"
    save_checkpoint(os.path.join(checkpoints, name), _card(config, learner, index, placement, step, recent),
                    learner.parts())
    save_train_state(os.path.join(checkpoints, STATE_NAME), step, name, learner.optimizers, torch.get_rng_state())
    for old in sorted(glob.glob(os.path.join(checkpoints, "step_*.safetensors")))[:-KEEP_CHECKPOINTS]:
        os.remove(old)
        card = os.path.splitext(old)[0] + ".card.json"
        if os.path.exists(card):
            os.remove(card)
