"""One contract, every runner, generated from the format table: each format x a Y model, an RGB
model, a pre-upsampling model and the shared-trunk artifact with ``switch()``, against PyTorch.

A format whose runtime cannot run here skips with the reason its row gives (Core ML off macOS,
TensorRT without its package or a GPU); a new row is covered the moment it is added."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from edgesr.errors import EdgesrError, ScaleError
from edgesr.formats import FORMATS
from edgesr.formats.registry import open_runner
from edgesr.inference import upscale
from edgesr.models.weights import load_model

LR_SIZE = (24, 24)  # the input of fixed-shape artifacts: larger than masrn's whole receptive field


@dataclass(frozen=True)
class Case:
    model: str
    scales: tuple[int, ...]
    weights: str | None  # the key of the session's random weights, None: the shipped ones


CASES = {"y": Case("espcn", (2,), "espcn"),  # Y, post-upsampling (pixel shuffle)
         "rgb": Case("masrn", (3,), "masrn"),  # RGB, post-upsampling, one scale of a multi-scale model
         "pre": Case("bicubic", (2,), None),  # pre-upsampling: the network sees the bicubic upscale
         "shared": Case("masrn", (2, 3, 4), "masrn")}  # every scale in one artifact
SLOW = {"rgb", "shared"}  # masrn's conversions take tens of seconds per format
NAMES = list(FORMATS)


def _precision(format_) -> str:
    """The format's float precision: the first one held elementwise to PyTorch."""
    return next(p for p in format_.precisions if format_.atol(p) is not None)


def _model(weights, case: Case, scale: int):
    return load_model(case.model, scale, weights[case.weights] if case.weights else None)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, weights):
    """``exported(fmt, case)``: the artifact (made once per module), or a skip saying why not here."""
    from edgesr.conversion.api import export_model

    out, made = tmp_path_factory.mktemp("conformance"), {}

    def get(fmt: str, case: str):
        format_, c = FORMATS[fmt], CASES[case]
        reason = format_.unavailable()
        if reason is None and not format_.installed():
            reason = f"{fmt}'s converter is not installed: {format_.install_hint}"
        if reason is None and len(c.scales) > 1 and not format_.shared:
            reason = f"{fmt}: {format_.shared_note}"
        if reason is not None:
            pytest.skip(reason)
        if (fmt, case) not in made:
            made[fmt, case] = export_model(
                c.model, c.scales if len(c.scales) > 1 else c.scales[0], fmt, out, precision=_precision(format_),
                weights=weights[c.weights] if c.weights else None, lr_size=None if format_.dynamic else LR_SIZE,
                check=False)
        return made[fmt, case]

    return get


def _cases(*names: str):
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


def _input(runner, rng) -> np.ndarray:
    """A network input: the artifact's own size when fixed, else an odd one."""
    h, w = runner.tile if runner.fixed_shape else (21, 27)
    return rng.random((1, runner.channels, h, w), dtype=np.float32)


@pytest.mark.parametrize("case", _cases("y", "pre", "rgb"))
@pytest.mark.parametrize("fmt", NAMES)
def test_network_and_pipeline_match_pytorch(exported, weights, fmt, case, photo, rng):
    from edgesr.runtimes.torch import TorchRunner

    artifact, c = exported(fmt, case), CASES[case]
    format_ = FORMATS[fmt]
    scale = c.scales[0]
    with open_runner(artifact) as runner, TorchRunner(_model(weights, c, scale), scale) as ref:
        x = _input(runner, rng)
        out = runner.run(x)
        np.testing.assert_allclose(out, ref.run(x), atol=format_.atol(_precision(format_)))
        lr = photo[:30, :34]  # larger than a fixed-shape artifact: tiles, each with its full context
        got, want = upscale(runner, lr), upscale(ref, lr)
    assert got.image.shape == want.image.shape == (30 * scale, 34 * scale, 3)
    assert np.abs(got.image.astype(int) - want.image.astype(int)).max() <= 1
    assert np.abs(got.y - want.y).max() <= 1


@pytest.mark.slow
@pytest.mark.parametrize("fmt", NAMES)
def test_shared_trunk_switches_between_scales(exported, weights, fmt, rng):
    from edgesr.runtimes.torch import TorchRunner

    artifact, c = exported(fmt, "shared"), CASES["shared"]
    format_ = FORMATS[fmt]
    with open_runner(artifact, c.scales[0]) as runner:
        x = _input(runner, rng)
        for scale in reversed(c.scales):
            runner.switch(scale)
            assert runner.scale == scale and runner.factor == scale
            with TorchRunner(_model(weights, c, scale), scale) as ref:
                np.testing.assert_allclose(runner.run(x), ref.run(x), atol=format_.atol(_precision(format_)))
        with pytest.raises(ScaleError, match="not x5"):
            runner.switch(5)


@pytest.fixture(params=["torch", *NAMES])
def runner(request, weights, exported):
    """The runner a contract test checks: PyTorch's, or a format's on the Y case."""
    if request.param == "torch":
        from edgesr.runtimes.torch import TorchRunner

        return TorchRunner(_model(weights, CASES["y"], 2), 2)
    return open_runner(exported(request.param, "y"))


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
            sr = upscale(runner, lr)
            assert sr.image.dtype == np.uint8 and sr.image.shape[:2] == (24, 28) and sr.image.ndim == lr.ndim
        with pytest.raises(ScaleError, match="serves x2 only"):
            runner.switch(4)
    assert not runner.active


@pytest.mark.parametrize("fmt", NAMES)
def test_a_device_the_backend_does_not_take_is_refused(exported, fmt):
    from edgesr.errors import ArtifactError

    device = next(d for d in ("cuda", "cpu", "npu") if d not in FORMATS[fmt].devices)
    with pytest.raises(ArtifactError, match=f"does not take device='{device}'; device {device} is for "):
        open_runner(exported(fmt, "y"), device=device)


def test_onnx_cuda_device_without_the_gpu_build_says_what_to_install(exported):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    from edgesr.errors import ArtifactError
    with pytest.raises(ArtifactError, match="onnxruntime-gpu"):
        with open_runner(exported("onnx", "y"), device="cuda"):
            pass


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU and onnxruntime-gpu")
def test_onnx_cuda_matches_cpu(exported, photo):
    artifact = exported("onnx", "y")
    with open_runner(artifact) as cpu, open_runner(artifact, device="cuda") as gpu:
        assert np.abs(upscale(cpu, photo).y - upscale(gpu, photo).y).max() <= 1
