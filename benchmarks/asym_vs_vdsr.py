"""The paper's claim checked: Asym_VDSR against VDSR in parameters, multiply-adds, CPU latency and
(once both are shipped, trained with the same budget) PSNR per set and scale.
Writes benchmarks/results/asym_vs_vdsr.json.

    python benchmarks/asym_vs_vdsr.py [--size 256] [--runs 7]

Latency: float32, one 1x1xSxS Y input (the network's input is the bicubic-upscaled image), the
runtime's default threads, one warm-up call each, then runs alternating between the two models;
median and p90. Runtimes: PyTorch eager; ONNX Runtime (CPU) and LiteRT (XNNPACK) on edgesr's fp32
exports of the same networks, each where installed.
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

from edgesr.models import create_model
from edgesr.models.profile import count_macs, count_parameters
from edgesr.models.weights import PRETRAINED_DIR

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


def _onnx_calls(models: dict[str, torch.nn.Module], size: int, tmp: Path) -> dict[str, Callable[[], object]]:
    import onnxruntime as ort

    from edgesr.export.onnx import export_onnx

    x = np.random.default_rng(0).random((1, 1, size, size), dtype=np.float32)
    calls = {}
    for name, model in models.items():
        path = tmp / f"{name}.onnx"
        export_onnx(model, path, scale=4, input_size=(size, size))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x}
        calls[name] = lambda s=session, f=feed: s.run(None, f)
    return calls


def _litert_calls(models: dict[str, torch.nn.Module], size: int, tmp: Path) -> dict[str, Callable[[], object]]:
    from edgesr.devices.ondevice import tflite_interpreter
    from edgesr.export.tflite import export_tflite

    interpreter_cls, _ = tflite_interpreter()
    x = np.random.default_rng(0).random((1, size, size, 1), dtype=np.float32)  # NHWC
    calls = {}
    for name, model in models.items():
        path = tmp / f"{name}.tflite"
        export_tflite(model, path, scale=4, input_size=(size, size))
        interpreter = interpreter_cls(model_path=str(path))
        interpreter.allocate_tensors()
        index = interpreter.get_input_details()[0]["index"]

        def call(i=interpreter, k=index):
            i.set_tensor(k, x)
            i.invoke()
        calls[name] = call
    return calls


RUNTIMES = {"onnxruntime": (_onnx_calls, "onnx"), "litert": (_litert_calls, "tflite")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    models = {n: create_model(n).eval() for n in NAMES}  # latency does not depend on the weights
    x = torch.rand(1, 1, args.size, args.size)
    out: dict = {"input": f"1x1x{args.size}x{args.size}", "threads": torch.get_num_threads(), "runs": args.runs}
    for name, m in models.items():
        out[name] = {"params": count_parameters(m), "macs": count_macs(m, (args.size, args.size), 1)}
    with torch.inference_mode():
        latency = {"pytorch": _alternate({n: (lambda m=m: m(x)) for n, m in models.items()}, args.runs)}
    for runtime, (calls, extra) in RUNTIMES.items():
        try:
            with tempfile.TemporaryDirectory() as tmp:
                latency[runtime] = _alternate(calls(models, args.size, Path(tmp)), args.runs)
        except (ImportError, RuntimeError) as exc:
            out[runtime] = f"not run ({exc}): pip install 'edgesr[{extra}]'"
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
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "asym_vs_vdsr.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
