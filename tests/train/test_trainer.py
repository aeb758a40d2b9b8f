import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from edgesr.errors import ConfigError
from edgesr.train.config import make_config
from edgesr.train.trainer import CHECKPOINT, lr_at, train

TINY = {"model": "espcn", "scales": [2], "train_sets": ["Set5"], "val_set": "Set5", "patch_size": 24,
        "batch_size": 4, "iterations": 12, "log_every": 2, "val_every": 6, "checkpoint_every": 3,
        "ema": 0.9, "threads": 1, "precision": "float32"}  # float32: the same numbers on every CPU


def _cfg(tmp_path, data_root, **kw):
    return make_config({**TINY, "data_root": str(data_root), "out_dir": str(tmp_path / "run"), **kw})


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_lr_schedules():
    cosine = make_config({"model": "vdsr", "lr": 1e-3, "min_lr": 0.0, "iterations": 100})
    assert lr_at(cosine, 0) == pytest.approx(1e-3) and lr_at(cosine, 50) == pytest.approx(5e-4)
    assert lr_at(cosine, 100) == pytest.approx(0.0, abs=1e-12)
    step = make_config({"model": "vdsr", "lr": 1.0, "schedule": "step", "step_size": 10, "gamma": 0.5})
    assert [lr_at(step, i) for i in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    warm = make_config({"model": "vdsr", "lr": 1.0, "warmup": 4, "schedule": "constant"})
    assert [lr_at(warm, i) for i in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_run_writes_log_best_last(tmp_path, data_root):
    result = train(_cfg(tmp_path, data_root), progress=False)
    out = tmp_path / "run"
    assert result.iterations == 12 and result.best_psnr is not None
    names = sorted(p.name for p in out.iterdir())
    assert names == ["best.safetensors", "config.json", "last.ckpt.safetensors", "last.safetensors", "log.jsonl",
                     "summary.json"]
    rows = _log(out)
    assert rows[0]["event"] == "start"
    assert [r["iteration"] for r in rows if "val_psnr" in r] == [6, 12]
    assert all("patches_per_s" in r for r in rows if "loss" in r)
    summary = json.loads((out / "summary.json").read_text())  # what stays tracked once the weights leave
    assert summary["iterations"] == summary["planned_iterations"] == 12 and not summary["diverged"]
    assert [v["iteration"] for v in summary["validations"]] == [6, 12]
    assert summary["best"]["psnr"] == max(summary["validations"], key=lambda v: sum(v["psnr"].values()))["psnr"]
    with pytest.raises(ConfigError, match="already holds a run"):
        train(_cfg(tmp_path, data_root), progress=False)


def test_multi_scale_masrn_trains_every_head(tmp_path, data_root):
    cfg = _cfg(tmp_path, data_root, model="masrn", scales=[2, 3, 4], iterations=3, val_every=100,
               model_options={"features": 8, "blocks": 1, "refine_features": 4}, ema=None)
    train(cfg, progress=False)
    before = load_file(str(tmp_path / "run" / "last.safetensors"))
    from edgesr.models import create_model
    fresh = create_model("masrn", features=8, blocks=1, refine_features=4).state_dict()
    for s in (2, 3, 4):  # each head was updated by its own batch
        key = f"upscale.x{s}.0.weight"
        assert not (before[key] == fresh[key]).all()


def test_resume_is_exact(tmp_path, data_root):
    train(_cfg(tmp_path / "a", data_root), progress=False)
    # the same run stopped after iteration 6, then resumed: scheduler, optimizer, EMA, RNG all restored
    cfg_b = _cfg(tmp_path / "b", data_root)
    assert train(cfg_b, progress=False, until=7).iterations == 7  # between two checkpoints
    train(cfg_b, resume=True, progress=False)
    a = load_file(str(tmp_path / "a" / "run" / CHECKPOINT))
    b = load_file(str(tmp_path / "b" / "run" / CHECKPOINT))
    assert set(a) == set(b) and all((a[k] == b[k]).all() for k in a)


def test_resume_refuses_another_config(tmp_path, data_root):
    train(_cfg(tmp_path, data_root, iterations=3), progress=False)
    with pytest.raises(ConfigError, match="differs in lr"):
        train(_cfg(tmp_path, data_root, iterations=6, lr=0.5), resume=True, progress=False)
    # a longer run on another thread count, logging and checkpointing at another pace, is the same run
    assert train(_cfg(tmp_path, data_root, iterations=4, threads=2, checkpoint_every=1, log_every=1),
                 resume=True, progress=False).iterations == 4
    with pytest.raises(ConfigError, match="no checkpoint"):
        train(_cfg(tmp_path / "none", data_root), resume=True, progress=False)
    (tmp_path / "run").rename(tmp_path / "moved")  # a run folder moved elsewhere resumes there
    moved = make_config({**_cfg(tmp_path, data_root, iterations=5).to_dict(), "out_dir": str(tmp_path / "moved")})
    assert train(moved, resume=True, progress=False).iterations == 5


def _write_cfg(path: Path, data_root, out: Path, **kw) -> Path:
    import yaml
    path.write_text(yaml.safe_dump({**TINY, "data_root": str(data_root), "out_dir": str(out), **kw}))
    return path


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path, data_root):
    """A real training process killed with SIGKILL resumes from its last checkpoint and ends exactly
    where an uninterrupted run ends."""
    kw = {"iterations": 400, "checkpoint_every": 5, "val_every": 1000, "log_every": 5}
    ref_cfg = _write_cfg(tmp_path / "ref.yaml", data_root, tmp_path / "ref", **kw)
    cfg = _write_cfg(tmp_path / "c.yaml", data_root, tmp_path / "run", **kw)
    cmd = [sys.executable, "-m", "edgesr.cli", "train", "--no-progress"]
    proc = subprocess.Popen(cmd + [str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = tmp_path / "run" / CHECKPOINT
    deadline = time.time() + 120
    while time.time() < deadline and not (ckpt.exists() and _iteration(ckpt) >= 20):
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _iteration(ckpt)
    assert 20 <= killed_at < 400  # the checkpoint is whole: a kill mid-write leaves only a temporary file
    (tmp_path / "run" / ".last.safetensors.k1ll3d.tmp").write_bytes(b"half")  # as a kill mid-write leaves
    subprocess.run(cmd + ["--resume", str(cfg)], check=True, capture_output=True, timeout=300)
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")]  # cleared on resuming
    starts = [r for r in _log(tmp_path / "run") if r.get("event") == "start"]
    assert [s["iteration"] for s in starts] == [0, killed_at]
    subprocess.run(cmd + [str(ref_cfg)], check=True, capture_output=True, timeout=300)
    a, b = load_file(str(ckpt)), load_file(str(tmp_path / "ref" / CHECKPOINT))
    assert all((a[k] == b[k]).all() for k in a)


def _iteration(ckpt: Path) -> int:
    from safetensors import safe_open
    with safe_open(str(ckpt), framework="pt") as f:
        return json.loads(f.metadata()["state"])["iteration"]


@pytest.mark.slow
def test_torchrun_two_processes_gloo(tmp_path, data_root):
    cfg = _write_cfg(tmp_path / "c.yaml", data_root, tmp_path / "run", model="masrn", scales=[2, 4],
                     model_options={"features": 8, "blocks": 1, "refine_features": 4}, iterations=6,
                     val_every=6, checkpoint_every=3, ema=None, batch_size=4)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "edgesr.cli", "train", "--no-progress", str(cfg)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = _log(tmp_path / "run")
    assert rows[0]["world_size"] == 2
    assert [r["iteration"] for r in rows if "val_psnr" in r] == [6]
    assert _iteration(tmp_path / "run" / CHECKPOINT) == 6


def test_progress_line(capsys):
    from edgesr.train.trainer import _Progress
    bar = _Progress(total=100, every=10, enabled=True)
    bar.update(5, 0.5, None, 2.0, 16)  # off the every-10 grid: silent when not a terminal
    bar.update(10, 0.25, 31.5, 2.0, 16)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["it 10/100 loss 0.2500 PSNR 31.50 32.0 patches/s ETA 0:00:45"]


def test_ema_warms_up(tmp_path, data_root):
    """With decay 0.999 and no warm-up, 12 steps would leave the average 99% at the initial
    weights; the warm-up makes it follow the trained weights from the start."""
    train(_cfg(tmp_path, data_root, ema=0.999, val_every=100), progress=False)
    ckpt = load_file(str(tmp_path / "run" / CHECKPOINT))
    from edgesr.models import create_model
    import torch
    torch.manual_seed(0)
    init = create_model("espcn", scale=2).state_dict()
    for key in ("body.0.weight", "body.4.weight"):
        model, ema = ckpt[f"model.{key}"], ckpt[f"ema.{key}"]
        assert (ema - model).norm() < 0.5 * (init[key] - model).norm()


def test_warm_start_loads_what_matches(tmp_path, data_root):
    """init: tensors matching in name and shape are loaded, the rest start fresh; both are logged."""
    import torch
    from edgesr.models import create_model
    from edgesr.models.weights import save_weights
    from edgesr.train.trainer import Trainer
    torch.manual_seed(5)
    small = create_model("masrn", features=8, blocks=1, refine_features=4)
    init = save_weights(small, tmp_path / "init.safetensors")
    options = {"features": 8, "blocks": 1, "refine_features": 6}  # Refine and heads differ in shape
    trainer = Trainer(_cfg(tmp_path, data_root, model="masrn", scales=[2, 4], model_options=options, init=str(init)))
    got, want = trainer.model.state_dict(), small.state_dict()
    assert torch.equal(got["extraction.head.weight"], want["extraction.head.weight"])
    assert got["refine.tail.weight"].shape != want["refine.tail.weight"].shape
    assert trainer.warm_start["loaded"] > 0 and trainer.warm_start["fresh"] > 0
    with pytest.raises(ConfigError, match="does not exist"):
        Trainer(_cfg(tmp_path, data_root, init=str(tmp_path / "missing.safetensors")))
    with pytest.raises(ConfigError, match="no tensor"):
        Trainer(_cfg(tmp_path, data_root, init=str(init)))  # espcn shares nothing with masrn


def test_scale_turns_choose_the_batches(tmp_path, data_root):
    cfg = _cfg(tmp_path, data_root, model="masrn", scales=[2, 3], scale_turns=[2, 2, 2, 3], iterations=3,
               val_every=100, model_options={"features": 8, "blocks": 1, "refine_features": 4}, ema=None)
    assert cfg.turns == (2, 2, 2, 3)
    train(cfg, progress=False)
    trained = load_file(str(tmp_path / "run" / "last.safetensors"))
    import torch

    from edgesr.train.trainer import build_model
    torch.manual_seed(cfg.seed)
    fresh = build_model(cfg).state_dict()  # the trainer's own initial weights
    assert not (trained["upscale.x2.0.weight"] == fresh["upscale.x2.0.weight"]).all()
    assert (trained["upscale.x3.0.weight"] == fresh["upscale.x3.0.weight"]).all()  # no x3 turn in 3 batches


def test_resume_a_run_saved_before_a_config_key_existed(tmp_path, data_root):
    """A checkpoint whose config lacks a key added later (at its default) still resumes."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    cfg = _cfg(tmp_path, data_root, iterations=6)
    train(cfg, progress=False, until=3)
    ckpt = tmp_path / "run" / CHECKPOINT
    with safe_open(str(ckpt), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    state = json.loads(meta["state"])
    del state["config"]["scale_turns"]
    save_file(tensors, str(ckpt), metadata={**meta, "state": json.dumps(state)})
    assert train(cfg, resume=True, progress=False).iterations == 6


def test_channels_last_trains_the_same_network(tmp_path, data_root):
    """NHWC activations change only the convolution kernels used: the weights after a few steps
    agree with the NCHW run to float error, and are saved as ordinary contiguous tensors."""
    runs = {}
    for flag in (False, True):
        train(_cfg(tmp_path / str(flag), data_root, iterations=3, val_every=100, channels_last=flag), progress=False)
        runs[flag] = load_file(str(tmp_path / str(flag) / "run" / "last.safetensors"))
    for key, value in runs[True].items():
        assert value.is_contiguous()
        torch.testing.assert_close(value, runs[False][key], rtol=1e-4, atol=1e-5)


def test_bfloat16_autocast_trains_the_same_network_in_half_the_bits(tmp_path, data_root):
    """precision: bfloat16 computes the passes in bf16 (weights, optimizer and EMA stay float32):
    after a few steps the weights are near the float32 run's, not equal to them, still float32, and
    the log says which precision ran; auto is bf16 on a CPU exactly where it has AMX tiles."""
    from edgesr.train.trainer import autocast_dtype

    runs = {}
    for precision in ("float32", "bfloat16"):
        train(_cfg(tmp_path / precision, data_root, iterations=3, val_every=100, precision=precision), progress=False)
        runs[precision] = load_file(str(tmp_path / precision / "run" / "last.safetensors"))
        assert _log(tmp_path / precision / "run")[0]["precision"] == precision
    assert all(v.dtype == torch.float32 for v in runs["bfloat16"].values())
    assert any(not torch.equal(v, runs["float32"][k]) for k, v in runs["bfloat16"].items())
    for key, value in runs["bfloat16"].items():
        torch.testing.assert_close(value, runs["float32"][key], rtol=0.02, atol=2e-3)
    cpu = torch.device("cpu")
    auto = autocast_dtype(make_config({**TINY, "precision": "auto"}), cpu)
    assert auto == (torch.bfloat16 if torch.cpu._is_amx_tile_supported() else None)
    assert autocast_dtype(make_config({**TINY, "precision": "auto", "qat": {}}), cpu) is None  # QAT: float32
    assert autocast_dtype(make_config({**TINY, "precision": "auto"}), torch.device("cuda")) == torch.bfloat16


def test_resume_may_change_the_precision(tmp_path, data_root):
    cfg = _cfg(tmp_path, data_root, iterations=6)
    train(cfg, progress=False, until=3)
    done = train(make_config({**cfg.to_dict(), "precision": "bfloat16"}), resume=True, progress=False)
    assert done.iterations == 6
    assert [r["precision"] for r in _log(tmp_path / "run") if r.get("event") == "start"] == ["float32", "bfloat16"]


def test_a_deeper_masrn_grows_from_a_shallower_ones_weights(tmp_path, data_root):
    """init: a masrn with more Extraction blocks, warm-started from one with fewer, computes exactly
    what the shallower one did (the added blocks start as the identity), then trains its added blocks."""
    from edgesr.models import create_model
    from edgesr.models.weights import save_weights
    from edgesr.train.trainer import Trainer

    small_options = {"features": 8, "blocks": 2, "refine_features": 4}
    torch.manual_seed(3)
    small = create_model("masrn", scales=(2, 4), **small_options).eval()
    init = save_weights(small, tmp_path / "init.safetensors")
    cfg = _cfg(tmp_path, data_root, model="masrn", scales=[2, 4], model_options={**small_options, "blocks": 3},
               init=str(init), iterations=4, val_every=100, ema=None)
    trainer = Trainer(cfg)
    assert trainer.warm_start == {"loaded": len(small.state_dict()) + 2, "skipped": 0, "fresh": 5, "grown": 2}  # fresh: the branches
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        for s in (2, 4):
            torch.testing.assert_close(trainer.model.eval()(x, s), small(x, s), rtol=0, atol=1e-5)  # NHWC kernels
    trainer.fit(progress=False)
    trained = load_file(str(tmp_path / "run" / "last.safetensors"))
    assert trained["extraction.blocks.2.fuse.weight"].abs().max() > 0
    assert trained["extraction.bottleneck.weight"][:, 24:].abs().max() > 0  # the added block's output is used


def test_zero_init_starts_a_residual_network_as_its_skip(tmp_path, data_root):
    """zero_init: [tail] makes VDSR's last conv zero, so the untrained network returns its input
    (the bicubic image); a name the model lacks is refused, naming what it has."""
    from edgesr.train.trainer import Trainer

    trainer = Trainer(_cfg(tmp_path, data_root, model="vdsr", scales=[2], model_options={"depth": 4},
                           zero_init=["tail"]))
    x = torch.rand(1, 1, 10, 10)
    with torch.no_grad():
        assert torch.equal(trainer.model(x.contiguous(memory_format=torch.channels_last)), x)
    assert trainer.model.body[0].weight.abs().max() > 0  # the rest keeps its initialisation
    with pytest.raises(ConfigError, match="zero_init: VDSR has no submodule 'tale'.*tail"):
        Trainer(_cfg(tmp_path, data_root, model="vdsr", scales=[2], zero_init=["tale"]))


def test_training_on_df2k_folders_through_the_disk_cache(tmp_path, data_root):
    """DIV2K's and Flickr2K's own layouts as DF2K, prepared into the data cache, train and resume."""
    import shutil

    from edgesr.data.datasets import find_images

    root = tmp_path / "data"
    files = find_images("Set5", str(data_root)).files
    for i, f in enumerate(files):
        folder = root / ("DIV2K/DIV2K_train_HR" if i < 3 else "Flickr2K/Flickr2K_HR")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, folder / f"{i:04d}{f.suffix}")
    shutil.copytree(Path(files[0]).parent, root / "Set5")
    cfg = _cfg(tmp_path, root, train_sets=["DF2K"], data_cache=str(tmp_path / "cache"), iterations=4, val_every=100)
    train(cfg, progress=False, until=2)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 5 * 2  # HR + x2 per image
    assert _log(tmp_path / "run")[0]["images"] == 5
    assert train(cfg, resume=True, progress=False).iterations == 4
