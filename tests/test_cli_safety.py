"""Issue 16 as a user meets it: no input replaced, no two outputs merged, no wrong file with exit 0,
one line per error (exit 1; usage errors 2), batches that go on past a bad file, refusals before any
work, outputs that honour the umask."""

import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from edgesr.cli import main
from edgesr.data.io import read_image, write_image


@pytest.fixture
def cli():
    return CliRunner()


def _one_line(res, code=1):
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    assert len([line for line in res.output.strip().splitlines() if line.startswith("Error")]) == 1, res.output


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _upscale(cli, *args):
    return cli.invoke(main, ["upscale", *map(str, args), "-m", "bicubic", "-s", "2"])


def test_upscale_never_replaces_an_input(cli, tmp_path, photo):
    img = write_image(tmp_path / "in" / "a.png", photo)
    write_image(tmp_path / "in" / "b.png", photo[:20])
    before = _snapshot(tmp_path / "in")
    _one_line(_upscale(cli, img, "-o", img))  # onto itself
    _one_line(_upscale(cli, tmp_path / "in", "-o", tmp_path / "in"))  # a folder into itself
    _one_line(_upscale(cli, img, "-o", tmp_path / "in"))  # its folder: the output would be a.png again
    assert _snapshot(tmp_path / "in") == before


def test_upscale_never_merges_two_outputs(cli, tmp_path, photo):
    write_image(tmp_path / "in" / "x.png", photo)
    write_image(tmp_path / "in" / "x.jpg", photo)
    res = _upscale(cli, tmp_path / "in", "-o", tmp_path / "out")
    _one_line(res)
    assert "would both be written to" in res.output and not (tmp_path / "out").exists()


def test_upscale_to_a_named_file(cli, tmp_path, photo):
    img = write_image(tmp_path / "a.png", photo)
    res = _upscale(cli, img, "-o", tmp_path / "result.jpg")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "result.jpg").is_file()
    with Image.open(tmp_path / "result.jpg") as out:
        assert out.format == "JPEG" and out.size == (120, 96)
    # a file name for several images is a usage error, and nothing is written
    write_image(tmp_path / "b.png", photo)
    _one_line(_upscale(cli, img, tmp_path / "b.png", "-o", tmp_path / "r.png"), code=2)
    _one_line(_upscale(cli, img, "-o", tmp_path / "r.webp"), code=2)
    assert not (tmp_path / "r.png").exists() and not (tmp_path / "r.webp").exists()


def test_batch_goes_on_past_a_bad_image(cli, tmp_path, photo):
    write_image(tmp_path / "in" / "a.png", photo)
    (tmp_path / "in" / "b.png").write_bytes(b"truncated")
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "in" / "c.jpg")
    write_image(tmp_path / "in" / "d.png", photo)
    res = _upscale(cli, tmp_path / "in", "-o", tmp_path / "out")
    assert res.exit_code == 1
    assert "2 of 4 images failed (b.png, c.jpg" in res.output and "Traceback" not in res.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "d.png"]  # whole, nothing else
    res = cli.invoke(main, ["degrade", str(tmp_path / "in"), str(tmp_path / "lr"), "-s", "2"])
    assert res.exit_code == 1 and "2 of 4 images failed" in res.output
    assert sorted(p.name for p in (tmp_path / "lr").iterdir()) == ["a.png", "d.png"]


def test_outputs_that_cannot_be_written_are_one_line(cli, tmp_path, photo):
    img = write_image(tmp_path / "a.png", photo)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    _one_line(_upscale(cli, img, "-o", blocker / "out"))
    _one_line(cli.invoke(main, ["degrade", str(tmp_path), str(blocker / "lr"), "-s", "2"]))
    res = cli.invoke(main, ["eval", "-m", "bicubic", "-s", "2", "-d", str(tmp_path), "--json", str(blocker / "r.json")])
    _one_line(res)
    assert "PSNR" not in res.output  # refused before scoring
    assert blocker.read_text() == "not a folder"


def test_outputs_honour_the_umask(cli, tmp_path, photo):
    img = write_image(tmp_path / "a.png", photo)
    old = os.umask(0o027)
    try:
        assert _upscale(cli, img, "-o", tmp_path / "out").exit_code == 0
        res = cli.invoke(main, ["eval", "-m", "bicubic", "-s", "2", "-d", str(tmp_path / "out"), "--json",
                                str(tmp_path / "r.json")])
        assert res.exit_code == 0, res.output
    finally:
        os.umask(old)
    assert (tmp_path / "out" / "a.png").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o640


