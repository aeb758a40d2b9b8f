"""The shared-trunk masrn artifact against single-scale ones, per format: size, Set5 PSNR per scale,
and the time to switch scale.

For each format it exports masrn at x2, x3 and x4 one by one and once with --scales 2,3,4, then:
* size: the shared artifact against the three single-scale ones together and against each one;
* PSNR (Y, Set5) per scale of the shared artifact, of the single-scale artifact and of PyTorch
  (runnable formats: ONNX and LiteRT here; Core ML is size-only off macOS);
* switch: the time from asking for another scale to its first output (shared artifact: pick the
  scale in the open session / interpreter), against opening that scale's single-scale artifact
  and running it once. Median of several rounds on one 128x128 LR input.

Writes benchmarks/results/shared_artifacts.{json,md}.

    python benchmarks/shared_artifacts.py --weights W.safetensors [--data-root ../shared/datasets]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SCALES = (2, 3, 4)
FORMATS = [("onnx", "fp32", None), ("onnx", "int8", None), ("tflite", "fp32", (128, 128)),
           ("tflite", "int8", (128, 128)), ("coreml", "fp16", (128, 128))]


def _psnr(artifact: Path, scale: int, images) -> float:
    from edgesr.evaluation.evaluate import evaluate
    from edgesr.formats.registry import open_runner
    from edgesr.inference import upscale

    with open_runner(artifact, scale) as runner:
        return evaluate(lambda lr, s: upscale(runner, lr), images, scale).psnr


def _switch_ms(shared: Path, singles: dict[int, Path], rounds: int) -> dict[str, float]:
    """Shared: ``runner.switch(scale)`` on the loaded artifact (ONNX: the same session fed another
    scale; LiteRT: another signature of the same interpreter), first run included.
    Single: a fresh runner on that scale's own artifact, first run included."""
    from edgesr.formats.registry import open_runner

    x = np.random.default_rng(0).random((1, 3, 128, 128), dtype=np.float32)
    shared_t, single_t = [], []
    with open_runner(shared, SCALES[0]) as base:
        base.run(x)
        for r in range(rounds):
            scale = SCALES[1 + r % (len(SCALES) - 1)]
            start = time.perf_counter()
            base.switch(scale)
            base.run(x)
            shared_t.append((time.perf_counter() - start) * 1000)
            base.switch(SCALES[0])
            start = time.perf_counter()
            with open_runner(singles[scale], scale) as runner:
                runner.run(x)
            single_t.append((time.perf_counter() - start) * 1000)
    return {"shared_switch_ms": statistics.median(shared_t), "single_open_and_run_ms": statistics.median(single_t)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--formats", default=None, help="comma list of format:precision (default: all)")
    args = parser.parse_args()

    from edgesr.data.datasets import find_images
    from edgesr.evaluation.evaluate import evaluate
    from edgesr.conversion.api import export_model
    from edgesr.formats import get_format
    from edgesr.inference import torch_upscaler
    from edgesr.manifest import artifact_bytes
    from edgesr.models.weights import load_model

    images = find_images("Set5", args.data_root)
    model = load_model("masrn", 2, args.weights)
    torch_psnr = {s: evaluate(torch_upscaler(model), images, s).psnr for s in SCALES}
    chosen = FORMATS if not args.formats else [
        f for f in FORMATS if f"{f[0]}:{f[1]}" in args.formats.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, precision, size in chosen:
            out = Path(tmp) / f"{fmt}_{precision}"
            kw = dict(precision=precision, weights=args.weights, lr_size=size, data_root=args.data_root,
                      calib_images=48)
            start = time.perf_counter()
            shared = export_model("masrn", SCALES, fmt, out, **kw)
            shared_export_s = time.perf_counter() - start
            singles = {s: export_model("masrn", s, fmt, out, **kw) for s in SCALES}
            sizes = {f"x{s}": artifact_bytes(p) for s, p in singles.items()}
            row = {"format": fmt, "precision": precision, "input": "dynamic" if size is None else f"{size[0]}x{size[1]}",
                   "shared_bytes": artifact_bytes(shared), "single_bytes": sizes,
                   "shared_over_three_singles": artifact_bytes(shared) / sum(sizes.values()),
                   "shared_over_single": {k: artifact_bytes(shared) / v for k, v in sizes.items()},
                   "shared_export_s": round(shared_export_s, 1)}
            if get_format(fmt).runs_here:
                row["psnr"] = {f"x{s}": {"torch": torch_psnr[s], "shared": _psnr(shared, s, images),
                                         "single": _psnr(singles[s], s, images)} for s in SCALES}
                row.update(_switch_ms(shared, singles, args.rounds))
            rows.append(row)
            print(json.dumps(row), flush=True)
    meta = {"command": "python benchmarks/shared_artifacts.py --weights " + args.weights,
            "weights": args.weights, "images": "Set5 (Y, shave = scale)", "rounds": args.rounds}
    write_results(rows, meta, merge=bool(args.formats))


def write_results(rows: list[dict], meta: dict, merge: bool = False) -> None:
    """Write the JSON and Markdown results; with ``merge`` (a --formats run), rows of other formats
    already in the results file are kept."""
    path = RESULTS / "shared_artifacts.json"
    if merge and path.is_file():
        new = {(r["format"], r["precision"]) for r in rows}
        old = [r for r in json.loads(path.read_text())["rows"] if (r["format"], r["precision"]) not in new]
        order = [(f, p) for f, p, _ in FORMATS]
        rows = sorted(old + rows, key=lambda r: order.index((r["format"], r["precision"])))
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    lines = ["# Shared-trunk masrn artifact vs single-scale artifacts\n", f"`{meta['command']}`\n",
             "| format | precision | input | shared KB | x2 / x3 / x4 single KB | shared / x2 | shared / x4 | "
             "shared / three | PSNR x2 / x3 / x4: shared (single, torch) | switch ms (open single ms) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        psnr = " / ".join(f"{v['shared']:.3f} ({v['single']:.3f}, {v['torch']:.3f})" for v in r["psnr"].values()) \
            if "psnr" in r else "not run here"
        switch = f"{r['shared_switch_ms']:.0f} ({r['single_open_and_run_ms']:.0f})" if "psnr" in r else "-"
        singles = " / ".join(f"{v / 1024:.0f}" for v in r["single_bytes"].values())
        lines.append(f"| {r['format']} | {r['precision']} | {r['input']} | {r['shared_bytes'] / 1024:.0f} | {singles} | "
                     f"{r['shared_over_single']['x2']:.2f} | {r['shared_over_single']['x4']:.2f} | "
                     f"{r['shared_over_three_singles']:.2f} | {psnr} | {switch} |")
    (RESULTS / "shared_artifacts.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
