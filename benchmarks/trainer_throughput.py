"""Trainer patches/s against a bare PyTorch loop (same model, batch, optimizer and loss).

The bare loop trains on one real batch drawn in advance, over and over: no sampling, no schedule,
no EMA, no logging. The
trainer runs its real loop (patch sampling from the 291 set, schedule, EMA, JSONL log). Both run
in alternating rounds of a few windows each (the machine is noisy: alternating spreads the noise
over both); the result is the ratio of the medians of per-window patches/s. Writes
benchmarks/results/trainer_throughput.json.

    python benchmarks/trainer_throughput.py --data-root ../shared/datasets
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from edgesr.models import create_model
from edgesr.train.config import make_config
from edgesr.train.patches import PatchSampler
from edgesr.train.trainer import Trainer

RESULTS = Path(__file__).resolve().parent / "results"


def bare_rates(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               scale: int, iters: int, window: int) -> list[float]:
    batch = x.shape[0]
    rates, start = [], time.perf_counter()
    for i in range(1, iters + 1):
        loss = (model(x, scale) - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i % window == 0:
            now = time.perf_counter()
            rates.append(window * batch / (now - start))
            start = now
    return rates


def trainer_rates(trainer: Trainer, until: int) -> list[float]:
    trainer.fit(resume=trainer.iteration > 0, progress=False, until=until)
    rows = [json.loads(r) for r in (trainer.out / "log.jsonl").read_text().splitlines()]
    last_start = max(i for i, r in enumerate(rows) if r.get("event") == "start")
    return [r["patches_per_s"] for r in rows[last_start + 1:] if "patches_per_s" in r]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--iters", type=int, default=20)
    args = ap.parse_args()
    scale, batch, patch, window = 4, 16, 96, 10
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_config({"model": "masrn", "scales": [scale], "patch_size": patch, "batch_size": batch,
                           "iterations": 10**6, "ema": 0.999, "train_sets": ["T91"], "val_every": 10**6, "checkpoint_every": 10**6,
                           "log_every": window, "data_root": args.data_root, "out_dir": tmp})
        trainer = Trainer(cfg)
        sampler = PatchSampler(("T91",), (scale,), patch, "rgb", False, args.data_root)
        x, y = sampler.batch(np.random.default_rng(0), scale, batch)
        torch.manual_seed(cfg.seed)
        model = create_model("masrn", scales=(scale,)).train()
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        bare_rates(model, opt, x, y, scale, window * 2, window)  # warm-up
        bare, ours = [], []
        for r in range(1, args.rounds + 1):
            bare += bare_rates(model, opt, x, y, scale, args.iters, window)
            ours += trainer_rates(trainer, r * args.iters)
    result = {
        "model": "masrn", "scale": scale, "batch": batch, "lr_patch": patch // scale,
        "threads": torch.get_num_threads(), "windows": len(bare),
        "bare_patches_per_s_median": statistics.median(bare),
        "trainer_patches_per_s_median": statistics.median(ours),
        "ratio": statistics.median(ours) / statistics.median(bare),
        "command": "python benchmarks/trainer_throughput.py --data-root ../shared/datasets",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "trainer_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
