"""One measurement in a fresh process: ``python -m edgesr.benchmark.worker REQUEST.json``.

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

from edgesr.errors import EdgesrError
from edgesr.formats import FORMATS
from edgesr.runtimes.measure import peak_rss_mb, time_runs


def _torch_model(req: dict):
    """The request's PyTorch model, rebuilt in this fresh process from its reference (a registry
    name, ``module:factory`` or ``file.py:factory``; the worker runs in the host's working folder)
    and weights. A weights file written by ``edgesr train`` names its own model and options (then
    ``model`` may be null); ``options`` (and ``colour``), when the request carries them, are those
    the host built the model with."""
    from edgesr.models.weights import load_model, load_weights

    if req.get("options") is None and req.get("colour") is None:
        return load_model(req.get("model"), req["scale"], req.get("weights"))
    from edgesr.models.registry import create_model

    model = create_model(req["model"], req["scale"], colour=req.get("colour"), **(req.get("options") or {}))
    return (load_weights(model, req["weights"]) if req.get("weights") else model).eval()


def _open(req: dict):
    threads = req.get("threads") or 0
    if req["kind"] == "torch":
        from edgesr.runtimes.torch import TorchRunner

        return TorchRunner(_torch_model(req), req["scale"], device=req.get("device", "cpu"), threads=threads,
                           precision=req.get("precision", "fp32"), mode=req.get("mode", "eager"))
    from edgesr.formats.registry import open_runner

    device = req.get("device")
    options = {"threads": threads} if FORMATS[req["format"]].threads else {}
    return open_runner(req["artifact"], req["scale"], device=device if device == "cuda" else None, **options)


def peak(req: dict) -> dict:
    """The device's float32 matrix-product peak (GFLOP/s) with PyTorch, in this fresh process as the
    rows are measured in theirs: on the CPU with the bench's threads, or on the CUDA GPU."""
    import torch

    from edgesr.runtimes.measure import PEAK_N, matmul_peak

    n, device = req.get("n", PEAK_N), req.get("device", "cpu")
    if device == "cpu" and req.get("threads"):
        torch.set_num_threads(req["threads"])
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    where = f" on {torch.cuda.get_device_name()}" if device == "cuda" else ""

    def product():
        torch.mm(a, b)
        _sync(req)

    with torch.inference_mode():
        return matmul_peak(product, n, f"torch {torch.__version__} float32 mm{where}",
                           threads=torch.get_num_threads() if device == "cpu" else None)


def smaller_input(fits=lambda side: True, below: int = 1 << 30) -> str:
    """The bench's remedy for an input too large: a smaller ``--input-size``, the largest of the
    usual sizes below ``below`` that ``fits`` (a square side in LR pixels)."""
    side = next((s for s in (2048, 1024, 512, 256, 128, 64, 32) if s < below and fits(s)), 32)
    return f"bench a smaller --input-size, such as {side}x{side}"


def check_memory(runner, h: int, w: int) -> None:
    """Refuse a timed input the runner cannot upscale in one piece in the memory available now, with
    the bench's remedy (a smaller ``--input-size``): the latency is that of one whole LR input, so
    the bench does not cut it into tiles (the runner's own refusal names tiles instead)."""
    from edgesr.runtimes.base import available_memory

    per_pixel = getattr(runner, "bytes_per_pixel", None)
    free = available_memory()
    if not per_pixel or free is None:
        return
    need = per_pixel * runner.network_pixels((h, w))
    if need > free:
        hint = smaller_input(lambda side: per_pixel * runner.network_pixels((side, side)) <= free / 2,
                             below=max(h, w))
        raise EdgesrError(f"one {h}x{w} LR input needs about {need / 2**30:.1f} GiB at once, more than the "
                          f"{free / 2**30:.1f} GiB available; {hint}")


def _sync(req: dict) -> None:
    if req.get("device") == "cuda":
        import torch

        torch.cuda.synchronize()


def measure(req: dict) -> dict:
    from edgesr.data.io import read_image, write_image
    from edgesr.inference import upscale

    for module in ("edgesr.models.weights", "edgesr.runtimes.torch", "edgesr.formats.registry", "edgesr.inference"):
        importlib.import_module(module)
    if req.get("format") in FORMATS:  # the runtime as the format imports it (OpenVINO: without its telemetry)
        FORMATS[req["format"]].require()
    else:
        importlib.import_module("torch")
    start = time.perf_counter()
    runner = _open(req)
    runner.auto_tiling = False  # whole frames are what is timed; check_memory refuses what cannot fit
    runner.activate()
    load_ms = (time.perf_counter() - start) * 1000
    h, w = req["input_size"]
    check_memory(runner, h, w)
    shape = (h, w) if runner.spec.colour == "y" and req.get("gray") else (h, w, 3)
    lr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)

    def step():
        upscale(runner, lr)
        _sync(req)

    try:
        timed = time_runs(step, req.get("warmup", 2), req.get("min_runs", 5), req.get("min_seconds", 2.0))
    except MemoryError:
        raise EdgesrError(f"out of memory on one {h}x{w} LR input; {smaller_input(below=max(h, w))}") from None
    except RuntimeError as exc:  # torch.cuda.OutOfMemoryError, and the runtimes' own allocation failures
        if "out of memory" not in str(exc).lower():
            raise
        raise EdgesrError(f"out of memory on one {h}x{w} LR input ({str(exc).splitlines()[0]}); "
                          f"{smaller_input(below=max(h, w))}") from None
    result = {"load_ms": load_ms, **timed, "peak_rss_mb": peak_rss_mb(), "threads": getattr(runner, "threads", None)}
    if req.get("device") == "cuda":
        import torch

        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    out = Path(req["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(req["lr_dir"]).glob("*.png")):
        sr = upscale(runner, read_image(path))
        np.save(out / f"{path.stem}.npy", sr.y)
        write_image(out / f"{path.stem}.png", sr.image)
    runner.deactivate()
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    req = json.loads(Path(argv[0]).read_text())
    try:
        result = {"ok": True, **(peak(req) if req["kind"] == "peak" else measure(req))}
    except Exception as exc:  # reported as the row's status; the harness goes on with the others
        result = {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
