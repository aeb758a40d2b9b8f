"""`edgesr bench` refuses a bad request before it runs anything, writes its report whole, and exits 1
when a row fails. Quick: nothing here exports or times an artifact."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from edgesr.benchmark import harness, worker
from edgesr.benchmark.harness import (Status, benchmark_images,
                                  failed_rows)
from edgesr.benchmark.options import BenchOptions, check_options
from edgesr.cli import main
from edgesr.errors import DataError, EdgesrError


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if the bench gets as far as the PyTorch baseline (or any worker process)."""
    def refuse(*args, **kwargs):
        raise AssertionError("the bench ran a worker before refusing the request")
    monkeypatch.setattr(harness, "run_worker", refuse)
    monkeypatch.setattr(harness, "export_cached", refuse)


def _bench(args, tmp_path, data_root=None):
    argv = ["bench", "--output", str(tmp_path / "out"), *args]
    if data_root is not None:
        argv += ["--data-root", str(data_root)]
    return CliRunner().invoke(main, argv)


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--formats", "nope"], "unknown format 'nope' in --formats; known formats: onnx, tflite, coreml, openvino, executorch, tensorrt"),
    (["--formats", "onnx", "--precisions", "fp8"], "unknown precision 'fp8' in --precisions; known precisions: fp32"),
    (["--formats", "onnx", "--precisions", "palette6"], "no format in --formats takes palette6 (only coreml does)"),
    (["--formats", "onnx,tensorrt", "--precisions", "fp32"], "tensorrt takes none of --precisions fp32"),
    (["--quant", "ptq,gptq"], "unknown quantization method 'gptq' in --quant; known: auto, ptq, qat"),
    (["--model", "masrm"], "unknown model 'masrm'; known models: "),
    (["--scales", "4,5"], "masrn does not support x5; supported: x2, x3, x4"),
    (["--scales", "2,2"], "--scales names x2 more than once"),
    (["--device", "nope"], "no device profile 'nope'; available: local"),
    (["--device", "nope.toml"], "device profile nope.toml does not exist"),
    (["--torch-modes", "eager"], "--torch-modes sets the pytorch rows' modes, and --formats leaves them out: "
                                 "add pytorch to --formats"),
    (["--formats", "pytorch", "--torch-modes", "eager,turbo"],
     "unknown PyTorch mode 'turbo' in --torch-modes; known: eager, channels_last, compile, cuda_graphs"),
    (["--formats", "pytorch", "--torch-modes", ""], "--torch-modes names no mode"),
    (["--formats", "onnx", "--precisions", "bf16"], "no format in --formats takes bf16 (only pytorch does)"),
    (["--formats", "pytorch,onnx", "--precisions", "int8"], "pytorch takes none of --precisions int8"),
    (["--gpu-baseline", "nope.json"], "--gpu-baseline nope.json does not exist; name a bench.json written by "
                                      "edgesr bench --device cuda, or a folder of them"),
])
def test_bad_options_are_refused_before_anything_runs(tmp_path, data_root, no_run, args, message):
    assert message in _one_line_error(_bench(args, tmp_path, data_root))
    assert not (tmp_path / "out").exists()  # refused before the output folder was made


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="PyTorch sees a CUDA GPU here")
def test_the_cuda_device_is_refused_without_a_gpu(tmp_path, data_root, no_run):
    import torch

    line = _one_line_error(_bench(["--device", "cuda", "--scales", "4"], tmp_path, data_root))
    assert line == (f"Error: --device cuda: this PyTorch ({torch.__version__}) sees no CUDA GPU; bench on a machine "
                    "with one and a CUDA build of torch, or leave --device out for this machine")


