"""Every command the README and the docs show is run by a test: this one, or the one it names.

``doc_commands()`` reads each command of the fenced ``bash`` and ``sh`` blocks (and the ``$ `` lines
of ``console`` blocks) of README.md and docs/*.md, except docs/cli.md (click's own help, generated
from the code) and docs/converter-apis.md (notes on the converters' APIs, not edgesr's). A line
joined by ``&&`` is two commands; a trailing ``# comment`` is not part of one. ``HOW`` says how each
is run, in the order it lists them (the exports before what reads their artifacts); a command the
docs show that ``HOW`` does not name fails ``test_every_command_the_docs_show_is_run``, and so
does a ``HOW`` entry no page shows any more.

- ``Run()``: as written, in a scratch folder laid out as a clone's root (``configs/``, ``src/`` linked,
  ``photo.png`` a Set5 image), with ``EDGESR_DATA`` set, as the tour's first line does;
- ``Run(extra)``: as written, with options after it that only make it cheaper (one timed run,
  a small input, a training paused by ``--until``); click takes an option's last value;
- ``Serve()``: started as written (on a free port), the page and the artifact fetched, then stopped;
- ``Refused(module, needs)``: run as written where ``module`` imports; where it does not, it must
  end in one line naming what it needs (standard TensorRT, a CUDA GPU);
- ``Elsewhere(where)``: another test runs it (``tests/FILE.py::test``, which must exist), or
  ``.ci/run`` (whose text must hold it).

The Python examples of docs/python-api.md and docs/embedding.md run too, against the artifacts
the commands exported.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.export.test_quality_bounds import INT8_BOUND_DB

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md"] + sorted(p for p in (REPO / "docs").glob("*.md")
                                      if p.name not in ("cli.md", "converter-apis.md"))
DATA_LINE = "export EDGESR_DATA=../shared/datasets"  # the tour's first line: the scratch folder's environment
FAST = "--input-size 32x32 --min-runs 1 --min-seconds 0"  # bench: one timed run of a 32x32 input


@dataclass(frozen=True)
class Run:
    extra: str = ""
    bound: float | None = None  # an INT8 export: every scale's Set5 dPSNR within this (its manifest's check)


@dataclass(frozen=True)
class Serve:
    pass


@dataclass(frozen=True)
class Refused:
    module: str
    needs: str


@dataclass(frozen=True)
class Elsewhere:
    where: str


HOW: dict[str, object] = {
    # the tour, and what later lines read
    "edgesr eval -m masrn -d Set5 -s 4": Run(),
    "edgesr export -m masrn --scales 2,3,4 -f onnx -p int8 -o exports/": Run(bound=INT8_BOUND_DB),
    "edgesr upscale photo.png -o photo_x3.png -a exports/masrn_x2-3-4_int8_dynamic.onnx -s 3": Run(),
    "edgesr export -m masrn --scales 2,3,4 -f onnx -o exports/": Run(),
    "edgesr info exports/masrn_x2-3-4_fp32_dynamic.onnx": Run(),
    "edgesr export -m masrn -s 4 -f onnx -p int8 -o exports/": Run(),
    "edgesr eval --artifact exports/masrn_x4_int8_dynamic.onnx -d Set5": Run(),
    "edgesr compare masrn exports/masrn_x4_int8_dynamic.onnx -s 4": Run(),
    "edgesr export -m masrn --scales 2,3,4 -f tflite -o exports/": Run(),
    "edgesr upscale photo.png -o out.png -a exports/masrn_x2-3-4_fp32_128x128.tflite -s 3": Run(),
    "edgesr export -m masrn -s 4 -f onnx -p int8 --quant ptq -o exports/": Run(),
    "edgesr export -m masrn --scales 2,3,4 -f tflite -p int8 -o exports/": Run(bound=INT8_BOUND_DB),
    "edgesr export -m masrn -s 2 -f tflite -p w8a16 -o exports/": Run(),
    "edgesr export -m masrn --scales 2,3,4 -f openvino -p int8 -o exports/": Run(bound=INT8_BOUND_DB),
    "edgesr export -m masrn -s 4 -f executorch -p int8 --input-size 256x256 -o exports/": Run(),
    "edgesr export -m masrn --scales 2,3,4 -f executorch -p int8 -o exports/": Run(bound=INT8_BOUND_DB),
    "edgesr export -m masrn -s 4 -f coreml -p int8 --input-size 128x128,256x256 -o exports/": Run(),
    "edgesr export -m masrn -s 2 -f coreml -p w8a8 -o exports/": Run(),
    "edgesr export -m masrn -s 4 -f tensorrt-rtx -p int8 -o exports/": Refused(
        "tensorrt_rtx", "tensorrt-rtx"),
    "edgesr export -m masrn -s 4 -f tensorrt -p fp16 --profile 16x16,256x256,1024x1024 -o exports/": Refused(
        "tensorrt", "tensorrt"),
    "edgesr export -m masrn -s 4 -f tensorrt -p int8 -o exports/": Refused("tensorrt", "tensorrt"),
    "edgesr serve exports/masrn_x2-3-4_int8_dynamic.onnx": Serve(),
    "edgesr serve exports/masrn_x2-3-4_fp32_dynamic.onnx": Serve(),
    # benchmarks: one timed run of a small input
    "edgesr bench --data-root ../shared/datasets": Run(FAST + " --data-root {data}"),
    "edgesr bench -f onnx,tflite -p fp32,int8 -s 4": Run(FAST),
    "edgesr bench --scales 2,3,4 --formats onnx,tflite --precisions fp32,int8 --input-size 128x128": Run(FAST),
    "edgesr bench -f pytorch -p fp32,bf16 --torch-modes eager,channels_last": Run(FAST),
    "edgesr bench --device cuda -s 2,3,4 -p fp32,fp16,bf16 --torch-modes eager,channels_last,cuda_graphs": Refused(
        "cuda", "CUDA GPU"),
    "edgesr bench --gpu-baseline benchmarks/results/gpu":
        Elsewhere("tests/bench/test_desktop_gpu.py::test_the_cli_reads_a_gpu_report"),
    "bash scripts/gpu_check.sh --out benchmarks/results/gpu":
        Elsewhere("tests/test_gpu_check.py::test_the_dry_run_takes_every_step"),
    "edgesr bench --device devices/raspberrypi.toml --formats tflite,onnx --precisions fp32,int8":
        Elsewhere("tests/devices/test_ssh.py::test_bench_on_the_ssh_device"),
    "edgesr bench --device ./my-board.toml --formats tflite":
        Elsewhere("tests/devices/test_ssh.py::test_bench_on_the_ssh_device"),
    # training: paused after a few iterations, then resumed
    "edgesr train configs/masrn_qat.yaml --set init=src/edgesr/pretrained/masrn.safetensors": Run("--set out_dir=runs/masrn_qat --until 2"),
    "edgesr train configs/masrn.yaml --set init=null --set out_dir=runs/masrn": Run("--until 2"),
    "edgesr train configs/masrn.yaml --set init=null --set out_dir=runs/masrn --resume": Run("--until 4"),
    "torchrun --standalone --nproc-per-node 2 -m edgesr.cli train configs/masrn.yaml --set init=null":
        Run("--set out_dir=runs/masrn_ddp --until 2"),
    # setup, tests and the docs themselves
    "pip install torch==2.13.0": Elsewhere(".ci/run"),
    "pip install -e '.[torch,dev,onnx,tflite,coreml,openvino,executorch,bench,web]'": Elsewhere(".ci/run"),
    "python -m pytest -q": Elsewhere(".ci/run"),
    "npm ci --prefix apps/web": Elsewhere(".ci/run"),
    "pip install '.[ort,litert]'": Elsewhere("tests/test_torch_free.py::test_torch_free_env_has_no_torch_and_imports_edgesr"),
    'python -m pytest -q -m "not slow"': Elsewhere(".ci/run"),
    "python -m pyflakes src tests benchmarks scripts": Run(),
    "mkdocs build --strict": Elsewhere("tests/test_docs.py::test_the_docs_build_strictly"),
    "python scripts/cli_reference.py": Elsewhere("tests/test_docs.py::test_the_cli_reference_is_what_the_code_says"),
    DATA_LINE: Elsewhere("tests/test_doc_commands.py::test_the_docs_commands_run"),
}


def _commands_of(block: str, lang: str) -> list[str]:
    found = []
    for line in block.splitlines():
        line = line.strip()
        if lang == "console":
            if not line.startswith("$ "):
                continue
            line = line[2:]
        line = re.sub(r"\s+#.*$", "", line)
        if line and not line.startswith("#"):
            found += [" ".join(part.split()) for part in line.split(" && ")]
    return found


def doc_commands() -> dict[str, list[str]]:
    """Each command the pages show, with the pages that show it."""
    shown: dict[str, list[str]] = {}
    for page in PAGES:
        for lang, block in re.findall(r"^```(bash|sh|console)\n(.*?)^```", page.read_text(), re.S | re.M):
            for command in _commands_of(block, lang):
                shown.setdefault(command, []).append(page.relative_to(REPO).as_posix())
    return shown


def test_every_command_the_docs_show_is_run():
    shown = doc_commands()
    assert len(shown) >= 40
    unrun = sorted(set(shown) - set(HOW))
    assert not unrun, "commands the docs show that no test runs (add each to HOW):\n" + "\n".join(
        f"{c}   ({', '.join(shown[c])})" for c in unrun)
    gone = sorted(set(HOW) - set(shown))
    assert not gone, f"HOW names commands no page shows any more: {gone}"
    ci = (REPO / ".ci" / "run").read_text()
    for command, how in HOW.items():
        if isinstance(how, Elsewhere) and how.where == ".ci/run":
            assert command in ci or command.replace("python -m pytest -q -m \"not slow\"", "python -m pytest -q") in ci
        elif isinstance(how, Elsewhere):
            file, _, name = how.where.partition("::")
            assert re.search(rf"^def {name}\(", (REPO / file).read_text(), re.M), how.where


def test_python_blocks_are_where_they_are_run():
    """The Python examples run below are the ones the pages show (two: the API's tour, the
    ONNX Runtime app)."""
    assert set(_python_blocks()) == {"docs/python-api.md", "docs/embedding.md"}


def _python_blocks() -> dict[str, str]:
    blocks = {}
    for page in PAGES:
        for block in re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M):
            blocks[page.relative_to(REPO).as_posix()] = block
    return blocks


# --- running them ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scratch(tmp_path_factory, data_root):
    """A folder laid out as a clone's root, and the environment the docs' commands run in."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("docs")
    for part in ("configs", "src"):  # the recipes, and the shipped weights a config may start from
        (folder / part).symlink_to(REPO / part)
    first = sorted((Path(data_root) / "Set5" / "HR").iterdir())[0]
    Image.open(first).convert("RGB").save(folder / "photo.png")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "EDGESR_DATA": str(data_root), "EDGESR_CACHE": str(folder / "cache"),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return folder, env


