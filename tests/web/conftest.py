"""What the web tests share: where the app is, whether node, Chromium, chromedriver, selenium and
onnxruntime-web are here (each test skips with the reason when one it needs is missing; CI has them),
and a hand-made ONNX artifact (no export: a nearest x2 upscale with the contract embedded)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from edgesr.web.server import ORT_DIST, REPO_APP

APP = REPO_APP
NODE_JOB = Path(__file__).with_name("node_job.mjs")


def ort_missing() -> str | None:
    if not (APP / ORT_DIST / "ort.min.mjs").is_file():
        return "onnxruntime-web is not installed: npm ci --prefix apps/web"
    return None


def browser_missing() -> str | None:
    """Why the headless-Chromium tests cannot run here, or None."""
    from edgesr.errors import MissingDependencyError
    from edgesr.web.browser import find_tools, require_selenium

    try:
        require_selenium()
        find_tools()
    except MissingDependencyError as exc:
        return str(exc)
    return ort_missing()


def run_node(tasks: list[dict], tmp_path: Path) -> None:
    """Run the app's pure modules in Node on ``tasks`` (see node_job.mjs)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    job = tmp_path / "job.json"
    job.write_text(json.dumps(tasks))
    subprocess.run([node, str(NODE_JOB), str(APP), str(job)], check=True, timeout=120)


def nearest_x2_artifact(folder: Path, name: str = "nearest_x2_fp32_dynamic.onnx", **changes) -> Path:
    """An ONNX artifact (with its manifest) whose network repeats each pixel 2x2: RGB, post-upsampling,
    dynamic size; ``changes`` replace manifest fields."""
    import onnx
    from onnx import TensorProto, helper

    from edgesr.formats.registry import embed_contract
    from edgesr.manifest import Manifest, TensorSpec, sha256, write_manifest

    dims = [1, 3, "height", "width"]
    graph = helper.make_graph(
        [helper.make_node("Resize", ["input", "", "scales"], ["output"], mode="nearest")], "nearest",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, dims)],
        [helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])])
    artifact = folder / name
    onnx.save(helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)]), str(artifact))
    spec = TensorSpec("input", "NCHW", "float32", 3, None, None)
    manifest = Manifest("nearest", (2,), "onnx", "fp32", "rgb", "post", spec,
                        dataclasses.replace(spec, name="output"), "", None, receptive_radius=0,
                        tools={"edgesr": "0.1.0"})
    manifest = dataclasses.replace(manifest, **changes)
    embed_contract(artifact, manifest.contract())
    write_manifest(artifact, dataclasses.replace(manifest, artifact_sha256=sha256(artifact)))
    return artifact
