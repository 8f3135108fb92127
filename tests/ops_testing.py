"""Helpers shared by the operator tests (tests/test_ops_*.py): devices, poisoned outputs, fresh seeds."""

from __future__ import annotations

import contextlib
import os
import secrets

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from portrait_animator.ops import registration

NO_GPU = "no CUDA device here: the CUDA kernels are compiled (see test_ops_build) but can only run on a GPU"
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_GPU)]),
]


def require_kernel(op: str, device: str) -> None:
    """Fail (not skip) when the extension lacks a kernel the build should have produced."""
    assert registration.has_kernel(op, device), (
        f"portrait_animator::{op} has no {device} kernel: {registration.LOAD_ERROR or 'built without it'}; "
        "build with `python setup.py build_ext --inplace`")


def fresh_generator(device: str = "cpu") -> torch.Generator:
    """A generator with a new seed every run (printed, so a failure can be replayed with
    PORTRAIT_ANIMATOR_TEST_SEED=<seed>)."""
    seed = int(os.environ.get("PORTRAIT_ANIMATOR_TEST_SEED") or secrets.randbits(31))
    print(f"random seed: {seed} (replay with PORTRAIT_ANIMATOR_TEST_SEED={seed})")
    return torch.Generator(device).manual_seed(seed)


@contextlib.contextmanager
def poisoned_outputs():
    """Every tensor allocated inside (the kernels' outputs included) starts as NaN / the largest integer, so
    an element a kernel forgets to write fails the comparison instead of passing by luck."""
    saved_mode = torch.are_deterministic_algorithms_enabled()
    saved_fill = torch.utils.deterministic.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True)
    torch.utils.deterministic.fill_uninitialized_memory = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved_mode)
        torch.utils.deterministic.fill_uninitialized_memory = saved_fill


def poison_like(tensor: torch.Tensor) -> torch.Tensor:
    """An out= buffer of tensor's shape and dtype, filled with NaN."""
    return torch.full_like(tensor, float("nan"), memory_format=torch.contiguous_format)


def ran_ops(fn) -> set[str]:
    """Names of the portrait_animator operators that ``fn()`` dispatched (from the profiler)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return {event.name for event in prof.events() if event.name.startswith(f"{registration.NAMESPACE}::")}


def assert_close(actual: torch.Tensor, expected: torch.Tensor, *, rtol: float, atol: float, what: str) -> None:
    """Element-wise closeness with tolerances scaled by the expected tensor's magnitude."""
    scale = float(expected.detach().abs().max()) if expected.numel() else 1.0
    torch.testing.assert_close(actual.detach().double().cpu(), expected.detach().double().cpu(), rtol=rtol,
                               atol=atol * max(scale, 1e-30), msg=lambda m: f"{what}: {m}")
