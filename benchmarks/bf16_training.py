"""Does bfloat16 autocast train as well as float32? The shipped masrn fine-tuned twice with the same
seed, data and schedule (800 iterations, lr 5e-5 cosine, HR patches 144, scales taking turns x2, x3,
x4, x3, EMA 0.999), once per precision: Set5 PSNR of each run's EMA weights at 400 and 800
iterations (speed: benchmarks/trainer_throughput.py, which times on a quiet machine). Writes
benchmarks/results/bf16_training.json.

    python benchmarks/bf16_training.py --data-root ../shared/datasets
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from edgesr._files import write_text
from edgesr.models.weights import shipped_weights
from edgesr.runtimes.measure import cpu_info
from edgesr.train.config import make_config
from edgesr.train.trainer import train

RESULTS = Path(__file__).resolve().parent / "results"
COMMAND = "python benchmarks/bf16_training.py --data-root ../shared/datasets"
RECIPE = {"model": "masrn", "scales": [2, 3, 4], "scale_turns": [2, 3, 4, 3], "train_sets": ["291"], "patch_size": 144,
          "batch_size": 16, "iterations": 800, "lr": 5e-5, "warmup": 50, "ema": 0.999, "seed": 5, "val_every": 400,
          "log_every": 50, "checkpoint_every": 400}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", default=str(RESULTS / "bf16_training.json"))
    args = ap.parse_args()
    result = {"command": COMMAND, "cpu": {**cpu_info(), "amx_tiles": bool(torch.cpu._is_amx_tile_supported())},
              "threads": torch.get_num_threads(), "torch": torch.__version__,
              "recipe": {**RECIPE, "init": "src/edgesr/pretrained/masrn.safetensors"}, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("float32", "bfloat16"):
            out = Path(tmp) / precision
            cfg = make_config({**RECIPE, "init": str(shipped_weights("masrn")), "data_root": args.data_root,
                               "precision": precision, "out_dir": str(out)})
            train(cfg, progress=False)
            rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
            result["runs"][precision] = {
                "set5_psnr": {str(r["iteration"]): {k: round(v, 4) for k, v in r["val_psnr"].items()}
                              for r in rows if "val_psnr" in r},
            }
            print(precision, json.dumps(result["runs"][precision]), flush=True)
    last = str(RECIPE["iterations"])
    result["bf16_minus_float32_db"] = {k: round(result["runs"]["bfloat16"]["set5_psnr"][last][k]
                                                - result["runs"]["float32"]["set5_psnr"][last][k], 4)
                                       for k in result["runs"]["float32"]["set5_psnr"][last]}
    write_text(args.out, json.dumps(result, indent=2) + "\n")  # whole or not at all


if __name__ == "__main__":
    main()
