"""The backends: one object per artifact format, and the only place a format is named.

A :class:`Backend` says how an artifact of its format is made (converter, pip extra, precisions and
what each computes in), held to PyTorch (tolerances per precision), run (its runner, the runtime
module and install line, the devices it takes, whether a board can run it through
:mod:`edgesr.devices.ondevice`) and recorded (the packages whose versions go into manifests).
Everything else looks a format up here (``get_backend``) instead of naming it.

This module imports neither PyTorch nor any runtime: the runtime side, a board and ``edgesr bench``'s
planning read it as they are. Converters and runners are named as ``"module:attribute"`` strings and
imported only when used.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from edgesr.errors import ExportError

# precisions whose export quantizes activations, so it needs calibration images
CALIBRATED = ("int8", "w8a8", "w8a16")
# how far below PyTorch FP32 (dPSNR on the check set, dB) an artifact may score: beyond it an export
# fails and leaves nothing behind, and edgesr bench marks the row "failed validation"
LOSS_BOUND_DB = {"fp32": 0.02, "fp16": 0.05, "w8a16": 0.05, "int8": 0.3, "w8a8": 0.3, "palette6": 0.5}
# how close (PSNR on the check set, dB) an unquantized artifact's output must stay to PyTorch FP32's:
# a conversion that computes something else can score near PyTorch against the HR images and still
# be wrong (quantized precisions are held by LOSS_BOUND_DB alone: their rounding is the difference)
TORCH_PSNR_FLOOR_DB = {"fp32": 50.0, "fp16": 40.0}
# the largest elementwise difference from PyTorch FP32 an unquantized artifact's network output may
# show on [0, 1] (the conformance suite's bound; quantized precisions are judged by PSNR, not per element)
ATOL = {"fp32": 1e-4, "fp16": 1e-2}


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _has_nvidia_gpu() -> bool:
    return os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None


@dataclass(frozen=True)
class Backend:
    name: str  # the format: edgesr export -f NAME, a manifest's "format"
    suffix: str
    function: str  # "module:function" exporting one scale, imported only when used
    extra: str  # pip install 'edgesr[extra]' installs its converter and runtime
    precisions: tuple[str, ...]  # the first is the default
    runtime: str  # its runner's name
    runner: str  # "module:Class" of its runner
    runtime_module: str  # what a process imports to run an artifact (imported before a timed load)
    converter_package: str  # the module whose presence means its export can run here
    dynamic: bool  # can take any input H and W at run time
    tools: tuple[str, ...] = ()  # distributions whose versions a manifest records
    install: str = ""  # how to install it, where `pip install 'edgesr[extra]'` does not
    runtime_extra: str = ""  # the extra with its runtime alone, no torch ("": ``extra``)
    devices: tuple[str, ...] = ("cpu",)  # device= values open_runner takes (the first: where it runs by default)
    remote_install: str = ""  # what a board needs for the on-device runner ("": no on-device runner)
    needs_gpu: bool = False
    host_os: tuple[str, ...] = ()  # where its runtime runs; () = anywhere
    shared: str | None = None  # "module:function" writing one artifact for several scales (shared trunk)
    enumerated: bool = False  # a fixed-shape format that can hold several input sizes
    profiles: bool = False  # takes an optimization profile (min, opt, max input sizes)
    readback: str | None = None  # "module:function" describing an artifact without running it
    census: str | None = None  # "module:function": the artifact's ops, ranks and CPU fallbacks (edgesr.export.census)
    shared_note: str = "export one scale at a time"  # why there is no shared artifact, when there is none
    # per quantized precision: what its artifacts compute in, and what that assumes (written to the manifest)
    schemes: dict[str, str] = field(default_factory=dict)
    # the precision whose activations are int8 (edgesr's ranges; 16-bit parts unless --pure-int8), if any
    int8_activations: str | None = "int8"
    tolerances: dict[str, dict[str, float]] = field(default_factory=dict)  # overrides of the tables above
    # the module (edgesr.metadata.*) that embeds the I/O contract in its artifacts and reads it back
    metadata: str = ""
    # what its artifacts take and give (edgesr export --io): "tensor" (float tensors; LiteRT INT8: int8),
    # "image" (Core ML images), "uint8" (LiteRT INT8 with uint8 image I/O); the first is the default
    io: tuple[str, ...] = ("tensor",)
    io_schemes: dict[str, str] = field(default_factory=dict)  # what an --io mode adds to the manifest's quantization

    def exporter(self, shared: bool = False) -> Callable:
        target = self.shared if shared else self.function
        if target is None:
            raise ExportError(f"{self.name} cannot hold several scales in one artifact: {self.shared_note}")
        return _load(target)

    def runner_class(self) -> type:
        return _load(self.runner)

    def takes_threads(self) -> bool:
        """Whether its runner takes ``threads`` (CPU runtimes; not TensorRT, not Core ML)."""
        import inspect

        return "threads" in inspect.signature(self.runner_class().__init__).parameters

    def open(self, artifact, manifest, scale: int, **options):
        """This backend's runner for ``artifact`` (already checked against ``manifest``)."""
        return self.runner_class()(artifact, manifest, scale, **options)

    def read_back(self, artifact) -> dict:
        """What its ``readback`` function reads of ``artifact`` without running it."""
        if self.readback is None:
            raise ExportError(f"{self.name} artifacts are not read back without running them")
        return _load(self.readback)(artifact)

    def scheme(self, precision: str) -> str:
        return self.schemes.get(precision, "")

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
        """Import ``module`` (default: the runtime module), or raise naming this backend's install line."""
        from edgesr._deps import require

        module = module or self.runtime_module
        if module.split(".")[0] == self.runtime_module.split(".")[0]:  # the runtime alone: its extra needs no torch
            return require(module, self.runtime_extra or self.extra, install=self.install or None)
        return require(module, self.extra, install=self.install or None)

    @property
    def runtime_install_hint(self) -> str:
        """How to install what runs its artifacts (without a converter, without torch where it can)."""
        return self.install or f"pip install 'edgesr[{self.runtime_extra or self.extra}]'"


