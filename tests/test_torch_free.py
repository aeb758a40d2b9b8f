"""The runtime side without PyTorch: importing edgesr does not import torch, and a fresh virtual
environment holding only ``edgesr[ort,litert,openvino-runtime]`` scores and upscales Set5 through
ONNX, LiteRT and OpenVINO artifacts made by the main environment, with the main environment's scores
and pixels."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# the fresh environment gets the main one's releases of what computes the outputs, so that any
# difference comes from torch's absence alone
PINNED = ("numpy", "pillow", "onnxruntime", "ai-edge-litert")
# masrn x4 with the shipped weights; LiteRT at a small fixed input (masrn's INT8 is all 8-bit)
EXPORTS = {
    "onnx-fp32": ["-f", "onnx"],
    "tflite-fp32": ["-f", "tflite", "--input-size", "64x64"],
    "tflite-int8": ["-f", "tflite", "-p", "int8", "--input-size", "64x64", "--calib-images", "8"],
    "openvino-fp32": ["-f", "openvino"],
}


def _run(cmd: list, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout}\n{res.stderr}"
    return res


def test_importing_edgesr_does_not_import_torch():
    code = ("import sys, edgesr, edgesr.runtimes\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'torch')))")
    out = _run([sys.executable, "-c", code], timeout=60).stdout.strip()
    assert out == "", f"import edgesr, edgesr.runtimes imported {out}"


def _index_reachable() -> str | None:
    """None when the package index answers, else why not."""
    url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/").rstrip("/") + "/pip/"
    try:
        with urllib.request.urlopen(url, timeout=15):
            return None
    except OSError as exc:
        return f"the package index ({url}) is unreachable, so no fresh environment can be built: {exc}"


def _installed(distributions) -> dict[str, str]:
    versions = {}
    for name in distributions:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _source_copy(dest: Path) -> Path:
    """pyproject, README and src/ copied out of the checkout: pip builds a local folder in place,
    and a stale build/ there would put removed modules into the wheel."""
    dest.mkdir()
    shutil.copy2(REPO / "pyproject.toml", dest / "pyproject.toml")
    shutil.copy2(REPO / "README.md", dest / "README.md")
    shutil.copytree(REPO / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


@pytest.fixture(scope="module")
def torch_free_env(tmp_path_factory, data_root) -> dict:
    """A new venv with ``pip install '<checkout>[ort,litert,openvino-runtime]'`` (no torch); the pip cache is
    the user's (~/.cache/pip), so a rerun does not download again."""
    why = _index_reachable()
    if why:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("torch_free")
    _run([sys.executable, "-m", "venv", tmp / "venv"], timeout=300)
    pins = tmp / "pins.txt"
    pins.write_text("".join(f"{p}=={v}\n" for p, v in _installed(PINNED).items()))
    src = _source_copy(tmp / "src")
    venv_bin = tmp / "venv" / "bin"
    _run([venv_bin / "python", "-m", "pip", "install", "-q", "-c", pins, f"{src}[ort,litert,openvino-runtime]"],
         timeout=900)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["EDGESR_DATA"] = str(data_root)
    return {"bin": venv_bin, "env": env}


@pytest.fixture(scope="module")
def exported(tmp_path_factory, data_root) -> dict:
    """The artifacts, exported by the main environment's ``edgesr export``."""
    for module in ("torch", "onnxruntime", "litert_torch", "openvino"):
        pytest.importorskip(module, reason=f"the main environment lacks {module}: "
                                           "pip install -e '.[torch,onnx,tflite,openvino]'")
    out = tmp_path_factory.mktemp("torch_free_artifacts")
    env = {**os.environ, "EDGESR_DATA": str(data_root)}
    artifacts = {}
    for name, options in EXPORTS.items():
        _run([_main_edgesr(), "export", "-m", "masrn", "-s", "4", *options, "--no-check", "-o", out / name], env=env)
        artifacts[name] = next(p for p in (out / name).iterdir() if not p.name.endswith(".json"))
    return artifacts


def _main_edgesr() -> Path:
    exe = Path(sys.executable).parent / "edgesr"
    if not exe.exists():
        pytest.skip("the edgesr console script is not installed in the main environment (pip install -e .)")
    return exe


@pytest.mark.slow
def test_torch_free_env_has_no_torch_and_imports_edgesr(torch_free_env):
    python = torch_free_env["bin"] / "python"
    res = subprocess.run([python, "-c", "import torch"], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "No module named 'torch'" in res.stderr, "torch is installed in the fresh venv"
    _run([python, "-c", "import sys, edgesr, edgesr.runtimes; assert 'torch' not in sys.modules"], timeout=60)


def _smallest_image(folder: Path) -> Path:
    """Set5's smallest HR image (butterfly, 256x256): few of LiteRT's 64x64 tiles."""
    from PIL import Image

    def pixels(path: Path) -> int:
        with Image.open(path) as im:
            return im.width * im.height

    return min(sorted(folder.rglob("*.png")), key=pixels)


def _eval_and_upscale(edgesr: Path, artifact: Path, image: Path, out: Path, env: dict) -> tuple[dict, np.ndarray]:
    from PIL import Image

    _run([edgesr, "eval", "-a", artifact, "-d", "Set5", "--json", out / "scores.json"], env=env)
    _run([edgesr, "upscale", image, "-o", out / "up", "-a", artifact], env=env)
    with Image.open(out / "up" / f"{image.stem}.png") as im:
        return json.loads((out / "scores.json").read_text()), np.asarray(im)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPORTS))
def test_torch_free_env_scores_and_upscales_like_the_main_one(name, torch_free_env, exported, data_root, tmp_path):
    artifact = exported[name]
    image = _smallest_image(data_root / "Set5")
    for side in ("main", "free"):
        (tmp_path / side).mkdir()
    env = {**os.environ, "EDGESR_DATA": str(data_root)}
    main_scores, main_pixels = _eval_and_upscale(_main_edgesr(), artifact, image, tmp_path / "main", env)
    free_scores, free_pixels = _eval_and_upscale(torch_free_env["bin"] / "edgesr", artifact, image,
                                                 tmp_path / "free", torch_free_env["env"])
    assert free_scores == main_scores  # same runtime releases, same numpy pipeline: equal to the last bit
    assert free_pixels.shape == main_pixels.shape and np.array_equal(free_pixels, main_pixels)


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["eval", "-m", "masrn", "-d", "Set5", "-s", "4"],
    ["upscale", "{image}", "-o", "out", "-m", "masrn", "-s", "4"],
    ["export", "-m", "masrn", "-s", "4", "-f", "onnx", "-o", "out"],
    ["train", str(REPO / "configs" / "fsrcnn_x4.yaml"), "--until", "1"],
    ["models"],
], ids=lambda args: args[0])
def test_torch_free_env_names_the_install_for_what_needs_torch(args, torch_free_env, data_root, tmp_path):
    image = _smallest_image(data_root / "Set5")
    cmd = [torch_free_env["bin"] / "edgesr", *(str(a).format(image=image) for a in args)]
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env=torch_free_env["env"])
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    message = res.stderr.strip()
    assert len(message.splitlines()) == 1 and "torch" in message, message
    assert "pip install torch==2.13.0" in message or "'edgesr[torch]'" in message, message
    assert not (tmp_path / "out").exists()
