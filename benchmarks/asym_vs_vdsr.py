"""The paper's claim checked: Asym_VDSR against VDSR in parameters, multiply-adds, CPU latency and
(once both are shipped, trained with the same budget) PSNR per set and scale.
Writes benchmarks/results/asym_vs_vdsr.json.

    python benchmarks/asym_vs_vdsr.py [--size 256] [--runs 7] [--data-root DIR]

Latency: one 1x1xSxS Y input (the network's input is the bicubic-upscaled image), the runtime's
default threads, one warm-up call each, then runs alternating between the two models; median and
p90. Runtimes: PyTorch eager FP32; ONNX Runtime (CPU) and LiteRT (XNNPACK) on edgesr's FP32 and
INT8 exports of the same networks (INT8 calibrated on T91 crops from the data root), each where
installed. The networks carry the shipped weights when there are some (INT8 ranges depend on them).
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

from edgesr.data.calibration import calibration_inputs
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


def _onnx_calls(models: dict[str, torch.nn.Module], size: int, tmp: Path,
                calibration: dict[str, list[np.ndarray]] | None) -> dict[str, Callable[[], object]]:
    import onnxruntime as ort

    from edgesr.formats import get_format
    from edgesr.formats.base import Conversion

    x = np.random.default_rng(0).random((1, 1, size, size), dtype=np.float32)
    calls = {}
    for name, model in models.items():
        path = tmp / f"{name}.onnx"
        get_format("onnx").export(model, path, Conversion((4,), "int8" if calibration else "fp32", input_size=(size, size),
                                                          calibration={4: calibration[name]} if calibration else {}))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x}
        calls[name] = lambda s=session, f=feed: s.run(None, f)
    return calls


def _litert_calls(models: dict[str, torch.nn.Module], size: int, tmp: Path,
                  calibration: dict[str, list[np.ndarray]] | None) -> dict[str, Callable[[], object]]:
    from edgesr.formats import get_format
    from edgesr.formats.base import Conversion
    from edgesr.formats.tflite.runner import find_interpreter

    interpreter_cls, _ = find_interpreter()
    calls = {}
    for name, model in models.items():
        path = tmp / f"{name}.tflite"
        get_format("tflite").export(model, path, Conversion((4,), "int8" if calibration else "fp32", input_size=(size, size),
                                                            calibration={4: calibration[name]} if calibration else {}))
        interpreter = interpreter_cls(model_path=str(path))
        interpreter.allocate_tensors()
        detail = interpreter.get_input_details()[0]
        index = detail["index"]
        x = np.random.default_rng(0).integers(-128, 128, (1, size, size, 1)).astype(detail["dtype"]) \
            if calibration else np.random.default_rng(0).random((1, size, size, 1), dtype=np.float32)  # NHWC

        def call(i=interpreter, k=index):
            i.set_tensor(k, x)
            i.invoke()
        calls[name] = call
    return calls


RUNTIMES = {"onnxruntime": (_onnx_calls, "onnx"), "litert": (_litert_calls, "tflite")}


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
    side by side with one recipe (``RUNS_DIR/vdsr_12k``, ``RUNS_DIR/asym_vdsr_12k``); None when either is missing."""
    summaries = {n: Path(runs) / f"{n}_12k" / "summary.json" for n in NAMES}
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
    lr = (args.size // 4, args.size // 4)
    calibration, no_int8 = None, ""
    try:
        calibration = {n: calibration_inputs(m, 4, count=32, lr_size=lr, data_root=args.data_root)
                       for n, m in models.items()}
    except EdgesrError as exc:
        no_int8 = f"int8 not run: {exc}"
    x = torch.rand(1, 1, args.size, args.size)
    out: dict = {"input": f"1x1x{args.size}x{args.size}", "threads": torch.get_num_threads(), "runs": args.runs}
    for name, m in models.items():
        out[name] = {"params": count_parameters(m), "macs": count_macs(m, (args.size, args.size), 1)}
    with torch.inference_mode():
        latency = {"pytorch": _alternate({n: (lambda m=m: m(x)) for n, m in models.items()}, args.runs)}
    for runtime, (calls, extra) in RUNTIMES.items():
        for key, calib in ((runtime, None), (f"{runtime}_int8", calibration)):
            if key != runtime and calib is None:
                out[key] = no_int8
                continue
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    latency[key] = _alternate(calls(models, args.size, Path(tmp), calib), args.runs)
            except (ImportError, RuntimeError, EdgesrError) as exc:
                out[key] = f"not run ({exc}): pip install 'edgesr[{extra}]'"
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
