"""Benchmark the compiled operators against the best pure-PyTorch formulations, measured in the same run.

    python bench/ops.py                      # CPU, 2 threads, everything (a few minutes: torch.compile)
    python bench/ops.py --device cuda        # on a GPU
    python bench/ops.py --skip-compile       # without the torch.compile baseline (saves the compile time)
    python bench/ops.py --save-points p.npy  # write the face mesh's points, for a GPU machine without mediapipe
    python bench/ops.py --device cuda --points p.npy

Prints medians (ms), the speed-up of the kernel over the best baseline (>1: kernel faster), and the
memory-bandwidth floor of each op: the bytes it must move divided by this machine's copy bandwidth, measured
here too. On CUDA each sample is a batch of back-to-back calls timed with CUDA events (launches overlap as
they do inside a model), and larger sizes are added that do not fit in the GPU's L2 cache. The mesh is
real: MediaPipe's 478 landmarks on the bundled portrait, Delaunay-triangulated with a frame of fixed border
points, driven by an opening jaw and a small head turn.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import Delaunay

from portrait_animator import ops

STILL = Path(__file__).resolve().parents[1] / "core" / "assets" / "stills" / "eileen_collins_nasa.png"
ADAIN_SHAPES = [(8, 256, 64, 64), (1, 512, 32, 32)]
WARP_SIZES = [256, 512, 1024]
GPU_ADAIN_SHAPES = [(32, 256, 64, 64)]  # 128 MiB: larger than any GPU's L2, so the floor is DRAM's
GPU_WARP_SIZES = [2048]


CLOCK = time.perf_counter  # --clock cpu: time.thread_time, immune to other processes on a shared machine


def median_ms(fn, device: str, min_runs: int = 5, budget_s: float = 2.0) -> float:
    """Median time of fn() in ms, after two warm-up calls; runs until min_runs and budget_s are met."""
    if device == "cuda":
        return median_ms_cuda(fn, budget_s)
    for _ in range(2):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget_s and len(times) < 200):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return 1e3 * statistics.median(times)


def median_ms_cuda(fn, budget_s: float, min_samples: int = 10) -> float:
    """Median per-call time in ms of batches of calls (about 2 ms each) between two CUDA events."""
    for _ in range(3):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def sample(calls: int) -> float:
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / calls

    calls = max(1, min(200, round(2.0 / max(sample(1), 1e-3))))
    times, began = [], time.perf_counter()
    while len(times) < min_samples or (time.perf_counter() - began < budget_s and len(times) < 100):
        times.append(sample(calls))
    return statistics.median(times)


def copy_bandwidth_gbs(device: str) -> float:
    """Read + write bytes per second of a large tensor copy: the practical memory-bandwidth ceiling."""
    numel = (256 if device == "cpu" else 1024) * 2**20 // 4
    src = torch.rand(numel, device=device)
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src), device, min_runs=10)
    return 2 * src.numel() * 4 / (ms * 1e-3) / 1e9


def row(name: str, ms: float, best_ms: float | None = None, floor_ms: float | None = None) -> str:
    ratio = f"{best_ms / ms:5.2f}x" if best_ms else ""
    floor = f"{ms / floor_ms:5.1f}x floor" if floor_ms else ""
    return f"| {name:<48} | {ms:9.3f} | {ratio:>8} | {floor:>13} |"


def header(title: str) -> None:
    print(f"\n{title}\n| {'variant':<48} | {'median ms':>9} | {'speed-up':>8} | {'vs floor':>13} |")
    print(f"|{'-' * 50}|{'-' * 11}|{'-' * 10}|{'-' * 15}|")


# ------------------------------------------------------------------------------------------------- adain

def adain_mean_var(x, scale, bias, eps=1e-5):
    """The textbook formulation (what models write by hand); the torch.compile baseline compiles this."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) * torch.rsqrt(var + eps) * scale[:, :, None, None] + bias[:, :, None, None]


