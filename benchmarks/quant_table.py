"""Every precision of the shipped models through the CPU runtimes (ONNX Runtime, LiteRT, OpenVINO,
ExecuTorch), in one table: model x scale x
format x precision (fp32, fp16, int8 from float weights = PTQ, int8 from QAT weights, w8a16 from float
weights), with Set5 and Set14 PSNR, dPSNR against PyTorch FP32, size, and latency against PyTorch and
against the same runtime's FP32 (both measured in the same run).

It is ``edgesr bench`` twice per model (the harness: exports cached, one worker process per
measurement): Set5 with latency, then Set14 for PSNR only (latency runs cut to one). masrn runs
as the shared-trunk artifact (x2, x3, x4 in one file); asym_vdsr at x4.

Writes benchmarks/results/quant_table.{json,md} after each model and format, keeping the rows of earlier runs
on the same CPU for the pieces this run does not measure; the CPU it ran on is in both. Each model's
numbers also go beside its shipped weights, as the data tests and docs read
(``src/edgesr/pretrained/NAME.numerics.yaml``: PSNR per format and precision; ``NAME.perf.yaml``:
latency; :mod:`edgesr.models.measured`).

    python benchmarks/quant_table.py [--data-root ../shared/datasets] [--input-size 128x128]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PRETRAINED = Path(__file__).resolve().parents[1] / "src" / "edgesr" / "pretrained"
MODELS = {"masrn": (2, 3, 4), "asym_vdsr": (4,)}
# LR input of the latency runs and of the fixed-shape (LiteRT) exports: asym_vdsr runs on the
# bicubic upscale, 4x larger a side
INPUT_SIZE = {"masrn": (128, 128), "asym_vdsr": (64, 64)}
PRECISIONS = ("fp32", "fp16", "int8", "w8a16")
FORMATS = ("onnx", "tflite", "openvino", "executorch")  # the CPU runtimes


def _rows(report: dict) -> dict[tuple, dict]:
    return {(r["format"], r["precision"], r["quant"], r["scale"]): r for r in report["rows"]}


def _table_rows(model: str, set5: dict, set14: dict) -> list[dict]:
    other = _rows(set14)
    rows = _rows(set5)
    fp32 = {(k[0], k[3]): r["latency_ms"] for k, r in rows.items() if k[1] == "fp32"}  # same run, same runtime
    table = []
    for key, row in rows.items():
        if key[1] == "w8a16" and key[2] == "qat":
            continue  # W8A16 needs no training for its precision: its rows are from float weights
        r14 = other.get(key, {})
        table.append({"model": model, "input": "x".join(map(str, INPUT_SIZE[model])), "scale": row["scale"], "format": row["format"],
                      "precision": row["precision"], "weights": "qat" if row["quant"] == "qat" else "float",
                      "status": row["status"] if row["status"] == r14.get("status") else
                      f"{row['status']} / {r14.get('status')}",
                      "set5_psnr": row["psnr"], "set5_dpsnr": row["dpsnr"],
                      "set14_psnr": r14.get("psnr"), "set14_dpsnr": r14.get("dpsnr"),
                      "size_mb": row["size_mb"], "latency_ms": row["latency_ms"],
                      "latency_vs_pytorch": row["latency_vs_pytorch"],
                      "latency_vs_fp32": _ratio(row["latency_ms"], fp32.get((key[0], key[3]))),
                      "reason": row["reason"] or r14.get("reason", "")})
    return table


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _key(row: dict) -> tuple:
    return row["model"], row["scale"], row["format"], row["precision"], row["weights"]


def merge(previous: dict | None, result: dict) -> dict:
    """The rows of ``result`` over those of ``previous`` (same CPU only: a table never mixes machines).

    Each (model, format) piece is one ``edgesr bench`` run with its own PyTorch baseline, so every latency
    ratio in the table is still a ratio measured in one run."""
    if not previous or previous.get("host_cpu") != result["host_cpu"]:
        return result
    rows = {_key(r): r for r in previous["rows"]}
    rows.update({_key(r): r for r in result["rows"]})
    order = {m: i for i, m in enumerate(MODELS)}
    fmt = {"pytorch": 0, "onnx": 1, "tflite": 2, "openvino": 3, "executorch": 4}
    prec = {p: i for i, p in enumerate(PRECISIONS)}
    merged = sorted(rows.values(), key=lambda r: (order.get(r["model"], 9), fmt.get(r["format"], 9),
                                                  prec.get(r["precision"], 9), r["weights"], r["scale"]))
    reports = {**previous.get("reports", {}), **result["reports"]}
    return {**result, "rows": merged, "reports": reports,
            "commands": sorted(set(previous.get("commands", [])) | set(result.get("commands", [])))}


def run(models: dict[str, tuple[int, ...]], data_root: str | None, cache: Path, log=print,
        formats: tuple[str, ...] = FORMATS, save=lambda result: None) -> dict:
    """One ``edgesr bench`` pair (Set5 with latency, Set14 for PSNR) per model and format; ``save`` gets the
    table so far after each pair, so a run cut short keeps what it measured."""
    from edgesr.benchmark.harness import BenchOptions, bench

    result = None
    for model, scales in models.items():
        for fmt in formats:
            from edgesr.formats import FORMATS as TABLE

            precisions = tuple(p for p in PRECISIONS if p in TABLE[fmt].precisions)
            common = dict(model=model, scales=scales, formats=(fmt,), precisions=precisions,
                          quant=("ptq", "qat"), data_root=data_root, input_size=INPUT_SIZE[model], cache=cache)
            set5 = bench(BenchOptions(dataset="Set5", min_runs=3, min_seconds=1.0, **common), log=log)
            set14 = bench(BenchOptions(dataset="Set14", min_runs=1, min_seconds=0.0, warmup=0, **common), log=log)
            piece = {"host_cpu": set5["host_cpu"], "tools": set5["tools"], "baseline": set5["baseline"],
                     "rows": _table_rows(model, set5, set14), "reports": {f"{model}/{fmt}": {"Set5": set5, "Set14": set14}}}
            result = merge(result, piece)
            save(result)
    return result


def markdown(result: dict) -> str:
    cpu = result["host_cpu"]
    head = (f"CPU: {cpu['model']} ({cpu['machine']}; integer-kernel features: {', '.join(cpu['int_flags']) or 'none'}); "
            f"latency: median on one LR input (masrn 128x128; asym_vdsr 64x64, run as its 256x256 bicubic upscale), "
            f"against {result['baseline']}; "
            "dPSNR against PyTorch FP32 at the same scale; masrn is the shared-trunk artifact (x2, x3 and x4 in "
            "one file). weights: float = the shipped float weights "
            "(for int8: post-training quantization), qat = the shipped quantization-aware weights.")
    cols = ["model", "scale", "format", "precision", "weights", "Set5 PSNR", "Set5 dPSNR", "Set14 PSNR", "Set14 dPSNR",
            "size MB", "latency / PyTorch", "latency / its FP32", "status"]
    lines = [head, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]

    def f(v, spec):
        return "-" if v is None else format(v, spec)

    for r in result["rows"]:
        lines.append("| " + " | ".join([r["model"], f"x{r['scale']}", r["format"], r["precision"], r["weights"],
                                        f(r["set5_psnr"], ".3f"), f(r["set5_dpsnr"], "+.3f"), f(r["set14_psnr"], ".3f"),
                                        f(r["set14_dpsnr"], "+.3f"), f(r["size_mb"], ".2f"),
                                        f(r["latency_vs_pytorch"], ".2f"), f(r.get("latency_vs_fp32"), ".2f"),
                                        r["status"]]) + " |")
    return "\n".join(lines) + "\n"


_WHAT = ("scale", "format", "precision", "weights")
_NUMERICS = ("set5_psnr", "set5_dpsnr", "set14_psnr", "set14_dpsnr", "size_mb", "status")
_PERF = ("latency_ms", "latency_vs_pytorch", "latency_vs_fp32")


def measured(table: dict, model: str) -> dict[str, dict]:
    """``model``'s rows of ``table`` as the two files kept beside its weights: ``numerics`` (PSNR and
    dPSNR per format, precision, weights and scale) and ``perf`` (latency, and its ratios measured in
    the same run), each with the CPU, the tools and the command that measured it."""
    rows = [r for r in table["rows"] if r["model"] == model]
    head = {"model": model, "cpu": table["host_cpu"], "commands": table.get("commands", []),
            "tools": table.get("tools", {}), "results": "benchmarks/results/quant_table.json"}

    def pick(row: dict, keys: tuple[str, ...]) -> dict:
        return {k: round(row[k], 4) if isinstance(row[k], float) else row[k] for k in (*_WHAT, *keys)}

    return {"numerics": {**head, "rows": [pick(r, _NUMERICS) for r in rows]},
            "perf": {**head, "input": rows[0]["input"] if rows else None, "baseline": table.get("baseline"),
                     "rows": [pick(r, _PERF) for r in rows]}}


def publish(table: dict, dest: Path = PRETRAINED) -> list[Path]:
    """Write each shipped model's ``NAME.numerics.yaml`` and ``NAME.perf.yaml`` from ``table``."""
    import yaml

    written = []
    for model in sorted({r["model"] for r in table["rows"]}):
        for kind, data in measured(table, model).items():
            path = dest / f"{model}.{kind}.yaml"
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(f"# written by benchmarks/quant_table.py from {data['results']}; do not edit\n"
                           + yaml.safe_dump(data, sort_keys=False, width=120))
            tmp.replace(path)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=os.environ.get("EDGESR_DATA"))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "edgesr" / "quant_table")
    parser.add_argument("--out", type=Path, default=RESULTS / "quant_table")
    args = parser.parse_args()
    command = f"python benchmarks/quant_table.py --models {args.models} --formats {args.formats}"
    json_path, md_path = args.out.with_suffix(".json"), args.out.with_suffix(".md")
    previous = json.loads(json_path.read_text()) if json_path.exists() else None

    def save(result: dict) -> None:
        table = merge(previous, {**result, "commands": [command]})
        args.out.parent.mkdir(parents=True, exist_ok=True)
        for path, text in ((json_path, json.dumps(table, indent=2, default=str) + "\n"),
                           (md_path, "".join(f"`{c}`\n\n" for c in table["commands"]) + markdown(table))):
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
        publish(table)

    result = run({m: MODELS[m] for m in args.models.split(",")}, args.data_root, args.cache,
                 formats=tuple(args.formats.split(",")), save=save)
    print(markdown(merge(previous, result)))

if __name__ == "__main__":
    main()
