"""Render-job configuration: plain dataclasses and the one JSON job-file format.

The CLI, the Blender add-on and the farm runner all describe a shot with the same ``RenderJob``; a job
file is its JSON form. Validation names the bad field, so a typo in a hand-written job file is an error,
not a silently ignored key.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import JobFieldError, UnreadableFileError

JOB_FORMAT = "portrait-animator/job"
JOB_VERSION = 1

RENDERERS = ("warp", "neural", "neural-paper", "neural-hybrid")
MOTION_MODES = ("relative", "absolute")
DEVICES = ("auto", "cpu", "cuda")
CROP_SIZES = (256, 512, 1024)
LANDMARK_BACKENDS = ("mediapipe", "dlib", "face-alignment")
BIT_DEPTHS = (8, 16)
EXR_COMPRESSIONS = ("zip", "piz", "dwaa", "none")
GLASSES_MODES = ("auto", "on", "off")
DEFAULT_MAX_STILL_PIXELS = 16384 * 16384
# Renderers that ship weights with the package, used when a job names no checkpoint.
SHIPPED_CHECKPOINTS = {"neural-hybrid": os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets",
                                                     "models", "small_hybrid.safetensors")}


def checkpoint_for(renderer: str, checkpoint: str | None) -> str | None:
    """The weights ``renderer`` loads: ``checkpoint`` when given, else the one shipped for it (None for warp)."""
    return checkpoint or SHIPPED_CHECKPOINTS.get(renderer)


@dataclass(frozen=True)
class FrameRange:
    """An inclusive range of 1-based driver frame numbers; ``None`` ends are open."""

    start: int | None = None
    end: int | None = None

    @classmethod
    def parse(cls, text: str | None, field_name: str = "frames", source: str | None = None) -> "FrameRange":
        """Parse ``"10-120"``, ``"10-"``, ``"-50"`` or ``"7"``."""
        if text is None or str(text).strip() in ("", "all"):
            return cls()
        text = str(text).strip()
        try:
            if "-" in text:
                first, last = text.split("-", 1)
                start = int(first) if first.strip() else None
                end = int(last) if last.strip() else None
            else:
                start = end = int(text)
        except ValueError:
            raise JobFieldError(field_name, f"must look like 10-120, 10-, -50 or 7 (got {text!r})",
                                source) from None
        if (start is not None and start < 1) or (end is not None and end < 1):
            raise JobFieldError(field_name, f"frame numbers start at 1 (got {text!r})", source)
        if start is not None and end is not None and end < start:
            raise JobFieldError(field_name, f"ends before it starts (got {text!r})", source)
        return cls(start, end)

    def clamp(self, first: int, last: int) -> range:
        """The frame numbers of this range that exist in ``first..last``."""
        lo = first if self.start is None else max(first, self.start)
        hi = last if self.end is None else min(last, self.end)
        return range(lo, hi + 1)

    def __str__(self) -> str:
        if self.start is None and self.end is None:
            return "all"
        return f"{'' if self.start is None else self.start}-{'' if self.end is None else self.end}"


@dataclass
class MotionGains:
    """Multipliers on the driver's motion per region; 1 reproduces it, 0 freezes that region."""

    head: float = 1.0
    eyes: float = 1.0
    brows: float = 1.0
    mouth: float = 1.0


@dataclass
class MotionConfig:
    """How driver motion becomes target landmarks on the still (see ``motion``)."""

    mode: str = "relative"
    neutral: str = "auto"  # "auto", "first", or a 1-based driver frame number
    gains: MotionGains = field(default_factory=MotionGains)
    smoothing: float = 0.3  # 0 = off; 1 = strong temporal filtering of the driver's landmarks
    close_mouth: bool = True  # relative mode: a still's open mouth first closes to the driver's neutral
    max_turn: float = 25.0  # degrees the still's head turns or nods at most (eased from half that); 0 = no limit


