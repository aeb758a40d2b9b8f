"""The on-device runner: edgesr's own runners, shipped as a torch-free bundle, right about what they run."""

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgesr.devices.bundle import BUNDLE_NAME, bundle_modules, module_file, write_bundle
from edgesr.devices.remote import _stage as _stage_job
from edgesr.devices.remote import _taped_runner
from edgesr.formats import FORMATS
from edgesr.inference import upscale
from edgesr.manifest import read_manifest
from edgesr.runtimes.measure import time_runs

RUNTIMES = {"numpy", "onnxruntime", "tensorflow", "ai_edge_litert", "tflite_runtime", "coremltools"}
# imported inside functions a board never calls: TorchRunner (edgesr.runtimes' lazy attribute) and
# write_manifest's file writer
NOT_ON_A_BOARD = {"edgesr.runtimes.torch", "edgesr._files", "edgesr.metadata"}  # Manifest.contract(): export side
# a format's export side (its Format methods import them on the host, for edgesr export: io checks --io) and the runners of
# the formats no board runs
NOT_ON_A_BOARD |= {f"{f.package_name}.{part}" for f in FORMATS.values() for part in ("export", "census", "metadata", "io")}
NOT_ON_A_BOARD |= {f.runner_module for f in FORMATS.values() if not f.remote}


