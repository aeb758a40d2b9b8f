"""examples/: the RepSR network defined outside the package, and the commands of examples/README.md.

The fast tests check the network itself: its re-parameterisation (eval mode folds each block's
3x3, 1x1 and identity branches into one 3x3 conv with equal outputs) and its bicubic start. The
slow test runs every command of the README's command block, as written, in a temporary folder (a
subprocess each, ``edgesr`` from this venv) and checks what each produces.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from edgesr.models import create_model, get_spec

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
REF = f"{EXAMPLES / 'repsr.py'}:repsr"


def _randomised(scale: int, colour: str = "y", **options):
    torch.manual_seed(scale)
    model = create_model(REF, scale=scale, colour=colour, **options)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    return model


def test_declared_for_the_pipeline():
    spec = get_spec(REF)
    assert (spec.name, spec.colour, spec.upsampling, spec.scales, spec.multi_scale) == (
        "repsr", "y", "post", (2, 3, 4), False)


@pytest.mark.parametrize("scale, colour", [(2, "y"), (3, "y"), (4, "rgb")])
def test_eval_mode_folds_the_branches_with_equal_outputs(scale, colour):
    model = _randomised(scale, colour, features=8, blocks=3)
    x = torch.rand(2, model.spec.channels, 13, 17)
    with torch.no_grad():
        branches = model.train()(x)
        folded = model.eval()(x)
    torch.testing.assert_close(folded, branches, rtol=1e-5, atol=1e-5)
    assert all(block.fused is not None for block in model.blocks)
    ran = []
    hooks = [m.register_forward_hook(lambda m, i, o: ran.append(m)) for m in model.modules()
             if not list(m.children())]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    # deployed: each block is its one folded 3x3 conv; the branches do not run
    assert {type(m).__name__ for m in ran} == {"Conv2d", "_Fused", "PixelShuffle"}
    assert not any(m is b.conv3 or m is b.conv1 for b in model.blocks for m in ran)
    model.train()
    assert all(block.fused is None for block in model.blocks)


def test_weights_hold_the_branches_and_reload_into_an_evaluating_model(tmp_path):
    from edgesr.models.weights import identity_metadata, load_model, save_weights

    model = _randomised(2)
    keys = set(model.state_dict())
    assert set(model.eval().state_dict()) == keys and not any("fused" in k for k in keys)
    path = save_weights(model, tmp_path / "w.safetensors", identity_metadata(model))
    x = torch.rand(1, 1, 9, 9)
    loaded = load_model(REF, weights=path)  # loaded in train mode, then eval() folds
    fresh = create_model(REF, scale=2).eval()
    fresh.load_state_dict(model.state_dict())  # an evaluating model folds the new weights again
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
        torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)


def test_a_fresh_network_is_nearest_neighbour_upscaling():
    """The image skip repeats each LR pixel as its output phases, and the tail starts at zero: a
    fresh network is exactly nearest-neighbour upscaling, at every scale and for RGB too."""
    lr = np.random.default_rng(0).random((3, 20, 23))
    for scale in (2, 3, 4):
        for colour, x in (("y", lr[:1]), ("rgb", lr)):
            model = create_model(REF, scale=scale, channels=len(x)).eval()
            with torch.no_grad():
                out = model(torch.from_numpy(x).float()[None])[0].numpy()
            np.testing.assert_array_equal(out, x.repeat(scale, 1).repeat(scale, 2).astype(np.float32))


# --- the README's commands ---------------------------------------------------------------------

def readme_commands() -> list[str]:
    """The command lines of the README's first ``sh`` block under "## Commands"."""
    text = (EXAMPLES / "README.md").read_text()
    block = re.search(r"## Commands.*?```sh\n(.*?)```", text, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip().startswith("edgesr ")]


def _mean_psnr(output: str) -> float:
    return float(re.search(r"^mean\s+([\d.]+)", output, re.M).group(1))


@pytest.mark.slow
def test_readme_commands_run_from_a_clean_checkout(tmp_path, data_root):
    """About 6 minutes on 2 cores: a few hundred training iterations, four exports, three
    evaluations and a short bench."""
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    pytest.importorskip("litert_torch", reason="the tflite extra is not installed")
    pytest.importorskip("coremltools", reason="the coreml extra is not installed")
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "EDGESR_DATA": str(data_root), "EDGESR_CACHE": str(tmp_path / "cache"),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    outputs = []
    commands = readme_commands()
    assert len(commands) >= 9 and commands[0] == "edgesr train examples/repsr.yaml"
    for line in commands:
        proc = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        outputs.append(proc.stdout)
    run = tmp_path / "runs" / "repsr_x2"
    for name in ("best.safetensors", "last.safetensors", "config.json", "log.jsonl"):
        assert (run / name).is_file(), name
    artifacts = sorted(p.name for p in (run / "exports").iterdir() if not p.name.endswith(".json"))
    for pattern in (r"_fp32_dynamic\.onnx$", r"_fp32_\d+x\d+\.tflite$", r"_int8_\d+x\d+\.tflite$",
                    r"_fp32_\d+x\d+\.mlpackage$"):
        found = [a for a in artifacts if re.search(pattern, a)]
        assert len(found) == 1 and (run / "exports" / f"{found[0]}.json").is_file(), (pattern, artifacts)
    assert {"bench.md", "bench.json"} <= {p.name for p in (run / "bench").iterdir()}
    rows = json.loads((run / "bench" / "bench.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["passed", "passed"]
    scores = {line: _mean_psnr(out) for line, out in zip(commands, outputs) if line.startswith("edgesr eval")}
    model, bicubic, int8 = (next(v for k, v in scores.items() if key in k)
                            for key in ("-m examples", "-m bicubic", "int8"))
    assert model > bicubic + 0.5  # a few hundred iterations already beat bicubic on Set5 x2
    assert int8 > bicubic
    # the INT8 export's loss, well inside its 0.3 dB bound (measured 0.070 dB, Intel Xeon with VNNI; the
    # bicubic 5x5 skip this example had before lost 0.17 there and 0.27 on an AMD EPYC)
    assert model - int8 < 0.15
    _check_deployed_graph(next((run / "exports").glob("*.onnx")))


def _check_deployed_graph(path: Path) -> None:
    """The exported network is plain: convs (each block one: head, 4 blocks, tail), ReLUs, the image
    skip (the input repeated: Unsqueeze, Expand and Reshape, with the Shape and Concat of a
    dynamic size), its add and the pixel shuffle."""
    import onnx

    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    assert set(ops) == {"Conv", "Relu", "Add", "DepthToSpace", "Unsqueeze", "Expand", "Reshape", "Shape", "Concat"}, ops
    assert ops.count("Conv") == 6 and ops.count("Add") == 1, ops
