"""LiteRT (XNNPACK) int8 against float32, one convolution at a time, at the shapes of masrn x4 on a
256x256 LR input: why a graph whose every op is int8 can still run slower than its float32 twin
on a CPU without int8 dot-product instructions.

Each case is one convolution and its ReLU, converted with litert-torch and quantized with
ai-edge-quantizer's static int8 recipe (per-channel weights, int8 activations); the float32 and
int8 models are timed alternately in one process, median of ``--runs`` runs each.

Writes benchmarks/results/litert_int8_kernels/<cpu>.{json,md}, one file per kind of CPU.

    python benchmarks/litert_int8_kernels.py [--threads 2] [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "litert_int8_kernels"
# name: (in channels, out channels, kernel (h, w), side of the square feature map)
CASES = {
    "trunk 3x3, 48 -> 48": (48, 48, (3, 3), 256),
    "trunk 5x1, 48 -> 48": (48, 48, (5, 1), 256),
    "trunk 1x1, 96 -> 48": (96, 48, (1, 1), 256),
    "HR Refine 3x3, 12 -> 12": (12, 12, (3, 3), 1024),
    "HR Refine 5x5, 12 -> 12": (12, 12, (5, 5), 1024),
    "HR output 3x3, 12 -> 3": (12, 3, (3, 3), 1024),
}


def _models(case: tuple, folder: Path) -> tuple[Path, Path]:
    """The float32 and int8 LiteRT models of one convolution + ReLU."""
    import litert_torch
    import torch
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    cin, cout, (kh, kw), side = case
    net = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, (kh, kw), padding=(kh // 2, kw // 2)), torch.nn.ReLU()).eval()
    sample = torch.rand(1, side, side, cin)
    fp32, int8 = folder / "fp32.tflite", folder / "int8.tflite"
    nhwc = litert_torch.to_channel_last_io(net, args=[0], outputs=[0]).eval()
    litert_torch.convert(nhwc, (sample,)).export(str(fp32))
    qt = quantizer.Quantizer(str(fp32))
    qt.load_quantization_recipe(recipe.static_wi8_ai8())
    (key, io), = Interpreter(model_path=str(fp32)).get_signature_list().items()
    ranges = qt.calibrate({key: [{io["inputs"][0]: sample.numpy()}]})
    qt.quantize(ranges).export_model(str(int8), overwrite=True)
    return fp32, int8


def _time(paths: dict[str, Path], threads: int, runs: int) -> dict[str, float]:
    """Median ms of each model, the models run alternately."""
    from ai_edge_litert.interpreter import Interpreter

    interpreters = {}
    for name, path in paths.items():
        it = Interpreter(model_path=str(path), num_threads=threads)
        it.allocate_tensors()
        detail = it.get_input_details()[0]
        it.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
        it.invoke()  # warm-up
        interpreters[name] = it
    times = {name: [] for name in paths}
    for _ in range(runs):
        for name, it in interpreters.items():
            start = time.perf_counter()
            it.invoke()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="XNNPACK threads (default: every core)")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    from edgesr.runtimes.measure import cpu_count, cpu_info, cpu_slug

    threads = args.threads or cpu_count()
    cpu = cpu_info()
    rows = []
    for name, case in CASES.items():
        with tempfile.TemporaryDirectory() as d:
            fp32, int8 = _models(case, Path(d))
            ms = _time({"fp32": fp32, "int8": int8}, threads, args.runs)
        rows.append({"case": name, "fp32_ms": ms["fp32"], "int8_ms": ms["int8"], "ratio": ms["int8"] / ms["fp32"]})
        print(f"{name}: fp32 {ms['fp32']:.1f} ms, int8 {ms['int8']:.1f} ms, {ms['int8'] / ms['fp32']:.2f}x", flush=True)
    command = "python benchmarks/litert_int8_kernels.py" + (f" --threads {args.threads}" if args.threads else "")
    import ai_edge_litert

    lines = [f"`{command}`", "",
             f"CPU: {cpu['model']} ({cpu['machine']}; integer-kernel features: {', '.join(cpu['int_flags']) or 'none'}); "
             f"ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')} (XNNPACK), {threads} threads, median of "
             f"{args.runs} alternating runs; one convolution + ReLU at masrn x4's shapes (256x256 LR input).", "",
             "| convolution | FP32 ms | INT8 ms | INT8 / FP32 |", "|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['fp32_ms']:.1f} | {r['int8_ms']:.1f} | {r['ratio']:.2f} |" for r in rows]
    slug = cpu_slug(cpu)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{slug}.json").write_text(json.dumps({"host_cpu": cpu, "threads": threads, "runs": args.runs,
                                                      "rows": rows, "command": command}, indent=2) + "\n")
    (RESULTS / f"{slug}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
