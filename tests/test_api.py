"""The Python API at the top of the package: a name or an nn.Module (or an artifact, or a runner)
through evaluate, export, open_runner, compare, upscale and bench; the CLI prints the same numbers."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import edgesr
from edgesr.api.sources import ScaleNotGiven
from edgesr.cli import main
from edgesr.errors import ModelError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def env_data(data_root, monkeypatch):
    monkeypatch.setenv("EDGESR_DATA", str(data_root))
    return data_root


def _bare_fsrcnn():
    """The shipped FSRCNN x4 network and weights, but built without the registry: no ``spec``."""
    from edgesr.models.baselines import fsrcnn
    from edgesr.models.weights import load_weights, shipped_weights

    return load_weights(fsrcnn(channels=1, scale=4), shipped_weights("fsrcnn", 4)).eval()


def test_evaluate_bicubic_by_name_module_and_cli_alike(env_data):
    from edgesr.models.baselines import Bicubic

    by_name = edgesr.evaluate("bicubic", "Set5", 4)
    by_module = edgesr.evaluate(edgesr.create_model("bicubic"), "Set5", 4)
    bare = edgesr.evaluate(Bicubic(), "Set5", 4, colour="rgb", upsampling="pre", scales=(2, 3, 4))
    assert by_name.psnr == by_module.psnr == bare.psnr == pytest.approx(28.42, abs=0.02)
    assert by_name.to_dict() == by_module.to_dict()
    res = CliRunner().invoke(main, ["eval", "-m", "bicubic", "-s", "4", "-d", "Set5"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1].split()[1:] == [f"{by_name.psnr:.4f}", f"{by_name.ssim:.4f}"]


@pytest.mark.slow
def test_evaluate_a_name_a_module_and_a_bare_module_alike(env_data):
    by_name = edgesr.evaluate("fsrcnn", "Set5", 4)
    module = edgesr.load_model("fsrcnn", 4)
    by_module = edgesr.evaluate(module, "Set5")  # its spec says x4, the one scale it serves
    bare = edgesr.evaluate(_bare_fsrcnn(), "Set5", 4, colour="y", upsampling="post", scales=(4,))
    assert by_name.psnr == by_module.psnr == bare.psnr and by_name.ssim == bare.ssim
    assert [row.name for row in by_name.images] == ["baby", "bird", "butterfly", "head", "woman"]
    # the CLI is a call of the same API: the mean it prints is this result's
    res = CliRunner().invoke(main, ["eval", "-m", "fsrcnn", "-s", "4", "-d", "Set5"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1].split()[1:] == [f"{by_name.psnr:.4f}", f"{by_name.ssim:.4f}"]


def test_a_module_that_does_not_declare_what_it_needs_is_refused(env_data):
    net = _bare_fsrcnn()
    with pytest.raises(ModelError, match=r"does not say what the pipeline needs: pass colour=, upsampling=, scales="):
        edgesr.evaluate(net, "Set5", 4)
    with pytest.raises(ModelError, match=r"pass upsampling=, scales="):
        edgesr.export(net, 4, "onnx", "unused", colour="y")
    with pytest.raises(ModelError, match="colour must be one of y, rgb"):
        edgesr.upscale(net, np.zeros((16, 16), np.uint8), 4, colour="gray", upsampling="post", scales=(4,))
    with pytest.raises(ModelError, match="declare what an nn.Module needs"):  # a name declares its own
        edgesr.evaluate("fsrcnn", "Set5", 4, colour="rgb")


def test_scales_are_chosen_or_asked_for(photo):
    assert edgesr.upscale("bicubic", photo, 3).shape == (144, 180, 3)
    with pytest.raises(ScaleNotGiven, match="bicubic serves x2, x3, x4: pass --scale"):
        edgesr.upscale("bicubic", photo)
    with pytest.raises(edgesr.ScaleError, match="fsrcnn does not support x2"):
        edgesr.upscale(edgesr.load_model("fsrcnn", 4), photo, 2)


def test_compare_two_sources(env_data):
    result = edgesr.compare("bicubic", edgesr.create_model("bicubic"), "Set5", 2)
    assert result.scale == 2 and len(result.images) == 5 and result.worst == 0
    assert all(row.psnr == float("inf") for row in result.images)


@pytest.mark.slow
def test_export_a_module_then_run_the_artifact(env_data, tmp_path):
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    net = _bare_fsrcnn()
    declared = dict(colour="y", upsampling="post", scales=(4,))
    reference = edgesr.evaluate(net, "Set5", **declared)
    artifact = edgesr.export(net, 4, "onnx", tmp_path, **declared)  # exported as it is: its own weights
    assert artifact.name == "FSRCNN_x4_fp32_dynamic.onnx"
    with edgesr.open_runner(artifact) as runner:
        through_onnx = edgesr.evaluate(runner, "Set5")
    assert abs(through_onnx.psnr - reference.psnr) < 0.01
    assert edgesr.evaluate(artifact, "Set5").psnr == through_onnx.psnr  # a path is an artifact
    from edgesr.manifest import read_manifest

    manifest = read_manifest(artifact)
    assert manifest.model == "FSRCNN" and manifest.weights_sha256 and manifest.check["dpsnr"] > -0.01


def test_bench_rebuilds_a_module_from_its_reference(monkeypatch, tmp_path):
    """The bench's workers rebuild the model: a module from create_model goes by its reference and a
    temporary weights file (removed after); a module built otherwise is refused."""
    from edgesr.benchmark import harness

    seen = {}

    def fake_bench(opts, log=None):
        seen.update(model=opts.model, scales=opts.scales, weights=Path(opts.weights),
                    exists=Path(opts.weights).is_file())
        return {"rows": []}

    monkeypatch.setattr(harness, "bench", fake_bench)
    assert edgesr.bench(edgesr.create_model("espcn", scale=2), formats=("onnx",)) == {"rows": []}
    assert seen["model"] == "espcn" and seen["scales"] == (2,) and seen["exists"]
    assert not seen["weights"].exists()
    with pytest.raises(ModelError, match=r"bench runs each artifact in a fresh process.*package.module:factory"):
        edgesr.bench(_declared(_bare_fsrcnn()), formats=("onnx",))
    with pytest.raises(edgesr.EdgesrError, match="unknown bench option colour"):
        edgesr.bench("fsrcnn", colour="y")


def _declared(net):
    from edgesr.api import declare

    declare(net, colour="y", upsampling="post", scales=(4,))
    return net


def _docs_example() -> str:
    """The first Python block of docs/python-api.md: the API's example as a user reads it."""
    text = (REPO / "docs" / "python-api.md").read_text()
    return re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)


