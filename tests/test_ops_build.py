"""The compiled extension itself: it is built, it registered its kernels, and CUDA kernels were compiled
wherever the build could compile them (so a broken .cu file fails CI even on a machine without a GPU)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest
import torch

from portrait_animator import ops
from portrait_animator.ops import registration


def _cuda_toolkit() -> str | None:
    """The rule setup.py uses to decide that the CUDA kernels can be compiled here."""
    for candidate in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if (candidate and os.path.exists(os.path.join(candidate, "bin", "nvcc"))
                and os.path.exists(os.path.join(candidate, "include", "cuda_runtime.h"))
                and glob.glob(os.path.join(candidate, "lib*", "libcudart.so*"))):
            return candidate
    return None


def test_extension_is_built_with_every_cpu_kernel():
    status = ops.status()
    assert status["extension"], f"portrait_animator._C did not load: {status['load_error']}"
    assert status["extension"].endswith(".abi3.so"), "built for one Python only, not the stable ABI"
    missing = [op for op in registration.OPS if not registration.has_kernel(op, "cpu")]
    assert not missing, f"no CPU kernel for {missing}"
    assert status["cpu_kernels"]


def test_cuda_kernels_were_compiled_where_the_toolkit_is_present():
    if not torch.version.cuda:
        pytest.skip("torch is a CPU-only build: setup.py builds no CUDA kernels")
    if os.environ.get("PORTRAIT_ANIMATOR_CUDA", "auto").lower() in ("0", "off", "no", "false"):
        pytest.skip("PORTRAIT_ANIMATOR_CUDA=0 turns the CUDA build off")
    toolkit = _cuda_toolkit()
    if toolkit is None:
        pytest.skip("no CUDA toolkit (nvcc, headers, libcudart) here: setup.py builds no CUDA kernels")
    missing = [op for op in registration.OPS if not registration.has_kernel(op, "cuda")]
    assert not missing, (f"torch {torch.__version__} is a CUDA build and {toolkit} has nvcc, but the extension "
                         f"has no CUDA kernel for {missing}: rebuild with `python setup.py build_ext --inplace`")
    assert ops.status()["cuda_kernels"]


def test_the_extension_exports_no_copy_of_the_cpp_runtime():
    """A toolchain that links libstdc++ statically must not export it from _C: exported, its stream code ran
    against the locale data of torch's libstdc++.so, and every TORCH_CHECK message holding a number
    segfaulted (an H200 machine's GCC, stop 28). Templates our code instantiates are weak and harmless;
    strong std:: definitions can only come from a linked-in runtime."""
    status = ops.status()
    assert status["extension"], f"portrait_animator._C did not load: {status['load_error']}"
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("no nm (binutils) to read the extension's symbol table")
    listing = subprocess.run([nm, "-D", "--defined-only", status["extension"]], capture_output=True, text=True,
                             check=True).stdout
    symbols = [line.split()[1:] for line in listing.splitlines() if len(line.split()) == 3]
    strong_std = [name for kind, name in symbols if kind in "TDBR" and name.startswith(("_ZNS", "_ZNKS", "_ZSt"))]
    assert len(symbols) > 10, f"nm listed almost nothing in {status['extension']}"
    assert not strong_std, (f"{status['extension']} exports {len(strong_std)} C++ runtime symbols "
                            f"(e.g. {strong_std[:3]}): libstdc++ was linked in statically and left visible")


def test_status_says_what_runs(monkeypatch):
    monkeypatch.setenv(ops.BACKEND_ENV, "reference")
    status = ops.status()
    assert status["backend"] == "reference"
    assert status["cuda_device"] == torch.cuda.is_available()
    assert "portrait_animator::mesh_warp" in status["ops"] and "portrait_animator::adain" in status["ops"]


def test_compiled_backend_without_a_kernel_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(registration, "KERNELS", {})
    x = torch.rand(1, 2, 3, 3)
    with pytest.raises(RuntimeError, match="no compiled portrait_animator::adain kernel for cpu"):
        ops.adain(x, torch.ones(1, 2), torch.zeros(1, 2), backend="compiled")
    torch.testing.assert_close(ops.adain(x, torch.ones(1, 2), torch.zeros(1, 2)),  # auto: the reference
                               ops.adain_reference(x, torch.ones(1, 2), torch.zeros(1, 2)))
