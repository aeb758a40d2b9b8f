"""The export formats, one row each: what to call, what to install, what it can do."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
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
    int8_scheme: str = ""  # what its INT8 artifacts compute in, and what that assumes (written to the manifest)

    def exporter(self, shared: bool = False) -> Callable:
        target = self.shared if shared else self.function
        if target is None:
            raise ExportError(f"{self.name} cannot hold several scales in one artifact: {self.shared_note}")
        module, func = target.split(":")
        return getattr(importlib.import_module(module), func)

    @property
    def runs_here(self) -> bool:
        return not self.host_os or sys.platform in self.host_os


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("onnx", ".onnx", "edgesr.export.onnx:export_onnx", "onnx",
                     ("fp32", "fp16", "int8"), runtime="onnxruntime", dynamic=True,
                     shared="edgesr.export.onnx:export_onnx_shared",
                     int8_scheme="QDQ; activations uint8 asymmetric per tensor (min/max); weights int8 symmetric "
                                 "per channel in 7 bits (reduce_range), so that x86 CPUs without VNNI, whose u8 x s8 "
                                 "kernels add pairs of products with 16-bit saturation, compute what VNNI and Arm "
                                 "CPUs compute"),
        ExportFormat("tflite", ".tflite", "edgesr.export.tflite:export_tflite", "tflite",
                     ("fp32", "fp16", "int8"), runtime="litert", dynamic=False,
                     shared="edgesr.export.tflite:export_tflite_shared",
                     int8_scheme="full integer; activations and image I/O int8 asymmetric per tensor (min/max, "
                                 "image range pinned to [0, 1]); weights int8 symmetric per channel (8 bits); "
                                 "XNNPACK accumulates in 32 bits on x86 and Arm"),
        ExportFormat("coreml", ".mlpackage", "edgesr.export.coreml:export_coreml", "coreml",
                     ("fp32", "fp16", "int8", "palette6"), runtime="coreml", dynamic=False, host_os=("darwin",),
                     shared="edgesr.export.coreml:export_coreml_shared", enumerated=True,
                     int8_scheme="weights only: int8 symmetric per channel, dequantized on load; activations "
                                 "stay float16/float32"),
        ExportFormat("tensorrt", ".engine", "edgesr.export.tensorrt:export_tensorrt", "tensorrt",
                     ("fp16", "int8"), runtime="tensorrt", dynamic=True, needs_gpu=True,
                     int8_scheme="explicit quantization from an ONNX QDQ graph; activations and weights int8 "
                                 "symmetric (zero point 0), weights per channel",
                     shared_note="a TensorRT If needs equal output shapes in both branches, and each scale's "
                                 "output has its own shape; export one engine per scale"),
    )
}


DEFAULT_FIXED_SIZE = (128, 128)  # LR input size for formats that need one, when none is given


def get_format(name: str) -> ExportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}") from None


def check_precision(fmt: ExportFormat, precision: str) -> str:
    if precision not in fmt.precisions:
        raise ExportError(f"{fmt.name} does not take precision {precision!r}; it takes {', '.join(fmt.precisions)}")
    return precision
