"""OpenVINO: the ONNX graph (INT8: its QDQ graph as FakeQuantize ops) converted to OpenVINO IR, run by
OpenVINO on the CPU (or an Intel GPU or NPU)."""

from __future__ import annotations

from pathlib import Path

from edgesr.formats.base import INT8_ACTIVATIONS, INT8_SCHEME, INT8_WEIGHTS, Format
from edgesr.manifest import Scheme

INT8 = f"the ONNX INT8 QDQ graph as FakeQuantize ops; activations uint8 asymmetric: {INT8_SCHEME}"


class OpenVINO(Format):
    def export_function(self):
        from edgesr.formats.openvino.export import export_openvino

        return export_openvino

    def runner_class(self) -> type:
        from edgesr.formats.openvino.runner import OpenVINORunner

        return OpenVINORunner

    def metadata_module(self):
        from edgesr.formats.openvino import metadata

        return metadata

    def census(self, artifact: Path) -> dict:
        from edgesr.formats.openvino.census import census

        return census(artifact)


FORMAT = OpenVINO(
    "openvino", ".openvino", extra="openvino", precisions=("fp32", "fp16", "int8"), runtime="openvino",
    runtime_module="openvino", converter_package="openvino", dynamic=True, tools=("openvino",),
    devices=("cpu", "gpu", "npu"), runtime_extra="openvino-runtime", schemes={"int8": INT8}, metadata=True,
    quant_schemes={"int8": Scheme("fake_quantize", INT8_WEIGHTS, INT8_ACTIVATIONS)},
    shared=True)
