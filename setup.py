"""Build and install Portrait Animator.

The engine lives in ``core/`` and installs as the ``portrait_animator`` package (a distinctive import
name: a top-level ``core`` module would collide in a studio's shared environment). The C++/CUDA
operators in ``cuda_ext/`` build into ``portrait_animator._C``.

Extension build switches (environment variables):
- ``PORTRAIT_ANIMATOR_CUDA``: ``auto`` (default) builds the CUDA kernels when torch is a CUDA build and a CUDA
  toolkit is found (``$CUDA_HOME``, ``$CUDA_PATH`` or /usr/local/cuda); ``1`` forces them (and fails loudly if
  impossible); ``0`` skips them. When they are built, a compile error in a .cu file fails the build.
- ``TORCH_CUDA_ARCH_LIST``: GPU architectures; defaults to ``8.0;9.0+PTX`` (nvcc 13 rejects 7.0 and older,
  and torch's own detection needs a GPU).
- ``PORTRAIT_ANIMATOR_NO_EXT=1``: skip the compiled operators entirely (the PyTorch references are used).

Install with ``pip install --no-build-isolation``: build isolation would pull a second multi-GB torch and
could compile against a different torch than the one installed.
"""

import glob
import os
import sys

from setuptools import setup

ROOT = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join("cuda_ext", "csrc")


def _version():
    scope = {}
    with open(os.path.join(ROOT, "core", "version.py"), encoding="utf-8") as handle:
        exec(handle.read(), scope)
    return scope["__version__"]


def _cuda_toolkit():
    """The CUDA toolkit folder (bin/nvcc plus headers and libcudart), or None.

    ``CUDA_HOME``/``CUDA_PATH`` first, then /usr/local/cuda. A folder with only an ``nvcc`` wrapper (such as
    /usr/local, where /usr/local/bin/nvcc may just exec the real one) is rejected: linking would fail with
    ``cannot find -lcudart``.
    """
    for candidate in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if candidate and all(os.path.exists(os.path.join(candidate, part))
                             for part in ("bin/nvcc", "include/cuda_runtime.h")) and glob.glob(
                                 os.path.join(candidate, "lib*", "libcudart.so*")):
            return candidate
    return None


def _want_cuda(torch_version_cuda):
    """Whether to compile the CUDA kernels: torch must be a CUDA build and a real toolkit present.

    Deliberately not ``torch.cuda.is_available()``: a build machine or CI runner without a GPU must still
    compile (and so check) the .cu files.
    """
    mode = os.environ.get("PORTRAIT_ANIMATOR_CUDA", "auto").lower()
    if mode in ("0", "off", "no", "false"):
        return False
    cuda_home = _cuda_toolkit()
    possible = bool(torch_version_cuda) and cuda_home is not None
    if mode in ("1", "on", "yes", "true", "force") and not possible:
        raise RuntimeError(
            "PORTRAIT_ANIMATOR_CUDA=1 but the CUDA kernels cannot be built: torch.version.cuda="
            f"{torch_version_cuda!r}, CUDA toolkit={cuda_home!r} (set CUDA_HOME to the toolkit folder that "
            "holds bin/nvcc, include/ and lib64/libcudart.so)")
    if possible:
        # torch.utils.cpp_extension reads CUDA_HOME when it is imported: set it first (see _extensions).
        os.environ["CUDA_HOME"] = cuda_home
    return possible


