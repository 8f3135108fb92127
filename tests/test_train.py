"""Training on real frames with tiny networks: one step, resume, torchrun (2 CPU processes, gloo) vs one
process, overfitting one clip, and fine-tuning towards one person."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from conftest import media_path
from portrait_animator.io.metadata import read_frame_metadata
from portrait_animator.io.provenance import SYNTHETIC_STATEMENT
from portrait_animator.models.checkpoint import load_model, read_checkpoint
from portrait_animator.render.base import SourceShot
from portrait_animator.train.config import FinetuneConfig, TrainConfig
from portrait_animator.train.episodes import to_network
from portrait_animator.train.finetune import finetune_on_shots
from portrait_animator.train.meta import train
from portrait_animator.train.prepare import prepare_data
from portrait_animator.sketch import draw_sketch
from portrait_animator.train.shards import DatasetIndex, VideoShard, encode_crop, read_shard, write_shard

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The paper's topology (downsampling + attention at 32², AdaIN residual and upsampling blocks) at 64².
TINY_PAPER = {"image_size": 64, "base_channels": 8, "max_channels": 32, "bottleneck_size": 8,
              "embedder_final_size": 4, "residual_blocks": 1, "attention_down_size": 32, "attention_up_size": 32}
CLIPS = {"alice": "styletalk_vscodehappy_clip1.mp4", "bob": "dreamtalk_mead_w009_neutral.mp4"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks gain nothing from a second thread, and lose badly when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _shrink(shard: VideoShard, size: int, frames: int | None = None) -> VideoShard:
    """A real shard at ``size``² (tests train at 64², where a step takes milliseconds), first ``frames``."""
    scale = size / 256
    count = len(shard) if frames is None else frames
    crops = [encode_crop(cv2.resize((shard.image(i) * 255).round().astype(np.uint8), (size, size),
                                    interpolation=cv2.INTER_AREA)) for i in range(count)]
    return VideoShard(shard.video_id, crops, shard.landmarks[:count] * scale, shard.frame_numbers[:count],
                      shard.crop_from_frame * scale, None, dict(shard.meta))


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """Two real clips (two persons): 8 frames each (every 4th), aligned by prepare_data, shrunk to 64²."""
    videos = tmp_path_factory.mktemp("videos")
    for person, clip in CLIPS.items():
        (videos / person).mkdir()
        os.symlink(media_path("driving", clip), videos / person / clip)
    full = prepare_data(str(videos), str(tmp_path_factory.mktemp("full")), 256, every=4)
    root = tmp_path_factory.mktemp("tiny")
    (root / "videos").mkdir()
    index = DatasetIndex(str(root), 64, landmark_backend=full.landmark_backend)
    for video in full.videos:
        write_shard(str(root / video["file"]), _shrink(read_shard(full.shard_path(video)), 64, frames=8))
        index.videos.append({**video, "frames": 8})
    index.save()
    return str(root)


def _config(dataset, out, **changes):
    base = dict(dataset=dataset, out_dir=str(out), network="paper", network_overrides=TINY_PAPER, steps=1,
                batch_size=2, k_shots=2, content_loss="l1-msssim", checkpoint_every=1000, sample_every=0,
                log_every=1, loader_workers=0, device="cpu", discriminator_steps=1)
    base.update(changes)
    return TrainConfig(**base)


def _weights(path):
    return read_checkpoint(path)[1]


def _first_gradients(run) -> dict:
    """Each parameter's gradient of step 1, from Adam's first moment (m = (1 − β₁)·g) in the run's state."""
    from safetensors import safe_open

    from portrait_animator.models.discriminator import Discriminator
    from portrait_animator.train.meta import MetaModel

    card, parts = read_checkpoint(str(run / "checkpoints" / "step_0000001.safetensors"))
    names = {"generator": [n for n, _ in MetaModel(card.network).named_parameters()],
             "discriminator": [n for n, _ in Discriminator(
                 card.network, len(parts["discriminator"]["video_embeddings"])).named_parameters()]}
    grads = {}
    with safe_open(str(run / "checkpoints" / "train_state.safetensors"), framework="pt") as handle:
        for optimiser, params in names.items():
            for i, name in enumerate(params):
                part = name.split(".", 1)[0] if optimiser == "generator" else "discriminator"
                key = name.split(".", 1)[1] if optimiser == "generator" else name
                grads[part, key] = handle.get_tensor(f"{optimiser}.{i}.exp_avg") / (1 - 0.5)
    return grads


def _assert_same_weights(a, b, atol):
    assert a.keys() == b.keys()
    for part in a:
        for key in a[part]:
            torch.testing.assert_close(a[part][key], b[part][key], atol=atol, rtol=0,
                                       msg=lambda m, k=f"{part}.{key}": f"{k}: {m}")


