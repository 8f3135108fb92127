"""Resumable training state (optimiser moments, step, random generators) in safetensors, never pickled.

The networks themselves are in the run's regular checkpoints; this file holds what a checkpoint does
not: Adam's moments, the step count and the RNG states, plus the name of the checkpoint it goes with.
"""

from __future__ import annotations

import json
import os

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import UnreadableFileError

STATE_FORMAT = "portrait-animator/train-state"


def _flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state = optimizer.state_dict()
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if not isinstance(value, torch.Tensor):
                value = torch.tensor(value)
            tensors[f"{prefix}.{index}.{key}"] = value.detach().cpu().contiguous().clone()
    meta[prefix] = json.dumps(state["param_groups"])


def _restore_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict, meta: dict, path: str):
    if prefix not in meta:
        raise UnreadableFileError(f"{path}: no state for optimiser '{prefix}'")
    state: dict = {}
    for name, tensor in tensors.items():
        if name.startswith(prefix + "."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = tensor
    groups = json.loads(meta[prefix])
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError) as exc:
        raise UnreadableFileError(f"{path}: optimiser '{prefix}' does not fit this model ({exc})") from None


def save_train_state(path: str, step: int, checkpoint: str, optimizers: dict[str, torch.optim.Optimizer],
                     rng_state: torch.Tensor) -> None:
    tensors: dict = {"rng.torch": rng_state.clone()}
    meta = {"format": STATE_FORMAT, "step": str(step), "checkpoint": checkpoint}
    for name, optimizer in optimizers.items():
        _flatten_optimizer(name, optimizer, tensors, meta)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_train_state(path: str, optimizers: dict[str, torch.optim.Optimizer]) -> tuple[int, str, torch.Tensor]:
    """Restore the optimisers in place; returns (step, checkpoint file name, torch RNG state)."""
    try:
        with safe_open(path, framework="pt") as handle:
            meta = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:  # safetensors' own error types for damaged files
        raise UnreadableFileError(f"{path}: unreadable training state ({exc})") from None
    if meta.get("format") != STATE_FORMAT:
        raise UnreadableFileError(f"{path}: not a Portrait Animator training state")
    for name, optimizer in optimizers.items():
        _restore_optimizer(name, optimizer, tensors, meta, path)
    return int(meta["step"]), meta["checkpoint"], tensors["rng.torch"]