def adain_group_norm(x, scale, bias, eps=1e-5):
    n, c, h, w = x.shape
    return F.group_norm(x.reshape(1, n * c, h, w), n * c, scale.reshape(-1), bias.reshape(-1), eps).view_as(x)


def bench_adain(device: str, bandwidth: float, compile_baseline: bool) -> None:
    for shape in ADAIN_SHAPES + (GPU_ADAIN_SHAPES if device == "cuda" else []):
        n, c = shape[:2]
        x = torch.randn(shape, device=device)
        scale, bias = torch.randn(n, c, device=device), torch.randn(n, c, device=device)
        grad = torch.randn_like(x)
        out = torch.empty_like(x)
        floor_fwd = 2 * x.numel() * 4 / bandwidth / 1e6  # read x, write out (ms)
        floor_train = floor_fwd + 3 * x.numel() * 4 / bandwidth / 1e6  # + read grad, x; write grad x

        baselines = {"group_norm on (1, N*C, H, W)": adain_group_norm, "mean/var ops (eager)": adain_mean_var}
        if compile_baseline:
            baselines["torch.compile(mean/var ops)"] = torch.compile(adain_mean_var, dynamic=False)
        with torch.no_grad():
            fwd = {name: median_ms(lambda f=f: f(x, scale, bias), device) for name, f in baselines.items()}
            kernel = median_ms(lambda: ops.adain(x, scale, bias, backend="compiled"), device)
            kernel_out = median_ms(lambda: ops.adain(x, scale, bias, out=out, backend="compiled"), device)
        best = min(fwd.values())
        header(f"adain forward {tuple(shape)} float32 on {device}")
        for name, ms in fwd.items():
            print(row(name, ms, floor_ms=floor_fwd))
        print(row("kernel (allocates its output)", kernel, best, floor_fwd))
        print(row("kernel, out= buffer", kernel_out, best, floor_fwd))
        allocation = median_ms(lambda: torch.empty_like(x).fill_(0.0), device)
        print(f"(for scale: allocating an x-sized tensor and writing it once takes {allocation:.3f} ms here)")

        leaves = [t.clone().requires_grad_() for t in (x, scale, bias)]

        def train(f):
            for leaf in leaves:
                leaf.grad = None
            f(*leaves).backward(grad)

        train_ms = {name: median_ms(lambda f=f: train(f), device) for name, f in baselines.items()}
        kernel_train = median_ms(lambda: train(lambda *a: ops.adain(*a, backend="compiled")), device)
        _, mean, rstd = torch.ops.portrait_animator.adain(x, scale, bias, 1e-5)
        backward_op = median_ms(lambda: torch.ops.portrait_animator.adain_backward(grad, x, scale, mean, rstd,
                                                                                  [True, True, True]), device)
        best = min(train_ms.values())
        header(f"adain forward + backward {tuple(shape)} float32 on {device}")
        for name, ms in train_ms.items():
            print(row(name, ms, floor_ms=floor_train))
        print(row("kernel", kernel_train, best, floor_train))
        print(row("kernel: backward op alone (no autograd)", backward_op, floor_ms=floor_train - floor_fwd))


# --------------------------------------------------------------------------------------------- mesh warp

def read_still() -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(STILL)), cv2.COLOR_BGR2RGB)


def still_points(still: np.ndarray) -> np.ndarray:
    """MediaPipe's 478 face-mesh points on the bundled still, in its pixels (478, 2)."""
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as mesh:
        found = mesh.process(still).multi_face_landmarks
    if not found:
        raise SystemExit(f"bench: MediaPipe found no face in {STILL}")
    height, width = still.shape[:2]
    return np.array([(p.x * width, p.y * height) for p in found[0].landmark], np.float64)