def test_a_dataset_name_that_is_not_found_is_refused(tmp_path, data_root, no_run):
    line = _one_line_error(_bench(["-d", "Nope"], tmp_path, data_root))
    assert "unknown dataset 'Nope'; known: Set5, Set14, BSD100" in line
    # a known set missing from the data root: the sets that are there
    root = tmp_path / "root"
    root.mkdir()
    (root / "Set5").symlink_to(data_root / "Set5")
    line = _one_line_error(_bench(["-d", "Set14"], tmp_path, root))
    assert f"dataset Set14 not found under {root}" in line and line.endswith(f"sets found under {root}: Set5")
    # named explicitly, Set5 must be found too: the photographs stand in only for the default
    empty = tmp_path / "empty"
    empty.mkdir()
    line = _one_line_error(_bench(["-d", "Set5"], tmp_path, empty))
    assert "dataset Set5 not found under" in line and "no known set is under" in line


def test_photographs_stand_in_only_for_the_default_set(tmp_path):
    pytest.importorskip("skimage", reason="scikit-image is not installed")
    images, label = benchmark_images(None, str(tmp_path), tmp_path / "photos")  # an empty data root
    assert "not Set5" in label and len(images) >= 3
    assert all(p.parent == tmp_path / "photos" for p in images.files)
    with pytest.raises(DataError, match="dataset Set5 not found under"):
        benchmark_images("Set5", str(tmp_path), tmp_path / "unused")
    with pytest.raises(DataError, match="is not a folder"):  # a data root that was given must exist
        benchmark_images(None, str(tmp_path / "typo"), tmp_path / "unused")


def test_options_are_checked_by_the_api_too(data_root):
    with pytest.raises(EdgesrError, match="unknown format 'nope'"):
        harness.bench(BenchOptions(formats=("nope",), data_root=str(data_root)))
    checked = check_options(BenchOptions(model="espcn", scales=(2, 3), data_root=str(data_root)))
    assert checked.profile.kind == "local" and checked.images.name == "Set5"


def _in_fresh_python(args, cwd) -> tuple[str, bool]:
    """``edgesr ARGS`` in a new interpreter: its one-line error, and whether torch was imported."""
    code = ("import sys\nfrom click.testing import CliRunner\nfrom edgesr.cli import main\n"
            "r = CliRunner().invoke(main, sys.argv[1:])\nprint(r.output.strip().splitlines()[-1])\n"
            "print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert proc.returncode == 0, proc.stderr
    *out, torch_loaded = proc.stdout.strip().splitlines()
    return out[-1], torch_loaded == "True"


def test_cheap_refusals_do_not_wait_for_torch(tmp_path, data_root):
    """A typo is refused before torch is imported (seconds on a small machine)."""
    for args, message in ((["--device", "nope"], "no device profile"), (["-d", "Nope"], "unknown dataset"),
                          (["--input-size", "0x8"], "sizes must be positive")):
        line, torch_loaded = _in_fresh_python(["bench", "--data-root", str(data_root), *args], tmp_path)
        assert message in line and not torch_loaded, (args, line)
    probe = subprocess.run([sys.executable, "-c", "import sys, edgesr.formats; print('torch' in sys.modules)"],
                           capture_output=True, text=True, timeout=120)
    if probe.stdout.strip() == "True":
        pytest.skip("edgesr.formats imports torch (export/manifest.py imports the model registry)")
    line, torch_loaded = _in_fresh_python(["bench", "--data-root", str(data_root), "--formats", "nope"], tmp_path)
    assert "unknown format 'nope'" in line and not torch_loaded


def test_an_output_folder_that_cannot_be_written_is_refused_first(tmp_path, data_root, no_run):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(main, ["bench", "--model", "espcn", "--scales", "2", "--data-root", str(data_root),
                                       "--output", str(blocker / "out")])
    assert f"cannot write to {blocker / 'out'} (--output)" in _one_line_error(result)
    result = CliRunner().invoke(main, ["bench", "--model", "espcn", "--scales", "2", "--data-root", str(data_root),
                                       "--output", str(tmp_path / "out"), "--json", str(blocker / "bench.json")])
    assert f"cannot write to {blocker} (--json)" in _one_line_error(result)
    assert not (tmp_path / "out").exists()  # the write check leaves nothing behind, not even the folder


def _row(fmt, precision, status, quant="", reason=""):
    return {"format": fmt, "precision": precision, "quant": quant, "scale": 4, "status": status, "reason": reason,
            "runs_on": "cpu", "latency_ms": None, "psnr": None}


def _report(rows):
    return {"model": "masrn", "weights": "shipped", "dataset": "Set5", "baseline": "PyTorch FP32 on this CPU",
            "device": "local", "device_kind": "local", "input_size": "256x256", "rows": rows}


@pytest.mark.parametrize("rows, failed", [
    ([_row("pytorch", "fp32", Status.PASSED), _row("tensorrt", "fp16", Status.NOT_INSTALLED), _row("coreml", "fp16", Status.NOT_RUN)], []),
    ([_row("pytorch", "fp32", Status.PASSED), _row("onnx", "int8", Status.FAILED_VALIDATION, "ptq", "dPSNR -0.9 dB"),
      _row("tflite", "fp16", Status.EXPORT_FAILED, reason="converter crashed"), _row("coreml", "fp16", Status.NOT_RUN)],
     ["onnx int8 ptq x4 exported but failed validation", "tflite fp16 x4 export failed"]),
])
def test_exit_status_follows_the_rows(tmp_path, data_root, monkeypatch, rows, failed):
    monkeypatch.setattr(harness, "bench", lambda opts, log=None: _report(rows))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["bench", "--data-root", str(data_root), "--output", str(out),
                                       "--json", str(tmp_path / "json" / "b.json")])
    # the report is written either way, whole (no temporary left beside it)
    assert json.loads((tmp_path / "json" / "b.json").read_text())["rows"] == rows
    assert sorted(p.name for p in out.iterdir() if p.name != "bench.png") == ["bench.csv", "bench.md"]
    assert [r["status"] for r in failed_rows(_report(rows))] == [s.rsplit(" x4 ", 1)[1] for s in failed]
    if not failed:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last == (f"Error: {len(failed)} of {len(rows)} rows failed: " + "; ".join(failed)
                    + f" (reasons in {out / 'bench.md'})")


