"""TensorRT for RTX engines (:mod:`edgesr.formats.engines`): a strongly typed network, so the precision
is the graph's: FP32 and FP16 (float16 inside, float32 input and output) ONNX graphs, INT8 the scheme's
symmetric QDQ graph. ``Conversion.targets`` picks the GPU architectures (default: the builder's own).
Built on the CPU: from masrn x4's dynamic ONNX graph, FP32 0.7 s, FP16 0.8 s, INT8 2.6 s on a 2-core
AMD EPYC (issue 38's measurements with TensorRT for RTX 1.7.1.116)."""

from __future__ import annotations

from pathlib import Path

from edgesr.formats.base import Conversion, Exported, get_format
from edgesr.formats.engines import export_engine


def export_tensorrt_rtx(model, out: Path, job: Conversion) -> Exported:
    return export_engine(get_format("tensorrt-rtx"), model, out, job, strongly_typed=True)