def test_eval_refuses_a_bad_image_of_a_folder_before_scoring(cli, tmp_path, photo):
    for i in range(3):
        write_image(tmp_path / f"{i}.png", photo)
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "z.jpg")
    res = cli.invoke(main, ["eval", "-m", "bicubic", "-s", "2", "-d", str(tmp_path)])
    _one_line(res)
    assert "z.jpg: CMYK" in res.output and "0.png" not in res.output


def test_scales_the_models_do_not_serve_are_usage_errors(cli, tmp_path, photo):
    res = cli.invoke(main, ["eval", "-m", "bicubic", "-d", "Set5", "-s", "5"])
    _one_line(res, code=2)
    assert "2<=x<=4" in res.output
    assert "2<=x<=4" in cli.invoke(main, ["upscale", "--help"]).output or "--scale" in cli.invoke(
        main, ["upscale", "--help"]).output


def test_device_cuda_without_cuda_is_one_line(cli, tmp_path, photo):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    img = write_image(tmp_path / "a.png", photo)
    res = cli.invoke(main, ["upscale", str(img), "-o", str(tmp_path / "o.png"), "-m", "bicubic", "-s", "2",
                            "--device", "cuda"])
    _one_line(res)
    assert "no CUDA" in res.output and not (tmp_path / "o.png").exists()


def test_compare_messages(cli, artifacts, data_root):
    res = cli.invoke(main, ["compare", "masrn", "typo.onnx"])
    _one_line(res)
    assert "no such artifact: typo.onnx" in res.output
    res = cli.invoke(main, ["compare", str(artifacts["espcn-fp32"]), str(artifacts["masrn-fp32-fixed"])])
    _one_line(res)
    assert "no scale to compare them at" in res.output  # x2 against x3: --scale cannot help


def test_a_shared_artifact_needs_a_scale(cli, shared_artifacts, tmp_path, photo):
    img = write_image(tmp_path / "a.png", photo)
    res = cli.invoke(main, ["upscale", str(img), "-o", str(tmp_path / "o.png"), "-a", str(shared_artifacts["onnx-fp32"])])
    _one_line(res, code=2)
    assert "serves x2, x3, x4: pass --scale" in res.output and not (tmp_path / "o.png").exists()
    res = cli.invoke(main, ["upscale", str(img), "-o", str(tmp_path / "o.png"), "-a",
                            str(shared_artifacts["onnx-fp32"]), "-s", "3"])
    assert res.exit_code == 0, res.output
    assert read_image(tmp_path / "o.png").shape == (144, 180, 3)


