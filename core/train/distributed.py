"""Data-parallel training under ``torchrun``: one process per device (or per CPU share), gloo or NCCL.

``torchrun --nproc-per-node N -m portrait_animator train ...`` sets RANK/WORLD_SIZE/MASTER_ADDR; a
plain run has none and trains alone. Gradients are averaged by DistributedDataParallel, so N processes
with B/N episodes each take the same step as one process with B episodes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..models.device import pick_device


@dataclass
class Placement:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start(device: str = "auto") -> Placement:
    """Join the process group when started by torchrun; otherwise a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    placement_device = pick_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if placement_device.type == "cuda" else "gloo"
        if placement_device.type == "cuda":
            torch.cuda.set_device(placement_device)
        dist.init_process_group(backend)
    rank = dist.get_rank() if dist.is_initialized() else 0
    return Placement(rank=rank, world_size=world, device=placement_device)


def wrap(module: nn.Module, placement: Placement) -> nn.Module:
    """DDP around ``module`` when distributed (parameters broadcast from rank 0), else the module."""
    if not placement.distributed:
        return module
    ids = [placement.device.index] if placement.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def barrier(placement: Placement) -> None:
    if placement.distributed:
        dist.barrier()


def mean_across(value: float, placement: Placement) -> float:
    """A logged number averaged over the processes."""
    if not placement.distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=placement.device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / placement.world_size


def any_across(flag: bool, placement: Placement) -> bool:
    """True on every process when ``flag`` is true on any (so all stop at the same step, none hangs)."""
    if not placement.distributed:
        return flag
    tensor = torch.tensor([1.0 if flag else 0.0], device=placement.device)
    dist.all_reduce(tensor)
    return bool(tensor.item() > 0)


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
