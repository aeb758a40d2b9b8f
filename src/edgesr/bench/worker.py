"""One measurement in a fresh process: ``python -m edgesr.bench.worker REQUEST.json``.

The request names what runs (an artifact, or a PyTorch model for the baseline), the LR inputs to
upscale and where to put the outputs, and how to time. The worker imports the libraries first, then
times the load (runner construction and activation) apart from inference; times ``infer`` on one
LR image of the benchmark input size (warm-up, then runs until both a minimum count and a minimum
time are reached; CUDA synchronised on GPU); reads its own peak RSS (and peak GPU memory) at that
point; then upscales every LR input and saves the SR output's Y (``.npy``, what the metrics use) and
image (``.png``). It prints one JSON line; PSNR is computed by the host from the saved outputs.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from edgesr.devices.ondevice import peak_rss_mb, time_runs

RUNTIME_MODULES = {"onnx": "onnxruntime", "tflite": "ai_edge_litert.interpreter", "coreml": "coremltools",
                   "tensorrt": "tensorrt"}


def _open(req: dict):
    if req["kind"] == "torch":
        from edgesr.models.weights import load_model
        from edgesr.runtimes.torch import TorchRunner

        return TorchRunner(load_model(req["model"], req["scale"], req.get("weights")), req["scale"],
                           device=req.get("device", "cpu"))
    from edgesr.runtimes.registry import open_runner

    device = req.get("device")
    return open_runner(req["artifact"], req["scale"], device=device if device == "cuda" else None)


def _sync(req: dict) -> None:
    if req.get("device") == "cuda":
        import torch

        torch.cuda.synchronize()


def measure(req: dict) -> dict:
    from edgesr.data.io import read_image, write_image

    for module in ("edgesr.models.weights", "edgesr.runtimes.torch", "edgesr.runtimes.registry", "edgesr.inference",
                   RUNTIME_MODULES.get(req.get("format", ""), "torch")):
        importlib.import_module(module)
    start = time.perf_counter()
    runner = _open(req)
    runner.activate()
    load_ms = (time.perf_counter() - start) * 1000
    h, w = req["input_size"]
    shape = (h, w) if runner.spec.colour == "y" and req.get("gray") else (h, w, 3)
    lr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)

    def step():
        runner.infer(lr)
        _sync(req)

    result = {"load_ms": load_ms, **time_runs(step, req.get("warmup", 2), req.get("min_runs", 5),
                                              req.get("min_seconds", 2.0)),
              "peak_rss_mb": peak_rss_mb()}
    if req.get("device") == "cuda":
        import torch

        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    out = Path(req["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(req["lr_dir"]).glob("*.png")):
        sr = runner.infer(read_image(path))
        np.save(out / f"{path.stem}.npy", sr.y)
        write_image(out / f"{path.stem}.png", sr.image)
    runner.deactivate()
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    req = json.loads(Path(argv[0]).read_text())
    try:
        result = {"ok": True, **measure(req)}
    except Exception as exc:  # reported as the row's status; the harness goes on with the others
        result = {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
