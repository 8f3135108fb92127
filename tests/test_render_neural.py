"""The neural renderers on a real face: the untrained hybrid is the warp, a correction shows up exactly
where the network makes it (also through full-resolution paste-back), the paper renderer's face and
matte, feed-forward vs fine-tuned modes, and the renderer through the whole animate pipeline."""

import numpy as np
import pytest
import torch

from portrait_animator.config import SHIPPED_CHECKPOINTS, FrameRange, OutputConfig, RenderJob
from portrait_animator.errors import JobFieldError
from portrait_animator.io.images import read_image
from portrait_animator.io.metadata import read_frame_metadata
from portrait_animator.io.provenance import file_sha256
from portrait_animator.models.checkpoint import ModelCard, load_model, read_card, save_checkpoint
from portrait_animator.models.config import network_config
from portrait_animator.models.embedder import Embedder
from portrait_animator.models.generator import Generator
from portrait_animator.models.hybrid import HybridGenerator
from portrait_animator.paste import paste_back
from portrait_animator.pipeline import AnimatePipeline
from portrait_animator.presets import preset_track
from portrait_animator.render.base import SourceFace, SourceShot, TargetFace
from portrait_animator.render.neural import NeuralRenderer, create_neural_renderer, face_matte
from portrait_animator.render.warp import WarpRenderer


def _checkpoint(path, kind, stage="meta", head=None):
    torch.manual_seed(0)
    network = network_config("small", kind=kind)
    generator = HybridGenerator(network) if network.hybrid else Generator(network)
    if head is not None:
        head(generator)
    parts = {"generator": generator}
    if stage == "meta":
        parts["embedder"] = Embedder(network)
    else:
        parts["person"] = {"psi": torch.randn(1, generator.psi_size) * 0.5, "w": torch.zeros(1, 128)}
    save_checkpoint(str(path), ModelCard(network=network, stage=stage), parts)
    return str(path)


def _renderer(path, bundled_source):
    renderer = NeuralRenderer(load_model(path), path, torch.device("cpu"))
    renderer.prepare(bundled_source)
    return renderer


def _talking_target(bundled_source, frame=20):
    track = preset_track("talk", bundled_source.crop.landmarks, frames=frame + 1, seed=1)
    from portrait_animator.config import MotionConfig
    from portrait_animator.motion import MotionTransfer

    shapes = MotionTransfer(MotionConfig(), bundled_source.crop.landmarks, bundled_source.crop.dense).transfer(track)
    return TargetFace(frame, shapes.landmarks[frame], shapes.dense[frame])


def test_an_untrained_hybrid_renders_exactly_the_warp(tmp_path, bundled_source):
    hybrid = _renderer(_checkpoint(tmp_path / "h.safetensors", "neural-hybrid"), bundled_source)
    warp = WarpRenderer()
    warp.prepare(bundled_source)
    target = _talking_target(bundled_source)
    ours, theirs = hybrid.render(target), warp.render(target)
    np.testing.assert_array_equal(ours.rgb, np.clip(theirs.rgb, 0, 1))
    np.testing.assert_array_equal(ours.source_map, theirs.source_map)
    np.testing.assert_array_equal(ours.matte, theirs.matte)
    pasted = paste_back(bundled_source.still_rgb, None, bundled_source.crop_from_still, ours)
    expected = paste_back(bundled_source.still_rgb, None, bundled_source.crop_from_still, theirs)
    assert np.abs(pasted.rgb - expected.rgb).max() < 1e-5
    assert hybrid.describe()["renderer"] == "neural-hybrid" and hybrid.describe()["mode"] == "feed-forward"


def _redden(generator):
    """A head whose correction adds red where the mask opens (everywhere, half open)."""
    with torch.no_grad():
        generator.head.bias[:] = torch.tensor([0.2, 0.0, 0.0, 0.0])  # σ(0) = 0.5, 2·tanh(0.2) ≈ 0.39


def test_a_hybrid_correction_lands_where_the_network_puts_it(tmp_path, bundled_source):
    hybrid = _renderer(_checkpoint(tmp_path / "red.safetensors", "neural-hybrid", head=_redden), bundled_source)
    warp = WarpRenderer()
    warp.prepare(bundled_source)
    target = _talking_target(bundled_source)
    ours, theirs = hybrid.render(target), warp.render(target)
    gain = 0.5 * 2 * np.tanh(0.2) / 2  # mask · correction, from [-1, 1] to [0, 1] units
    expected = np.clip(np.clip(theirs.rgb, 0, 1) + np.array([gain, 0, 0], np.float32), 0, 1)
    inner = (slice(16, -16), slice(16, -16))  # away from the upsampled border
    assert np.abs(ours.rgb[inner] - expected[inner]).max() < 0.02
    assert ours.matte[inner].min() > 0.99  # a change everywhere: animated everywhere
    # Paste-back at full resolution shows the same correction: the still's pixels plus the red gain.
    pasted = paste_back(bundled_source.still_rgb, None, bundled_source.crop_from_still, ours)
    warp_pasted = paste_back(bundled_source.still_rgb, None, bundled_source.crop_from_still, theirs)
    face = pasted.matte > 0.999
    difference = (pasted.rgb - warp_pasted.rgb)[face]
    unclipped = warp_pasted.rgb[face][:, 0] < 1 - gain - 0.01
    assert np.abs(difference[unclipped, 0] - gain).mean() < 0.01
    assert np.abs(difference[:, 1:]).mean() < 0.01