def test_worker_suggests_a_smaller_input_size_when_memory_is_short(tmp_path, weights, monkeypatch, capsys):
    import edgesr.runtimes.base as base

    monkeypatch.setattr(base, "available_memory", lambda: 64 * 2**20)  # 64 MiB free
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"kind": "torch", "model": "espcn", "weights": str(weights["espcn"]), "scale": 2,
                                   "device": "cpu", "lr_dir": str(tmp_path / "lr"), "out_dir": str(tmp_path / "out"),
                                   "input_size": [4096, 4096], "warmup": 0, "min_runs": 1, "min_seconds": 0}))
    assert worker.main([str(request)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert not result["ok"]
    assert "one 4096x4096 LR input needs about" in result["error"]
    assert "bench a smaller --input-size, such as" in result["error"] and "tile" not in result["error"]
    assert not (tmp_path / "out").exists()  # refused before the timed runs


def test_the_working_folder_is_removed_whatever_happens(tmp_path, monkeypatch):
    """The LR inputs, outputs and stand-in photographs live in one temporary folder, removed at the
    end even when the bench stops early (here: the baseline fails)."""
    pytest.importorskip("skimage", reason="scikit-image is not installed")
    import tempfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    seen = []

    def failing_worker(request, workdir):
        seen.append(sorted(p.name for p in workdir.iterdir()))
        return {"ok": False, "error": "stopped here"}

    monkeypatch.setattr(harness, "run_worker", failing_worker)
    empty = tmp_path / "empty-root"  # no Set5: scikit-image's photographs are written to the folder
    empty.mkdir()
    with pytest.raises(EdgesrError, match="the PyTorch baseline failed: stopped here"):
        harness.bench(BenchOptions(model="bicubic", scales=(2,), data_root=str(empty)))
    assert seen and "photos" in seen[0]  # the photographs were there while it ran
    assert list(temp.iterdir()) == []
