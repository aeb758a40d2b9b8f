"""The core install alone imports and runs; optional packages are never imported eagerly."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("onnx", "onnxruntime", "litert_torch", "ai_edge_litert", "coremltools", "tensorrt", "tensorflow")


def test_import_and_help_load_no_optional_package():
    code = (
        "import sys, edgesr, edgesr.cli\n"
        "from click.testing import CliRunner\n"
        "r = CliRunner().invoke(edgesr.cli.main, ['--help'])\n"
        "assert r.exit_code == 0 and 'eval' in r.output, r.output\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "assert 'torch' not in sys.modules, 'edgesr --help should not import torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_api_is_at_the_top_and_imports_no_torch():
    code = (
        "import sys, edgesr\n"
        "funcs = [edgesr.evaluate, edgesr.open_runner, edgesr.compare, edgesr.upscale, edgesr.register_model]\n"
        "import edgesr.manifest, edgesr.benchmark.report\n"
        "import types\n"
        "assert isinstance(edgesr.export, types.FunctionType) and isinstance(edgesr.bench, types.FunctionType)\n"
        "assert edgesr.manifest.read_manifest and edgesr.benchmark.report.markdown\n"
        "from edgesr import export, bench\n"
        "assert export is edgesr.export and {'export', 'bench', 'evaluate'} <= set(dir(edgesr))\n"
        "assert 'torch' not in sys.modules, 'the API should import torch only when it runs a model'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_console_script():
    exe = shutil.which("edgesr") or str(Path(sys.executable).parent / "edgesr")
    if not Path(exe).exists():
        pytest.skip("the edgesr console script is not installed (pip install -e .)")
    res = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "Commands:" in res.stdout
    res = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert "edgesr, version" in res.stdout


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text().splitlines()
    setup_block = "\n".join(readme[:25])
    commands = re.findall(r"^(?:\$ )?(python -m pytest[^\n]*)$", setup_block, flags=re.M)
    assert commands, "the README's first lines must give the test command"
    ci = (REPO / ".ci" / "run").read_text()
    assert commands[0] in ci


def test_finished_training_runs_keep_only_their_summaries_tracked():
    """Issue 37: weights, checkpoints and logs of training runs stay out of the tracked tree (the shipped
    weights live in src/edgesr/pretrained); a run folder keeps config.json, scores.json, summary.json."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", "training"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    kept = {"config.json", "scores.json", "summary.json"}
    # a run in progress may keep its resume checkpoint and its log (one each), so another day resumes it whole
    resumable = [p for p in tracked if p.endswith("last.ckpt.safetensors")]
    logs = [p for p in tracked if p.endswith("/log.jsonl") and str(Path(p).parent / "last.ckpt.safetensors") in resumable]
    assert [p for p in tracked if Path(p).name not in kept and p not in resumable + logs] == []
    in_progress = {str(Path(p).parent) for p in resumable}
    finished = {str(Path(p).parent) for p in tracked if p.endswith("/config.json")} - in_progress
    assert sorted(run for run in finished if f"{run}/summary.json" not in tracked) == []
