"""The one-file on-device runner: self-contained, and right about what it runs."""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgesr.devices import ondevice
from edgesr.devices.remote import _save_calls, _taped_runner
from edgesr.export.manifest import manifest_path, read_manifest

ALLOWED = {"hashlib", "json", "os", "platform", "statistics", "sys", "time", "resource", "numpy",
           "onnxruntime", "tensorflow"}


def test_imports_only_numpy_the_runtimes_and_the_standard_library():
    tree = ast.parse(Path(ondevice.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= ALLOWED, imported - ALLOWED  # ai_edge_litert / tflite_runtime come through __import__


def _stage(tmp_path, artifact, scale, lr):
    """A job folder as a transport would push it: runner, artifact, manifest, inputs, job.json."""
    runner, tape = _taped_runner(artifact, read_manifest(artifact), scale)
    runner.infer(lr)
    (tmp_path / "inputs").mkdir()
    shutil.copy(ondevice.__file__, tmp_path / "ondevice.py")
    shutil.copy(artifact, tmp_path / artifact.name)
    shutil.copy(manifest_path(artifact), tmp_path / manifest_path(artifact).name)
    calls = _save_calls(tape.calls, tmp_path, "")
    job = {"artifact": artifact.name, "manifest": manifest_path(artifact).name, "format": "tflite",
           "frame": calls, "calls": calls, "outputs": "outputs", "warmup": 1, "min_runs": 3, "min_seconds": 0}
    (tmp_path / "job.json").write_text(json.dumps(job))
    return tape


def _run(folder, python=sys.executable):
    # -I: isolated (no current directory or PYTHONPATH on the path), as on a device without edgesr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([python, "-I", "ondevice.py", "job.json"], cwd=folder, capture_output=True, text=True,
                          env=env)


def test_runs_a_job_and_saves_raw_outputs(tflite_artifacts, tmp_path, photo):
    artifact = tflite_artifacts["espcn-int8"]
    tape = _stage(tmp_path, artifact, 2, photo)
    proc = _run(tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["ok"] and result["runs"] >= 3 and result["runtime"].startswith("ai_edge_litert")
    assert result["p90_ms"] >= result["latency_ms"] > 0
    outs = sorted((tmp_path / "outputs").glob("*.npy"))
    assert len(outs) == len(tape.calls) > 1  # a 48x60 photo through a 24x24 artifact: several tiles
    first = np.load(outs[0])
    assert first.dtype == np.int8 and first.shape == (1, 48, 48, 1)  # the artifact's own int8 NHWC output


def test_a_partial_artifact_is_refused(tflite_artifacts, tmp_path, photo):
    artifact = tflite_artifacts["espcn-fp32"]
    _stage(tmp_path, artifact, 2, photo)
    staged = tmp_path / artifact.name
    staged.write_bytes(staged.read_bytes()[:-100])
    proc = _run(tmp_path)
    assert proc.returncode == 1
    result = json.loads((tmp_path / "result.json").read_text())
    assert not result["ok"] and "does not match the SHA-256" in result["error"]
    assert not (tmp_path / "outputs").exists()


@pytest.mark.skipif(not os.environ.get("EDGESR_BOARD_PYTHON"),
                    reason="set EDGESR_BOARD_PYTHON to a Python with only numpy<2 and tflite-runtime (.ci/run makes one)")
def test_falls_back_to_tflite_runtime(tflite_artifacts, tmp_path, photo):
    python = os.environ["EDGESR_BOARD_PYTHON"]
    probe = subprocess.run([python, "-I", ondevice.__file__, "--probe"], capture_output=True, text=True)
    offers = json.loads(probe.stdout)
    assert offers["tflite"].startswith("tflite_runtime") and offers["numpy"].startswith("1.")
    _stage(tmp_path, tflite_artifacts["masrn-fp16"], 3, photo)
    proc = _run(tmp_path, python)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "result.json").read_text())["runtime"].startswith("tflite_runtime")


def test_no_interpreter_is_named(tmp_path):
    with pytest.raises(RuntimeError, match="unknown TFLite runtime"):
        ondevice.tflite_interpreter("tflite_micro")
    (tmp_path / "tflite_runtime").mkdir()  # an empty package that has no interpreter module
    (tmp_path / "tflite_runtime" / "__init__.py").write_text("")
    code = ("import sys; sys.path.insert(0, %r); sys.modules['ai_edge_litert'] = None; "
            "sys.modules['tensorflow'] = None; import ondevice\n"
            "try:\n    ondevice.tflite_interpreter()\nexcept RuntimeError as e:\n    print(e)") % str(tmp_path)
    shutil.copy(ondevice.__file__, tmp_path / "ondevice.py")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "no TFLite interpreter on this device: pip install ai-edge-litert" in out


def test_time_runs_meets_both_minimums():
    calls = []
    timed = ondevice.time_runs(lambda: calls.append(1), warmup=2, min_runs=7, min_seconds=0.05)
    assert timed["runs"] >= 7 and len(calls) == timed["runs"] + 2
    assert timed["p90_ms"] >= timed["latency_ms"] >= 0
