"""The paper's claim checked: Asym_VDSR against VDSR in parameters, multiply-adds, CPU latency and
(once both are shipped, trained with the same budget) PSNR per set and scale.
Writes benchmarks/results/asym_vs_vdsr.json.

    python benchmarks/asym_vs_vdsr.py [--size 256] [--runs 7] [--data-root DIR]

Latency: one 1x1xSxS Y input (the network's input is the bicubic-upscaled image), the runtime's
default threads, one warm-up call each, then runs alternating between the two models; median and
p90. Runtimes: PyTorch eager FP32, and every format that runs on this machine (ONNX Runtime, LiteRT,
OpenVINO, ExecuTorch, where installed) on edgesr's FP32 and INT8 exports of the same networks, run
through edgesr's runners (INT8: post-training for both, calibrated on T91 from the data root). The
networks carry the shipped weights when there are some (INT8 ranges depend on them).

Learning curves: Set5 PSNR of both at equal iterations, from the summaries of their side-by-side
runs (``--runs-dir``, default training/: vdsr_8k, asym_vdsr_8k).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from edgesr.errors import EdgesrError, ModelError
from edgesr.models import create_model
from edgesr.models.profile import count_macs, count_parameters
from edgesr.models.weights import PRETRAINED_DIR, load_model

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = ("vdsr", "asym_vdsr")


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _alternate(calls: dict[str, Callable[[], object]], runs: int) -> dict[str, dict[str, float]]:
    """Median and p90 ms of each call, warmed up once, the calls taking turns run by run."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: {"median_ms": statistics.median(t), "p90_ms": _p90(t)} for name, t in times.items()}


FORMATS = ("onnx", "tflite", "openvino", "executorch")


def _runner_calls(models: dict[str, torch.nn.Module], size: int, tmp: Path, fmt: str, precision: str,
                  data_root: str | None) -> dict[str, Callable[[], object]]:
    """Each network exported by edgesr to ``fmt`` at ``precision`` (INT8: post-training, calibrated
    on the data root's T91 as every export is; both networks alike) and run through its runner
    (edgesr's one runtime API) on one 1x1xSxS input."""
    import edgesr

    x = np.random.default_rng(0).random((1, 1, size, size), dtype=np.float32)
    calls = {}
    for name, model in models.items():
        artifact = edgesr.export(model, 4, fmt, tmp / name, precision=precision, input_size=(size // 4, size // 4),
                                 quant="ptq" if precision == "int8" else "auto", data_root=data_root)
        runner = edgesr.open_runner(artifact).__enter__()  # held open for the timed runs (the process ends after)
        calls[name] = lambda r=runner: r.run(x, tiled=False)
    return calls


def _models() -> dict[str, torch.nn.Module]:
    """Both networks with their shipped weights, or freshly initialised where none are shipped."""
    out = {}
    for name in NAMES:
        try:
            out[name] = load_model(name, 4)
        except ModelError:
            out[name] = create_model(name).eval()
    return out


def learning_curves(runs: str) -> dict | None:
    """Set5 PSNR of both networks at equal iterations, from the summaries of the runs that trained them
    side by side with one recipe (``RUNS_DIR/vdsr_8k``, ``RUNS_DIR/asym_vdsr_8k``); None when either is missing."""
    summaries = {n: Path(runs) / f"{n}_8k" / "summary.json" for n in NAMES}
    if not all(p.is_file() for p in summaries.values()):
        return None
    points = {n: {v["iteration"]: v["psnr"] for v in json.loads(p.read_text())["validations"]} for n, p in summaries.items()}
    common = sorted(set(points["vdsr"]) & set(points["asym_vdsr"]))
    return {"runs": {n: str(p.parent) for n, p in summaries.items()}, "val_set": "Set5",
            "points": [{"iteration": it, **{n: points[n][it] for n in NAMES},
                        "asym_minus_vdsr": {s: round(points["asym_vdsr"][it][s] - points["vdsr"][it][s], 4)
                                            for s in points["vdsr"][it]}} for it in common]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--data-root", help="folder holding T91 (INT8 calibration); default: $EDGESR_DATA")
    ap.add_argument("--runs-dir", default=str(Path(__file__).resolve().parents[1] / "training"),
                    help="folder of the training runs whose learning curves are compared")
    args = ap.parse_args()
    models = _models()
    x = torch.rand(1, 1, args.size, args.size)
    out: dict = {"input": f"1x1x{args.size}x{args.size}", "threads": torch.get_num_threads(), "runs": args.runs}
    for name, m in models.items():
        out[name] = {"params": count_parameters(m), "macs": count_macs(m, (args.size, args.size), 1)}
    with torch.inference_mode():
        latency = {"pytorch": _alternate({n: (lambda m=m: m(x)) for n, m in models.items()}, args.runs)}
    for fmt in FORMATS:
        for precision in ("fp32", "int8"):
            key = fmt if precision == "fp32" else f"{fmt}_int8"
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    latency[key] = _alternate(_runner_calls(models, args.size, Path(tmp), fmt, precision, args.data_root),
                                              args.runs)
            except (ImportError, EdgesrError) as exc:
                out[key] = f"not run: {exc}"
    for runtime, per_model in latency.items():
        for name, t in per_model.items():
            out[name][f"{runtime}_ms_median"], out[name][f"{runtime}_ms_p90"] = t["median_ms"], t["p90_ms"]
        out[f"latency_ratio_{runtime}"] = per_model["asym_vdsr"]["median_ms"] / per_model["vdsr"]["median_ms"]
    out["param_ratio"] = out["asym_vdsr"]["params"] / out["vdsr"]["params"]
    out["mac_ratio"] = out["asym_vdsr"]["macs"] / out["vdsr"]["macs"]
    shipped = {n: PRETRAINED_DIR / f"{n}.json" for n in NAMES}
    if all(p.is_file() for p in shipped.values()):
        a, v = (json.loads(shipped[n].read_text())["scores"] for n in ("asym_vdsr", "vdsr"))
        out["psnr_difference"] = {d: {s: round(a[d][s][0] - v[d][s][0], 4) for s in v[d]} for d in v}
    curves = learning_curves(args.runs_dir)
    if curves:
        out["learning_curves"] = curves
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "asym_vs_vdsr.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