def _run(line: str, folder: Path, env: dict, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", line], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _ran(line: str, proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


def _serve(line: str, folder: Path, env: dict) -> None:
    proc = subprocess.Popen(["bash", "-c", f"exec {line} --port 0"], cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        for text in proc.stdout:
            seen.append(text)
            found = re.search(r"serving the edgesr web app on (http://\S+)", text)
            if found:
                break
        assert found, "".join(seen)
        url = found.group(1).rstrip("/")
        page = urllib.request.urlopen(url + "/", timeout=30).read().decode()
        assert "<html" in page.lower()
        artifact = Path(line.split()[-1])
        served = urllib.request.urlopen(f"{url}/artifact/{artifact.name}", timeout=30).read()
        assert served == (folder / artifact).read_bytes()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out


def _refused(line: str, how: Refused, folder: Path, env: dict) -> None:
    if how.module == "cuda":
        import torch

        present = torch.cuda.is_available()
    else:
        import importlib.util

        present = importlib.util.find_spec(how.module) is not None
    proc = _run(line, folder, env)
    if present:
        _ran(line, proc)
        return
    assert proc.returncode != 0
    errors = [text for text in proc.stderr.splitlines() if text.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error:") and how.needs in errors[0], proc.stderr


RUN_HERE = [c for c, how in HOW.items() if not isinstance(how, Elsewhere)]


@pytest.mark.slow
@pytest.mark.parametrize("command", RUN_HERE)
def test_the_docs_commands_run(command, scratch):
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    folder, env = scratch
    how = HOW[command]
    if isinstance(how, Serve):
        return _serve(command, folder, env)
    if isinstance(how, Refused):
        return _refused(command, how, folder, env)
    line = f"{command} {how.extra.format(data=env['EDGESR_DATA'])}".strip()
    if command.startswith("python -m pyflakes"):
        folder = REPO
    out = _ran(line, _run(line, folder, env))
    if how.bound is not None:  # the shipped masrn's INT8 quality, as a user exports it
        from edgesr.manifest import read_manifest

        check = read_manifest(folder / re.search(r"^wrote (\S+)", out, re.M).group(1)).check
        losses = {scale: round(row["dpsnr"], 3) for scale, row in check["per_scale"].items()}
        assert min(losses.values()) >= -how.bound, f"{command}: {losses} dB, beyond -{how.bound} dB"
    if command.startswith("edgesr info"):
        shown = re.search(r"\$ edgesr info \S+\n(.*?)\n", (REPO / "docs" / "embedding.md").read_text()).group(1)
        assert out.splitlines()[0] == shown


@pytest.mark.slow
@pytest.mark.parametrize("page", ["docs/python-api.md", "docs/embedding.md"])
def test_the_docs_python_runs(page, scratch, monkeypatch):
    """After the commands: the embedding example reads the artifact ``edgesr export -f onnx`` wrote
    (an app's image given as ``rgb_hwc_uint8``, the photo), the API's tour exports into ``exports``."""
    import numpy as np
    from PIL import Image

    folder, env = scratch
    block = _python_blocks()[page]
    monkeypatch.chdir(folder / "exports" if page.endswith("embedding.md") else folder)
    monkeypatch.setenv("EDGESR_DATA", env["EDGESR_DATA"])
    rgb = np.asarray(Image.open(folder / "photo.png").convert("RGB"))[:64, :48]
    names = {"rgb_hwc_uint8": rgb}
    exec(compile(block, page, "exec"), names)
    if page.endswith("embedding.md"):
        assert names["sr"].shape == (256, 192, 3) and names["sr"].dtype == np.uint8
    shutil.rmtree(folder / "exports" / "__pycache__", ignore_errors=True)
