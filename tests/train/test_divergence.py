"""A run that diverges stops with one clear error and never hands back a wrong file: the weights it
saved while finite stay as they were, and log.jsonl stays strict JSON."""

import json
import math
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from edgesr.cli import main
from edgesr.errors import ConfigError, TrainingError
from edgesr.train import trainer as trainer_mod
from edgesr.train.checkpoint import save_checkpoint
from edgesr.train.config import make_config
from edgesr.train.trainer import CHECKPOINT, Trainer, json_line, train

TINY = {"model": "espcn", "scales": [2], "train_sets": ["Set5"], "val_set": "Set5", "patch_size": 24,
        "batch_size": 4, "iterations": 12, "log_every": 2, "val_every": 6, "checkpoint_every": 3,
        "ema": 0.9, "threads": 1}


def _cfg(tmp_path, data_root, **kw):
    return make_config({**TINY, "data_root": str(data_root), "out_dir": str(tmp_path / "run"), **kw})


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def _strict_log(out: Path) -> list[dict]:
    """Every line parses as strict JSON: NaN, Infinity and -Infinity are refused."""
    return [json.loads(line, parse_constant=_no_constants) for line in (out / "log.jsonl").read_text().splitlines()]


def _finite(path: Path) -> dict[str, torch.Tensor]:
    tensors = load_file(str(path))
    assert tensors and all(torch.isfinite(v).all() for v in tensors.values() if v.is_floating_point()), path
    return tensors


def _ckpt_iteration(path: Path) -> int:
    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()["state"])["iteration"]


def test_json_line_writes_null_for_non_finite():
    row = {"loss": float("nan"), "val_psnr": {"x2": float("inf")}, "xs": [1.5, float("-inf")], "n": 3}
    assert json_line(row) == '{"loss": null, "val_psnr": {"x2": null}, "xs": [1.5, null], "n": 3}'


def test_nan_data_stops_the_run_and_keeps_the_finite_files(tmp_path, data_root, monkeypatch):
    """Batches turn NaN from the 8th on: the run stops at iteration 8; the checkpoint of iteration 6
    and the best weights of the validation at 6 stay as they were."""
    real = trainer_mod.PatchSampler.batch
    calls = []

    def batch(self, rng, scale, size):
        inp, target = real(self, rng, scale, size)
        calls.append(1)
        return (torch.full_like(inp, float("nan")), target) if len(calls) >= 8 else (inp, target)

    monkeypatch.setattr(trainer_mod.PatchSampler, "batch", batch)
    with pytest.raises(TrainingError, match="diverged at iteration 8: the loss is not finite.*lower lr.*check the training data"):
        train(_cfg(tmp_path, data_root), progress=False)
    out = tmp_path / "run"
    assert _ckpt_iteration(out / CHECKPOINT) == 6
    _finite(out / CHECKPOINT)
    best, last = _finite(out / "best.safetensors"), _finite(out / "last.safetensors")
    assert all(torch.equal(best[k], last[k]) for k in best)  # both from iteration 6
    rows = _strict_log(out)
    assert rows[-1] == {"event": "diverged", "iteration": 8, "loss": None, "lr": rows[-1]["lr"]}
    assert [r["iteration"] for r in rows if "val_psnr" in r] == [6]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_huge_lr_diverges_with_one_line_error(tmp_path, data_root):
    """A real divergence: lr 1e36 leaves finite but enormous weights after step 1, and the loss of
    step 2 overflows. Best and last stay those of iteration 1 (finite)."""
    with pytest.raises(TrainingError, match=r"diverged at iteration 2: the loss is not finite \(lr 1e\+36\)") as info:
        train(_cfg(tmp_path, data_root, lr=1e36, schedule="constant", val_every=1, checkpoint_every=1), progress=False)
    assert "\n" not in str(info.value) and "last checkpoint: iteration 1" in str(info.value)
    out = tmp_path / "run"
    _finite(out / "best.safetensors"), _finite(out / "last.safetensors"), _finite(out / CHECKPOINT)
    rows = _strict_log(out)
    assert rows[-1]["event"] == "diverged" and rows[-1]["loss"] is None
    vals = [r for r in rows if "val_psnr" in r]
    assert [r["iteration"] for r in vals] == [1] and math.isfinite(vals[0]["best"])


def test_diverging_before_any_checkpoint_writes_no_weights(tmp_path, data_root):
    with pytest.raises(TrainingError, match="diverged at iteration 1: the optimizer step overflowed.*no checkpoint"):
        train(_cfg(tmp_path, data_root, lr=1e38, schedule="constant"), progress=False)
    out = tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "log.jsonl"]
    assert _strict_log(out)[-1]["event"] == "diverged"


def test_non_finite_validation_outputs_never_become_best(tmp_path, data_root):
    """NaN outputs would score a PSNR (NaN pixels turn into some colour): validation refuses them."""
    trainer = Trainer(_cfg(tmp_path, data_root, ema=None))
    with torch.no_grad():
        next(trainer.model.parameters()).fill_(float("nan"))
    trainer.iteration = 5
    with pytest.raises(TrainingError, match="diverged at iteration 5: the validation outputs are not finite"):
        trainer.validate()
    assert trainer.best is None and not (tmp_path / "run" / "best.safetensors").exists()


