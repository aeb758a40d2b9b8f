"""Trainer patches/s: the trainer as it ran before ``precision`` (float32 throughout) against its default
now (``precision: auto``: bfloat16 autocast where the CPU has AMX tiles, float32 elsewhere), and the
trainer against a bare PyTorch loop on the same model and batch.

Each model runs its shipped recipe's shape (masrn: scales taking turns x2, x3, x4, x3 on HR patches of
144, batch 16, EMA; vdsr and asym_vdsr: Y patches of 48 at x2, x3, x4, batch 16, gradient clipping,
EMA), drawing real patches from T91. The trainer runs its real loop (sampling, schedule, EMA, JSONL
log); the bare loop trains on one batch drawn in advance (no sampling, schedule, EMA or logging).
Variants run in alternating rounds of a few windows each (the machine is noisy: alternating spreads
the noise over all of them); each result is the median of per-window patches/s, and ratios are
ratios of medians from this one run. Writes benchmarks/results/trainer_throughput.json.

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

from edgesr._files import write_text
from edgesr.models import create_model
from edgesr.runtimes.measure import cpu_info
from edgesr.train.config import make_config
from edgesr.train.patches import PatchSampler
from edgesr.train.trainer import Trainer

RESULTS = Path(__file__).resolve().parent / "results"
COMMAND = "python benchmarks/trainer_throughput.py --data-root ../shared/datasets"

# the shape of each shipped recipe (configs/masrn_nearest.yaml, configs/vdsr.yaml)
RECIPES = {
    "masrn": {"scales": [2, 3, 4], "scale_turns": [2, 3, 4, 3], "patch_size": 144, "loss": "l1"},
    "vdsr": {"scales": [2, 3, 4], "patch_size": 48, "loss": "l2", "grad_clip": 0.4},
    "asym_vdsr": {"scales": [2, 3, 4], "patch_size": 48, "loss": "l2", "grad_clip": 0.4},
}
BATCH, WINDOW = 16, 8


def cpu() -> dict:
    """The CPU the numbers are of, and whether torch sees AMX tiles there (what ``auto`` decides on)."""
    return {**cpu_info(), "amx_tiles": bool(torch.cpu._is_amx_tile_supported())}


def bare_rates(model: torch.nn.Module, batches: list, multi: bool, iters: int) -> list[float]:
    """The bare loop (float32, channels-last, Adam, L1), cycling through ``batches`` (one per scale turn)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    rates, start, patches = [], time.perf_counter(), 0
    for i in range(1, iters + 1):
        x, y, scale = batches[i % len(batches)]
        loss = ((model(x, scale) if multi else model(x)) - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        patches += x.shape[0]
        if i % WINDOW == 0:
            now = time.perf_counter()
            rates.append(patches / (now - start))
            start, patches = now, 0
    return rates


def trainer_rates(trainer: Trainer, until: int) -> list[float]:
    trainer.fit(resume=trainer.iteration > 0, progress=False, until=until)
    rows = [json.loads(r) for r in (trainer.out / "log.jsonl").read_text().splitlines()]
    last_start = max(i for i, r in enumerate(rows) if r.get("event") == "start")
    return [r["patches_per_s"] for r in rows[last_start + 1:] if "patches_per_s" in r]


def measure(name: str, data_root: str | None, rounds: int, iters: int, tmp: Path) -> dict:
    recipe = RECIPES[name]
    trainers = {}
    for precision in ("float32", "auto"):
        cfg = make_config({"model": name, **recipe, "batch_size": BATCH, "iterations": 10**6, "ema": 0.999, "threads": 0,
                           "train_sets": ["T91"], "val_every": 10**6, "checkpoint_every": 10**6, "log_every": WINDOW,
                           "bicubic_floor_after": None, "data_root": data_root, "precision": precision,
                           "out_dir": str(tmp / f"{name}-{precision}")})
        trainers[precision] = Trainer(cfg)
    spec = trainers["auto"].spec
    sampler = PatchSampler(("T91",), tuple(recipe["scales"]), recipe["patch_size"], spec.colour,
                           spec.upsampling == "pre", data_root)
    rng = np.random.default_rng(0)
    batches = [(*(t.contiguous(memory_format=torch.channels_last) for t in sampler.batch(rng, s, BATCH)), s)
               for s in recipe.get("scale_turns", recipe["scales"])]
    torch.manual_seed(0)
    model = create_model(name, **({"scales": tuple(recipe["scales"])} if spec.multi_scale else {}))
    model = model.train().to(memory_format=torch.channels_last)
    bare_rates(model, batches, spec.multi_scale, WINDOW)  # warm-up
    rates: dict[str, list[float]] = {"bare_float32": [], "trainer_float32": [], "trainer_auto": []}
    for r in range(1, rounds + 1):
        rates["bare_float32"] += bare_rates(model, batches, spec.multi_scale, iters)
        for precision, trainer in trainers.items():
            rates[f"trainer_{precision}"] += trainer_rates(trainer, r * iters)
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "recipe": {**recipe, "batch_size": BATCH},
        "auto_computes_in": str(trainers["auto"].compute_dtype or torch.float32).removeprefix("torch."),
        "windows": {k: len(v) for k, v in rates.items()},
        "patches_per_s_median": {k: round(v, 2) for k, v in med.items()},
        "speedup_auto_over_float32": round(med["trainer_auto"] / med["trainer_float32"], 3),
        "trainer_over_bare_float32": round(med["trainer_float32"] / med["bare_float32"], 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--models", default=",".join(RECIPES))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=16, help="iterations per variant per round (a multiple of 8)")
    ap.add_argument("--out", default=str(RESULTS / "trainer_throughput.json"))
    args = ap.parse_args()
    result = {"command": COMMAND, "cpu": cpu(), "threads": torch.get_num_threads(), "torch": torch.__version__,
              "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            result["models"][name] = measure(name, args.data_root, args.rounds, args.iters, Path(tmp))
            print(name, json.dumps(result["models"][name]), flush=True)
    write_text(args.out, json.dumps(result, indent=2) + "\n")  # whole or not at all


if __name__ == "__main__":
    main()
