"""The manifest written next to every artifact (``<artifact>.json``): everything an app needs to
feed the artifact and read its output, and what was checked when it was made.

Neither PyTorch nor any runtime is imported here: apps, boards and the runners read manifests as they are."""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgesr._values import strict_json
from edgesr.errors import ArtifactError, first_line

MANIFEST_VERSION = 1
VALUE_RANGE = (0.0, 1.0)  # what every network takes and gives: pixel / 255


class Skip(str, enum.Enum):
    """Why an export skipped its check against PyTorch on purpose: a manifest's ``check["skip"]``, beside
    the words ``check["skipped"]`` says it in. A runner serves such an artifact; any other unchecked one
    it refuses (:func:`edgesr.formats.registry.open_runner`)."""

    NOT_ASKED = "not_asked"  # edgesr export --no-check
    NOT_HERE = "not_here"  # the format's runtime does not run where the export ran (Core ML off macOS, ...)

    def check(self, words: str) -> dict[str, str]:
        """A manifest's ``check`` recording this skip."""
        return {"skipped": words, "skip": self.value}


def torch_psnr(check: dict) -> float | None:
    """An export check's PSNR of the artifact's output against PyTorch's: infinity where the manifest
    holds null for it (identical outputs), None where the check did not run."""
    if "psnr_vs_torch" not in check:
        return None
    value = check["psnr_vs_torch"]
    return math.inf if value is None else float(value)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    layout: str  # NCHW | NHWC | image (Core ML image: RGB uint8 or grayscale float16, pixels 0-255)
    dtype: str  # float32 | float16 | int8 | uint8 | int16 (LiteRT W8A16)
    channels: int
    height: int | None  # None: any height (dynamic)
    width: int | None
    value_range: tuple[float, float] = VALUE_RANGE
    quantization: tuple[float, int] | None = None  # (scale, zero_point) of integer I/O
    # the (H, W) it takes when neither fixed nor free: Core ML's enumerated sizes, or TensorRT's
    # optimization profile (min, opt, max)
    sizes: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Grid:
    """How one kind of tensor of a quantized artifact is rounded: its integers and where their range
    comes from."""

    bits: int
    signed: bool
    symmetric: bool  # zero point 0
    per: str  # tensor | channel (weights: per output channel)
    # edgesr: edgesr's ranges (the 1e-4 and 1 - 1e-4 quantiles over the calibration images,
    # edgesr.formats.ranges); edgesr_symmetric: those made symmetric about 0; minmax: the calibration's
    # min and max; max_abs: each channel's largest magnitude (weights)
    ranges: str
    levels: int | None = None  # steps each side of 0, where fewer than the bits hold (the INT8 scheme's weights: 63)


@dataclass(frozen=True)
class Scheme:
    """A quantized artifact's integer scheme as fields (the manifest's ``quantization`` says it in words)."""

    # qdq: quantize/dequantize pairs around float ops (ONNX, Core ML, TensorRT); full_integer: integer
    # ops throughout (LiteRT); fake_quantize: OpenVINO's FakeQuantize ops; pt2e: PyTorch 2 export
    # quantization lowered to XNNPACK (ExecuTorch); weights_only: integer weights, float compute
    graph: str
    weights: Grid
    activations: Grid | None = None  # None: float activations
    wide: Grid | None = None  # the activations of the model's int16_modules, where they stay wider
    float_image: bool = False  # the image (input, its nearest upsampling, output) stays float


@dataclass(frozen=True)
class Head:
    """One scale of an artifact: how to select it and its tensors."""

    scale: int
    entry: str  # LiteRT signature or Core ML function that runs it; "" when the scale is an input
    input: TensorSpec
    output: TensorSpec


