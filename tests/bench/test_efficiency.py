"""The bench's compute columns: a frame's FLOPs, the achieved GFLOP/s, the device's matrix-product peak."""

import json
import subprocess
import sys

import numpy as np
import pytest

from edgesr.benchmark.report import markdown
from edgesr.benchmark.rows import Target, add_efficiency, make_row
from edgesr.runtimes.measure import cpu_count, matmul_peak, numpy_peak


def test_efficiency_is_flops_over_latency_against_the_peak_of_where_the_row_ran():
    peaks = {"cpu": {"gflops": 50.0}, "board": {"gflops": 10.0}}
    row = add_efficiency({"latency_ms": 500.0, "runs_on": "cpu"}, 20.0, peaks)
    assert row["gflops"] == pytest.approx(40.0) and row["of_peak"] == pytest.approx(0.8)
    board = add_efficiency({"latency_ms": 4000.0, "runs_on": "board"}, 20.0, peaks)
    assert board["of_peak"] == pytest.approx(0.5)
    browser = add_efficiency({"latency_ms": 1000.0, "runs_on": "browser"}, 20.0, peaks)  # no probe there
    assert browser["gflops"] == pytest.approx(20.0) and browser["of_peak"] is None
    failed = add_efficiency(make_row(Target("onnx", "fp32"), 4, "export failed", device="cpu"), 20.0, peaks)
    assert failed["gflop"] == 20.0 and failed["gflops"] is None and failed["of_peak"] is None


def test_matmul_peak_counts_two_flops_per_multiply_add():
    a = np.ones((128, 128), np.float32)
    peak = matmul_peak(lambda: a @ a, 128, "numpy", threads=1, min_seconds=0)
    assert peak["gflops"] == pytest.approx(2 * 128 ** 3 / (peak["ms"] / 1000) / 1e9)
    assert peak["n"] == 128 and peak["threads"] == 1 and peak["library"] == "numpy"
    assert numpy_peak(256)["gflops"] > 0.1
    assert cpu_count() >= 1


@pytest.mark.slow
def test_the_worker_measures_the_peak_with_the_threads_it_is_given(tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"kind": "peak", "device": "cpu", "threads": 1, "n": 512}))
    proc = subprocess.run([sys.executable, "-m", "edgesr.benchmark.worker", str(request)], capture_output=True, text=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["threads"] == 1 and result["n"] == 512 and result["gflops"] > 0.1
    assert result["library"].startswith("torch ")


def test_the_table_says_what_a_frame_costs_and_the_floor():
    row = add_efficiency(make_row(Target("onnx", "fp32"), 4, "passed", device="cpu",
                                  base={"psnr": 30.0, "latency_ms": 2000.0},
                                  measured={"psnr": 30.0, "ssim": 0.9, "latency_ms": 1000.0, "threads": 2}),
                         40.0, {"cpu": {"gflops": 62.0}})
    report = {"model": "masrn", "dataset": "Set5", "baseline": "PyTorch FP32 on this CPU", "input_size": "256x256",
              "rows": [row], "gflop_per_frame": {"x4": 40.0},
              "peak": {"cpu": {"gflops": 62.0, "library": "torch 2.13.0 float32 mm", "n": 2048, "threads": 2}}}
    text = markdown(report)
    assert "One frame costs 40 GFLOP at x4" in text and "cpu 62.0 GFLOP/s (torch 2.13.0 float32 mm, 2048x2048, " \
                                                         "2 threads)" in text
    assert "FLOPs / peak: 645 ms at x4" in text
    assert "| 40 | 40 | 65% | 2 |" in text
    del report["gflop_per_frame"]  # an older report: no sentence, and the columns say "-"
    assert "One frame costs" not in markdown(report)