def test_the_paper_renderer_draws_a_face_inside_a_feathered_matte(tmp_path, bundled_source):
    renderer = _renderer(_checkpoint(tmp_path / "p.safetensors", "neural-paper"), bundled_source)
    out = renderer.render(_talking_target(bundled_source))
    assert out.rgb.shape == (512, 512, 3) and out.source_map is None
    landmarks = _talking_target(bundled_source).landmarks
    nose = np.round(landmarks[30]).astype(int)
    assert out.matte[nose[1], nose[0]] > 0.99 and out.matte[:8, :8].max() == 0.0
    assert out.matte[:2].max() == 0.0 and out.matte[:, -2:].max() == 0.0  # the crop edge stays the still's
    matte = face_matte(landmarks, 512)
    chin = np.round(landmarks[8]).astype(int)
    assert matte[chin[1], chin[0]] > 0.5 and matte[min(511, chin[1] + 60), chin[0]] < 0.5
    assert out.rgb.std() > 0.01  # an image, not a constant


def test_feed_forward_reads_the_shots_and_fine_tuned_reads_its_person(tmp_path, bundled_source):
    meta = _checkpoint(tmp_path / "meta.safetensors", "neural-paper")
    target = _talking_target(bundled_source)
    first = _renderer(meta, bundled_source).render(target).rgb
    crop = bundled_source.crop
    darker = SourceFace([SourceShot(crop.rgb * 0.5, crop.landmarks, crop.dense)], 512,
                        bundled_source.crop_from_still, bundled_source.still_rgb)
    assert np.abs(_renderer(meta, darker).render(target).rgb - first).mean() > 1e-4  # ê from the shots
    person = _checkpoint(tmp_path / "person.safetensors", "neural-paper", stage="finetuned")
    tuned = _renderer(person, bundled_source)
    assert tuned.describe()["mode"] == "fine-tuned"
    assert np.array_equal(tuned.render(target).rgb, _renderer(person, darker).render(target).rgb)  # ψ′ only


def test_renderer_kind_must_match_the_checkpoint(tmp_path):
    path = _checkpoint(tmp_path / "h.safetensors", "neural-hybrid")
    job = RenderJob(sources=["x.png"], driver="preset:talk", renderer="neural-paper", checkpoint=path)
    with pytest.raises(JobFieldError, match="neural-hybrid"):
        create_neural_renderer(job)
    job.renderer = "neural"
    assert create_neural_renderer(job).name == "neural-hybrid"


@pytest.mark.slow
def test_the_hybrid_without_a_checkpoint_renders_with_the_shipped_small_model(tmp_path, bundled_still):
    job = RenderJob(sources=[str(bundled_still)], driver="preset:talk", frames=FrameRange.parse("1-2"), crop_size=256,
                    renderer="neural-hybrid", output=OutputConfig(pattern=str(tmp_path / "shot.####.png")),
                    cache_dir=str(tmp_path / "cache")).validate()
    assert AnimatePipeline(job).run().written == [1, 2]
    fields = read_frame_metadata(str(tmp_path / "shot.0002.png"))
    assert fields["renderer"] == "neural-hybrid" and fields["checkpoint"] == "small_hybrid.safetensors"
    assert fields["checkpoint_sha256"] == file_sha256(SHIPPED_CHECKPOINTS["neural-hybrid"])
    card = read_card(SHIPPED_CHECKPOINTS["neural-hybrid"])
    assert (card.network.name, card.network.kind, card.stage) == ("small", "neural-hybrid", "meta")


@pytest.mark.slow
def test_the_pipeline_renders_an_untrained_hybrid_exactly_like_the_warp(tmp_path, bundled_still, monkeypatch):
    path = _checkpoint(tmp_path / "h.safetensors", "neural-hybrid")
    # The hybrid warps the networks' crop; the warp renderer alone frames its crop wider. Compared on one
    # framing, an untrained hybrid passes the warp through.
    monkeypatch.setattr(WarpRenderer, "crop_zoom", NeuralRenderer.crop_zoom)
    frames = {}
    for renderer in ("warp", "neural-hybrid"):
        job = RenderJob(sources=[str(bundled_still)], driver="preset:talk", frames=FrameRange.parse("1-3"), crop_size=256,
                        renderer=renderer, checkpoint=path if renderer != "warp" else None,
                        output=OutputConfig(pattern=str(tmp_path / renderer / "shot.####.png"), bit_depth=16),
                        cache_dir=str(tmp_path / "cache"))
        result = AnimatePipeline(job).run()
        assert result.written == [1, 2, 3]
        frames[renderer] = read_image(str(tmp_path / renderer / "shot.0003.png")).rgb
    assert np.abs(frames["neural-hybrid"] - frames["warp"]).max() < 2 / 65535