def face_mesh(still: np.ndarray, points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                         np.ndarray]:
    """(crop image HWC float32, src points, dst points, triangles) for a size x size face crop."""
    centre = (points.min(0) + points.max(0)) / 2
    half = 0.75 * (points.max(0) - points.min(0)).max()
    x0, y0 = centre - half
    affine = np.array([[size / (2 * half), 0, -x0 * size / (2 * half)], [0, size / (2 * half), -y0 * size / (2 * half)]])
    crop = cv2.warpAffine(still, affine, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    src = points @ affine[:, :2].T + affine[:, 2]
    # Drive it: the jaw and lower lip drop by up to 4% of the crop, and the face turns 3 degrees.
    chin_y = src[:, 1].max()
    mouth_y = src[13, 1]  # MediaPipe index 13: upper inner lip
    drop = np.clip((src[:, 1] - mouth_y) / (chin_y - mouth_y), 0, 1) * 0.04 * size
    angle = np.deg2rad(3.0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    face_centre = src.mean(0)
    dst = (src - face_centre) @ rot.T + face_centre + np.stack([np.zeros_like(drop), drop], 1)
    ts = np.linspace(0, size, 5)
    frame = np.array([(x, y) for x in ts for y in ts if x in (0, size) or y in (0, size)], np.float64)
    src, dst = np.concatenate([src, frame]), np.concatenate([dst, frame])
    triangles = Delaunay(src).simplices.astype(np.int32)
    return crop.astype(np.float32) / 255.0, src.astype(np.float32), dst.astype(np.float32), triangles


def bench_mesh_warp(device: str, bandwidth: float, points: np.ndarray) -> None:
    still = read_still()
    for size in WARP_SIZES + (GPU_WARP_SIZES if device == "cuda" else []):
        crop, src_np, dst_np, tris_np = face_mesh(still, points, size)
        image = torch.from_numpy(crop).permute(2, 0, 1)[None].contiguous().to(device)
        src, dst = torch.from_numpy(src_np)[None].to(device), torch.from_numpy(dst_np)[None].to(device)
        tris = torch.from_numpy(tris_np).to(device)
        pixels = size * size
        floor_fwd = 2 * 3 * 4 * pixels / bandwidth / 1e6  # read the image, write the output (float32 RGB)
        # + triangle index out and back in, grad_out and image in, grad image written and zeroed first
        floor_train = floor_fwd + (4 + 4 + 12 + 12 + 12 + 12) * pixels / bandwidth / 1e6
        grid = ops.mesh_warp_grid(src, dst, tris, (size, size), backend="compiled")
        norm_grid = ops.normalize_grid(grid, (size, size))
        out = torch.empty_like(image)

        def grid_then_sample(image, src, dst):
            """The unfused pipeline at its best: the grid from our kernel, then grid_sample."""
            dense = ops.mesh_warp_grid(src, dst, tris, (size, size), backend="compiled")
            return F.grid_sample(image, ops.normalize_grid(dense, (size, size)), padding_mode="border",
                                 align_corners=False)

        with torch.no_grad():
            reference = median_ms(lambda: ops.mesh_warp(image, src, dst, tris, backend="reference"), device)
            unfused = median_ms(lambda: grid_then_sample(image, src, dst), device)
            sample_only = median_ms(lambda: F.grid_sample(image, norm_grid, padding_mode="border",
                                                          align_corners=False), device)
            kernel = median_ms(lambda: ops.mesh_warp(image, src, dst, tris, backend="compiled"), device)
            kernel_out = median_ms(lambda: ops.mesh_warp(image, src, dst, tris, out=out, backend="compiled"),
                                   device)
            kernel_grid = median_ms(lambda: ops.mesh_warp_grid(src, dst, tris, (size, size), backend="compiled"),
                                    device)
        header(f"mesh_warp forward {size}x{size} RGB float32, {len(src_np)} points, {len(tris_np)} triangles, "
               f"on {device}")
        print(row("reference: raster + grid_sample (pure PyTorch)", reference, floor_ms=floor_fwd))
        print(row("mesh_warp_grid kernel + grid_sample", unfused, floor_ms=floor_fwd))
        print(row("grid_sample alone (grid precomputed)", sample_only, floor_ms=floor_fwd))
        if device == "cpu":
            map_xy = (grid[0].cpu().numpy() - 0.5).astype(np.float32)
            map_x, map_y = np.ascontiguousarray(map_xy[..., 0]), np.ascontiguousarray(map_xy[..., 1])
            fixed_xy, fixed_frac = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
            dst_hwc = np.empty_like(crop)
            remap = median_ms(lambda: cv2.remap(crop, map_x, map_y, cv2.INTER_LINEAR, dst=dst_hwc,
                                                borderMode=cv2.BORDER_REPLICATE), device)
            remap_fixed = median_ms(lambda: cv2.remap(crop, fixed_xy, fixed_frac, cv2.INTER_LINEAR, dst=dst_hwc,
                                                      borderMode=cv2.BORDER_REPLICATE), device)
            print(row("cv2.remap alone (float map precomputed, HWC)", remap, floor_ms=floor_fwd))
            print(row("cv2.remap alone (fixed-point map, HWC)", remap_fixed, floor_ms=floor_fwd))
        print(row("kernel: mesh_warp_grid alone", kernel_grid))
        print(row("kernel: mesh_warp (allocates its output)", kernel, unfused, floor_fwd))
        print(row("kernel: mesh_warp, out= buffer", kernel_out, unfused, floor_fwd))
        print(f"(speed-up: against mesh_warp_grid + grid_sample; against the pure-PyTorch reference "
              f"{reference / kernel:.0f}x, against grid_sample alone {sample_only / kernel_out:.2f}x with out=)")

        leaves = [t.clone().requires_grad_() for t in (image, src, dst)]
        grad = torch.randn_like(image)

        def train(warp):
            for leaf in leaves:
                leaf.grad = None
            warp(*leaves).backward(grad)

        reference_train = median_ms(lambda: train(lambda *a: ops.mesh_warp(*a, tris, backend="reference")), device)
        unfused_train = median_ms(lambda: train(grid_then_sample), device)
        kernel_train = median_ms(lambda: train(lambda *a: ops.mesh_warp(*a, tris, backend="compiled")), device)
        header(f"mesh_warp forward + backward (image and both point sets) {size}x{size} on {device}")
        print(row("reference: raster + grid_sample (pure PyTorch)", reference_train, floor_ms=floor_train))
        print(row("mesh_warp_grid kernel + grid_sample", unfused_train, floor_ms=floor_train))
        print(row("kernel", kernel_train, unfused_train, floor_train))
        print(f"(speed-up: against mesh_warp_grid + grid_sample; against the pure-PyTorch reference "
              f"{reference_train / kernel_train:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-compile", action="store_true", help="no torch.compile baseline for adain")
    parser.add_argument("--only", choices=["adain", "mesh_warp"], help="run one operator's benchmarks")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: this thread's CPU time (with --threads 1 on a CPU shared with other jobs)")
    parser.add_argument("--points", type=Path, help="the face mesh's points from --save-points (no mediapipe)")
    parser.add_argument("--save-points", type=Path, help="detect the face mesh's points, write them, and exit")
    args = parser.parse_args()
    if args.save_points:
        np.save(args.save_points, still_points(read_still()))
        return
    if args.clock == "cpu":
        if args.threads != 1 or args.device != "cpu":
            parser.error("--clock cpu measures one thread: use it with --threads 1 on the CPU")
        global CLOCK
        CLOCK = time.thread_time
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    status = ops.status()
    if not status[f"{args.device}_kernels"]:
        raise SystemExit(f"bench: no compiled {args.device} kernels ({status['load_error'] or 'not built'})")
    bandwidth = copy_bandwidth_gbs(args.device)
    card = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {args.device} ({card}), {args.threads} threads, {args.clock} clock, "
          f"copy bandwidth {bandwidth:.1f} GB/s (read + write), load average {os.getloadavg()[0]:.1f}")
    if args.only in (None, "adain"):
        bench_adain(args.device, bandwidth, not args.skip_compile)
    if args.only in (None, "mesh_warp"):
        points = (np.load(args.points) if args.points else
                  still_points(read_still()))
        bench_mesh_warp(args.device, bandwidth, points)


if __name__ == "__main__":
    main()