def _imports(module: str) -> set[str]:
    """Every module ``module`` imports, at module level or in a function (absolute names)."""
    found = set()
    for node in ast.walk(ast.parse(module_file(module).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_the_bundle_needs_only_numpy_the_runtimes_and_the_standard_library():
    inside = set(bundle_modules())
    for module in inside:
        for name in _imports(module):
            top = name.split(".")[0]
            if top == "edgesr":  # a module, or a name from one
                within = {name, name.rpartition(".")[0]} & (inside | NOT_ON_A_BOARD)
                assert within, f"{module} imports {name}, which is not in the bundle"
            else:
                assert top in sys.stdlib_module_names or top in RUNTIMES, f"{module} imports {name}"


def _stage(tmp_path, artifact, scale, lr):
    """A job folder as a transport would push it: bundle, artifact, manifest, inputs, job.json."""
    manifest = read_manifest(artifact)
    runner, tape = _taped_runner(artifact, manifest, scale)
    upscale(runner, lr)
    _stage_job(tmp_path, artifact, manifest, tape.calls, tape.calls,
               {"scale": scale, "warmup": 1, "min_runs": 3, "min_seconds": 0})
    return tape


# a board: no torch, and no edgesr but the bundle's (-I: no current directory or PYTHONPATH on the path)
_BOARD = """
import importlib.abc, json, runpy, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError("no torch on this board")
        return None
sys.meta_path.insert(0, Block())
sys.argv = [{bundle!r}] + {args!r}
try:
    runpy.run_path({bundle!r}, run_name="__main__")
except SystemExit as exit:
    code = exit.code
outside = sorted(m.__name__ for m in list(sys.modules.values())
                 if getattr(m, "__name__", "").startswith("edgesr") and {bundle!r} not in (getattr(m, "__file__", "") or ""))
print(json.dumps({{"code": code, "outside": outside}}))
"""


def _run(folder, *args, python=sys.executable):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = _BOARD.format(bundle=str(Path(folder) / BUNDLE_NAME), args=list(args))
    proc = subprocess.run([python, "-I", "-c", code], cwd=folder, capture_output=True, text=True, env=env)
    assert proc.stdout.strip(), proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["outside"] == [], report  # every edgesr module came from the bundle
    return report["code"], proc


def test_runs_a_job_with_the_bundled_runner(tflite_artifacts, tmp_path, photo):
    artifact = tflite_artifacts["espcn-int8"]
    tape = _stage(tmp_path, artifact, 2, photo)
    code, proc = _run(tmp_path, "job.json")
    assert code == 0, proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["ok"] and result["runs"] >= 3 and result["runtime"].startswith("ai_edge_litert")
    assert result["p90_ms"] >= result["latency_ms"] > 0
    outs = sorted((tmp_path / "outputs").glob("*.npy"))
    assert len(outs) == len(tape.calls) > 1  # a 48x60 photo through a 24x24 artifact: several tiles
    first = np.load(outs[0])
    assert first.dtype == np.int8 and first.shape == (1, 48, 48, 1)  # the artifact's own int8 NHWC output


def test_runs_an_onnx_job_and_probes(artifacts, tmp_path, photo):
    artifact = artifacts["espcn-fp32"]
    tape = _stage(tmp_path, artifact, 2, photo[:20, :24])
    code, proc = _run(tmp_path, "job.json")
    assert code == 0, proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["ok"] and result["runtime"].startswith("onnxruntime")
    (out,) = [np.load(p) for p in sorted((tmp_path / "outputs").glob("*.npy"))]
    assert len(tape.calls) == 1 and out.shape == (1, 1, 40, 48) and out.dtype == np.float32
    code, proc = _run(tmp_path, "--probe")
    offers = json.loads(proc.stdout.strip().splitlines()[0])
    assert code == 0 and offers["onnx"].startswith("onnxruntime") and offers["tflite"].startswith("ai_edge_litert")
    code, proc = _run(tmp_path, "--peak")  # the device's float32 matrix-product peak, with numpy there
    peak = json.loads(proc.stdout.strip().splitlines()[0])
    assert code == 0 and peak["n"] == 2048 and peak["gflops"] > 0.1 and peak["library"].startswith("numpy")


def test_a_partial_artifact_is_refused(tflite_artifacts, tmp_path, photo):
    artifact = tflite_artifacts["espcn-fp32"]
    _stage(tmp_path, artifact, 2, photo)
    staged = tmp_path / artifact.name
    staged.write_bytes(staged.read_bytes()[:-100])
    code, _ = _run(tmp_path, "job.json")
    assert code == 1
    result = json.loads((tmp_path / "result.json").read_text())
    assert not result["ok"] and "does not match the SHA-256" in result["error"]
    assert not (tmp_path / "outputs").exists()


def test_the_bundle_holds_the_runners_of_the_on_device_formats(tmp_path):
    names = zipfile.ZipFile(write_bundle(tmp_path)).namelist()
    assert {"__main__.py", "edgesr/__init__.py", "edgesr/formats/tflite/runner.py", "edgesr/formats/onnx/runner.py",
            "edgesr/devices/ondevice.py", "edgesr/formats/__init__.py", "edgesr/manifest.py"} <= set(names)
    assert not any(n.endswith(("torch.py", "coreml.py", "tensorrt.py", "inference.py")) for n in names)


@pytest.mark.skipif(not os.environ.get("EDGESR_BOARD_PYTHON"),
                    reason="set EDGESR_BOARD_PYTHON to a Python with only numpy<2 and tflite-runtime (.ci/run makes one)")
def test_falls_back_to_tflite_runtime(tflite_artifacts, tmp_path, photo):
    python = os.environ["EDGESR_BOARD_PYTHON"]
    write_bundle(tmp_path)
    probe = subprocess.run([python, "-I", BUNDLE_NAME, "--probe"], cwd=tmp_path, capture_output=True, text=True)
    offers = json.loads(probe.stdout)
    assert offers["tflite"].startswith("tflite_runtime") and offers["numpy"].startswith("1.")
    assert offers["onnx"] is None
    (tmp_path / "job").mkdir()
    _stage(tmp_path / "job", tflite_artifacts["masrn-fp16"], 3, photo)
    code, proc = _run(tmp_path / "job", "job.json", python=python)
    assert code == 0, proc.stderr
    assert json.loads((tmp_path / "job" / "result.json").read_text())["runtime"].startswith("tflite_runtime")


def test_no_interpreter_is_named(tmp_path):
    from edgesr.errors import ArtifactError, MissingDependencyError
    from edgesr.formats.tflite.runner import find_interpreter

    with pytest.raises(ArtifactError, match="unknown LiteRT interpreter 'tflite_micro'"):
        find_interpreter("tflite_micro")
    (tmp_path / "tflite_runtime").mkdir()  # an empty package that has no interpreter module
    (tmp_path / "tflite_runtime" / "__init__.py").write_text("")
    code = ("import sys; sys.path.insert(0, %r); sys.modules['ai_edge_litert'] = None; "
            "sys.modules['tensorflow'] = None\nfrom edgesr.formats.tflite.runner import find_interpreter\n"
            "try:\n    find_interpreter()\nexcept ImportError as e:\n    print(type(e).__name__, e)") % str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True).stdout
    assert out.startswith(MissingDependencyError.__name__) and "no LiteRT interpreter is installed" in out
    assert "pip install 'edgesr[litert]'" in out and "pip install ai-edge-litert" in out


def test_time_runs_meets_both_minimums():
    calls = []
    timed = time_runs(lambda: calls.append(1), warmup=2, min_runs=7, min_seconds=0.05)
    assert timed["runs"] >= 7 and len(calls) == timed["runs"] + 2
    assert timed["p90_ms"] >= timed["latency_ms"] >= 0
