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
                     shared="edgesr.export.onnx:export_onnx_shared"),
        ExportFormat("tflite", ".tflite", "edgesr.export.tflite:export_tflite", "tflite",
                     ("fp32", "fp16", "int8"), runtime="litert", dynamic=False,
                     shared="edgesr.export.tflite:export_tflite_shared"),
        ExportFormat("coreml", ".mlpackage", "edgesr.export.coreml:export_coreml", "coreml",
                     ("fp32", "fp16", "int8", "palette6"), runtime="coreml", dynamic=False, host_os=("darwin",),
                     shared="edgesr.export.coreml:export_coreml_shared", enumerated=True),
        ExportFormat("tensorrt", ".engine", "edgesr.export.tensorrt:export_tensorrt", "tensorrt",
                     ("fp16", "int8"), runtime="tensorrt", dynamic=True, needs_gpu=True,
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
