"""LiteRT (TFLite): converted with litert-torch (and rewritten here: NHWC, edgesr's INT8 scheme), run by
ai-edge-litert or tflite-runtime, on this machine or a board."""

from __future__ import annotations

from pathlib import Path

from edgesr.formats.base import FULL_WEIGHTS, INT8_SCHEME, INT8_WEIGHTS, Format
from edgesr.manifest import Grid, Scheme

INT8 = (f"full integer; activations and image I/O int8 asymmetric: {INT8_SCHEME}; XNNPACK accumulates in 32 "
        "bits on x86 and Arm")
W8A16 = ("full integer 16x8; activations and image I/O int16 symmetric per tensor (min/max, image range "
         "pinned to [0, 1]); weights int8 symmetric per channel. LiteRT's CPU kernels for 16x8 are reference "
         "kernels, not XNNPACK: the numbers of an NPU's W8A16, not its speed")


class TFLite(Format):
    def export_function(self):
        from edgesr.formats.tflite.export import export_tflite

        return export_tflite

    def runner_class(self) -> type:
        from edgesr.formats.tflite.runner import LiteRTRunner

        return LiteRTRunner

    def metadata_module(self):
        from edgesr.formats.tflite import metadata

        return metadata

    def census(self, artifact: Path) -> dict:
        from edgesr.formats.tflite.census import census

        return census(artifact)

    def check_io(self, io: str, precision: str) -> None:
        from edgesr.formats.tflite.io import check_io

        check_io(io, precision)


FORMAT = TFLite(
    "tflite", ".tflite", extra="tflite", precisions=("fp32", "fp16", "int8", "w8a16"), runtime="litert",
    runtime_module="ai_edge_litert.interpreter", converter_package="litert_torch", dynamic=False,
    tools=("litert-torch", "ai-edge-litert", "ai-edge-quantizer", "torchao"),
    remote_install="pip install ai-edge-litert (or tflite-runtime, on boards whose Python it supports)",
    runtime_extra="litert", metadata=True, io=("tensor", "uint8"), shared=True, mixed_int16=True,
    io_schemes={"uint8": "; image I/O uint8 (the value is the pixel: scale 1/255, zero point 0), "
                         "requantized exactly to and from the int8 graph by QUANTIZE ops"},
    schemes={"int8": INT8, "w8a16": W8A16,
             "int16": " (16x8 ops, requantized from int8 by QUANTIZE ops: needs a runtime whose QUANTIZE "
                      "turns int8 into int16, as ai-edge-litert's does; tflite-runtime 2.14 refuses it, "
                      "export with --pure-int8 for such runtimes)"},
    quant_schemes={"int8": Scheme("full_integer", INT8_WEIGHTS, Grid(8, True, False, "tensor", "edgesr"),
                                  wide=Grid(16, True, True, "tensor", "edgesr_symmetric")),
                   "w8a16": Scheme("full_integer", FULL_WEIGHTS, Grid(16, True, True, "tensor", "minmax"))})
