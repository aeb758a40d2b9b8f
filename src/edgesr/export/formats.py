"""The export formats, one row each: what to call, what to install, what it can do."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import Callable

from edgesr.errors import ExportError


@dataclass(frozen=True)
class ExportFormat:
    name: str
    suffix: str
    function: str  # "module:function", imported only when used
    extra: str  # pip install 'edgesr[extra]'
    precisions: tuple[str, ...]
    runtime: str  # the runner that executes it (runtimes table key)
    dynamic: bool  # can take any input H and W at run time
    needs_gpu: bool = False
    host_os: tuple[str, ...] = ()  # where its runtime runs; () = anywhere
    shared: str | None = None  # "module:function" writing one artifact for several scales (shared trunk)
    enumerated: bool = False  # a fixed-shape format that can hold several input sizes
    shared_note: str = "export one scale at a time"  # why there is no shared artifact, when there is none
    # per quantized precision: what its artifacts compute in, and what that assumes (written to the manifest)
    schemes: dict[str, str] = field(default_factory=dict)
    # the INT8 weight grid (levels each side of 0, per channel): what QAT must train for
    # (``qat.weight_levels``) to simulate this format's artifacts
    weight_levels: int = 127
    # the precision whose activations are int8 (edgesr's ranges; 16-bit parts unless --pure-int8), if any
    int8_activations: str | None = "int8"

    def exporter(self, shared: bool = False) -> Callable:
        target = self.shared if shared else self.function
        if target is None:
            raise ExportError(f"{self.name} cannot hold several scales in one artifact: {self.shared_note}")
        module, func = target.split(":")
        return getattr(importlib.import_module(module), func)

    def scheme(self, precision: str) -> str:
        return self.schemes.get(precision, "")

    @property
    def runs_here(self) -> bool:
        return not self.host_os or sys.platform in self.host_os


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("onnx", ".onnx", "edgesr.export.onnx:export_onnx", "onnx",
                     ("fp32", "fp16", "int8", "w8a16"), runtime="onnxruntime", dynamic=True,
                     shared="edgesr.export.onnx:export_onnx_shared", weight_levels=64,
                     schemes={"int8": "QDQ; activations uint8 asymmetric per tensor (ranges: the 1e-4 and 1 - 1e-4 quantiles "
                                 "over the calibration images, edgesr.export.ranges); weights int8 symmetric "
                                 "per channel in 7 bits (reduce_range), so that x86 CPUs without VNNI, whose u8 x s8 "
                                 "kernels add pairs of products with 16-bit saturation, compute what VNNI and Arm "
                                 "CPUs compute",
                              "w8a16": "QDQ (opset 21); activations uint16 asymmetric per tensor (min/max); weights "
                                       "int8 symmetric per channel (8 bits). ONNX Runtime's CPU provider has no 16-bit "
                                       "convolution: it dequantizes and runs float kernels (the numbers of an NPU's "
                                       "W8A16, not its speed)",
                              "int16": " (uint16 QDQ; the nodes reading them run in float between DQ and Q on "
                                       "ONNX Runtime's CPU provider)"}),
        ExportFormat("tflite", ".tflite", "edgesr.export.tflite:export_tflite", "tflite",
                     ("fp32", "fp16", "int8", "w8a16"), runtime="litert", dynamic=False,
                     shared="edgesr.export.tflite:export_tflite_shared",
                     schemes={"int8": "full integer; activations and image I/O int8 asymmetric per tensor (ranges: "
                                 "the 1e-4 and 1 - 1e-4 quantiles over the calibration images, image range pinned "
                                 "to [0, 1]); weights int8 symmetric per channel (8 bits); "
                                 "XNNPACK accumulates in 32 bits on x86 and Arm",
                              "w8a16": "full integer 16x8; activations and image I/O int16 symmetric per tensor "
                                       "(min/max, image range pinned to [0, 1]); weights int8 symmetric per channel. "
                                       "LiteRT's CPU kernels for 16x8 are reference kernels, not XNNPACK: the numbers "
                                       "of an NPU's W8A16, not its speed",
                              "int16": " (16x8 ops, requantized from int8 by QUANTIZE ops: needs a runtime whose "
                                       "QUANTIZE turns int8 into int16, as ai-edge-litert's does; tflite-runtime 2.14 "
                                       "refuses it, export with --pure-int8 for such runtimes)"}),
        ExportFormat("coreml", ".mlpackage", "edgesr.export.coreml:export_coreml", "coreml",
                     ("fp32", "fp16", "int8", "w8a8", "palette6"), runtime="coreml", dynamic=False, host_os=("darwin",),
                     shared="edgesr.export.coreml:export_coreml_shared", enumerated=True,
                     int8_activations="w8a8",
                     schemes={"int8": "weights only: int8 symmetric per channel, dequantized on load; "
                                      "activations stay float16/float32",
                              "w8a8": "activations int8 symmetric per tensor (quantize/dequantize pairs around the "
                                      "convolutions and additions; ranges: the 1e-4 and 1 - 1e-4 quantiles over the "
                                      "calibration images, edgesr.export.ranges, made symmetric about 0, so a "
                                      "non-negative tensor gets 7 bits; the image input stays float16, where it "
                                      "would get 127 steps); weights int8 symmetric per channel (8 bits); "
                                      "iOS 17 / macOS 14 or later; int8-int8 compute on the Neural Engine of A17 Pro, "
                                      "M4 and later, float16 compute between the pairs elsewhere",
                              "int16": " (float16 in Core ML: its activation quantization is 8-bit only)"}),
        ExportFormat("tensorrt", ".engine", "edgesr.export.tensorrt:export_tensorrt", "tensorrt",
                     ("fp16", "int8"), runtime="tensorrt", dynamic=True, needs_gpu=True,
                     schemes={"int8": "explicit quantization from an ONNX QDQ graph; activations and weights "
                                      "int8 symmetric (zero point 0), weights per channel; every activation 8-bit "
                                      "(TensorRT's QDQ takes no 16-bit integers)"},
                     shared_note="a TensorRT If needs equal output shapes in both branches, and each scale's "
                                 "output has its own shape; export one engine per scale"),
    )
}


# precisions whose export quantizes activations, so it needs calibration images
CALIBRATED = ("int8", "w8a8", "w8a16")
# how far below PyTorch FP32 (dPSNR on the check set, dB) an artifact may score: beyond it an export
# fails and leaves nothing behind, and edgesr bench marks the row "failed validation"
LOSS_BOUND_DB = {"fp32": 0.02, "fp16": 0.05, "w8a16": 0.05, "int8": 0.3, "w8a8": 0.3, "palette6": 0.5}

# how close (PSNR on the check set, dB) an unquantized artifact's output must stay to PyTorch FP32's:
# a conversion that computes something else can score near PyTorch against the HR images and still
# be wrong (quantized precisions are held by LOSS_BOUND_DB alone: their rounding is the difference)
TORCH_PSNR_FLOOR_DB = {"fp32": 50.0, "fp16": 40.0}

DEFAULT_FIXED_SIZE = (128, 128)  # LR input size for formats that need one, when none is given


QUANT_METHODS = ("auto", "ptq", "qat")  # where int8 weights start: auto (QAT where shipped), float, QAT


def get_format(name: str) -> ExportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}") from None


def check_precision(fmt: ExportFormat, precision: str) -> str:
    if precision not in fmt.precisions:
        raise ExportError(f"{fmt.name} does not take precision {precision!r}; it takes {', '.join(fmt.precisions)}")
    return precision
