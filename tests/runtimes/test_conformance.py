"""One contract, every runner: the same checks run against each backend and precision."""

import numpy as np
import pytest

from edgesr.errors import EdgesrError
from edgesr.models.weights import load_model
from edgesr.runtimes.torch import TorchRunner

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")

RUNNERS = ["torch", "onnxruntime-fp32", "onnxruntime-int8", "litert-fp32", "litert-int8"]


@pytest.fixture(params=RUNNERS)
def runner(request, weights):
    from edgesr.runtimes.registry import open_runner
    if request.param == "torch":
        return TorchRunner(load_model("espcn", 2, weights["espcn"]), 2)
    backend, precision = request.param.split("-")
    if backend == "litert":
        pytest.importorskip("litert_torch", reason="the tflite extra is not installed")
        return open_runner(request.getfixturevalue("tflite_artifacts")[f"espcn-{precision}"])
    return open_runner(request.getfixturevalue("artifacts")[f"espcn-{precision}"])


def test_inactive_runner_refuses(runner):
    with pytest.raises(EdgesrError, match="not active"):
        runner.run(np.zeros((1, 1, 8, 8), np.float32))


def test_contract(runner, photo):
    with runner:
        out = runner.run(np.zeros((1, 1, 30, 26), np.float32))  # any size: fixed shapes tile
        assert out.dtype == np.float32 and out.shape == (1, 1, 60, 52)
        with pytest.raises(EdgesrError, match="N x 1 x H x W"):
            runner.run(np.zeros((1, 3, 8, 8), np.float32))
        for lr in (photo[:12, :14], photo[:12, :14, 0]):
            sr = runner.infer(lr)
            assert sr.image.dtype == np.uint8 and sr.image.shape[:2] == (24, 28) and sr.image.ndim == lr.ndim
    assert not runner.active


def test_runners_agree(artifacts, weights, photo):
    from edgesr.runtimes.registry import open_runner
    lr = photo[:16, :16]
    with TorchRunner(load_model("espcn", 2, weights["espcn"]), 2) as ref, open_runner(artifacts["espcn-fp32"]) as onnx:
        assert np.abs(ref.infer(lr).y - onnx.infer(lr).y).max() <= 1


def test_onnx_cuda_device_without_the_gpu_build_says_what_to_install(artifacts):
    import onnxruntime as ort
    from edgesr.runtimes.registry import open_runner
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    from edgesr.errors import ArtifactError
    with pytest.raises(ArtifactError, match="onnxruntime-gpu"):
        with open_runner(artifacts["espcn-fp32"], device="cuda"):
            pass


def test_device_cuda_is_refused_for_cpu_formats(tflite_artifacts):
    from edgesr.errors import ArtifactError
    from edgesr.runtimes.registry import open_runner
    with pytest.raises(ArtifactError, match="does not take device='cuda'"):
        open_runner(tflite_artifacts["espcn-fp32"], device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU and onnxruntime-gpu")
def test_onnx_cuda_fp16_matches_cpu(artifacts, photo):
    from edgesr.runtimes.registry import open_runner
    with open_runner(artifacts["espcn-fp32"]) as cpu, open_runner(artifacts["espcn-fp32"], device="cuda") as gpu:
        assert np.abs(cpu.infer(photo).y - gpu.infer(photo).y).max() <= 1
