"""The paper's claim checked: Asym_VDSR against VDSR in parameters, CPU latency and (once both are
trained with the same budget) PSNR per set. Writes benchmarks/results/asym_vs_vdsr.json.

    python benchmarks/asym_vs_vdsr.py [--size 256] [--runs 7]

Latency: PyTorch eager, float32, one 1x1xSxS Y input (the network's input is the bicubic-upscaled
image), torch's default threads, warm-up then alternating runs of the two models; median and p90.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from edgesr.models import create_model
from edgesr.models.profile import count_macs, count_parameters
from edgesr.models.weights import PRETRAINED_DIR

RESULTS = Path(__file__).resolve().parent / "results"


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    models = {name: create_model(name).eval() for name in ("vdsr", "asym_vdsr")}
    x = torch.rand(1, 1, args.size, args.size)
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for m in models.values():
            m(x)
        for _ in range(args.runs):
            for name, m in models.items():
                start = time.perf_counter()
                m(x)
                times[name].append((time.perf_counter() - start) * 1000)
    out: dict = {"input": f"1x1x{args.size}x{args.size}", "threads": torch.get_num_threads(), "runs": args.runs}
    for name, m in models.items():
        out[name] = {"params": count_parameters(m), "macs": count_macs(m, (args.size, args.size), 1),
                     "latency_ms_median": statistics.median(times[name]), "latency_ms_p90": _p90(times[name])}
    out["param_ratio"] = out["asym_vdsr"]["params"] / out["vdsr"]["params"]
    out["latency_ratio"] = out["asym_vdsr"]["latency_ms_median"] / out["vdsr"]["latency_ms_median"]
    shipped = {n: PRETRAINED_DIR / f"{n}.json" for n in models}
    if all(p.is_file() for p in shipped.values()):
        a, v = (json.loads(shipped[n].read_text())["scores"] for n in ("asym_vdsr", "vdsr"))
        out["psnr_difference"] = {d: {s: round(a[d][s][0] - v[d][s][0], 4) for s in v[d]} for d in v}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "asym_vs_vdsr.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
