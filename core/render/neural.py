"""The neural renderers: ``neural-paper`` (the paper's E + G) and ``neural-hybrid`` (G correcting the warp).

Both load a checkpoint and work in two modes, as in the paper: feed-forward (a meta-learned checkpoint:
ê is the embedder's mean over the source's K shots, ψ = P·ê) and fine-tuned (a person's checkpoint from
``portrait-animator finetune``: ψ′ is stored in it).

The networks draw at their own size (256² for ``paper``/``small``); the crop can be larger. The paper
renderer's image is resized to the crop and pasted inside a feathered face matte. The hybrid runs the
warp renderer at the crop's full size and adds the network's correction, upsampled; where the network
leaves the warp alone, the frame keeps the warp's full-resolution resampling of the still (its
``source_map``), so a hybrid frame is never blurrier than a warp frame outside the corrected areas.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import torch
from torch.nn.utils import parametrize

from ..config import RenderJob
from ..errors import JobFieldError
from ..landmarks import ibug68
from ..models.checkpoint import NeuralModel, load_model
from ..sketch import draw_sketch
from ..models.device import pick_device
from .base import RenderedFace, SourceFace, TargetFace
from .warp import WarpRenderer, remap

# Where the network changes a pixel by this much (sRGB, 0-1) or more, the frame shows the crop-resolution
# result outright; smaller changes are blended over the warp's full-resolution resampling.
CHANGE_FULL = 8.0 / 255.0
# The paper renderer's matte: the landmarks' hull grown by this share of the face size, then feathered.
FACE_MATTE_GROWTH = 0.12
FACE_MATTE_FEATHER = 0.04
FOREHEAD_LIFT = 0.35  # brows raised by this share of the brow-to-chin height: the hull includes the forehead


def _bake_spectral_norm(module: torch.nn.Module) -> None:
    """Replace each spectrally normalised weight by its current value: inference needs no power iteration."""
    for sub in module.modules():
        if parametrize.is_parametrized(sub, "weight"):
            parametrize.remove_parametrizations(sub, "weight", leave_parametrized=True)


def _to_tensor(images: list[np.ndarray], device) -> torch.Tensor:
    """(H, W, 3) [0, 1] arrays -> (N, 3, H, W) [-1, 1]."""
    array = np.stack(images).transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device) * 2.0 - 1.0


def _to_image(tensor: torch.Tensor) -> np.ndarray:
    return ((tensor[0].float().cpu().permute(1, 2, 0).numpy() + 1.0) * 0.5).astype(np.float32)


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


class NeuralRenderer:
    """A checkpoint's generator, prepared for one source face, rendering one crop per target."""

    frame_threads = None  # the generator's convolutions use every core
    crop_zoom = 1.0  # the framing the networks were trained on

    def __init__(self, model: NeuralModel, checkpoint_path: str, device: torch.device, glasses: str = "auto"):
        """``glasses``: the hybrid's warp's reading of the still's glasses (``WarpRenderer``)."""
        self.model = model
        self.card = model.card
        self.network = model.card.network
        self.name = self.network.kind
        self.checkpoint_path = checkpoint_path
        self.device = device
        self.mode = "fine-tuned" if model.card.stage == "finetuned" else "feed-forward"
        for network in (model.generator, model.embedder):
            if network is not None:
                _bake_spectral_norm(network)
                network.eval()
        self.warp = WarpRenderer(glasses=glasses) if self.network.hybrid else None
        self.source: SourceFace | None = None
        self.psi: torch.Tensor | None = None

    def describe(self) -> dict:
        return {"renderer": self.name, "checkpoint": self.card.id,
                "checkpoint_file": os.path.basename(self.checkpoint_path), "mode": self.mode,
                "network": self.network.name, "image_size": self.network.image_size,
                "shots": None if self.source is None else len(self.source.shots)}

    @torch.inference_mode()
    def prepare(self, source: SourceFace) -> None:
        self.source = source
        size = self.network.image_size
        if self.mode == "fine-tuned":
            self.psi = self.model.person["psi"].to(self.device)
        else:
            frames = _to_tensor([_resize(shot.rgb, size) for shot in source.shots], self.device)
            sketches = _to_tensor([draw_sketch(shot.landmarks, size, from_size=source.crop_size)
                                   for shot in source.shots], self.device)
            embedding = self.model.embedder.embed_shots(frames[None], sketches[None])
            self.psi = self.model.generator.adain_parameters(embedding)
        if self.warp is not None:
            self.warp.prepare(source)

    @torch.inference_mode()
    def render(self, target: TargetFace) -> RenderedFace:
        if self.source is None:
            raise RuntimeError("prepare() the renderer with a source face first")
        crop_size = self.source.crop_size
        size = self.network.image_size
        sketch = _to_tensor([draw_sketch(target.landmarks, size, from_size=crop_size)], self.device)
        if self.warp is None:
            image = _to_image(self.model.generator(sketch, self.psi))
            rgb = np.clip(_resize(image, crop_size), 0.0, 1.0)
            return RenderedFace(rgb=rgb, matte=face_matte(target.landmarks, crop_size))
        warped = self.warp.render(target)
        small = _to_tensor([_resize(np.clip(warped.rgb, 0.0, 1.0), size)], self.device)
        corrected = self.model.generator(sketch, self.psi, small)
        change = _resize((corrected - small)[0].float().cpu().permute(1, 2, 0).numpy() * 0.5, crop_size)
        return self._hybrid_face(warped, change)

    def _hybrid_face(self, warped: RenderedFace, change: np.ndarray) -> RenderedFace:
        """The warp plus the network's change, as an overlay over the warp's full-resolution resampling.

        Paste-back computes ``S·(1 − A) + O·A`` with S the still resampled through ``source_map`` at full
        resolution. With S_crop the same at crop resolution, ``O = S_crop + (a_w·(o_w − S_crop) + Δ) / A``
        gives exactly the warp (its own overlay o_w, a_w included) plus the change Δ wherever S ≈ S_crop,
        and plain S wherever A = 0. A ≥ |Δ| / CHANGE_FULL, so |Δ|/A stays small and O in range.
        """
        rgb = np.clip(warped.rgb + change, 0.0, 1.0)
        change = rgb - warped.rgb  # what survives the clipping
        needed = np.clip(np.abs(change).max(axis=2) / CHANGE_FULL, 0.0, 1.0)
        smooth = cv2.GaussianBlur(cv2.dilate(needed, np.ones((3, 3), np.uint8)), (0, 0), 1.0)
        alpha = np.maximum(smooth, needed)
        base = remap(self.source.crop.rgb, warped.source_map)
        warp_alpha = np.zeros_like(alpha) if warped.overlay_alpha is None else warped.overlay_alpha
        warp_overlay = base if warped.overlay is None else warped.overlay
        overlay_alpha = np.maximum(alpha, warp_alpha)
        safe = np.maximum(overlay_alpha, 1e-6)[..., None]
        overlay = base + (warp_alpha[..., None] * (warp_overlay - base) + change) / safe
        overlay = np.where(overlay_alpha[..., None] > 0, np.clip(overlay, 0.0, 1.0), 0.0).astype(np.float32)
        return RenderedFace(rgb=rgb.astype(np.float32), matte=np.maximum(warped.matte, alpha).astype(np.float32),
                            source_map=warped.source_map, overlay=overlay,
                            overlay_alpha=overlay_alpha.astype(np.float32))


