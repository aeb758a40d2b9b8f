import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from edgesr.cli import main
from edgesr.data.io import read_image, write_image
from edgesr.models import create_model
from edgesr.models.weights import save_weights


@pytest.fixture
def cli():
    return CliRunner()


def test_models_listing(cli):
    res = cli.invoke(main, ["models", "--size", "64x64"])
    assert res.exit_code == 0, res.output
    for name in ("bicubic", "vdsr", "asym_vdsr", "masrn", "fsrcnn", "espcn"):
        assert name in res.output
    assert cli.invoke(main, ["models", "--size", "big"]).exit_code == 2


def test_eval_bicubic_set5_json(cli, data_root, tmp_path):
    out = tmp_path / "r.json"
    res = cli.invoke(main, ["eval", "--model", "bicubic", "--dataset", "Set5", "--scale", "4",
                            "--data-root", str(data_root), "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "butterfly" in res.output and "mean" in res.output
    data = json.loads(out.read_text())
    assert data["psnr"] == pytest.approx(28.42, abs=0.02)
    assert data["ssim"] == pytest.approx(0.8104, abs=0.001)
    assert len(data["images"]) == 5 and {"name", "psnr", "ssim"} <= set(data["images"][0])


def test_eval_with_weights_on_a_folder(cli, tmp_path, photo):
    folder = tmp_path / "imgs"
    write_image(folder / "a.png", photo)
    weights = save_weights(create_model("espcn", scale=2), tmp_path / "e.safetensors")
    res = cli.invoke(main, ["eval", "-m", "espcn", "-d", str(folder), "-s", "2", "-w", str(weights)])
    assert res.exit_code == 0, res.output
    assert "espcn x2 on imgs (1 images)" in res.output


@pytest.mark.parametrize("args, message", [
    (["eval", "-m", "nope", "-d", "Set5", "-s", "2"], "unknown model 'nope'"),
    (["eval", "-m", "bicubic", "-d", "Set9", "-s", "2", "--data-root", "."], "unknown dataset 'Set9'"),
    (["eval", "-m", "masrn", "-d", "Set5", "-s", "4"], "no weights for masrn"),
    (["eval", "-m", "bicubic", "-d", "Set5", "-s", "2", "--data-root", "/nonexistent"], "not a folder"),
])
def test_errors_are_one_line(cli, args, message, data_root, monkeypatch, tmp_path):
    import edgesr.models.weights
    monkeypatch.setattr(edgesr.models.weights, "PRETRAINED_DIR", tmp_path)  # as if nothing were shipped
    monkeypatch.setenv("EDGESR_DATA", str(data_root))
    res = cli.invoke(main, args)
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_degrade_and_upscale(cli, tmp_path, photo):
    write_image(tmp_path / "hr" / "a.png", photo)
    res = cli.invoke(main, ["degrade", str(tmp_path / "hr"), str(tmp_path / "lr"), "--scale", "4"])
    assert res.exit_code == 0, res.output
    assert read_image(tmp_path / "lr" / "a.png").shape == (12, 15, 3)
    res = cli.invoke(main, ["upscale", str(tmp_path / "lr" / "a.png"), "-o", str(tmp_path / "sr.png"),
                            "-m", "bicubic", "-s", "4"])
    assert res.exit_code == 0, res.output
    assert read_image(tmp_path / "sr.png").shape == (48, 60, 3)
    write_image(tmp_path / "lr" / "b.png", photo[:12, :15, 0])
    res = cli.invoke(main, ["upscale", str(tmp_path / "lr"), "-o", str(tmp_path / "out"), "-m", "fsrcnn", "-s", "4",
                            "-w", str(save_weights(create_model("fsrcnn", scale=4), tmp_path / "f.safetensors")),
                            "--tile", "8", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert read_image(tmp_path / "out" / "b.png").shape == (48, 60)
    assert cli.invoke(main, ["upscale", str(tmp_path / "lr"), "-o", str(tmp_path / "t"), "-m", "bicubic", "-s", "2",
                             "--threads", "-1"]).exit_code == 2
    assert cli.invoke(main, ["degrade", str(tmp_path / "hr"), str(tmp_path / "x"), "-s", "1"]).exit_code == 2


def test_corrupt_image_leaves_no_output(cli, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"garbage")
    res = cli.invoke(main, ["upscale", str(tmp_path / "bad.png"), "-o", str(tmp_path / "out.png"), "-m", "bicubic", "-s", "2"])
    assert res.exit_code == 1 and "cannot read the image" in res.output
    assert not (tmp_path / "out.png").exists()


@pytest.mark.slow
def test_real_subprocess(data_root, tmp_path):
    env = {**os.environ, "EDGESR_DATA": str(data_root)}
    exe = [sys.executable, "-m", "edgesr.cli"]
    res = subprocess.run(exe + ["eval", "-m", "bicubic", "-d", "Set5", "-s", "2"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert float(res.stdout.strip().splitlines()[-1].split()[1]) == pytest.approx(33.66, abs=0.02)
    res = subprocess.run(exe + ["eval", "-m", "bicubic", "-d", "Set5", "-s", "2", "--data-root", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 1
    assert res.stderr.strip().startswith("Error: dataset Set5 not found under")


@pytest.mark.slow
def test_asymmetrize_exact_for_low_rank_vdsr(cli, tmp_path, photo):
    import torch

    vdsr = create_model("vdsr")
    torch.manual_seed(0)
    with torch.no_grad():  # give every middle kernel rank 48 < 64: the SVD pair is then exact
        for conv in vdsr.body[::2]:
            a, b = torch.randn(64 * 3, 48), torch.randn(48, 64 * 3)
            conv.weight.copy_((a @ b / 200).reshape(64, 3, 64, 3).permute(0, 2, 3, 1))
    src = save_weights(vdsr, tmp_path / "vdsr.safetensors")
    write_image(tmp_path / "imgs" / "a.png", photo)
    res = cli.invoke(main, ["asymmetrize", str(src), str(tmp_path / "asym.safetensors"),
                            "-d", str(tmp_path / "imgs"), "-s", "2"])
    assert res.exit_code == 0, res.output
    assert "over 18 layers: mean 0.0000" in res.output
    psnr_value = float(res.output.split("PSNR ")[1].split(" dB")[0])
    assert psnr_value > 50
    from edgesr.models.weights import load_model
    assert load_model("asym_vdsr", 2, tmp_path / "asym.safetensors") is not None


@pytest.mark.slow
def test_export_and_eval_artifact(cli, tmp_path, weights, data_root):
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    res = cli.invoke(main, ["export", "-m", "espcn", "-s", "2", "-f", "onnx", "-w", str(weights["espcn"]),
                            "-o", str(tmp_path), "--data-root", str(data_root)])
    assert res.exit_code == 0, res.output
    assert "on Set5: " in res.output and "dB PSNR against PyTorch" in res.output
    artifact = tmp_path / "espcn_x2_fp32_dynamic.onnx"
    res = cli.invoke(main, ["eval", "--artifact", str(artifact), "-d", "Set5", "--data-root", str(data_root)])
    assert res.exit_code == 0, res.output
    ref = cli.invoke(main, ["eval", "-m", "espcn", "-w", str(weights["espcn"]), "-s", "2", "-d", "Set5",
                            "--data-root", str(data_root)])
    assert res.output.splitlines()[-1] == ref.output.splitlines()[-1]
    bad = cli.invoke(main, ["export", "-m", "espcn", "-s", "2", "-f", "onnx", "-p", "fp8", "-o", str(tmp_path)])
    assert bad.exit_code == 1 and "does not take precision 'fp8'" in bad.output
    assert cli.invoke(main, ["eval", "-d", "Set5"]).exit_code == 2