# edgesr's one INT8 scheme (edgesr.train.qat), which every format's INT8 artifact computes
_SCHEME = ("every activation 8-bit, per tensor, over edgesr's ranges (the 1e-4 and 1 - 1e-4 quantiles over the "
           "calibration images, edgesr.export.ranges, the ones quantization-aware training used; the image "
           "[0, 1]; a concatenation's inputs on its own grid); weights int8 symmetric per output channel on a "
           "63-step grid (7-bit values, which no x86 int8 kernel can overflow: CPUs with and without VNNI compute "
           "the same integers)")
_ONNX_INT8 = f"QDQ; activations uint8 asymmetric: {_SCHEME}; biases float (folded into int32 by the runtime)"
_ONNX_W8A16 = ("QDQ (opset 21); activations uint16 asymmetric per tensor (min/max); weights int8 symmetric per "
               "channel (8 bits). ONNX Runtime's CPU provider has no 16-bit convolution: it dequantizes and runs "
               "float kernels (the numbers of an NPU's W8A16, not its speed)")
_TFLITE_INT8 = (f"full integer; activations and image I/O int8 asymmetric: {_SCHEME}; XNNPACK accumulates in 32 "
                "bits on x86 and Arm")
_TFLITE_W8A16 = ("full integer 16x8; activations and image I/O int16 symmetric per tensor (min/max, image range "
                 "pinned to [0, 1]); weights int8 symmetric per channel. LiteRT's CPU kernels for 16x8 are reference "
                 "kernels, not XNNPACK: the numbers of an NPU's W8A16, not its speed")
_COREML_W8A8 = ("activations int8 symmetric per tensor (quantize/dequantize pairs around the convolutions and "
                "additions; edgesr's ranges, the INT8 scheme's, made symmetric about 0, as Core ML's activation "
                "quantization is, so a non-negative tensor gets 7 bits; the image (input, its nearest "
                "upsampling, output) stays float16, where it would get 127 steps); weights int8 symmetric per channel at coremltools' own 8-bit scales (not "
                "the scheme's 63-step grid); iOS 17 / macOS 14 or later; int8-int8 compute on the Neural Engine of A17 Pro, M4 "
                "and later, float16 compute between the pairs elsewhere")

_OPENVINO_INT8 = f"the ONNX INT8 QDQ graph as FakeQuantize ops; activations uint8 asymmetric: {_SCHEME}"

_EXECUTORCH_INT8 = (f"PT2E static quantization with ExecuTorch's XNNPACK quantizer set to edgesr's scheme; activations "
                    f"int8 asymmetric (the uint8 grid, shifted): {_SCHEME}; biases float, folded by XNNPACK; XNNPACK "
                    "accumulates in 32 bits on x86 and Arm")
_TENSORRT_INT8 = (f"explicit quantization from an ONNX QDQ graph: the INT8 scheme's symmetric form (TensorRT takes zero "
                  f"points of 0 only): activations int8 symmetric over edgesr's ranges made symmetric about 0 (a "
                  f"non-negative tensor gets 7 bits); the image (input, its nearest upsampling, output) float, where "
                  f"it would get 127 steps; weights int8 symmetric per channel on the scheme's 63-step grid; "
                  f"biases float")

BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("onnx", ".onnx", "edgesr.export.onnx:export_onnx", "onnx", ("fp32", "fp16", "int8", "w8a16"),
            runtime="onnxruntime", runner="edgesr.runtimes.onnxruntime:OnnxRuntimeRunner",
            runtime_module="onnxruntime", converter_package="onnxruntime", dynamic=True,
            tools=("onnx", "onnxruntime", "onnxruntime-gpu", "onnxscript", "onnxslim"), devices=("cpu", "cuda"),
            remote_install="pip install onnxruntime", shared="edgesr.export.onnx:export_onnx_shared",
            runtime_extra="ort", metadata="edgesr.metadata.onnx",
            census="edgesr.export.census:onnx_census",
            schemes={"int8": _ONNX_INT8, "w8a16": _ONNX_W8A16,
                     "int16": " (uint16 QDQ; the nodes reading them run in float between DQ and Q on "
                              "ONNX Runtime's CPU provider)"}),
    Backend("tflite", ".tflite", "edgesr.export.tflite:export_tflite", "tflite", ("fp32", "fp16", "int8", "w8a16"),
            runtime="litert", runner="edgesr.runtimes.litert:LiteRTRunner",
            runtime_module="ai_edge_litert.interpreter", converter_package="litert_torch", dynamic=False,
            tools=("litert-torch", "ai-edge-litert", "ai-edge-quantizer", "torchao"),
            remote_install="pip install ai-edge-litert (or tflite-runtime, on boards whose Python it supports)",
            runtime_extra="litert", metadata="edgesr.metadata.tflite", io=("tensor", "uint8"),
            census="edgesr.export.census:tflite_census",
            shared="edgesr.export.tflite:export_tflite_shared",
            io_schemes={"uint8": "; image I/O uint8 (the value is the pixel: scale 1/255, zero point 0), "
                                 "requantized exactly to and from the int8 graph by QUANTIZE ops"},
            schemes={"int8": _TFLITE_INT8, "w8a16": _TFLITE_W8A16,
                     "int16": " (16x8 ops, requantized from int8 by QUANTIZE ops: needs a runtime whose QUANTIZE "
                              "turns int8 into int16, as ai-edge-litert's does; tflite-runtime 2.14 refuses it, "
                              "export with --pure-int8 for such runtimes)"}),
    Backend("coreml", ".mlpackage", "edgesr.export.coreml:export_coreml", "coreml",
            ("fp32", "fp16", "int8", "w8a8", "palette6"), runtime="coreml",
            runner="edgesr.runtimes.coreml:CoreMLRunner", runtime_module="coremltools",
            converter_package="coremltools", dynamic=False, tools=("coremltools",), host_os=("darwin",),
            shared="edgesr.export.coreml:export_coreml_shared", enumerated=True,
            readback="edgesr.export.coreml:describe", int8_activations="w8a8",
            metadata="edgesr.metadata.coreml", io=("tensor", "image"),
            census="edgesr.export.census:coreml_census",
            schemes={"int8": "weights only: int8 symmetric per channel, dequantized on load; "
                             "activations stay float16/float32",
                     "w8a8": _COREML_W8A8,
                     "int16": " (float16 in Core ML: its activation quantization is 8-bit only)"}),
    Backend("openvino", ".openvino", "edgesr.export.openvino:export_openvino", "openvino", ("fp32", "fp16", "int8"),
            runtime="openvino", runner="edgesr.runtimes.openvino:OpenVINORunner", runtime_module="openvino",
            converter_package="openvino", dynamic=True, tools=("openvino",),
            devices=("cpu", "gpu", "npu"), runtime_extra="openvino-runtime",
            schemes={"int8": _OPENVINO_INT8}, metadata="edgesr.metadata.openvino",
            census="edgesr.export.census:openvino_census",
            shared="edgesr.export.openvino:export_openvino_shared"),
    Backend("executorch", ".pte", "edgesr.export.executorch:export_executorch", "executorch", ("fp32", "int8"),
            runtime="executorch", runner="edgesr.runtimes.executorch:ExecuTorchRunner",
            runtime_module="executorch.runtime", converter_package="executorch", dynamic=False,
            tools=("executorch", "torchao"), shared="edgesr.export.executorch:export_executorch_shared",
            schemes={"int8": _EXECUTORCH_INT8}, census="edgesr.export.census:executorch_census"),
    Backend("tensorrt", ".engine", "edgesr.export.tensorrt:export_tensorrt", "tensorrt", ("fp16", "int8"),
            runtime="tensorrt", runner="edgesr.runtimes.tensorrt:TensorRTRunner", runtime_module="tensorrt",
            converter_package="tensorrt", dynamic=True, tools=("tensorrt",),
            install="pip install --extra-index-url https://pypi.nvidia.com 'tensorrt-cu12>=10,<11' "
                    "(NVIDIA's index; needs an NVIDIA GPU and driver)",
            devices=("cuda",), needs_gpu=True, profiles=True,
            schemes={"int8": _TENSORRT_INT8},
            shared_note="a TensorRT If needs equal output shapes in both branches, and each scale's "
                        "output has its own shape; export one engine per scale"),
)}


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ExportError(f"unknown format {name!r}; known formats: {', '.join(BACKENDS)}") from None


def check_precision(backend: Backend, precision: str) -> str:
    if precision not in backend.precisions:
        raise ExportError(f"{backend.name} does not take precision {precision!r}; "
                          f"it takes {', '.join(backend.precisions)}")
    return precision


def remote_backends() -> tuple[Backend, ...]:
    """The backends whose artifacts the on-device runner runs."""
    return tuple(b for b in BACKENDS.values() if b.remote)


def manifest_tools() -> tuple[str, ...]:
    """The distributions whose versions every manifest records: torch and each backend's tools."""
    return tuple(dict.fromkeys(("torch",) + tuple(t for b in BACKENDS.values() for t in b.tools)))
