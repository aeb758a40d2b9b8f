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
build engines are marked ``tensorrt`` and skip where the package or a GPU is missing.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from torch import nn

from edgesr.errors import ExportError
from edgesr.formats.base import Conversion, Exported, get_format
from edgesr.formats.common import atomic_output
from edgesr.manifest import TensorSpec

FORMAT = get_format("tensorrt")
INSTALL = FORMAT.install  # TensorRT is not on PyPI's main index: the format's install line
DEFAULT_PROFILE = ((16, 16), (256, 256), (1024, 1024))  # min, opt, max input H x W when H and W are free


def tensorrt():
    return FORMAT.require("tensorrt")


def build_engine(onnx_path: Path, engine_path: Path, *, precision: str, channels: int,
                 profile: tuple[tuple[int, int], tuple[int, int], tuple[int, int]],
                 workspace: int = 1 << 30) -> None:
    """Parse ``onnx_path`` and write a serialized engine for NCHW inputs within ``profile``."""
    trt = tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT could not parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    shapes = builder.create_optimization_profile()
    shapes.set_shape(network.get_input(0).name, *((1, channels, h, w) for h, w in profile))
    config.add_optimization_profile(shapes)
    config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)  # explicit: the graph's Q/DQ pairs carry the scales
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ExportError(f"TensorRT failed to build an engine from {onnx_path.name}; its log above says why")
    with atomic_output(engine_path) as tmp:
        tmp.write_bytes(bytes(plan))


def export_tensorrt(model: nn.Module, out: Path, job: Conversion) -> Exported:
    """ONNX export (FP32, or the INT8 scheme's symmetric QDQ form, with edgesr's ranges measured on
    ``job.range_inputs``), then one engine for ``job.input_size`` or ``job.profile``; one scale."""
    tensorrt()  # fail before the ONNX export when TensorRT is missing
    scale, input_size = job.scales[0], job.input_size
    profile = (tuple(input_size),) * 3 if input_size is not None else job.profile or DEFAULT_PROFILE
    graph = replace(job, precision="int8" if job.precision == "int8" else "fp32", symmetric=True,
                    pure_int8=True)  # TensorRT's explicit quantization takes int8 QDQ only
    with tempfile.TemporaryDirectory() as d:
        onnx_path = Path(d) / "net.onnx"
        get_format("onnx").export(model, onnx_path, graph)
        build_engine(onnx_path, out, precision=job.precision, channels=model.spec.channels, profile=profile)
    channels = model.spec.channels
    f = 1 if model.spec.upsampling == "pre" else scale
    h, w = input_size or (None, None)
    sizes = () if input_size else tuple(profile)
    return Exported(TensorSpec("input", "NCHW", "float32", channels, h, w, sizes=sizes),
                    TensorSpec("output", "NCHW", "float32", channels, h * f if h else None, w * f if w else None,
                               sizes=tuple((a * f, b * f) for a, b in sizes)))
