"""What every format is: :class:`Format`, the one interface the export pipeline, the runners, the
metadata and census code and ``edgesr bench`` ask a format through.

A format is a package, ``edgesr/formats/<name>/``: its ``__init__.py`` declares the format (a
:class:`Format` subclass and its one instance, ``FORMAT``), as data (precisions and their loss bounds,
I/O modes, shared-trunk support, dynamic sizes or profiles, GPU or host OS needs, the extra that
installs it) and as methods that import the package's own modules (``export``, ``runner``, ``metadata``,
``census``) only when called, so that reading the table imports no converter and no runtime. Adding a
format is one package and one line in :data:`edgesr.formats.FORMATS`; the conformance tests are
parametrised over that table.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from edgesr.errors import ExportError
from edgesr.manifest import Grid, Scheme

# precisions whose export quantizes activations, so it needs calibration images
CALIBRATED = ("int8", "w8a8", "w8a16")
# how far below PyTorch FP32 (dPSNR on the check set, dB) an artifact may score: beyond it an export
# fails and leaves nothing behind, and edgesr bench marks the row "failed validation"
LOSS_BOUND_DB = {"fp32": 0.02, "fp16": 0.05, "bf16": 0.1, "w8a16": 0.05, "int8": 0.3, "w8a8": 0.3, "palette6": 0.5}
# how close (PSNR on the check set, dB) an unquantized artifact's output must stay to PyTorch FP32's:
# a conversion that computes something else can score near PyTorch against the HR images and still
# be wrong (quantized precisions are held by LOSS_BOUND_DB alone: their rounding is the difference)
TORCH_PSNR_FLOOR_DB = {"fp32": 50.0, "fp16": 40.0}
# the largest elementwise difference from PyTorch FP32 an unquantized artifact's network output may
# show on [0, 1] (the conformance suite's bound; quantized precisions are judged by PSNR, not per element)
ATOL = {"fp32": 1e-4, "fp16": 1e-2}

# edgesr's one INT8 scheme (edgesr.train.qat), which every format's INT8 artifact computes
INT8_SCHEME = ("every activation 8-bit, per tensor, over edgesr's ranges (the 1e-4 and 1 - 1e-4 quantiles over the "
               "calibration images, edgesr.formats.ranges, the ones quantization-aware training used; the image "
               "[0, 1]; a concatenation's inputs on its own grid); weights int8 symmetric per output channel on a "
               "63-step grid (7-bit values, which no x86 int8 kernel can overflow: CPUs with and without VNNI "
               "compute the same integers)")

# the same scheme's grids as fields (edgesr.manifest.Scheme): the weights, and the activations where
# a format stores them unsigned (a signed format's are the same grid shifted by 128)
INT8_WEIGHTS = Grid(bits=8, signed=True, symmetric=True, per="channel", ranges="max_abs", levels=63)
INT8_ACTIVATIONS = Grid(bits=8, signed=False, symmetric=False, per="tensor", ranges="edgesr")
# an 8-bit grid made symmetric about 0 (TensorRT and Core ML take zero points of 0 only)
SYMMETRIC_ACTIVATIONS = Grid(bits=8, signed=True, symmetric=True, per="tensor", ranges="edgesr_symmetric")
# 8-bit weights at their own full scale (127 steps each side: W8A16, Core ML's weight compression)
FULL_WEIGHTS = Grid(bits=8, signed=True, symmetric=True, per="channel", ranges="max_abs")


@dataclass(frozen=True)
class Conversion:
    """What the export pipeline asks a format's exporter for; ``scales`` is always a tuple (one scale,
    or several: one shared-trunk artifact)."""

    scales: tuple[int, ...]
    precision: str
    input_size: Any = None  # the network's fixed input (H, W), a list of several (enumerated), None: dynamic
    calibration: dict[int, list] = field(default_factory=dict)  # network inputs per scale ({}: unquantized)
    range_inputs: dict[int, list] | None = None  # whole images per scale that edgesr's INT8 ranges come from
    pure_int8: bool | None = None  # INT8 of a mixed_int16 format: every activation in 8 bits (None: not asked)
    io: str | None = None  # a non-default --io mode (None: the format's default)
    profile: tuple | None = None  # an optimization profile's (min, opt, max) network input sizes
    symmetric: bool = False  # INT8 in the scheme's symmetric form (zero points 0: TensorRT's QDQ graph)
    targets: tuple[str, ...] = ()  # the GPU architectures to build for (TensorRT for RTX: sm86, ...); (): the default

    @property
    def shared(self) -> bool:
        return len(self.scales) > 1


@dataclass(frozen=True)
class Exported:
    """What an exporter wrote: its input and output tensors (a shared trunk's: its first head's), and for
    a shared trunk one head per scale (the Core ML function or LiteRT signature that runs it) and the
    input that chooses the scale, where there is one."""

    input: Any  # edgesr.manifest.TensorSpec
    output: Any
    heads: tuple[Any, ...] = ()  # edgesr.manifest.Head, one per scale of a shared trunk
    scale_input: str | None = None
    targets: tuple[str, ...] = ()  # the GPU architectures the artifact was built for (() : the builder's default)


# the formats by name: filled by edgesr/formats/__init__.py, which Python runs before any module of the
# package (so a runner or an exporter that reads it from here finds it whole), read through get_format
FORMATS: dict[str, "Format"] = {}


def get_format(name: str) -> "Format":
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}") from None


def _has_nvidia_gpu() -> bool:
    return os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None


@dataclass(frozen=True)
class Format:
    """One artifact format: what it can do (data) and its code (methods a subclass implements)."""

    name: str  # edgesr export -f NAME, a manifest's "format", the package edgesr.formats.NAME (see ``package``)
    suffix: str
    extra: str  # pip install 'edgesr[extra]' installs its converter and runtime
    precisions: tuple[str, ...]  # the first is the default
    runtime: str  # its runtime's name
    runtime_module: str  # what a process imports to run an artifact (imported before a timed load)
    converter_package: str  # the module whose presence means its export can run here
    dynamic: bool  # can take any input H and W at run time
    tools: tuple[str, ...] = ()  # distributions whose versions a manifest records
    install: str = ""  # how to install it, where `pip install 'edgesr[extra]'` does not
    runtime_extra: str = ""  # the extra with its runtime alone, no torch ("": ``extra``)
    devices: tuple[str, ...] = ("cpu",)  # device= values open_runner takes (the first: where it runs by default)
    threads: bool = True  # its runner takes a CPU thread count (not TensorRT, not Core ML)
    remote_install: str = ""  # what a board needs for the on-device runner ("": no on-device runner)
    needs_gpu: bool = False
    host_os: tuple[str, ...] = ()  # where its runtime runs; () = anywhere
    shared: bool = False  # writes one artifact for several scales of a multi-scale model (shared trunk)
    shared_note: str = "export one scale at a time"  # why there is no shared artifact, when there is none
    enumerated: bool = False  # a fixed-shape format that can hold several input sizes
    profiles: bool = False  # takes an optimization profile (min, opt, max input sizes)
    targets: tuple[str, ...] = ()  # the GPU architectures its builder can target (edgesr export --targets)
    readback: bool = False  # its artifacts can be described without running them (``read_back``)
    metadata: bool = False  # embeds the I/O contract in its artifacts and reads it back (``metadata_module``)
    # per quantized precision: what its artifacts compute in, and what that assumes (written to the manifest)
    schemes: dict[str, str] = field(default_factory=dict)
    # the same per quantized precision as fields (the manifest's ``scheme``); ``wide`` is set where the
    # model's int16_modules stay wider (mixed_int16 formats)
    quant_schemes: dict[str, Scheme] = field(default_factory=dict)
    # the precision whose activations are int8 (edgesr's ranges), if any
    int8_activations: str | None = "int8"
    # whose INT8 keeps the model's int16_modules at 16 bits unless --pure-int8 (the exporter's pure_int8)
    mixed_int16: bool = False
    tolerances: dict[str, dict[str, float]] = field(default_factory=dict)  # overrides of the tables above
    # what its artifacts take and give (edgesr export --io): "tensor" (float tensors; LiteRT INT8: int8),
    # "image" (Core ML images), "uint8" (LiteRT INT8 with uint8 image I/O); the first is the default
    io: tuple[str, ...] = ("tensor",)
    io_schemes: dict[str, str] = field(default_factory=dict)  # what an --io mode adds to the manifest's quantization
    package: str = ""  # its package under edgesr.formats where the name is no Python name ("": the name)

    # --- the format's code: each subclass imports its own modules when asked ---------------------------
    def export_function(self) -> Callable:
        """Its exporter: ``(model, out, job: Conversion) -> Exported``, for one scale and for several
        in one artifact (a shared trunk) alike."""
        raise NotImplementedError

    def runner_class(self) -> type:
        """Its :class:`edgesr.runtimes.base.ArtifactRunner`."""
        raise NotImplementedError

    def metadata_module(self) -> ModuleType | None:
        """The module with ``embed(artifact, contract)`` and ``read(artifact)``; None without metadata."""
        return None

    def census(self, artifact: Path) -> dict[str, Any]:
        """The artifact's ops, ranks and CPU fallbacks (:mod:`edgesr.formats.census`); {} for none."""
        return {}

    def read_back(self, artifact: Path) -> dict:
        """What an artifact holds, read without running it (``readback`` formats)."""
        raise ExportError(f"{self.name} artifacts are not read back without running them")

    def check_io(self, io: str, precision: str) -> None:
        """Refuse an ``--io`` mode the precision cannot give (formats with several modes)."""

    # --- derived -----------------------------------------------------------------------------------
    def check_shared(self, shared: bool) -> None:
        """Refuse several scales in one artifact where the format cannot hold them."""
        if shared and not self.shared:
            raise ExportError(f"{self.name} cannot hold several scales in one artifact: {self.shared_note}")

    def export(self, model, out: Path, job: Conversion) -> Exported:
        """Write ``model`` at ``job.scales`` to ``out``: the one way the pipeline exports, for one scale
        and for a shared trunk alike."""
        self.check_shared(job.shared)
        return self.export_function()(model, out, job)

    @property
    def package_name(self) -> str:
        """Its package: ``edgesr.formats.<name>``."""
        return f"edgesr.formats.{self.package or self.name}"

    @property
    def runner_module(self) -> str:
        return f"{self.package_name}.runner"

    def open(self, artifact, manifest, scale: int, **options):
        """This format's runner for ``artifact`` (already checked against ``manifest``)."""
        return self.runner_class()(artifact, manifest, scale, **options)

    def scheme(self, precision: str) -> str:
        return self.schemes.get(precision, "")

    def quant_scheme(self, precision: str, wide: bool) -> Scheme | None:
        """``precision``'s scheme as fields (None: unquantized); ``wide``: the model's int16_modules
        stay wider (else every activation is on the 8-bit grid)."""
        scheme = self.quant_schemes.get(precision)
        if scheme is not None and not wide and scheme.wide is not None:
            scheme = replace(scheme, wide=None)
        return scheme

    def loss_bound(self, precision: str) -> float | None:
        return self.tolerances.get("loss_bound_db", LOSS_BOUND_DB).get(precision)

    def torch_floor(self, precision: str) -> float | None:
        return self.tolerances.get("torch_psnr_floor_db", TORCH_PSNR_FLOOR_DB).get(precision)

    def atol(self, precision: str) -> float | None:
        return self.tolerances.get("atol", ATOL).get(precision)

    @property
    def install_hint(self) -> str:
        return self.install or f"pip install 'edgesr[{self.extra}]'"

    @property
    def remote(self) -> bool:
        return bool(self.remote_install)

    @property
    def runs_here(self) -> bool:
        return not self.host_os or sys.platform in self.host_os

    def installed(self) -> bool:
        """Whether its converter can run here."""
        return importlib.util.find_spec(self.converter_package) is not None

    def unavailable(self) -> str | None:
        """Why its artifacts cannot run on this machine, or None when they can."""
        if not self.runs_here:
            return f"{self.runtime} runs only on {', '.join(self.host_os)} (this is {sys.platform})"
        if importlib.util.find_spec(self.runtime_module.split(".")[0]) is None:
            return f"{self.runtime} is not installed: {self.runtime_install_hint}"
        if self.needs_gpu and not _has_nvidia_gpu():
            return f"{self.runtime} needs an NVIDIA GPU, and this machine has none"
        return None

    def require(self, module: str | None = None):
        """Import ``module`` (default: the runtime module), or raise naming this format's install line."""
        from edgesr._deps import require

        module = module or self.runtime_module
        if module.split(".")[0] == self.runtime_module.split(".")[0]:  # the runtime alone: its extra needs no torch
            return require(module, self.runtime_extra or self.extra, install=self.install or None)
        return require(module, self.extra, install=self.install or None)

    @property
    def runtime_install_hint(self) -> str:
        """How to install what runs its artifacts (without a converter, without torch where it can)."""
        return self.install or f"pip install 'edgesr[{self.runtime_extra or self.extra}]'"
