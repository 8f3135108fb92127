"""Neural system speed on this machine: training steps per second and rendering frames per second at 256².

    .venv/bin/python bench/neural.py [--configs small,paper] [--repeat 3] [--frames 10] [--threads N]
    .venv/bin/python bench/neural.py --save-batches DIR      # the episode batches, for another machine
    python bench/neural.py --device cuda --batches DIR     # training and rendering on a GPU, from DIR

Training: ``MetaLearner.step`` (E/G update + one D update, weight-free content loss) on a batch of 2
real episodes (K = 2) from the shared clips, per network configuration and kind; the ratio is against the
``small`` neural-paper step measured in the same process. Rendering: ``render()`` per frame of a talking
preset on the bundled still at crop size 256 (paste-back and writing excluded); the baseline is the warp
renderer in the same process (on the CPU: it has no GPU path). Each figure is the best of ``--repeat`` runs
(the least disturbed on a shared machine); the load average is printed so a reader can judge the noise.
Neither half needs MediaPipe or OpenImageIO when it reads what ``--save-batches`` wrote (the episode
batches, and the analysed still with its targets).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from portrait_animator.models.config import network_config
from portrait_animator.models.losses.content import build_content_loss
from portrait_animator.train import distributed
from portrait_animator.train.config import TrainConfig
from portrait_animator.train.meta import MetaLearner
from shot import MEDIA

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STILL = os.path.join(ROOT, "core", "assets", "stills", "eileen_collins_nasa.png")


def best_time(run, repeat: int) -> float:
    run()  # warm-up: first-call allocations and kernel selection
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def batch_file(folder: str, hybrid: bool) -> str:
    """Where ``--save-batches`` puts (and ``--batches`` finds) one kind's episode batch."""
    return os.path.join(folder, f"episodes-{'hybrid' if hybrid else 'paper'}.pt")


def episode_batch(scratch: str, hybrid: bool, saved: str | None = None) -> dict:
    """Two episodes of a real clip (prepared here), or the batch ``--save-batches`` wrote to ``saved``."""
    if saved:
        return torch.load(batch_file(saved, hybrid), weights_only=True)
    from portrait_animator.train.episodes import EpisodeDataset
    from portrait_animator.train.prepare import prepare_data

    folder = os.path.join(scratch, "videos")
    os.makedirs(folder, exist_ok=True)
    link = os.path.join(folder, "clip.mp4")
    if not os.path.exists(link):
        os.symlink(os.path.join(MEDIA, "driving", "styletalk_vscodehappy_clip1.mp4"), link)
    index = prepare_data(folder, os.path.join(scratch, "dataset"), 256, every=10)
    dataset = EpisodeDataset(index, 2, hybrid=hybrid)
    return torch.utils.data.default_collate([dataset[0], dataset[1]])


def render_inputs(scratch: str, frames: int, saved: str | None = None):
    """The bundled still analysed at crop 256 and ``frames`` targets of preset:talk, or what
    ``--save-batches`` wrote to ``saved``."""
    from portrait_animator.render.base import SourceFace, SourceShot, TargetFace

    if saved:
        arrays = dict(np.load(os.path.join(saved, "render-inputs.npz")))
    else:
        from portrait_animator.cache import FileCache
        from portrait_animator.config import MotionConfig, RenderJob
        from portrait_animator.face_analysis import analyse_source
        from portrait_animator.motion import MotionTransfer
        from portrait_animator.presets import preset_track

        source = analyse_source(RenderJob(sources=[STILL], driver="preset:talk", crop_size=256),
                                FileCache(os.path.join(scratch, "cache")))
        track = preset_track("talk", source.crop.landmarks, frames=frames, seed=0)
        shapes = MotionTransfer(MotionConfig(), source.crop.landmarks, source.crop.dense).transfer(track)
        arrays = {"rgb": source.crop.rgb, "landmarks": source.crop.landmarks, "dense": source.crop.dense,
                  "crop_from_still": source.crop_from_still, "still_rgb": source.still_rgb,
                  "target_landmarks": shapes.landmarks[:frames], "target_dense": shapes.dense[:frames]}
    source = SourceFace([SourceShot(arrays["rgb"], arrays["landmarks"], arrays["dense"])], arrays["rgb"].shape[0],
                        arrays["crop_from_still"], arrays["still_rgb"])
    targets = [TargetFace(i + 1, lm, dense)
               for i, (lm, dense) in enumerate(zip(arrays["target_landmarks"], arrays["target_dense"]))]
    return source, targets, arrays


