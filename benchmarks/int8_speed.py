"""INT8 against FP32 in each CPU runtime, on this CPU: one ``edgesr bench`` run of masrn x4 at a 256x256 LR
input (ONNX Runtime, LiteRT, OpenVINO, ExecuTorch; FP32 and the default INT8), with each runtime's
INT8 / FP32 latency ratio held to the targets of edgesr's INT8 scheme and the LiteRT INT8 graph's op
census (every op int8: no 16-bit reference kernel, no float op).

Targets: INT8 never slower than the same runtime's FP32 (ratio <= 1.0); at most 0.6 on OpenVINO and,
on a CPU with int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI, Arm dotprod), everywhere.

Writes benchmarks/results/int8_speed/<cpu>.{json,md} (one file per kind of CPU, named after it and its
integer-kernel features; the bench's own report in the folder <cpu>/ beside them), so a run on another
CPU adds its files next to this one's.

    python benchmarks/int8_speed.py [--data-root ../shared/datasets] [--threads 0]
    python benchmarks/int8_speed.py --report benchmarks/results/bench/bench.json   # from a full bench run
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "int8_speed"
FORMATS = ("onnx", "tflite", "openvino", "executorch")
DOT_PRODUCT = ("avx512_vnni", "avx_vnni", "asimddp", "dotprod")  # int8 dot-product instructions
FAST = 0.6  # the INT8 / FP32 target where int8 has its own instructions (and on OpenVINO)


def targets(fmt: str, int_flags: list[str]) -> float:
    """The largest INT8 / FP32 latency ratio allowed for ``fmt`` on a CPU with ``int_flags``."""
    return FAST if fmt == "openvino" or any(f in int_flags for f in DOT_PRODUCT) else 1.0


def summarise(report: dict) -> dict:
    """Per runtime: FP32 and INT8 median latency, their ratio against its target, INT8's dPSNR and,
    for LiteRT, the ops of its INT8 graph that are not int8 (from the artifact's manifest)."""
    from edgesr.errors import EdgesrError
    from edgesr.manifest import read_manifest

    flags = report["host_cpu"]["int_flags"]
    rows = {(r["format"], r["precision"]): r for r in report["rows"]}
    out = []
    for fmt in FORMATS:
        fp32, int8 = rows.get((fmt, "fp32")), rows.get((fmt, "int8"))
        if not (fp32 and int8 and fp32["latency_ms"] and int8["latency_ms"]):
            continue
        ratio = int8["latency_ms"] / fp32["latency_ms"]
        try:  # the export cache may have been cleared since the bench ran
            census = read_manifest(int8["artifact"]).ops if int8.get("artifact") else {}
        except EdgesrError:
            census = {}
        out.append({"format": fmt, "fp32_ms": fp32["latency_ms"], "int8_ms": int8["latency_ms"], "ratio": ratio,
                    "target": targets(fmt, flags), "met": ratio <= targets(fmt, flags), "int8_dpsnr": int8["dpsnr"],
                    "int8_weights": int8["quant"], "not_int8": census.get("not_int8")})
    return {"host_cpu": report["host_cpu"], "threads": report["threads"], "input_size": report["input_size"],
            "tools": report["tools"], "rows": out}


def markdown(summary: dict, command: str) -> str:
    cpu = summary["host_cpu"]
    lines = [f"`{command}`", "",
             f"CPU: {cpu['model']} ({cpu['machine']}; integer-kernel features: {', '.join(cpu['int_flags']) or 'none'}); "
             f"masrn x4, one {summary['input_size']} LR input, {summary['threads']} threads, "
             "median latency of one `edgesr bench` run (FP32 and INT8 of a runtime measured in the same run).", "",
             "| runtime | FP32 ms | INT8 ms | INT8 / FP32 | target | met | INT8 dPSNR (Set5) | LiteRT ops not int8 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        census = "-" if r["not_int8"] is None else (", ".join(f"{o['op']} x{o['count']}" for o in r["not_int8"]) or "none")
        lines.append(f"| {r['format']} | {r['fp32_ms']:.1f} | {r['int8_ms']:.1f} | {r['ratio']:.2f} | <= {r['target']:.1f} | "
                     f"{'yes' if r['met'] else 'NO'} | {r['int8_dpsnr']:+.3f} | {census} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=os.environ.get("EDGESR_DATA"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "edgesr" / "int8_speed")
    parser.add_argument("--report", type=Path, help="summarise this bench.json (an `edgesr bench` run of masrn x4 at "
                                                   "256x256 with these formats' fp32 and int8 rows) instead of running one")
    args = parser.parse_args()
    from edgesr.benchmark.harness import BenchOptions, bench
    from edgesr.benchmark.report import write_report
    from edgesr.runtimes.measure import cpu_slug

    command = "python benchmarks/int8_speed.py" + (f" --threads {args.threads}" if args.threads else "")
    if args.report:
        report = json.loads(args.report.read_text())
        command += f" --report {args.report}  # the bench: {report.get('command', '?')}"
    else:
        options = BenchOptions(model="masrn", scales=(4,), formats=FORMATS, precisions=("fp32", "int8"),
                               data_root=args.data_root, input_size=(256, 256), threads=args.threads, cache=args.cache)
        report = bench(options, log=print)
    summary = summarise(report)
    name = cpu_slug(report["host_cpu"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report:
        (RESULTS / name).mkdir(exist_ok=True)
        write_report({**report, "command": command}, RESULTS / name)
    (RESULTS / f"{name}.json").write_text(json.dumps({**summary, "command": command}, indent=2, default=str) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(summary, command))
    print(markdown(summary, command))


if __name__ == "__main__":
    main()
