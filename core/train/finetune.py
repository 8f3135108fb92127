"""K-shot fine-tuning (the paper's second stage): adapt a meta-learned G and D to one person.

ψ′ starts at P·ê and w′ at ê (ê: the embedder's mean over the K shots), then G (with ψ′) and D (with w′
in place of a video column) are trained on the K shots themselves — about 125 steps for one image,
about 230 for more than 30 (the authors' guidance). The result is a "finetuned" checkpoint: the
generator and the person's ψ′ and w′; it no longer needs the embedder.

The shots are found and cropped by the pipeline's own source analysis, so the person's checkpoint is
trained on exactly the crops it will be asked to animate.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable

import numpy as np
import torch

from ..cache import FileCache
from ..config import RenderJob
from ..errors import JobFieldError, RenderCancelled, UnreadableFileError
from ..face_analysis import analyse_source
from ..io.provenance import file_sha256
from ..models.checkpoint import ModelCard, load_model, read_card, save_checkpoint
from ..models.device import pick_device
from ..models.losses import adversarial
from ..models.losses.content import build_content_loss
from ..render.base import SourceShot
from ..sketch import draw_sketch
from .config import FinetuneConfig, default_finetune_steps
from .episodes import to_network, warp_shot

Progress = Callable[..., None]


def shot_tensors(shots: list[SourceShot], size: int, hybrid: bool) -> dict[str, torch.Tensor]:
    """The K shots as network inputs; for the hybrid, shot 0 warped onto every shot's landmarks."""
    tensors = {"images": torch.stack([to_network(s.rgb) for s in shots]),
               "sketches": torch.stack([to_network(draw_sketch(s.landmarks, size)) for s in shots])}
    if hybrid:
        tensors["warped"] = torch.stack([to_network(warp_shot(shots[0], size, s.landmarks, s.dense))
                                         for s in shots])
    return tensors


def finetune_on_shots(model, shots: list[SourceShot], config: FinetuneConfig, device: torch.device,
                      progress: Progress | None = None, cancel: threading.Event | None = None) -> dict:
    """Fine-tune ``model`` (a loaded meta checkpoint with its discriminator) in place on ``shots``.

    Returns the person's tensors ``{"psi", "w"}`` and a summary of the run.
    """
    network = model.card.network
    generator, discriminator, embedder = model.generator, model.discriminator, model.embedder
    data = {k: v.to(device) for k, v in shot_tensors(shots, network.image_size, network.hybrid).items()}
    k_shots = len(shots)
    steps = config.steps if config.steps is not None else default_finetune_steps(k_shots)
    with torch.no_grad():
        embedding = embedder.embed_shots(data["images"][None], data["sketches"][None])
        psi = torch.nn.Parameter(generator.adain_parameters(embedding).clone())  # ψ′ = P·ê
        w = torch.nn.Parameter(embedding.clone())  # w′ = ê
    generator.train()
    discriminator.train()
    content_loss = build_content_loss(config.content_loss, config.vgg19, config.vggface).to(device)
    betas = tuple(config.adam_betas)
    g_params = [p for name, p in generator.named_parameters() if not name.startswith("projection.")]
    d_params = [p for name, p in discriminator.named_parameters() if name != "video_embeddings"]
    opt_g = torch.optim.Adam(g_params + [psi], lr=config.lr_generator, betas=betas)
    opt_d = torch.optim.Adam(d_params + [w], lr=config.lr_discriminator, betas=betas)
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    history = []
    for step in range(1, steps + 1):
        pick = torch.as_tensor(rng.integers(k_shots, size=config.batch_size), device=device)
        real, sketch = data["images"][pick], data["sketches"][pick]
        n = real.shape[0]
        psi_batch, w_batch = psi.expand(n, -1), w.expand(n, -1)
        opt_g.zero_grad(set_to_none=True)
        fake = generator(sketch, psi_batch) if not network.hybrid else generator(sketch, psi_batch,
                                                                                 data["warped"][pick])
        scores, features = discriminator(torch.cat([real, fake]), torch.cat([sketch, sketch]),
                                         columns=torch.cat([w_batch, w_batch]).detach())
        content = content_loss(fake, real)
        matching = adversarial.feature_matching([f[:n] for f in features], [f[n:] for f in features])
        loss_g = content + config.adversarial_weight * (adversarial.generator_hinge(scores[n:])
                                                        + adversarial.FEATURE_MATCHING_WEIGHT * matching)
        loss_g.backward()
        opt_g.step()
        opt_d.zero_grad(set_to_none=True)
        scores, _ = discriminator(torch.cat([real, fake.detach()]), torch.cat([sketch, sketch]),
                                  columns=torch.cat([w_batch, w_batch]))
        loss_d = config.adversarial_weight * adversarial.discriminator_hinge(scores[:n], scores[n:])
        loss_d.backward()
        opt_d.step()
        history.append(content.item())
        if progress is not None:
            progress(step, steps, f"fine-tuning step {step}/{steps}: content {content.item():.4f}")
        if cancel is not None and cancel.is_set():
            raise RenderCancelled(f"fine-tuning stopped at step {step}; nothing was written")
    summary = {"steps": steps, "k_shots": k_shots, "content_first_steps": float(np.mean(history[:5])),
               "content_last_steps": float(np.mean(history[-5:])), "content_loss": content_loss.describe()}
    return {"psi": psi.detach(), "w": w.detach(), "summary": summary}


def finetune(config: FinetuneConfig, progress: Progress | None = None,
             cancel: threading.Event | None = None) -> ModelCard:
    """Fine-tune ``config.checkpoint`` on ``config.sources``; writes ``config.output`` and returns its card."""
    if not config.output.endswith(".safetensors"):
        raise JobFieldError("output", f"must end in .safetensors (got {config.output!r})")
    if not config.sources:
        raise JobFieldError("sources", "needs at least one still of the person")
    device = pick_device(config.device)
    stage = read_card(config.checkpoint).stage
    if stage != "meta":
        raise UnreadableFileError(f"{config.checkpoint}: fine-tuning starts from a meta-learned checkpoint "
                                  f"(this one is '{stage}')")
    model = load_model(config.checkpoint, device, with_discriminator=True)
    network = model.card.network
    job = RenderJob(sources=list(config.sources), driver="preset:idle", crop_size=network.image_size,
                    landmark_backend=config.landmark_backend, face=config.face)
    with tempfile.TemporaryDirectory(prefix="portrait-animator-finetune-") as scratch:
        source = analyse_source(job, FileCache(scratch))
    result = finetune_on_shots(model, source.shots, config, device, progress, cancel)
    card = ModelCard(
        network=network, stage="finetuned",
        training={**model.card.training, "finetuning": {
            **result["summary"], "parent_checkpoint": model.card.id,
            "sources": [{"file": os.path.basename(p), "sha256": file_sha256(p)} for p in config.sources],
            "lr_generator": config.lr_generator, "lr_discriminator": config.lr_discriminator,
            "batch_size": config.batch_size, "seed": config.seed}},
        data_licences=model.card.data_licences,
        metrics=model.card.metrics,
        notes=f"Fine-tuned on {len(config.sources)} still(s) of one person from {model.card.id}.")
    return save_checkpoint(config.output, card, {"generator": model.generator,
                                                 "person": {"psi": result["psi"], "w": result["w"]}})