@dataclass(frozen=True)
class Manifest:
    model: str
    scales: tuple[int, ...]
    format: str
    precision: str
    colour: str  # y | rgb
    upsampling: str  # pre: feed the MATLAB-bicubic-upscaled image; post: feed the LR image
    input: TensorSpec
    output: TensorSpec
    artifact_sha256: str
    weights_sha256: str | None
    receptive_radius: int | None = None  # input pixels an output pixel depends on, each side (tiling overlap)
    activation_bytes_per_pixel: float | None = None  # float32 activations held at once, per input pixel
    tools: dict[str, str] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)
    heads: tuple[Head, ...] = ()  # shared-trunk artifacts: one per scale (input/output are the first's)
    scale_input: str | None = None  # the int64 scalar input that chooses the scale, where there is one
    quantization: str = ""  # INT8 / W8A16: the integer scheme and what it assumes of the CPU that runs it
    scheme: Scheme | None = None  # the same scheme as fields (None: a float artifact, or one exported before it)
    quant_method: str = ""  # ptq (weights trained in float) or qat (quantization-aware weights); "" unquantized
    int16_modules: tuple[str, ...] = ()  # INT8: the model's parts whose activations stay 16-bit
    io: str = "tensor"  # edgesr export --io: tensor | image (Core ML images) | uint8 (LiteRT INT8 uint8 I/O)
    targets: tuple[str, ...] = ()  # GPU engines: the architectures built for (sm86, ...); (): the builder's default
    # the graph's op census (edgesr.formats.census): ops and counts, max rank, what would fall back to the CPU
    ops: dict[str, Any] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

    def head(self, scale: int) -> Head:
        for head in self.heads:
            if head.scale == scale:
                return head
        if scale not in self.scales:
            raise ArtifactError(f"this {self.model} artifact serves {', '.join(f'x{s}' for s in self.scales)}, "
                                f"not x{scale}")
        return Head(scale, "", self.input, self.output)

    def spec(self) -> "ArtifactSpec":
        """The image pipeline's view of the artifact (colour, input, scales)."""
        return ArtifactSpec(self.model, self.colour, self.upsampling, self.scales, multi_scale=len(self.scales) > 1)

    def contract(self) -> dict[str, Any]:
        """The I/O contract the artifact carries inside itself (:mod:`edgesr.metadata`)."""
        from edgesr.metadata import contract

        return contract(self)

    def to_json(self) -> str:
        """Strict JSON, as a browser's ``JSON.parse`` reads it: a non-finite number is written as null
        (``check.psnr_vs_torch``: null means the artifact's output equals PyTorch's, an infinite PSNR)."""
        return strict_json(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Manifest":
        data = dict(data)
        for key in ("input", "output"):
            data[key] = _tensor(data[key])
        data["heads"] = tuple(Head(h["scale"], h["entry"], _tensor(h["input"]), _tensor(h["output"]))
                              for h in data.get("heads", ()))
        data["scales"] = tuple(data["scales"])
        data["int16_modules"] = tuple(data.get("int16_modules", ()))
        data["targets"] = tuple(data.get("targets", ()))
        if data.get("scheme") is not None:
            data["scheme"] = _scheme(data["scheme"])
        return cls(**data)


# the values a manifest's fields may take (beyond their types): an edited manifest is refused in one
# line before a runner trusts it (a 100000-pixel height, a negative tile overlap, a float channel count)
_CHOICES = {"colour": ("y", "rgb"), "upsampling": ("pre", "post"), "io": ("tensor", "image", "uint8"),
            "layout": ("NCHW", "NHWC", "image"), "dtype": ("float32", "float16", "int8", "uint8", "int16"),
            "quant_method": ("", "ptq", "qat"), "channels": (1, 3), "per": ("tensor", "channel"),
            "ranges": ("edgesr", "edgesr_symmetric", "minmax", "max_abs"),
            "graph": ("qdq", "full_integer", "fake_quantize", "pt2e", "weights_only")}
_LARGEST_SIDE = 1 << 16  # no runtime here takes a side this long, nor a scale above 16
_RANGES = {"scales": (2, 16), "scale": (2, 16), "height": (1, _LARGEST_SIDE), "width": (1, _LARGEST_SIDE),
           "receptive_radius": (0, _LARGEST_SIDE), "version": (1, MANIFEST_VERSION),
           "activation_bytes_per_pixel": (1e-3, 1e9), "bits": (2, 16), "levels": (1, 1 << 15)}


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    """A dataclass's field types, evaluated once (its annotations are strings here)."""
    return typing.get_type_hints(cls)


def _check_value(where: str, value: Any, hint: Any) -> None:
    """``value`` has the type ``hint`` names (recursively), else an ArtifactError naming ``where``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in args:
            try:
                return _check_value(where, value, option)
            except ArtifactError as exc:
                errors.append((option, exc))
        # a value of one option's type with a bad part inside (a tensor, a scheme): that part's error
        inside = [exc for option, exc in errors if dataclasses.is_dataclass(option) and isinstance(value, option)]
        raise (inside or [errors[-1][1]])[0]
    if hint is type(None):
        ok = value is None
    elif origin is tuple:
        ok = isinstance(value, tuple)
        if ok:
            items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
            if len(items) != len(value):
                raise ArtifactError(f"{where} must hold {len(items)} values, got {len(value)}")
            for i, (item, item_hint) in enumerate(zip(value, items)):
                _check_value(f"{where}[{i}]", item, item_hint)
    elif origin is dict:
        ok = isinstance(value, dict) and all(isinstance(k, str) for k in value)
    elif dataclasses.is_dataclass(hint):
        ok = isinstance(value, hint)
        if ok:
            _check_fields(value, where + ".")
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    if not ok:
        name = getattr(hint, "__name__", str(hint))
        raise ArtifactError(f"{where} must be {'null' if hint is type(None) else name}, got {value!r}")


def _check_fields(obj: Any, prefix: str = "") -> None:
    """Every field of a manifest (or of its tensors and heads): type, then choice or range."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        hint = hints[f.name]
        value = getattr(obj, f.name)
        where = prefix + f.name
        _check_value(where, value, hint)
        for item in (value if isinstance(value, tuple) and f.name == "scales" else (value,)):
            if f.name in _CHOICES and item not in _CHOICES[f.name]:
                raise ArtifactError(f"{where} must be one of {', '.join(map(repr, _CHOICES[f.name]))}, got {item!r}")
            low, high = _RANGES.get(f.name, (None, None))
            if low is not None and item is not None and not low <= item <= high:
                raise ArtifactError(f"{where} must be in [{low}, {high}], got {item!r}")
    if isinstance(obj, Manifest) and not obj.scales:
        raise ArtifactError("scales must name at least one scale")


def _tensor(data: dict[str, Any]) -> TensorSpec:
    t = dict(data)
    t["value_range"] = tuple(t["value_range"])
    t["quantization"] = tuple(t["quantization"]) if t.get("quantization") else None
    t["sizes"] = tuple(tuple(v) for v in t.get("sizes", ()))
    return TensorSpec(**t)


def _scheme(data: dict[str, Any]) -> Scheme:
    s = dict(data)
    for key in ("weights", "activations", "wide"):
        if s.get(key) is not None:
            s[key] = Grid(**s[key])
    return Scheme(**s)


@dataclass(frozen=True)
class ArtifactSpec:
    """What the image pipeline (:mod:`edgesr.inference`) reads of an artifact's network, as it reads a
    PyTorch model's ``ModelSpec``: its name, colour (y | rgb), upsampling (pre | post) and scales."""

    name: str
    colour: str
    upsampling: str
    scales: tuple[int, ...]
    multi_scale: bool = False

    @property
    def channels(self) -> int:
        return 1 if self.colour == "y" else 3


def _files(path: Path) -> list[Path]:
    """The files of an artifact: itself, or every file of a package folder (Core ML), sorted."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of a package folder (each file's relative path and contents)."""
    path = Path(path)
    h = hashlib.sha256()
    for file in _files(path):
        if path.is_dir():
            h.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def artifact_bytes(path: str | os.PathLike) -> int:
    """Size on disk of an artifact file or package folder."""
    return sum(f.stat().st_size for f in _files(Path(path)))


def manifest_path(artifact: str | os.PathLike) -> Path:
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".json")


