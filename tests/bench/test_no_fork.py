"""A bench forks nothing: its workers are new processes (subprocess: fork and exec in one step, no
Python-level fork), and no converter it drives forks behind it. The main job warned
``os.fork() was called ... JAX is multithreaded ... likely lead to a deadlock``: OpenVINO's converter
forked a process per telemetry event (44 in one main job) after JAX had started its threads for a
LiteRT export (``edgesr.formats.openvino.import_quietly`` now turns that telemetry off)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HOOK = """
import os, sys, traceback
def _record():
    with open(os.environ["EDGESR_TEST_FORKS"], "a") as f:
        f.write(f"fork in {sys.argv[:2]}\\n" + "".join(traceback.format_stack()))
os.register_at_fork(before=_record)
"""


@pytest.mark.slow
def test_a_bench_with_litert_int8_then_openvino_forks_nothing(tmp_path, data_root):
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    pytest.importorskip("litert_torch", reason="the tflite extra is not installed")
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(HOOK)
    forks = tmp_path / "forks.log"
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "hook"), "EDGESR_TEST_FORKS": str(forks),
           "HOME": str(tmp_path / "home"), "EDGESR_DATA": str(data_root)}
    (tmp_path / "home").mkdir()
    edgesr = Path(sys.executable).parent / "edgesr"
    proc = subprocess.run([str(edgesr), "bench", "-m", "masrn", "-s", "4", "-f", "tflite,openvino", "-p", "int8",
                           "--input-size", "32x32", "--min-runs", "1", "--min-seconds", "0",
                           "--cache", str(tmp_path / "cache"), "-o", str(tmp_path / "bench")],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "os.fork() was called" not in proc.stderr
    assert not forks.exists(), forks.read_text()[:3000]
    assert not (tmp_path / "home" / "intel").exists()
