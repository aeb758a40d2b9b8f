"""scripts/gpu_check.sh, the one script the rare GPU session runs: its dry run takes every step on
this CPU (what keeps it working between GPU sessions), and its reports are never taken for a GPU's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgesr.benchmark import desktop

REPO = Path(__file__).resolve().parents[1]
STEPS = ["env", "masrn_256x256", "tests", "vdsr_x4", "asym_vdsr_x4", "masrn_960x540", "train", "masrn_256x256_compile"]


def _run(out: Path, data_root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop(desktop.ENV, None)
    return subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--dry-run", "--out", str(out),
                           "--data-root", str(data_root), *args], capture_output=True, text=True, env=env, cwd=REPO)


@pytest.mark.slow
def test_the_dry_run_takes_every_step(tmp_path, data_root):
    before = sorted((REPO / "benchmarks" / "results").rglob("*"))
    proc = _run(tmp_path, data_root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert [s["name"] for s in report["steps"]] == STEPS
    assert all(s["status"] == "passed" for s in report["steps"]), report["steps"]
    assert report["dry_run"] and report["env"]["torch"] and report["env"]["cuda_available"] is False
    numbers = report["numbers"]
    assert set(numbers["benches"]) == {s for s in STEPS if s.startswith(("masrn", "vdsr", "asym"))}
    rows = numbers["benches"]["masrn_256x256"]["rows"]
    assert {(r["precision"], r["mode"], r["scale"]) for r in rows} == {
        ("fp32", m, s) for m in ("eager", "channels_last", "cuda_graphs") for s in (2, 3, 4)}
    assert all(r["status"] == "passed" for r in rows if r["mode"] != "cuda_graphs")
    compiled = numbers["benches"]["masrn_256x256_compile"]["rows"]
    assert [(r["mode"], r["status"]) for r in compiled] == [("eager", "passed"), ("compile", "passed")]
    assert [(r["precision"], r["mode"]) for r in numbers["vdsr_over_asym_vdsr"]] == [("fp32", "eager"),
                                                                                      ("fp32", "channels_last")]
    assert all(r["vdsr_over_asym"] > 0 for r in numbers["vdsr_over_asym_vdsr"])
    assert numbers["train"]["iterations"] == 4 and numbers["train"]["patches_per_s"] > 0
    assert numbers["tests"]["failed"] == 0 and numbers["tests"]["skipped"] >= 3  # gpu-marked: skipped here
    md = (tmp_path / "gpu_check.md").read_text()
    assert "**Dry run: CPU numbers, not a GPU's.**" in md and "## vdsr over asym_vdsr latency, x4" in md
    # the dry run wrote only where it was told, and its CPU rows are no desktop GPU baseline
    assert sorted((REPO / "benchmarks" / "results").rglob("*")) == before
    assert desktop.load_baseline(tmp_path)[0] == []


def test_steps_that_do_not_fit_the_budget_are_skipped_and_said(tmp_path, data_root):
    proc = _run(tmp_path, data_root, "--budget", "0.1")
    assert proc.returncode == 1
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert [s["name"] for s in report["steps"]] == STEPS
    assert all(s["status"].startswith("skipped (out of time: ") for s in report["steps"])
    assert proc.stderr.strip().endswith(f"(logs in {tmp_path / 'logs'})")
    assert "skipped: " + ", ".join(STEPS) in proc.stderr
