"""Latency and peak memory of every runtime and precision against PyTorch eager, on this CPU.

One 256x256 LR input at x4 (masrn). Each case runs in a fresh process, so its peak RSS
(high-water mark) is its own; model load is timed apart from inference; warm-up runs, then timed
runs until both a minimum count and a minimum time are reached. Writes
benchmarks/results/runtime_latency.{json,md}.

    python benchmarks/runtime_latency.py [--weights W.safetensors] [--size 256] [--scale 4]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
CASES = [("torch", "fp32"), ("onnx", "fp32"), ("onnx", "fp16"), ("onnx", "int8"),
         ("tflite", "fp32"), ("tflite", "fp16"), ("tflite", "int8")]
RUNTIME = {"torch": "torch", "onnx": "onnxruntime", "tflite": "litert"}


def _open(case: str, artifact: str | None, model: str, scale: int, weights: str | None):
    if case == "torch":
        from edgesr.models.weights import load_model
        from edgesr.runtimes.torch import TorchRunner
        return TorchRunner(load_model(model, scale, weights), scale)
    from edgesr.runtimes.registry import open_runner
    return open_runner(artifact, scale)


def measure(args: argparse.Namespace) -> dict:
    """One case, in this (fresh) process. Libraries are imported before the load timer starts."""
    import importlib
    for module in ("edgesr.models.weights", "edgesr.runtimes.torch", "edgesr.runtimes.registry",
                   {"onnx": "onnxruntime", "tflite": "ai_edge_litert.interpreter"}.get(args.case, "torch")):
        importlib.import_module(module)
    start = time.perf_counter()
    runner = _open(args.case, args.artifact, args.model, args.scale, args.weights)
    runner.activate()
    load_ms = (time.perf_counter() - start) * 1000
    x = np.random.default_rng(0).random((1, runner.channels, args.size, args.size), dtype=np.float32)
    for _ in range(args.warmup):
        runner.run(x)
    times: list[float] = []
    begin = time.perf_counter()
    while len(times) < args.min_runs or time.perf_counter() - begin < args.min_seconds:
        t = time.perf_counter()
        runner.run(x)
        times.append((time.perf_counter() - t) * 1000)
    ordered = sorted(times)
    return {"load_ms": load_ms, "runs": len(times), "median_ms": statistics.median(times),
            "p90_ms": ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
            "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's own high-water RSS. Linux's ru_maxrss is not it: it carries over what the
    parent held when it forked us (exec keeps the larger of the two), so read VmHWM instead."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="masrn")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-runs", type=int, default=10)
    ap.add_argument("--min-seconds", type=float, default=5.0)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--artifact", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(measure(args)))
        return
    from edgesr.export.api import export_model

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, precision in CASES:
            artifact = None
            if fmt != "torch":
                size = (args.size, args.size)  # fixed-shape formats get exactly the benchmark size
                artifact = str(export_model(args.model, args.scale, fmt, tmp, precision=precision,
                                            weights=args.weights, calib_images=32, data_root=args.data_root,
                                            lr_size=None if fmt == "onnx" else size))
            cmd = [sys.executable, __file__, "--case", fmt, "--model", args.model, "--scale", str(args.scale),
                   "--size", str(args.size), "--warmup", str(args.warmup), "--min-runs", str(args.min_runs),
                   "--min-seconds", str(args.min_seconds)]
            cmd += ["--artifact", artifact] if artifact else []
            cmd += ["--weights", args.weights] if args.weights else []
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append({"runtime": RUNTIME[fmt], "format": fmt, "precision": precision,
                         **json.loads(res.stdout.strip().splitlines()[-1])})
    base = rows[0]["median_ms"]
    for r in rows:
        r["speedup_vs_torch"] = base / r["median_ms"]
    RESULTS.mkdir(exist_ok=True)
    meta = {"model": args.model, "scale": args.scale, "lr_input": f"{args.size}x{args.size}",
            "weights": args.weights or "shipped", "rows": rows,
            "command": "python " + " ".join(["benchmarks/runtime_latency.py"] + sys.argv[1:])}
    (RESULTS / "runtime_latency.json").write_text(json.dumps(meta, indent=2) + "\n")
    lines = ["| runtime | precision | median ms | p90 ms | vs torch | load ms | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['runtime']} | {r['precision']} | {r['median_ms']:.0f} | {r['p90_ms']:.0f} | "
              f"{r['speedup_vs_torch']:.2f}x | {r['load_ms']:.0f} | {r['peak_rss_mb']:.0f} |" for r in rows]
    (RESULTS / "runtime_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
