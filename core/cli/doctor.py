"""``portrait-animator doctor``: what is installed, which backends and devices work, which weights were found."""

from __future__ import annotations

import importlib
import json
import platform
import sys

from ..version import __version__

PACKAGES = ("torch", "numpy", "cv2", "OpenImageIO", "av", "mediapipe", "dlib", "safetensors", "face_alignment",
            "ray")


def register(subparsers) -> None:
    parser = subparsers.add_parser("doctor", help="check the installation: packages, backends, devices, weights",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (for tools)")
    parser.set_defaults(handler=handle)


def collect() -> dict:
    """The installation report as a dictionary."""
    from ..landmarks import available_backends

    report = {"portrait_animator": __version__, "python": sys.version.split()[0],
              "platform": platform.platform(), "packages": {name: _version(name) for name in PACKAGES},
              "landmark_backends": available_backends(), "devices": _devices(), "operators": _operators()}
    return report


def handle(args) -> int:
    report = collect()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"Portrait Animator {report['portrait_animator']} on Python {report['python']} ({report['platform']})")
    print("\nPackages:")
    for name, version in report["packages"].items():
        print(f"  {name:16s} {version}")
    print("\nLandmark backends:")
    for name, state in report["landmark_backends"].items():
        print(f"  {name:16s} {state}")
    print("\nDevices:")
    for name, state in report["devices"].items():
        print(f"  {name:16s} {state}")
    print("\nCompiled operators:")
    for name, state in report["operators"].items():
        print(f"  {name:16s} {state}")
    return 0


def _version(module: str) -> str:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # a broken install must be reported, not crash the doctor
        return f"missing ({type(exc).__name__}: {exc})"
    return str(getattr(mod, "__version__", None) or getattr(mod, "VERSION_STRING", None) or "installed")


def _devices() -> dict:
    import torch

    devices = {"cpu": f"ok ({torch.get_num_threads()} threads)"}
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices[f"cuda:{index}"] = f"ok ({torch.cuda.get_device_name(index)})"
    else:
        devices["cuda"] = (f"not available (torch built for CUDA {torch.version.cuda}; no GPU or driver found)"
                           if torch.version.cuda else "not available (CPU-only torch)")
    return devices


def _operators() -> dict:
    try:
        ops = importlib.import_module("portrait_animator.ops")
    except ImportError as exc:
        return {"ops": f"not available ({exc})"}
    return ops.status()
