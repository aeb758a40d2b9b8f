"""Core ML: converted with coremltools (ML programs; W8A8, palettes, enumerated sizes, image I/O); runs
on macOS only."""

from __future__ import annotations

from pathlib import Path

from edgesr.formats.base import FULL_WEIGHTS, SYMMETRIC_ACTIVATIONS, Format
from edgesr.manifest import Scheme

W8A8 = ("activations int8 symmetric per tensor (quantize/dequantize pairs around the convolutions and "
        "additions; edgesr's ranges, the INT8 scheme's, made symmetric about 0, as Core ML's activation "
        "quantization is, so a non-negative tensor gets 7 bits; the image (input, its nearest "
        "upsampling, output) stays float16, where it would get 127 steps); weights int8 symmetric per channel at "
        "coremltools' own 8-bit scales (not the scheme's 63-step grid); iOS 17 / macOS 14 or later; int8-int8 "
        "compute on the Neural Engine of A17 Pro, M4 and later, float16 compute between the pairs elsewhere")


class CoreML(Format):
    def export_function(self):
        from edgesr.formats.coreml.export import export_coreml

        return export_coreml

    def runner_class(self) -> type:
        from edgesr.formats.coreml.runner import CoreMLRunner

        return CoreMLRunner

    def metadata_module(self):
        from edgesr.formats.coreml import metadata

        return metadata

    def census(self, artifact: Path) -> dict:
        from edgesr.formats.coreml.census import census

        return census(artifact)

    def read_back(self, artifact: Path) -> dict:
        from edgesr.formats.coreml.export import describe

        return describe(artifact)


FORMAT = CoreML(
    "coreml", ".mlpackage", extra="coreml", precisions=("fp32", "fp16", "int8", "w8a8", "palette6"),
    runtime="coreml", runtime_module="coremltools", converter_package="coremltools", dynamic=False,
    tools=("coremltools",), host_os=("darwin",), threads=False, shared=True, enumerated=True, readback=True,
    int8_activations="w8a8", mixed_int16=True, metadata=True, io=("tensor", "image"),
    schemes={"int8": "weights only: int8 symmetric per channel, dequantized on load; "
                     "activations stay float16/float32",
             "w8a8": W8A8,
             "int16": " (float16 in Core ML: its activation quantization is 8-bit only)"},
    quant_schemes={"int8": Scheme("weights_only", FULL_WEIGHTS),
                   "w8a8": Scheme("qdq", FULL_WEIGHTS, SYMMETRIC_ACTIVATIONS, float_image=True)})
