"""The protocol check: bicubic PSNR/SSIM on Set5, Set14, BSD100, Urban100 at x2, x3, x4 beside the
published table. Writes benchmarks/results/bicubic_table.{json,md}.

    python benchmarks/bicubic_table.py --data-root ../shared/datasets
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from edgesr.data.datasets import BENCHMARKS, find_images
from edgesr.evaluation.evaluate import evaluate
from edgesr.evaluation.published import published
from edgesr.inference import torch_upscaler
from edgesr.models.weights import load_model

RESULTS = Path(__file__).resolve().parent / "results"


def cell(root: str | None, dataset: str, scale: int) -> dict:
    start = time.perf_counter()
    r = evaluate(torch_upscaler(load_model("bicubic")), find_images(dataset, root), scale)
    pub_psnr, pub_ssim = published("bicubic", dataset, scale)
    return {"dataset": dataset, "scale": scale, "psnr": r.psnr, "ssim": r.ssim,
            "published_psnr": pub_psnr, "published_ssim": pub_ssim,
            "d_psnr": r.psnr - pub_psnr, "d_ssim": r.ssim - pub_ssim,
            "images": len(r.images), "seconds": time.perf_counter() - start}


def markdown(rows: list[dict]) -> str:
    lines = ["| scale | set | ours PSNR / SSIM | published | difference |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| x{r['scale']} | {r['dataset']} | {r['psnr']:.3f} / {r['ssim']:.4f} | "
                     f"{r['published_psnr']:.2f} / {r['published_ssim']:.4f} | "
                     f"{r['d_psnr']:+.3f} dB / {r['d_ssim']:+.4f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    cells = [(d, s) for s in (2, 3, 4) for d in BENCHMARKS]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(cell, [args.data_root] * len(cells), *zip(*cells)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bicubic_table.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / "bicubic_table.md").write_text(markdown(rows))
    print(markdown(rows))
    worst = max(abs(r["d_psnr"]) for r in rows)
    print(f"largest PSNR difference: {worst:.4f} dB; largest SSIM difference: "
          f"{max(abs(r['d_ssim']) for r in rows):.4f}")


if __name__ == "__main__":
    main()
