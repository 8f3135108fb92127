"""``finetune`` then ``animate --renderer neural`` from the command line, on the bundled still."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from portrait_animator.io.images import read_image
from portrait_animator.io.metadata import read_frame_metadata
from portrait_animator.models.checkpoint import ModelCard, load_model, save_checkpoint
from portrait_animator.models.config import network_config
from portrait_animator.models.discriminator import Discriminator
from portrait_animator.models.embedder import Embedder
from portrait_animator.models.generator import Generator


def _cli(*args, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "portrait_animator", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_finetune_a_still_then_animate_with_the_persons_checkpoint(tmp_path, bundled_still):
    torch.manual_seed(0)
    network = network_config("small", kind="neural-paper")
    meta = str(tmp_path / "meta.safetensors")
    d_state = {k: v for k, v in Discriminator(network, 3).state_dict().items() if k != "video_embeddings"}
    card = save_checkpoint(meta, ModelCard(network=network, data_licences=["MIT"]),
                           {"embedder": Embedder(network), "generator": Generator(network), "discriminator": d_state})
    person = str(tmp_path / "person.safetensors")
    done = _cli("finetune", "--checkpoint", meta, "--source", str(bundled_still), "-o", person, "--steps", "3",
                "--content-loss", "l1-msssim", "--device", "cpu", "--progress", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["done"] for e in events if e["event"] == "progress"] == [1, 2, 3]
    tuned = load_model(person)
    assert tuned.card.stage == "finetuned" and tuned.embedder is None
    assert tuned.card.training["finetuning"]["parent_checkpoint"] == card.id
    assert tuned.card.training["finetuning"]["sources"][0]["file"] == bundled_still.name
    assert tuned.card.data_licences == ["MIT"]

    again = _cli("finetune", "--checkpoint", meta, "--source", str(bundled_still), "-o", person, "--steps", "1",
                 "--content-loss", "l1-msssim", "--device", "cpu")
    assert again.returncode == 2 and "already exists" in again.stderr  # the person's file is kept
    refused = _cli("finetune", "--checkpoint", person, "--source", str(bundled_still), "-o",
                   str(tmp_path / "x.safetensors"), "--content-loss", "l1-msssim", "--device", "cpu")
    assert refused.returncode == 2 and "meta-learned" in refused.stderr

    out = tmp_path / "frames" / "shot.####.png"
    animated = _cli("animate", "--source", str(bundled_still), "--driver", "preset:talk", "--frames", "1-2",
                    "--crop-size", "256", "--renderer", "neural", "--checkpoint", person, "--device", "cpu",
                    "--out", str(out), "--progress", "none")
    assert animated.returncode == 0, animated.stderr[-2000:]
    frame = tmp_path / "frames" / "shot.0002.png"
    still = read_image(str(bundled_still)).rgb
    rendered = read_image(str(frame)).rgb
    assert rendered.shape == still.shape
    changed = np.abs(rendered - still).max(axis=2) > 0.02
    assert 0.01 < changed.mean() < 0.5  # the face region is repainted, the rest of the still is not
    metadata = read_frame_metadata(str(frame))
    assert any("neural-paper" in str(v) for v in metadata.values())