def write_manifest(artifact: Path, manifest: Manifest) -> Path:
    from edgesr._files import write_text

    return write_text(manifest_path(artifact), manifest.to_json())


def read_manifest(artifact: str | os.PathLike, verify: bool = True) -> Manifest:
    """The manifest of ``artifact``, checked against it (existence, every field, sha256); its format
    (known, the artifact's suffix) is checked by :func:`edgesr.formats.registry.artifact_manifest`."""
    artifact = Path(artifact)
    path = manifest_path(artifact)
    if not artifact.exists():
        raise ArtifactError(f"{artifact}: no such artifact")
    if not path.is_file():
        raise ArtifactError(f"{artifact}: its manifest {path.name} is missing; re-export with edgesr export")
    try:
        manifest = Manifest.from_dict(json.loads(path.read_text()))
        _check_fields(manifest)
    except (ValueError, TypeError, KeyError, AttributeError, ArtifactError) as exc:
        raise ArtifactError(f"{path}: not a valid edgesr manifest ({first_line(exc)}); re-export the artifact "
                            "with edgesr export") from None
    if verify and sha256(artifact) != manifest.artifact_sha256:
        raise ArtifactError(f"{artifact}: its sha256 differs from the manifest's; the file was changed or "
                            "belongs to another export")
    return manifest
