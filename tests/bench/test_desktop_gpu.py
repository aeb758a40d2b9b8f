"""PyTorch's own rows in `edgesr bench` (-f pytorch: precisions and modes beside the FP32 eager
baseline) and the desktop GPU baseline columns: real worker processes on this CPU; the GPU report
is this bench's own report with its rows relabelled as run on CUDA (no GPU here), which is what
`edgesr bench --device cuda` writes on one."""

import json

import pytest
from click.testing import CliRunner

from edgesr.benchmark import desktop
from edgesr.benchmark.report import Status, row_name
from edgesr.cli import main
from edgesr.errors import ConfigError


def _bench(out, weights, data_root, *args):
    return CliRunner().invoke(main, [
        "bench", "-m", "espcn", "-s", "2", "-w", str(weights["espcn"]), "-f", "pytorch", "--input-size", "32x32",
        "--min-runs", "2", "--min-seconds", "0", "--threads", "1", "--data-root", str(data_root), "-o", str(out),
        *args])


@pytest.fixture(scope="module")
def report(tmp_path_factory, weights, data_root):
    out = tmp_path_factory.mktemp("torch-rows")
    result = _bench(out, weights, data_root, "-p", "fp32,bf16", "--torch-modes", "eager,channels_last,cuda_graphs")
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "bench.json").read_text())


def _as_gpu_report(data: dict, path, **changes):
    """The report as a CUDA bench writes it: its rows ran on the GPU, which it names."""
    gpu = {**data, "gpu": "GPU of a test", "rows": [{**r, "runs_on": "cuda"} for r in data["rows"]], **changes}
    path.write_text(json.dumps(gpu))
    return path


@pytest.mark.slow
def test_pytorch_rows_beside_the_baseline(report):
    out, data = report
    rows = {(r["precision"], r["mode"]): r for r in data["rows"]}
    assert list(rows) == [("fp32", "eager"), ("fp32", "channels_last"), ("fp32", "cuda_graphs"), ("bf16", "eager"),
                          ("bf16", "channels_last"), ("bf16", "cuda_graphs")]
    assert {r["format"] for r in data["rows"]} == {"pytorch"} and data["rows"][0]["dpsnr"] == 0
    for key in [("fp32", "channels_last"), ("bf16", "eager"), ("bf16", "channels_last")]:
        row = rows[key]
        assert row["status"] == Status.PASSED and row["latency_ms"] > 0 and row["runs_on"] == "cpu"
        assert row["latency_vs_pytorch"] == pytest.approx(row["latency_ms"] / rows["fp32", "eager"]["latency_ms"])
    assert abs(rows["fp32", "channels_last"]["dpsnr"]) < 1e-3 and rows["bf16", "eager"]["dpsnr"] > -0.1
    for precision in ("fp32", "bf16"):
        row = rows[precision, "cuda_graphs"]
        assert row["status"] == Status.NOT_HERE and row["reason"] == "cuda_graphs needs a CUDA GPU; PyTorch sees none here"
    assert row_name(rows["bf16", "channels_last"]) == "pytorch bf16 channels_last x2"
    table = (out / "bench.md").read_text()
    assert "| format | precision | mode | weights |" in table and "| latency / GPU | dPSNR GPU |" in table
    # no GPU has measured espcn: the columns say so, and the note says where it looked
    assert "Desktop GPU baseline: not measured (no GPU report for espcn at 32x32 in " in table
    assert table.count("| not measured | not measured |") == 4  # the measured rows
    assert data["desktop_gpu"]["measured"] is False and all(r["vs_gpu"] is None for r in data["rows"])


@pytest.mark.slow
def test_rows_against_a_gpu_report(report, tmp_path, weights, data_root):
    _, data = report
    gpu_rows, looked = desktop.load_baseline(_as_gpu_report(data, tmp_path / "gpu.json"))
    assert [(r.scale, r.gpu, r.input_size) for r in gpu_rows] == [(2, "GPU of a test", "32x32")]  # fp32 eager only
    base = data["rows"][0]
    mine = json.loads(json.dumps(data))
    desktop.add_columns(mine, gpu_rows, looked)
    bf16 = next(r for r in mine["rows"] if (r["precision"], r["mode"]) == ("bf16", "eager"))
    assert mine["rows"][0]["vs_gpu"] == 1 and mine["rows"][0]["dpsnr_gpu"] == 0
    assert bf16["vs_gpu"] == pytest.approx(bf16["latency_ms"] / base["latency_ms"])
    assert bf16["dpsnr_gpu"] == pytest.approx(bf16["psnr"] - base["psnr"])
    assert mine["desktop_gpu"] == {"measured": True, "gpu": "GPU of a test", "sources": [str(tmp_path / "gpu.json")]}
    # other weights: the latency still compares, the PSNR does not
    other = _as_gpu_report(data, tmp_path / "other.json", weights_sha256={"x2": "0" * 64})
    desktop.add_columns(mine, *desktop.load_baseline(other))
    assert mine["rows"][0]["vs_gpu"] == 1 and mine["rows"][0]["dpsnr_gpu"] is None
    # another input size: nothing to compare with, and the note says what the GPU report has
    desktop.add_columns(mine, *desktop.load_baseline(_as_gpu_report(data, tmp_path / "big.json", input_size="256x256")))
    assert all(r["vs_gpu"] is None for r in mine["rows"])
    assert mine["desktop_gpu"]["reason"].endswith("(it has espcn x2 256x256)")
    # the same rows, run on this CPU, are no GPU baseline
    (tmp_path / "cpu.json").write_text(json.dumps(data))
    assert desktop.load_baseline(tmp_path / "cpu.json")[0] == []


@pytest.mark.slow
def test_the_cli_reads_a_gpu_report(report, tmp_path, weights, data_root):
    _, data = report
    (tmp_path / "gpu").mkdir()
    gpu = _as_gpu_report(data, tmp_path / "gpu" / "bench.json")
    result = _bench(tmp_path / "out", weights, data_root, "-p", "fp32", "--torch-modes", "eager",
                    "--gpu-baseline", str(gpu.parent))
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert len(again["rows"]) == 1 and again["rows"][0]["vs_gpu"] > 0 and again["rows"][0]["dpsnr_gpu"] == 0
    assert (f"Desktop GPU baseline: PyTorch FP32 eager on GPU of a test ({gpu})"
            in (tmp_path / "out" / "bench.md").read_text())


def test_a_gpu_baseline_named_on_purpose_must_be_bench_reports(tmp_path, monkeypatch):
    (tmp_path / "notes.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"^--gpu-baseline .*notes.json: not an edgesr bench report \(JSON\); name a "
                                          r"bench.json written by edgesr bench --device cuda, or a folder of them$"):
        desktop.load_baseline(tmp_path / "notes.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="the folder holds no bench report"):
        desktop.load_baseline(tmp_path / "empty")
    # a folder's other JSON files are passed over; so is the default folder's, which need not exist
    assert desktop.load_baseline(tmp_path) == ([], str(tmp_path))
    monkeypatch.setenv(desktop.ENV, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="does not exist"):
        desktop.load_baseline()
    monkeypatch.delenv(desktop.ENV)
    rows, looked = desktop.load_baseline()
    assert looked == str(desktop.checkout_folder()) and looked.endswith("benchmarks/results/gpu")