@dataclass
class OutputConfig:
    """Where and how frames are written."""

    pattern: str = "out/shot.####.exr"
    bit_depth: int = 8  # PNG/TIFF only; EXR is always half float linear
    exr_compression: str = "zip"
    paste_back: bool = True
    overwrite: bool = False
    preview: str | None = None


@dataclass
class RenderJob:
    """Everything needed to render one shot; the JSON job file is this object's dictionary."""

    sources: list[str]
    driver: str  # a video, a frame folder/pattern, a landmark .npz, or "preset:idle|blink|smile|talk"
    output: OutputConfig = field(default_factory=OutputConfig)
    name: str | None = None
    frames: FrameRange = field(default_factory=FrameRange)
    renderer: str = "warp"
    checkpoint: str | None = None
    device: str = "auto"
    crop_size: int = 512
    face: int | None = None  # index among detected faces, largest first; None = the largest
    motion: MotionConfig = field(default_factory=MotionConfig)
    landmark_backend: str = "mediapipe"
    glasses: str = "auto"  # the still wears glasses, carried as one rigid object: read from it, or on/off
    seed: int = 0
    cache_dir: str | None = None
    max_still_pixels: int = DEFAULT_MAX_STILL_PIXELS

    @property
    def checkpoint_path(self) -> str | None:
        """The weights the renderer loads: the job's checkpoint, else the one shipped for its renderer."""
        return checkpoint_for(self.renderer, self.checkpoint)

    # ----------------------------------------------------------------------------------------- checks
    def validate(self, source: str | None = None) -> "RenderJob":
        """Raise ``JobFieldError`` naming the first bad field; return self for chaining."""

        def bad(name: str, problem: str):
            raise JobFieldError(name, problem, source)

        if not self.sources:
            bad("sources", "needs at least one still")
        if not self.driver:
            bad("driver", "is empty: give a video, a frame folder, a landmark .npz or preset:NAME")
        _one_of("renderer", self.renderer, RENDERERS, source)
        _one_of("device", self.device, DEVICES, source)
        _one_of("crop_size", self.crop_size, CROP_SIZES, source)
        _one_of("landmark_backend", self.landmark_backend, LANDMARK_BACKENDS, source)
        _one_of("glasses", self.glasses, GLASSES_MODES, source)
        _one_of("motion.mode", self.motion.mode, MOTION_MODES, source)
        _one_of("output.bit_depth", self.output.bit_depth, BIT_DEPTHS, source)
        _one_of("output.exr_compression", self.output.exr_compression, EXR_COMPRESSIONS, source)
        if self.renderer != "warp" and not self.checkpoint_path:
            bad("checkpoint", f"is required by renderer '{self.renderer}'")
        neutral = self.motion.neutral
        if neutral not in ("auto", "first") and not (str(neutral).isdigit() and int(neutral) >= 1):
            bad("motion.neutral", f"must be auto, first or a frame number (got {neutral!r})")
        if not 0.0 <= self.motion.max_turn <= 90.0:
            bad("motion.max_turn", f"must be between 0 (no limit) and 90 degrees (got {self.motion.max_turn})")
        if not 0.0 <= self.motion.smoothing <= 1.0:
            bad("motion.smoothing", f"must be between 0 and 1 (got {self.motion.smoothing})")
        for region in dataclasses.fields(MotionGains):
            gain = getattr(self.motion.gains, region.name)
            if not -1.0 <= gain <= 3.0:
                bad(f"motion.gains.{region.name}", f"must be between -1 and 3 (got {gain})")
        if self.face is not None and self.face < 0:
            bad("face", f"must be 0 or more (got {self.face})")
        if self.max_still_pixels < 64 * 64:
            bad("max_still_pixels", f"is too small (got {self.max_still_pixels})")
        ext = os.path.splitext(self.output.pattern)[1].lower()
        if ext not in (".exr", ".png", ".tif", ".tiff"):
            bad("output.pattern", f"must end in .exr, .png, .tif or .tiff (got {self.output.pattern!r})")
        if self.output.preview and os.path.splitext(self.output.preview)[1].lower() not in (".mp4", ".mov"):
            bad("output.preview", f"must end in .mp4 or .mov (got {self.output.preview!r})")
        return self

    # ------------------------------------------------------------------------------------ JSON form
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["frames"] = str(self.frames)
        return {"format": JOB_FORMAT, "version": JOB_VERSION, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None,
                  base_dir: str | None = None) -> "RenderJob":
        """Build a job from its JSON form; relative paths are taken relative to ``base_dir``."""
        if not isinstance(data, dict):
            raise JobFieldError("(top level)", "must be a JSON object", source)
        data = dict(data)
        fmt = data.pop("format", JOB_FORMAT)
        version = data.pop("version", JOB_VERSION)
        if fmt != JOB_FORMAT:
            raise JobFieldError("format", f"must be {JOB_FORMAT!r} (got {fmt!r})", source)
        if version != JOB_VERSION:
            raise JobFieldError("version", f"must be {JOB_VERSION} (got {version!r})", source)
        job = _build(cls, data, "", source)
        if base_dir:
            job = job.with_paths_relative_to(base_dir)
        return job.validate(source)

    def with_paths_relative_to(self, base_dir: str) -> "RenderJob":
        """A copy whose relative file paths are resolved against ``base_dir``."""

        def resolve(path: str | None) -> str | None:
            if path is None or path.startswith("preset:") or os.path.isabs(path):
                return path
            return os.path.normpath(os.path.join(base_dir, os.path.expanduser(path)))

        output = dataclasses.replace(self.output, pattern=resolve(self.output.pattern),
                                     preview=resolve(self.output.preview))
        return dataclasses.replace(
            self, sources=[resolve(s) for s in self.sources], driver=resolve(self.driver),
            checkpoint=resolve(self.checkpoint), cache_dir=resolve(self.cache_dir), output=output)

    def save(self, path: str) -> None:
        """Write the job file atomically."""
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> "RenderJob":
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            raise UnreadableFileError(f"{path}: job file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UnreadableFileError(f"{path}: cannot read job file ({exc})") from None
        except json.JSONDecodeError as exc:
            raise UnreadableFileError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        return cls.from_dict(data, source=path, base_dir=os.path.dirname(os.path.abspath(path)))


# ------------------------------------------------------------------------------------------ helpers
def _one_of(name: str, value, allowed, source):
    if value not in allowed:
        raise JobFieldError(name, f"must be one of {', '.join(map(str, allowed))} (got {value!r})", source)


_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
               list: "a list"}