def test_one_step_writes_a_checkpoint_log_and_samples(tiny_dataset, tmp_path):
    config = _config(tiny_dataset, tmp_path / "run", steps=2, sample_every=2, kind="neural-hybrid",
                     network_overrides={**TINY_PAPER})
    # The hybrid needs the warp renderer's input: a 64² warp of a real frame.
    path = train(config)
    model = load_model(path, with_discriminator=True)
    assert model.card.stage == "meta" and model.card.training["steps"] == 2
    assert model.card.training["data"]["persons"] == ["alice", "bob"]
    assert model.card.training["losses"]["content"]["kind"] == "l1-msssim"
    assert "video_embeddings" not in _weights(path)["discriminator"]  # the shippable file drops W
    assert len(_weights(str(tmp_path / "run" / "checkpoints" / "step_0000002.safetensors"))["discriminator"]
               ["video_embeddings"]) == 2
    log = [json.loads(line) for line in open(tmp_path / "run" / "log.jsonl")]
    assert [entry["step"] for entry in log] == [1, 2] and np.isfinite(log[-1]["generator"])
    grid = cv2.imread(str(tmp_path / "run" / "samples" / "step_0000002.png"))
    assert grid.shape == (2 * 64, 5 * 64, 3) and grid.std() > 10  # shot, sketch, warp, output, real
    label = read_frame_metadata(tmp_path / "run" / "samples" / "step_0000002.png")
    assert label["synthetic"] == SYNTHETIC_STATEMENT and (label["content"], label["step"]) == ("training samples", "2")


def test_resumed_run_equals_an_uninterrupted_one(tiny_dataset, tmp_path):
    straight = train(_config(tiny_dataset, tmp_path / "straight", steps=3))
    train(_config(tiny_dataset, tmp_path / "resumed", steps=2))
    resumed = train(_config(tiny_dataset, tmp_path / "resumed", steps=3))
    _assert_same_weights(_weights(straight), _weights(resumed), atol=0)
    with pytest.raises(Exception, match="k_shots"):
        train(_config(tiny_dataset, tmp_path / "resumed", steps=4, k_shots=3))


