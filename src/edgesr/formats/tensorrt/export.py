"""TensorRT engines, built from this package's ONNX export with the TensorRT Python API (10.x).

* FP16: the FP32 ONNX graph, built with the FP16 builder flag.
* INT8: explicit quantization. The graph is the ONNX INT8 export in the scheme's symmetric form
  (int8 activations over edgesr's ranges made symmetric, as TensorRT takes only zero points of 0;
  the same 63-step weights; float biases, as TensorRT takes no int32 bias); its Q/DQ pairs fix the
  INT8 layers and the FP16 flag lets the rest run in FP16.
  (The implicit-calibration route, IInt8EntropyCalibrator2, is deprecated since TensorRT 10.1 and
  removed in 11.)
* One optimization profile: min / opt / max input H and W (all equal for a fixed input size).

An engine is tied to the GPU model and the TensorRT version that built it (both go in the manifest).
TensorRT's libraries are not on PyPI, so nothing here runs in this project's CI; the tests that
build engines are marked ``tensorrt`` and skip where the package or a GPU is missing. The builder path is
:mod:`edgesr.formats.engines`, shared with TensorRT for RTX (whose wheels are on PyPI and build here).
"""

from __future__ import annotations

from pathlib import Path

from edgesr.formats.base import Conversion, Exported, get_format
from edgesr.formats.engines import export_engine


def export_tensorrt(model, out: Path, job: Conversion) -> Exported:
    """FP32 graph with the FP16 flag, or the INT8 scheme's symmetric QDQ graph, then one engine."""
    return export_engine(get_format("tensorrt"), model, out, job, strongly_typed=False)
