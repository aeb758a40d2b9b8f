"""PyTorch's own precisions and modes (the desktop GPU baseline's rows): each computes what FP32
eager does, within its precision, leaves the caller's module as it was, and refuses what it cannot
run in one line. The CUDA cases need a GPU (``gpu`` marker; scripts/gpu_check.sh runs them)."""

import numpy as np
import pytest
import torch

from edgesr.errors import EdgesrError
from edgesr.models.weights import load_model
from edgesr.runtimes.torch import TorchRunner
from edgesr.runtimes.torch_modes import CUDA_ONLY_MODES, TORCH_MODES, TORCH_PRECISIONS

# the largest difference from FP32 eager on [0, 1]: FP32 modes only reorder sums; autocast rounds
# (measured on masrn x4, AMD EPYC, CPU: fp32 channels_last 3e-7, fp16 5e-4, bf16 3.4e-3)
ATOL = {"fp32": 1e-4, "fp16": 5e-3, "bf16": 2e-2}
CUDA = torch.cuda.is_available()


def _outputs(device, cases, photo):
    """The network's float outputs (NCHW on [0, 1]) on the photo and on a smaller crop of it: FP32
    eager's on ``device``, and each (precision, mode)'s (a second shape: CUDA graphs capture another,
    ``torch.compile`` recompiles)."""
    model = load_model("masrn", 4)
    x = np.ascontiguousarray(photo.transpose(2, 0, 1)[None], dtype=np.float32) / 255
    small = np.ascontiguousarray(x[:, :, :x.shape[2] // 2, :x.shape[3] // 2 + 1])
    with TorchRunner(model, 4, device=device) as reference:
        expected = (reference.run(x), reference.run(small))
    got = {}
    for precision, mode in cases:
        with TorchRunner(model, 4, device=device, precision=precision, mode=mode) as runner:
            got[precision, mode] = (runner.run(x), runner.run(small))
        assert all(p.is_contiguous() for p in model.parameters()), f"{precision} {mode} left the module channels last"
    return expected, got


@pytest.mark.parametrize("precision", TORCH_PRECISIONS)
def test_each_precision_and_cpu_mode_computes_fp32_eager(photo, precision):
    modes = [m for m in TORCH_MODES if m not in CUDA_ONLY_MODES and m != "compile"]  # compile: the slow test below
    (expected, expected_small), got = _outputs("cpu", [(precision, m) for m in modes], photo[:16, :20])
    for (p, mode), (y, y_small) in got.items():
        assert np.abs(y - expected).max() <= ATOL[p], (p, mode)
        assert np.abs(y_small - expected_small).max() <= ATOL[p], (p, mode)


@pytest.mark.slow
def test_compile_computes_fp32_eager(photo):
    (expected, expected_small), got = _outputs("cpu", [("fp32", "compile")], photo)
    y, y_small = got["fp32", "compile"]
    assert np.abs(y - expected).max() <= ATOL["fp32"]
    assert np.abs(y_small - expected_small).max() <= ATOL["fp32"]  # a second shape: recompiled, still right


def test_what_cannot_run_is_refused_in_one_line():
    model = load_model("masrn", 4)
    with pytest.raises(EdgesrError, match="PyTorch mode cuda_graphs needs a CUDA GPU, and this runner is on cpu; "
                                          "choose another mode"):
        TorchRunner(model, 4, device="cpu", mode="cuda_graphs")
    with pytest.raises(EdgesrError, match="PyTorch precision 'int8' is not one of fp32, fp16, bf16"):
        TorchRunner(model, 4, device="cpu", precision="int8")
    with pytest.raises(EdgesrError, match="PyTorch mode 'turbo' is not one of eager, channels_last, compile, cuda_graphs"):
        TorchRunner(model, 4, device="cpu", mode="turbo")


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", TORCH_PRECISIONS)
def test_every_mode_on_the_gpu_computes_cpu_fp32_eager(photo, precision):
    """On the GPU, every mode (CUDA graphs: captured once per shape, replayed) against the CPU's FP32 eager."""
    (cpu, cpu_small), _ = _outputs("cpu", [], photo)
    _, got = _outputs("cuda", [(precision, m) for m in TORCH_MODES], photo)
    tolerance = max(ATOL[precision], 1e-3)  # TF32 and cuDNN's own algorithms on the GPU
    for (p, mode), (y, y_small) in got.items():
        assert np.abs(y - cpu).max() <= tolerance, (p, mode)
        assert np.abs(y_small - cpu_small).max() <= tolerance, (p, mode)