def test_non_finite_weights_are_never_saved_or_resumed(tmp_path, data_root):
    train(_cfg(tmp_path, data_root, iterations=3, val_every=100), progress=False)
    ckpt = tmp_path / "run" / CHECKPOINT
    before = ckpt.read_bytes()
    trainer = Trainer(_cfg(tmp_path, data_root, iterations=3, val_every=100))
    with torch.no_grad():
        next(trainer.model.parameters())[0] = float("inf")
    with pytest.raises(TrainingError, match="non-finite"):
        save_checkpoint(ckpt, model=trainer.model, optimizer=trainer.optimizer, ema=trainer.ema, state={})
    assert ckpt.read_bytes() == before
    # a checkpoint written by an older edgesr, before these checks: refused on resume
    with safe_open(str(ckpt), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    tensors["model.body.0.weight"] = torch.full_like(tensors["model.body.0.weight"], float("nan"))
    save_file(tensors, str(ckpt), metadata=meta)
    with pytest.raises(TrainingError, match="non-finite weights"):
        train(_cfg(tmp_path, data_root, iterations=6, val_every=100), resume=True, progress=False)


def test_warm_start_refuses_non_finite_weights(tmp_path, data_root):
    from edgesr.models import create_model
    from edgesr.models.weights import save_weights

    model = create_model("espcn", scale=2)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    init = save_weights(model, tmp_path / "nan.safetensors")
    with pytest.raises(ConfigError, match="non-finite"):
        Trainer(_cfg(tmp_path, data_root, init=str(init)))


def test_a_run_below_bicubic_after_its_warm_up_stops(tmp_path, data_root):
    """Issue 36: `--set lr=100` trained to "best validation PSNR 4.330 dB", wrote weights and exited 0.
    Past max(warmup, bicubic_floor_after), a validation below bicubic at every scale and no better
    than an earlier one stops the run before that validation's weights become best. (lr 1e-12: the
    network does not move, so the second validation is no better than the first.)"""
    tiny = dict(lr=1e-12, schedule="constant", warmup=2, bicubic_floor_after=0)
    with pytest.raises(TrainingError, match=r"training stopped at iteration 12: its validation PSNR on Set5 stays "
                                            r"below bicubic interpolation's at every scale \(x2 [0-9.]+ < 33\.6[67] "
                                            r"dB\), so it is not learning .*lower lr.*score below bicubic too") as info:
        train(_cfg(tmp_path, data_root, **tiny), progress=False)
    assert "\n" not in str(info.value)
    out = tmp_path / "run"
    rows = _strict_log(out)
    assert rows[-1]["event"] == "below bicubic" and [r["iteration"] for r in rows if "best" in r] == [6]
    # a run still climbing (the default lr) goes on; and none is judged before its warm-up ends
    for name, values in (("climbing", dict(warmup=2, bicubic_floor_after=0)), ("warming", {**tiny, "warmup": 13})):
        result = train(_cfg(tmp_path, data_root, out_dir=str(tmp_path / name), **values), progress=False)
        assert result.iterations == 12, name
    with pytest.raises(ConfigError, match="bicubic_floor_after must be an integer >= 0"):
        _cfg(tmp_path, data_root, bicubic_floor_after=-1)


def _cli(tmp_path, data_root, *overrides):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "data_root": str(data_root), "out_dir": str(tmp_path / "run")}))
    args = ["train", "--no-progress", str(cfg)]
    for item in overrides:
        args += ["--set", item]
    return CliRunner().invoke(main, args)


def _one_line_error(res, message):
    assert res.exit_code == 1, res.output
    assert message in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_cli_divergence_is_one_line_exit_1(tmp_path, data_root):
    res = _cli(tmp_path, data_root, "lr=1e36", "schedule=constant", "val_every=1", "checkpoint_every=1")
    _one_line_error(res, "training diverged at iteration 2")
    assert "best validation PSNR" not in res.output


@pytest.mark.parametrize("item, message", [
    ("lr=100e999", "lr must be a finite number > 0, got inf"),
    ("lr=.inf", "lr must be a finite number > 0, got inf"),
    ("lr=0", "lr must be a finite number > 0, got 0.0"),
    ("val_every=0", "val_every must be an integer >= 1, got 0"),
    ("scales=[0]", "scales: espcn serves 2, 3, 4, got 0"),
    ("threads=-3", "threads must be an integer >= 0, got -3"),
    ("warmup=-10", "warmup must be an integer >= 0, got -10"),
])
def test_cli_bad_config_is_one_line_exit_1(tmp_path, data_root, item, message):
    _one_line_error(_cli(tmp_path, data_root, item), message)
    assert not (tmp_path / "run").exists()  # refused before any work


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_cuda_without_gpu_is_one_line(tmp_path, data_root):
    _one_line_error(_cli(tmp_path, data_root, "device=cuda"), "device: cuda asked for, but torch sees no CUDA GPU")
    assert not (tmp_path / "run").exists()


def test_cli_below_bicubic_is_one_line_exit_1(tmp_path, data_root):
    res = _cli(tmp_path, data_root, "lr=1e-12", "schedule=constant", "warmup=2", "bicubic_floor_after=0")
    _one_line_error(res, "training stopped at iteration 12")
    assert "best validation PSNR" not in res.output


def test_a_failed_resume_leaves_no_run_folder(tmp_path, data_root):
    """Issue 36: `edgesr train cfg --resume` with nothing to resume left an empty run folder."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "data_root": str(data_root), "out_dir": str(tmp_path / "new" / "run")}))
    res = CliRunner().invoke(main, ["train", "--no-progress", "--resume", str(cfg)])
    _one_line_error(res, "nothing to resume in")
    assert not (tmp_path / "new").exists()
