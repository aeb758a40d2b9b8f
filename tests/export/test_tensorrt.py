"""TensorRT: what runs without it (the refusal and its install hint), and engine builds marked
``tensorrt`` that skip where TensorRT or a GPU is missing (no machine of this project has both)."""

import importlib.util

import numpy as np
import pytest
import torch

from edgesr.errors import MissingDependencyError
from edgesr.export.api import export_model
from edgesr.models.weights import load_model
from edgesr.runtimes.registry import open_runner

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
