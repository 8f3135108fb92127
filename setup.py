"""Build and install Portrait Animator.

The engine lives in ``core/`` and installs as the ``portrait_animator`` package (a distinctive import
name: a top-level ``core`` module would collide in a studio's shared environment). The C++/CUDA
operators in ``cuda_ext/`` build into ``portrait_animator._C``.

Extension build switches (environment variables):
- ``PORTRAIT_ANIMATOR_CUDA``: ``auto`` (default) builds the CUDA kernels when torch is a CUDA build and
  ``$CUDA_HOME/bin/nvcc`` exists; ``1`` forces them (and fails loudly if impossible); ``0`` skips them.
- ``TORCH_CUDA_ARCH_LIST``: GPU architectures; defaults to ``8.0;9.0+PTX`` (nvcc 13 rejects 7.0 and older,
  and torch's own detection needs a GPU).
- ``PORTRAIT_ANIMATOR_NO_EXT=1``: skip the compiled operators entirely (the PyTorch references are used).

Install with ``pip install --no-build-isolation``: build isolation would pull a second multi-GB torch and
could compile against a different torch than the one installed.
"""

import glob
import os

from setuptools import setup

ROOT = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join("cuda_ext", "csrc")


def _version():
    scope = {}
    with open(os.path.join(ROOT, "core", "version.py"), encoding="utf-8") as handle:
        exec(handle.read(), scope)
    return scope["__version__"]


def _want_cuda(torch_version_cuda):
    mode = os.environ.get("PORTRAIT_ANIMATOR_CUDA", "auto").lower()
    if mode in ("0", "off", "no", "false"):
        return False
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if not cuda_home and os.path.exists("/usr/local/cuda/bin/nvcc"):
        cuda_home = "/usr/local/cuda"
    possible = bool(torch_version_cuda) and bool(cuda_home) and os.path.exists(
        os.path.join(cuda_home, "bin", "nvcc"))
    if mode in ("1", "on", "yes", "true", "force") and not possible:
        raise RuntimeError(
            "PORTRAIT_ANIMATOR_CUDA=1 but the CUDA kernels cannot be built: torch.version.cuda="
            f"{torch_version_cuda!r}, CUDA_HOME={cuda_home!r} (set CUDA_HOME to the toolkit folder that "
            "holds bin/nvcc)")
    if possible:
        os.environ["CUDA_HOME"] = cuda_home
    return possible


def _extensions():
    if os.environ.get("PORTRAIT_ANIMATOR_NO_EXT") == "1":
        return [], {}
    cpu_sources = sorted(glob.glob(os.path.join(CSRC, "*.cpp")) +
                         glob.glob(os.path.join(CSRC, "*", "cpu", "*.cpp")) +
                         glob.glob(os.path.join(CSRC, "*", "*.cpp")))
    if not cpu_sources:
        return [], {}
    import torch
    from torch.utils import cpp_extension

    cxx_flags = ["-O3", "-fopenmp", "-std=c++17", "-DPy_LIMITED_API=0x030B0000"]
    link_flags = ["-fopenmp"]
    if _want_cuda(torch.version.cuda):
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0+PTX")
        cuda_sources = sorted(glob.glob(os.path.join(CSRC, "*", "cuda", "*.cu")))
        ext = cpp_extension.CUDAExtension(
            "portrait_animator._C",
            sorted(set(cpu_sources)) + cuda_sources,
            include_dirs=[os.path.join(ROOT, CSRC)],
            define_macros=[("WITH_CUDA", None)],
            extra_compile_args={"cxx": cxx_flags, "nvcc": ["-O3", "--use_fast_math", "-std=c++17"]},
            extra_link_args=link_flags,
            py_limited_api=True,
        )
    else:
        ext = cpp_extension.CppExtension(
            "portrait_animator._C",
            sorted(set(cpu_sources)),
            include_dirs=[os.path.join(ROOT, CSRC)],
            extra_compile_args={"cxx": cxx_flags},
            extra_link_args=link_flags,
            py_limited_api=True,
        )
    build_ext = cpp_extension.BuildExtension.with_options(use_ninja=False)
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
        "farm": ["ray>=2.30", "openjd-cli>=0.8"],
        "blender": ["bpy>=4.5,<5.1"],
        "test": ["pytest>=8", "pytest-timeout>=2.3"],
    },
    entry_points={"console_scripts": ["portrait-animator=portrait_animator.cli:main"]},
)
