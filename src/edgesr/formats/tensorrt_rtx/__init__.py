"""TensorRT for RTX: engines built ahead of time, on any machine (no GPU needed to build), from edgesr's
ONNX graph with PyPI's wheels; they run on NVIDIA RTX GPUs (Turing and later consumer and workstation
GPUs), not on data-centre GPUs such as Hopper."""

from __future__ import annotations

from edgesr.formats.base import INT8_WEIGHTS, SYMMETRIC_ACTIVATIONS, Format
from edgesr.manifest import Scheme

INT8 = ("explicit quantization from an ONNX QDQ graph in a strongly typed network: the INT8 scheme's symmetric "
        "form (zero points of 0): activations int8 symmetric over edgesr's ranges made symmetric about 0 (a "
        "non-negative tensor gets 7 bits); the image (input, its nearest upsampling, output) float32; weights int8 "
        "symmetric per channel on the scheme's 63-step grid; biases float")
# the compute capabilities TensorRT for RTX 1.7's builder takes (tensorrt_rtx.ComputeCapability)
TARGETS = ("sm75", "sm80", "sm86", "sm89", "sm120", "sm121")


class TensorRTForRTX(Format):
    def export_function(self):
        from edgesr.formats.tensorrt_rtx.export import export_tensorrt_rtx

        return export_tensorrt_rtx

    def runner_class(self) -> type:
        from edgesr.formats.tensorrt_rtx.runner import TensorRTForRTXRunner

        return TensorRTForRTXRunner


FORMAT = TensorRTForRTX(
    "tensorrt-rtx", ".engine", extra="tensorrt-rtx", precisions=("fp16", "fp32", "int8"), runtime="tensorrt-rtx",
    runtime_module="tensorrt_rtx", converter_package="tensorrt_rtx", dynamic=True,
    tools=("tensorrt-rtx-cu13", "tensorrt-rtx-cu12"), package="tensorrt_rtx",
    devices=("cuda",), threads=False, needs_gpu=True, profiles=True, targets=TARGETS, schemes={"int8": INT8},
    quant_schemes={"int8": Scheme("qdq", INT8_WEIGHTS, SYMMETRIC_ACTIVATIONS, float_image=True)},
    shared_note="a TensorRT If needs equal output shapes in both branches, and each scale's "
                "output has its own shape; export one engine per scale")