def _extensions():
    if os.environ.get("PORTRAIT_ANIMATOR_NO_EXT") == "1":
        return [], {}
    cpu_sources = sorted(set(glob.glob(os.path.join(CSRC, "*.cpp")) +
                             glob.glob(os.path.join(CSRC, "*", "cpu", "*.cpp"))))
    if not cpu_sources:
        return [], {}
    import torch

    with_cuda = _want_cuda(torch.version.cuda)
    from torch.utils import cpp_extension

    if with_cuda and cpp_extension.CUDA_HOME != os.environ["CUDA_HOME"]:
        cpp_extension.CUDA_HOME = os.environ["CUDA_HOME"]  # imported earlier by someone else
    # -ffp-contract=off: the mesh warp's coverage tests must round exactly as the PyTorch reference does (no
    # FMA contraction), so CPU, CUDA and reference agree on which triangle owns a pixel on a shared edge.
    # -g0: Python's CFLAGS add -g, which triples the object size and slows the build for nothing.
    cxx_flags = ["-O3", "-g0", "-fopenmp", "-ffp-contract=off"]
    # --exclude-libs,ALL: a compiler that finds libstdc++.a but not libstdc++.so links the C++ runtime into
    # _C statically (seen with a GCC under /opt/gcc on an H200 machine), and _C then exported a second copy of
    # it, whose stream code ran against the locale data of the libstdc++.so that torch loads: the first
    # TORCH_CHECK message with a number in it segfaulted. Hidden, the copy is _C's own and works.
    link_flags = ["-fopenmp"] + (["-Wl,--exclude-libs,ALL"] if sys.platform.startswith("linux") else [])
    common = dict(include_dirs=[os.path.join(ROOT, CSRC)], extra_link_args=link_flags, py_limited_api=True)
    if with_cuda:
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0+PTX")
        # .cu files hold the kernels only (no ATen headers: nvcc parses every header once per architecture);
        # the .cpp files beside them do the ATen side and are compiled once by the host compiler.
        cuda_sources = sorted(glob.glob(os.path.join(CSRC, "*", "cuda", "*.cu")) +
                              glob.glob(os.path.join(CSRC, "*", "cuda", "*.cpp")))
        print(f"portrait_animator._C: CPU and CUDA kernels (toolkit {os.environ['CUDA_HOME']}, "
              f"arch {os.environ['TORCH_CUDA_ARCH_LIST']})")
        # No --use_fast_math: its approximate division and square root would break parity with the
        # reference; the kernels are memory-bound, so it would buy nothing.
        ext = cpp_extension.CUDAExtension(
            "portrait_animator._C", cpu_sources + cuda_sources,
            extra_compile_args={"cxx": cxx_flags, "nvcc": ["-O3", "-lineinfo"]}, **common)
    else:
        print("portrait_animator._C: CPU kernels only (torch.version.cuda="
              f"{torch.version.cuda!r}, PORTRAIT_ANIMATOR_CUDA={os.environ.get('PORTRAIT_ANIMATOR_CUDA', 'auto')})")
        ext = cpp_extension.CppExtension(
            "portrait_animator._C", cpu_sources, extra_compile_args={"cxx": cxx_flags}, **common)
    # ninja compiles the sources in parallel (BuildExtension falls back to setuptools, with a warning, without it).
    build_ext = cpp_extension.BuildExtension.with_options(use_ninja=True)
    return [ext], {"build_ext": build_ext}


EXT_MODULES, CMDCLASS = _extensions()

setup(
    name="portrait-animator",
    version=_version(),
    description="Animate a still portrait from a driving video or a Blender face rig.",
    long_description=open(os.path.join(ROOT, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11,<3.12",
    packages=["portrait_animator"] + [
        "portrait_animator." + sub.replace(os.sep, ".")
        for sub in sorted(
            os.path.relpath(os.path.dirname(path), "core")
            for path in glob.glob(os.path.join("core", "**", "__init__.py"), recursive=True))
        if sub != "."
    ],
    package_dir={"portrait_animator": "core"},
    package_data={"portrait_animator": ["assets/*", "assets/*/*"]},
    ext_modules=EXT_MODULES,
    cmdclass=CMDCLASS,
    install_requires=[
        "torch>=2.4",
        "numpy>=1.26,<2",  # mediapipe 0.10.21 and Blender's bpy need numpy<2
        "opencv-python>=4.8,<5",
        "OpenImageIO>=2.5",
        "av>=12",
        "mediapipe==0.10.21",  # the last release whose wheel ships its .tflite face models
        "protobuf>=4.25,<5",
        "scipy>=1.10",
        "safetensors>=0.4",
        "face-alignment>=1.4",
        "pybind11>=2.12",
    ],
    extras_require={
        "dlib": ["dlib-bin>=19.24", "face-recognition-models>=0.3"],
        "evaluate": ["dlib-bin>=19.24", "face-recognition-models>=0.3", "piq>=0.8", "matplotlib>=3.7"],
        "farm": ["ray[client]>=2.30", "openjd-cli>=0.8"],  # [client]: grpcio, for ray://HOST:PORT
        "blender": ["bpy>=4.5,<5.1"],
        "test": ["pytest>=8", "pytest-timeout>=2.3"],
    },
    entry_points={"console_scripts": ["portrait-animator=portrait_animator.cli:main"]},
)
