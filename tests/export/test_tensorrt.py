"""TensorRT: what runs without it (the refusal and its install hint), and engine builds marked
``tensorrt`` that skip where TensorRT or a GPU is missing (no machine of this project has both)."""

import importlib.util

import numpy as np
import pytest
import torch

from edgesr.errors import MissingDependencyError
from edgesr.conversion.api import export_model
from edgesr.formats.registry import open_runner
from edgesr.models.weights import load_model

has_trt = importlib.util.find_spec("tensorrt") is not None and torch.cuda.is_available()
needs_trt = pytest.mark.skipif(not has_trt, reason="TensorRT and an NVIDIA GPU are needed; TensorRT is not on PyPI")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed")
def test_missing_tensorrt_names_the_install(weights, tmp_path):
    with pytest.raises(MissingDependencyError, match="pypi.nvidia.com"):
        export_model("masrn", 4, "tensorrt", tmp_path, weights=weights["masrn"])
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.tensorrt
@pytest.mark.gpu
@needs_trt
@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_engine_matches_pytorch(weights, tmp_path, data_root, precision):
    engine = export_model("masrn", 4, "tensorrt", tmp_path, precision=precision, weights=weights["masrn"],
                          profile=((16, 16), (32, 32), (64, 64)), calib_images=8, data_root=str(data_root))
    x = np.random.default_rng(0).random((1, 3, 40, 24), dtype=np.float32)
    with torch.no_grad():
        ref = load_model("masrn", 4, weights["masrn"])(torch.from_numpy(x), 4).numpy()
    with open_runner(engine, device="cuda") as runner:
        np.testing.assert_allclose(runner.run(x), ref, atol=0.05 if precision == "int8" else 1e-2)


@pytest.mark.skipif(importlib.util.find_spec("tensorrt_rtx") is None,
                    reason="TensorRT for RTX is not installed: pip install tensorrt-rtx-cu13 (.ci/run does)")
@pytest.mark.slow
def test_symmetric_int8_graph_parses_and_builds_with_tensorrt_rtx(data_root, tmp_path):
    """The graph a TensorRT INT8 engine is built from (the scheme's symmetric form of the shipped
    masrn x4, dynamic H and W): TensorRT for RTX's ONNX parser takes it (it refused edgesr's earlier
    INT8 graph: uint16 zero points, int32 biases, non-zero zero points) and builds an engine ahead
    of time, with no GPU."""
    import onnx
    import tensorrt_rtx as trt

    from edgesr.data.calibration import calibration_images, calibration_inputs
    from edgesr.formats import get_format
    from edgesr.formats.base import Conversion

    model = load_model("masrn", 4)
    root = str(data_root)
    out = tmp_path / "symmetric.onnx"
    get_format("onnx").export(model, out, Conversion(
        (4,), "int8", calibration={4: calibration_inputs(model, 4, "T91", 4, (32, 32), root)},
        range_inputs={4: calibration_images(model, 4, "T91", 4, root)}, symmetric=True))
    graph = onnx.load(str(out)).graph
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    zero_points = [inits[n.input[2]] for n in graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert zero_points and all(z.dtype == np.int8 and not z.any() for z in zero_points)
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse_from_file(str(out)), [str(parser.get_error(i)) for i in range(parser.num_errors)]
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("input", (1, 3, 16, 16), (1, 3, 64, 64), (1, 3, 256, 256))
    config.add_optimization_profile(profile)
    assert builder.build_serialized_network(network, config) is not None
