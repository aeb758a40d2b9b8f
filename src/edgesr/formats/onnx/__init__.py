"""ONNX: exported with torch.onnx (QDQ graphs for INT8 and W8A16), run by ONNX Runtime on the CPU or CUDA."""

from __future__ import annotations

from pathlib import Path

from edgesr.formats.base import FULL_WEIGHTS, INT8_ACTIVATIONS, INT8_SCHEME, INT8_WEIGHTS, Format
from edgesr.manifest import Grid, Scheme

INT8 = f"QDQ; activations uint8 asymmetric: {INT8_SCHEME}; biases int32 (the input's scale times the weight's)"
W8A16 = ("QDQ (opset 21); activations uint16 asymmetric per tensor (min/max); weights int8 symmetric per "
         "channel (8 bits). ONNX Runtime's CPU provider has no 16-bit convolution: it dequantizes and runs "
         "float kernels (the numbers of an NPU's W8A16, not its speed)")


class Onnx(Format):
    def export_function(self):
        from edgesr.formats.onnx.export import export_onnx

        return export_onnx

    def runner_class(self) -> type:
        from edgesr.formats.onnx.runner import OnnxRuntimeRunner

        return OnnxRuntimeRunner

    def metadata_module(self):
        from edgesr.formats.onnx import metadata

        return metadata

    def census(self, artifact: Path) -> dict:
        from edgesr.formats.onnx.census import census

        return census(artifact)


FORMAT = Onnx(
    "onnx", ".onnx", extra="onnx", precisions=("fp32", "fp16", "int8", "w8a16"), runtime="onnxruntime",
    runtime_module="onnxruntime", converter_package="onnxruntime", dynamic=True,
    tools=("onnx", "onnxruntime", "onnxruntime-gpu", "onnxscript", "onnxslim"), devices=("cpu", "cuda"),
    remote_install="pip install onnxruntime", shared=True, runtime_extra="ort", metadata=True, mixed_int16=True,
    schemes={"int8": INT8, "w8a16": W8A16,
             "int16": " (uint16 QDQ; the nodes reading them run in float between DQ and Q on "
                      "ONNX Runtime's CPU provider)"},
    quant_schemes={"int8": Scheme("qdq", INT8_WEIGHTS, INT8_ACTIVATIONS, wide=Grid(16, False, False, "tensor", "edgesr")),
                   "w8a16": Scheme("qdq", FULL_WEIGHTS, Grid(16, False, False, "tensor", "minmax"))})