def face_matte(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Where a generated face replaces the still: the face's hull with its forehead, grown and feathered."""
    points = np.asarray(landmarks, dtype=np.float64)
    brows = points[list(ibug68.BROWS)]
    chin = points[ibug68.JAW[8]]
    lift = FOREHEAD_LIFT * (chin[1] - brows[:, 1].mean())
    hull_points = np.concatenate([points, brows - np.array([0.0, lift])])
    centre = hull_points.mean(axis=0)
    face_size = float(np.ptp(hull_points, axis=0).max())
    grown = centre + (hull_points - centre) * (1.0 + FACE_MATTE_GROWTH)
    matte = np.zeros((size, size), np.float32)
    hull = cv2.convexHull(np.round((grown - 0.5) * 16).astype(np.int32))
    cv2.fillConvexPoly(matte, hull, 1.0, lineType=cv2.LINE_AA, shift=4)
    matte = cv2.GaussianBlur(matte, (0, 0), max(1.0, FACE_MATTE_FEATHER * face_size))
    edge = np.minimum(np.arange(size) + 0.5, size - np.arange(size) - 0.5)
    ramp = np.clip((edge - 2.0) / (0.02 * size), 0.0, 1.0)
    return np.clip(matte * np.minimum(ramp[:, None], ramp[None, :]), 0.0, 1.0).astype(np.float32)


def create_neural_renderer(job: RenderJob) -> NeuralRenderer:
    """The renderer for ``job.renderer`` (neural, neural-paper or neural-hybrid) from its checkpoint."""
    device = pick_device(job.device)
    path = job.checkpoint_path
    model = load_model(path, device)
    kind = model.card.network.kind
    if job.renderer != "neural" and job.renderer != kind:
        raise JobFieldError("checkpoint", f"{path} holds a '{kind}' model, but renderer "
                            f"'{job.renderer}' was asked for (use --renderer {kind} or --renderer neural)")
    return NeuralRenderer(model, path, device, glasses=job.glasses)