def test_tile_applies_to_fixed_shape_artifacts(artifacts, photo):
    """--tile bounds memory for fixed-shape artifacts too (it was silently ignored): the pieces give
    the same image."""
    from edgesr.formats.registry import open_runner
    from edgesr.inference import upscale

    lr = np.concatenate([photo, photo], axis=1)  # 48x120
    with open_runner(artifacts["masrn-fp32-fixed"]) as whole:
        ref = upscale(whole, lr).image
    with open_runner(artifacts["masrn-fp32-fixed"], tile=(24, 40)) as runner:
        assert runner.image_tile == (24, 40) and runner.tile == (32, 32)  # pieces; the network at its size
        seen = []
        got = upscale(runner, lr, progress=lambda done, total: seen.append(total)).image
    assert seen and seen[0] == 6
    diff = np.abs(got.astype(int) - ref.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


@pytest.mark.parametrize("args", [
    ["eval", "-m", "nope", "-d", "Set5", "-s", "2"],
    ["eval", "-m", "bicubic", "-d", "Nope", "-s", "2"],
    ["upscale", "IMG", "-o", "OUT", "-m", "nope", "-s", "2"],
    ["export", "-m", "nope", "-s", "4", "-f", "onnx", "-o", "OUT"],
    ["export", "-m", "masrn", "-s", "4", "-f", "nope", "-o", "OUT"],
    ["export", "-m", "masrn", "-s", "4", "-f", "onnx", "-p", "int9", "-o", "OUT"],
    ["compare", "nope", "masrn"],
])
def test_typos_are_refused_before_pytorch_is_imported(args, tmp_path, photo):
    """Fast failure: a name that does not exist is refused before the 3 s import of PyTorch."""
    img = write_image(tmp_path / "a.png", photo)
    args = [str(img) if a == "IMG" else str(tmp_path / "out") if a == "OUT" else a for a in args]
    code = ("import sys\nfrom click.testing import CliRunner\nfrom edgesr.cli import main\n"
            f"res = CliRunner().invoke(main, {args!r})\n"
            "print(res.exit_code, 'torch' in sys.modules)\nprint(res.output)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "1 False", out
    assert not (tmp_path / "out").exists()


def test_train_config_typo_refused_before_pytorch_is_imported(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: nope\nscales: [2]\nout_dir: " + str(tmp_path / "run") + "\n")
    code = ("import sys\nfrom click.testing import CliRunner\nfrom edgesr.cli import main\n"
            f"res = CliRunner().invoke(main, ['train', {str(cfg)!r}])\n"
            "print(res.exit_code, 'torch' in sys.modules)\nprint(res.output)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "1 False" and "unknown model 'nope'" in out, out


def test_missing_per_scale_weights_name_the_shipped_scale(cli, data_root):
    res = cli.invoke(main, ["eval", "-m", "fsrcnn", "-s", "2", "-d", "Set5", "--data-root", str(data_root)])
    _one_line(res)
    assert "no weights for fsrcnn x2: only x4 is shipped" in res.output


@pytest.mark.parametrize("command", ["upscale", "eval", "export"])
def test_a_weights_file_never_chooses_code(command, cli, tmp_path, photo, monkeypatch):
    """Issue 36: `-w W.safetensors` without `-m`, W naming `evil.py:factory` beside it: one line that
    names the --model to pass, and evil.py is never imported."""
    from edgesr.models import create_model
    from edgesr.models.weights import save_weights

    (tmp_path / "evil.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    weights = save_weights(create_model("espcn", scale=2), tmp_path / "w.safetensors", {"model": "evil.py:factory"})
    img = write_image(tmp_path / "a.png", photo)
    args = {"upscale": [str(img), "-o", str(tmp_path / "out.png")], "eval": ["-d", "Set5"],
            "export": ["-s", "2", "-f", "onnx", "-o", str(tmp_path / "exports")]}[command]
    res = cli.invoke(main, [command, *args, "-w", str(weights)])
    _one_line(res)
    assert "names its model by code (evil.py:factory)" in res.output and "--model evil.py:factory" in res.output
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out.png").exists()
    assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir())


def test_asymmetrize_never_replaces_its_input_and_checks_its_folder_first(cli, tmp_path):
    """Issue 36: `edgesr asymmetrize W W` ran 48 s and replaced W; a read-only folder failed only after 41 s."""
    from edgesr.models import create_model
    from edgesr.models.weights import save_weights

    weights = save_weights(create_model("vdsr"), tmp_path / "w.safetensors")
    before = weights.read_bytes()
    for dst in (weights, tmp_path / "." / "w.safetensors"):
        res = cli.invoke(main, ["asymmetrize", str(weights), str(dst)])
        _one_line(res)
        assert "is an input; writing to it would replace the original" in res.output
    assert weights.read_bytes() == before
    (tmp_path / "file").write_text("")  # a folder that cannot be made (as root too): refused before any work
    res = cli.invoke(main, ["asymmetrize", str(weights), str(tmp_path / "file" / "a.safetensors"), "-d", "NoSuchSet"])
    _one_line(res)
    assert "cannot write to" in res.output and "(DST)" in res.output


@pytest.mark.parametrize("command", ["upscale", "bench"])
def test_more_threads_than_cores_are_refused_before_any_work(command, cli, tmp_path, photo):
    """Issue 36: `--threads 1000` never finished (7.8 GB resident); 64 on 2 cores ran 14x slower."""
    from edgesr.runtimes.measure import cpu_count

    img = write_image(tmp_path / "a.png", photo)
    args = {"upscale": ["upscale", str(img), "-o", str(tmp_path / "out.png"), "-m", "bicubic", "-s", "2"],
            "bench": ["bench", "-o", str(tmp_path / "bench"), "--formats", "onnx"]}[command]
    res = cli.invoke(main, [*args, "--threads", str(cpu_count() + 1)])
    _one_line(res)
    assert f"--threads {cpu_count() + 1} is more than the {cpu_count()} cores" in res.output
    assert not (tmp_path / "out.png").exists() and not (tmp_path / "bench").exists()


def test_the_python_api_takes_no_more_threads_than_cores(photo):
    import edgesr
    from edgesr.errors import ConfigError
    from edgesr.runtimes.measure import check_threads, cpu_count

    assert check_threads(0) == 0 and check_threads(cpu_count()) == cpu_count()
    for bad in (cpu_count() + 1, -1, 1.5, True):
        with pytest.raises(ConfigError):
            check_threads(bad)
    with pytest.raises(ConfigError, match="is more than the"):
        edgesr.upscale("bicubic", photo, scale=2, threads=1000)


@pytest.mark.parametrize("out", [".gif", ".webp", ".ico", ""])
def test_outputs_upscale_cannot_write_are_usage_errors(out, cli, tmp_path, photo, monkeypatch):
    """Issue 36: `-o out/x.gif` made a folder `out/x.gif/`; `-o ""` wrote into the working folder."""
    img = write_image(tmp_path / "in" / "a.png", photo)
    monkeypatch.chdir(tmp_path)
    target = str(tmp_path / "out" / f"x{out}") if out else ""
    res = _upscale(cli, img, "-o", target)
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert ("cannot write" in res.output) if out else ("is empty" in res.output)
    assert not (tmp_path / "out").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["in"]
    for command in (["export", "-m", "bicubic", "-s", "2", "-f", "onnx"], ["bench"]):
        res = cli.invoke(main, [*command, "-o", ""])
        assert res.exit_code == 2 and "is empty" in res.output, res.output


@pytest.mark.parametrize("field, value", [("colour", "y"), ("input", 4096), ("scales", [2])])
def test_a_manifest_that_disagrees_with_its_artifact_is_one_line(field, value, cli, artifacts, tmp_path, photo,
                                                                 data_root):
    """Issue 36: a manifest edited to disagree with its artifact (colour, input size, scales) ended in a
    runtime's traceback or a 112 GiB allocation in `upscale -a` and `eval -a`; `info` already refused it."""
    import json
    import shutil

    from edgesr.manifest import manifest_path

    src = artifacts["masrn-fp32-fixed"]
    artifact = tmp_path / src.name
    shutil.copy(src, artifact)
    data = json.loads(manifest_path(src).read_text())
    if field == "input":
        data["input"]["height"] = data["input"]["width"] = value
    else:
        data[field] = value
    manifest_path(artifact).write_text(json.dumps(data))
    img = write_image(tmp_path / "a.png", photo)
    for args in (["upscale", str(img), "-o", str(tmp_path / "out.png"), "-a", str(artifact)],
                 ["eval", "-a", str(artifact), "-d", "Set5", "--data-root", str(data_root)], ["info", str(artifact)]):
        res = cli.invoke(main, args)
        _one_line(res)
        assert "disagree" in res.output, (args[0], res.output)
    assert not (tmp_path / "out.png").exists()


def test_bench_never_writes_into_the_benchmark_set_or_over_its_weights(cli, tmp_path, data_root, photo):
    """Issue 36: one check of outputs against inputs for every command that writes; bench's report in
    the set's folder would join its images, and --json over the weights would replace them."""
    from edgesr.models import create_model
    from edgesr.models.weights import save_weights

    write_image(tmp_path / "set" / "a.png", photo)
    weights = save_weights(create_model("espcn", scale=2), tmp_path / "w.safetensors")
    base = ["bench", "-m", "espcn", "-w", str(weights), "--scales", "2", "--formats", "onnx", "-d", str(tmp_path / "set")]
    res = cli.invoke(main, [*base, "-o", str(tmp_path / "set")])
    _one_line(res)
    assert "holds input images" in res.output
    res = cli.invoke(main, [*base, "-o", str(tmp_path / "report"), "--json", str(weights)])
    _one_line(res)
    assert "is an input" in res.output
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == ["a.png"] and not (tmp_path / "report").exists()


def test_an_export_that_cannot_fit_in_memory_is_refused_before_any_work(cli, tmp_path, data_root):
    """Issue 36: `export -m masrn -s 4 -f onnx --input-size 4096x4096` grew to 24 GB, was killed by the
    kernel after 100 s and left its staging folder. Its estimate (hundreds of GiB) is refused at once."""
    import time

    start = time.monotonic()
    res = cli.invoke(main, ["export", "-m", "masrn", "-s", "4", "-f", "onnx", "--input-size", "4096x4096",
                            "--data-root", str(data_root), "-o", str(tmp_path / "out")])
    _one_line(res)
    assert "an export at 4096x4096 (x4) needs about" in res.output and "GiB available" in res.output
    assert time.monotonic() - start < 60 and not (tmp_path / "out").exists()