@pytest.mark.slow
def test_the_docs_example_runs(env_data, tmp_path):
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    proc = subprocess.run([sys.executable, "-c", _docs_example()], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    numbers = [float(v) for v in re.findall(r"(\d+\.\d+) dB", proc.stdout)]
    assert len(numbers) == 2 and abs(numbers[0] - numbers[1]) < 0.01, proc.stdout
    assert list((tmp_path / "exports").glob("*.onnx"))


@pytest.mark.slow
def test_artifacts_run_through_the_api_without_torch(artifacts, env_data):
    """evaluate, open_runner, upscale and compare on an ONNX artifact import no PyTorch."""
    artifact = str(artifacts["espcn-fp32"])
    code = ("import sys, numpy as np, edgesr\n"
            f"a = {artifact!r}\n"
            "score = edgesr.evaluate(a, 'Set5')\n"
            "with edgesr.open_runner(a) as runner:\n"
            "    image = edgesr.upscale(runner, np.zeros((20, 20, 3), np.uint8))\n"
            "worst = edgesr.compare(a, a, 'Set5').worst\n"
            "print(round(score.psnr, 4), image.shape, worst, 'torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    psnr, *rest = proc.stdout.split(maxsplit=1)
    assert rest == ["(40, 40, 3) 0 False\n"]
    assert float(psnr) == pytest.approx(edgesr.evaluate(artifact, "Set5").psnr, abs=1e-4)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"image": None}, "ImageError", "image must be"),
    ({"image": np.zeros((0, 8, 3), np.uint8)}, "ImageError", "with pixels in it"),
    ({"scale": "2"}, "ScaleError", "scale must be a whole number"),
    ({"tile": -1}, "ConfigError", "tile must be"),
    ({"tile": "8"}, "ConfigError", "tile must be"),
    ({"device": "gpu"}, "ConfigError", "device must be"),
    ({"threads": "2"}, "ConfigError", "threads must be"),
    ({"weights": 5}, "ConfigError", "weights must be a path"),
])
def test_wrong_arguments_are_one_edgesr_error_naming_them(kwargs, error, words):
    """Issue 36: the Python API answered some wrong types with IndexError, ValueError or a PyTorch
    RuntimeError; each is now one EdgesrError naming the argument, before anything loads."""
    import edgesr
    from edgesr.errors import EdgesrError

    call = {"image": np.zeros((12, 12, 3), np.uint8), "scale": 2, **kwargs}
    image = call.pop("image")
    with pytest.raises(EdgesrError, match=words) as info:
        edgesr.upscale("bicubic", image, **call)
    assert type(info.value).__name__ == error