@pytest.mark.slow
def test_torchrun_two_gloo_processes_take_the_same_step_as_one(tiny_dataset, tmp_path):
    args = ["train", "--data", tiny_dataset, "--network", "paper", "--steps", "1", "--batch-size", "2",
            "--k-shots", "2", "--content-loss", "l1-msssim", "--loader-workers", "0", "--device", "cpu",
            "--discriminator-steps", "1", "--progress", "none", "--network-overrides", json.dumps(TINY_PAPER)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single = subprocess.run([sys.executable, "-m", "portrait_animator", *args, "-o", str(tmp_path / "one")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "portrait_animator", *args, "-o", str(tmp_path / "two")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-2000:]
    one_step = "checkpoints/step_0000001.safetensors"
    assert json.loads(open(tmp_path / "two" / "checkpoints" / "step_0000001.card.json").read())[
        "training"]["processes"] == 2
    one, two = _weights(str(tmp_path / "one" / one_step)), _weights(str(tmp_path / "two" / one_step))
    grads_one, grads_two = _first_gradients(tmp_path / "one"), _first_gradients(tmp_path / "two")
    compared = mismatched = 0
    scales = {}
    for (part, _), g in grads_one.items():
        scales[part] = max(scales.get(part, 0.0), g.abs().max().item())
    for part, name in grads_one:
        g1, g2 = grads_one[part, name], grads_two[part, name]
        scale = scales[part]
        # DDP's averaged gradient is the single process's batch gradient, up to float32 summation order
        # (amplified by instance norms of near-constant planes; a wrong average would be off by ~|g|) ...
        torch.testing.assert_close(g2, g1, atol=1e-3 * scale, rtol=1e-2)
        # ... so every weight took the same Adam step, except where the gradient is only rounding noise
        # (e.g. conv biases in front of an instance norm, which cancels them): there Adam's first step is
        # a full learning rate in the noise's direction, so those weights may be up to 2 rates apart.
        lr = 5e-5 if part != "discriminator" else 2e-4
        differs = (two[part][name] - one[part][name]).abs() > 1e-6
        assert not (differs & (g1.abs() > 1e-2 * scale)).any(), f"{part}.{name}"
        assert (two[part][name] - one[part][name]).abs().max().item() <= 2 * lr + 1e-6
        mismatched += int(differs.sum())
        compared += g1.numel()
    assert mismatched < 0.01 * compared, f"{mismatched} of {compared} weights differ"


def _frames(dataset, person):
    index = DatasetIndex.load(dataset).select([person])
    shard = read_shard(index.shard_path(index.videos[0]))
    images = torch.stack([to_network(shard.image(i)) for i in range(len(shard))])
    sketches = torch.stack([to_network(draw_sketch(shard.landmarks[i], 64)) for i in range(len(shard))])
    return shard, images, sketches


def _generate(model, sketches, psi):
    model.generator.eval()
    with torch.no_grad():
        return model.generator(sketches, psi.expand(len(sketches), -1))


def _psnr(a, b):
    return float(10 * torch.log10(4.0 / ((a - b) ** 2).mean()))  # images in [-1, 1]: peak-to-peak 2


@pytest.fixture(scope="module")
def overfit_run(tiny_dataset, tmp_path_factory):
    """The tiny paper-topology model trained on one short real clip (8 frames of one person) only."""
    out = tmp_path_factory.mktemp("overfit")
    train(_config(tiny_dataset, out, steps=80, persons=["alice"], lr_generator=1e-3, lr_discriminator=1e-3,
                  log_every=10))
    return out


@pytest.mark.slow
def test_a_tiny_paper_model_overfits_one_real_clip(tiny_dataset, overfit_run):
    log = [json.loads(line) for line in open(overfit_run / "log.jsonl")]
    assert log[-1]["content"] < 0.25 * log[0]["content"], [entry["content"] for entry in log]  # loss falls
    model = load_model(str(overfit_run / "model.safetensors"))
    shard, images, sketches = _frames(tiny_dataset, "alice")
    with torch.no_grad():
        embedding = model.embedder.embed_shots(images[None, :2], sketches[None, :2])
    generated = _generate(model, sketches, model.generator.adain_parameters(embedding))
    psnr = np.mean([_psnr(g, r) for g, r in zip(generated, images)])
    mean_frame = images.mean(0, keepdim=True)  # the best constant image in the squared-error sense
    baseline = np.mean([_psnr(mean_frame[0], r) for r in images])
    assert psnr > baseline + 0.5, (psnr, baseline)  # closer to each frame than the clip's mean frame ...
    distances = (generated[:, None] - images[None]).abs().mean(dim=(2, 3, 4))
    own = (distances.argmin(dim=1) == torch.arange(len(images))).float().mean().item()
    assert own >= 0.5, own  # ... and frame-specific: most outputs are nearest their own frame (chance: 1/8)


@pytest.mark.slow
def test_finetuning_on_one_frame_moves_the_output_towards_that_person(tiny_dataset, overfit_run):
    """A model that has only seen alice, fine-tuned on frame 1 of bob, judged on bob's other frames."""
    model = load_model(str(overfit_run / "model.safetensors"), with_discriminator=True)
    shard, images, sketches = _frames(tiny_dataset, "bob")
    shot = SourceShot(rgb=shard.image(0), landmarks=shard.landmarks[0])
    with torch.no_grad():
        embedding = model.embedder.embed_shots(images[None, :1], sketches[None, :1])
    feed_forward = _generate(model, sketches[1:], model.generator.adain_parameters(embedding))
    config = FinetuneConfig(checkpoint="", sources=[], output="", steps=40, content_loss="l1-msssim")
    result = finetune_on_shots(model, [shot], config, torch.device("cpu"))
    torch.testing.assert_close(result["w"], embedding, atol=0.5, rtol=0.5)  # w′ starts at ê and moves a little
    finetuned = _generate(model, sketches[1:], result["psi"])
    before = (feed_forward - images[1:]).abs().mean().item()
    after = (finetuned - images[1:]).abs().mean().item()
    assert after < 0.6 * before, (before, after)
    assert result["summary"]["content_last_steps"] < result["summary"]["content_first_steps"]


@pytest.mark.slow
def test_sigterm_checkpoints_the_run_and_the_same_command_resumes_it(tiny_dataset, tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    command = [sys.executable, "-m", "portrait_animator", "train", "--data", tiny_dataset, "-o", str(out),
               "--network", "paper", "--network-overrides", json.dumps(TINY_PAPER), "--steps", "1000",
               "--batch-size", "2", "--k-shots", "2", "--content-loss", "l1-msssim", "--loader-workers", "0",
               "--device", "cpu", "--log-every", "1", "--checkpoint-every", "1000", "--progress", "none"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = out / "log.jsonl"
    deadline = time.monotonic() + 240
    while not (log.exists() and log.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-2000:]
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "run the same command again to resume" in stderr
    saved = sorted(p.name for p in (out / "checkpoints").glob("step_*.safetensors"))
    assert len(saved) == 1
    stopped_at = int(saved[0][5:12])
    assert stopped_at >= 2
    command[command.index("--steps") + 1] = str(stopped_at + 1)
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    steps = [json.loads(line)["step"] for line in log.read_text().splitlines()]
    assert steps[-1] == stopped_at + 1 and load_model(str(out / "model.safetensors")).card.training["steps"] == stopped_at + 1