def _coerce(value, annotation: str, name: str, source):
    """Check a JSON value against a field's annotation (as written in this module)."""
    optional = annotation.endswith("| None")
    base = annotation.replace("| None", "").strip()
    if value is None:
        if optional:
            return None
        raise JobFieldError(name, "must not be null", source)
    if base == "FrameRange":
        return FrameRange.parse(value, name, source)
    if base == "list[str]":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise JobFieldError(name, "must be a list of file paths", source)
        return list(value)
    expected = {"str": str, "int": int, "float": float, "bool": bool}[base]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is str and isinstance(value, int) and not isinstance(value, bool) and name.endswith("neutral"):
        return str(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise JobFieldError(name, f"must be {_TYPE_NAMES[expected]} (got {json.dumps(value)})", source)
    return value


_NESTED = {"output": OutputConfig, "motion": MotionConfig, "gains": MotionGains}


def _build(cls, data: dict, prefix: str, source):
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise JobFieldError(prefix + key, f"is not a known field (known: {', '.join(known)})", source)
    kwargs = {}
    for name, spec in known.items():
        if name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise JobFieldError(prefix + name, "is missing", source)
            continue
        value = data[name]
        if name in _NESTED:
            if not isinstance(value, dict):
                raise JobFieldError(prefix + name, "must be a JSON object", source)
            kwargs[name] = _build(_NESTED[name], value, f"{prefix}{name}.", source)
        else:
            kwargs[name] = _coerce(value, spec.type, prefix + name, source)
    return cls(**kwargs)
