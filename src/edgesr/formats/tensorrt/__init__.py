"""TensorRT: engines built from edgesr's ONNX (FP16; INT8 from the scheme's symmetric QDQ graph) with an
optimization profile; run on an NVIDIA GPU."""

from __future__ import annotations

from edgesr.formats.base import INT8_WEIGHTS, SYMMETRIC_ACTIVATIONS, Format
from edgesr.manifest import Scheme

INT8 = ("explicit quantization from an ONNX QDQ graph: the INT8 scheme's symmetric form (TensorRT takes zero "
        "points of 0 only): activations int8 symmetric over edgesr's ranges made symmetric about 0 (a "
        "non-negative tensor gets 7 bits); the image (input, its nearest upsampling, output) float, where "
        "it would get 127 steps; weights int8 symmetric per channel on the scheme's 63-step grid; "
        "biases float")


class TensorRT(Format):
    def export_function(self):
        from edgesr.formats.tensorrt.export import export_tensorrt

        return export_tensorrt

    def runner_class(self) -> type:
        from edgesr.formats.tensorrt.runner import TensorRTRunner

        return TensorRTRunner


FORMAT = TensorRT(
    "tensorrt", ".engine", extra="tensorrt", precisions=("fp16", "int8"), runtime="tensorrt",
    runtime_module="tensorrt", converter_package="tensorrt", dynamic=True, tools=("tensorrt",),
    install="pip install --extra-index-url https://pypi.nvidia.com 'tensorrt-cu12>=10,<11' "
            "(NVIDIA's index; needs an NVIDIA GPU and driver)",
    devices=("cuda",), threads=False, needs_gpu=True, profiles=True, schemes={"int8": INT8},
    quant_schemes={"int8": Scheme("qdq", INT8_WEIGHTS, SYMMETRIC_ACTIVATIONS, float_image=True)},
    shared_note="a TensorRT If needs equal output shapes in both branches, and each scale's "
                "output has its own shape; export one engine per scale")