def bench_training(configs, repeat, scratch, device, saved):
    print(f"\n## Training step (batch 2 episodes, K = 2, weight-free content loss, 1 D step) on {device}")
    placement = distributed.Placement(0, 1, torch.device(device))
    baseline = None
    for name in configs:
        for kind in ("neural-paper", "neural-hybrid"):
            network = network_config(name, kind=kind)
            learner = MetaLearner(TrainConfig(dataset="", out_dir="", discriminator_steps=1), network, 2,
                                  placement, build_content_loss("l1-msssim"))
            batch = episode_batch(scratch, network.hybrid, saved)  # step() ends in .item(): synchronised
            seconds = best_time(lambda: learner.step(batch), repeat)
            baseline = baseline or seconds
            print(f"{name:>6} {kind:<14} {seconds:7.2f} s/step  {1 / seconds:6.3f} steps/s  "
                  f"x{seconds / baseline:5.2f} the small neural-paper step")


def bench_rendering(configs, repeat, frames, scratch, device, saved):
    from portrait_animator.models.checkpoint import ModelCard, build_generator, load_model, save_checkpoint
    from portrait_animator.models.embedder import Embedder
    from portrait_animator.render.neural import NeuralRenderer
    from portrait_animator.render.warp import WarpRenderer

    source, targets, _ = render_inputs(scratch, frames, saved)
    frames = len(targets)
    print(f"\n## Rendering at 256² (render() only, {frames} frames of preset:talk on the bundled still); "
          f"neural renderers on {device}")

    def fps(renderer) -> float:
        renderer.prepare(source)
        return frames / best_time(lambda: [renderer.render(t) for t in targets], repeat)

    warp = fps(WarpRenderer())
    print(f"{'warp':>26} {warp:7.1f} frames/s  (baseline)")
    for name in configs:
        for kind in ("neural-paper", "neural-hybrid"):
            network = network_config(name, kind=kind)
            torch.manual_seed(0)
            path = os.path.join(scratch, f"{name}-{kind}.safetensors")
            save_checkpoint(path, ModelCard(network=network),
                            {"embedder": Embedder(network), "generator": build_generator(network)})
            rate = fps(NeuralRenderer(load_model(path, device), path, torch.device(device)))
            print(f"{name + ' ' + kind:>26} {rate:7.1f} frames/s  x{rate / warp:5.3f} the warp's rate")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="small,paper")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-rendering", action="store_true")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where the training steps and the neural renderers run")
    parser.add_argument("--batches", help="read the episode batches --save-batches wrote here")
    parser.add_argument("--save-batches", help="write the episode batches and rendering inputs here and exit")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    configs = [c for c in args.configs.split(",") if c]
    card = torch.cuda.get_device_name() if args.device == "cuda" else platform.machine()
    print(f"machine: {card}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}")
    import tempfile
    with tempfile.TemporaryDirectory(prefix="bench-neural-") as scratch:
        if args.save_batches:
            os.makedirs(args.save_batches, exist_ok=True)
            for hybrid in (False, True):
                torch.save(episode_batch(scratch, hybrid), batch_file(args.save_batches, hybrid))
            inputs = render_inputs(scratch, args.frames)[2]
            np.savez(os.path.join(args.save_batches, "render-inputs.npz"), **inputs)
            return
        if not args.skip_training:
            bench_training(configs, args.repeat, scratch, args.device, args.batches)
        if not args.skip_rendering:
            bench_rendering(configs, args.repeat, args.frames, scratch, args.device, args.batches)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
