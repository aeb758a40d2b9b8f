"""The desktop GPU check: everything edgesr measures on a CUDA GPU, in one run of a few minutes.

    bash scripts/gpu_check.sh [--dry-run] [--out DIR] [--data-root DIR] [--budget SECONDS]

(``scripts/gpu_check.sh`` installs edgesr without dependencies, or puts ``src`` on the path, and runs
this file.) Steps, in the order of what matters most, each a separate process with its log under
``OUT/logs/``; one failing step does not stop the others, and a step that no longer fits the
budget is recorded as skipped:

1. ``env``: the GPU, its compute capability and memory, torch and CUDA versions.
2. ``masrn_256``: ``edgesr bench --device cuda`` of masrn x2/x3/x4 on a 256x256 LR input, scored on
   Set5: the FP32 eager baseline and PyTorch's fp16/bf16 autocast, channels_last and CUDA graphs.
3. ``tests``: the ``gpu``-marked tests (``pytest -m gpu``).
4. ``vdsr`` and ``asym_vdsr``: the same bench of each at x4 (the paper claims Asym_VDSR is 1.7x faster).
5. ``masrn_960x540``: masrn at 960x540 LR in (x4: a 3840x2160 frame out), fp32 and fp16.
6. ``train``: masrn training throughput (patches/s) on the GPU, from a short ``edgesr train`` run.
7. ``compile``: ``torch.compile`` of masrn x4 fp16 at 256x256 (slow to build: last).

It writes ``OUT/gpu_check.json`` (every step's status and the numbers below) and ``OUT/gpu_check.md``
(the tables), beside each bench's own bench.md/bench.json; ``OUT`` defaults to
``benchmarks/results/gpu``, which ``edgesr bench`` elsewhere reads as the desktop GPU baseline.
Exit status 1 when a step failed or did not fit the budget.

``--dry-run`` runs every step on this machine's CPU with tiny inputs and one timed run (``--device
local``; CUDA graphs rows say "not run here"; scored on two 60x60 crops of Set5 images, masrn x4
only at the second size), into a temporary folder unless ``--out`` is given:
what CI runs to keep this script working between the rare sessions that have a GPU. Its numbers are
not a GPU's, and no bench reads them as one (the baseline is taken from rows that ran on CUDA).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "gpu"
ENV_PROBE = """
import json, platform, torch
info = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available()}
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    info.update(gpu=p.name, capability=f"sm{p.major}{p.minor}", memory_gib=round(p.total_memory / 2**30, 1),
                multiprocessors=p.multi_processor_count, cudnn=torch.backends.cudnn.version())
print(json.dumps(info))
"""


# a dry run scores on two 60x60 crops of Set5 images (60: whole at x2, x3 and x4), written here
DRY_SET = "dry-run-set"


def write_dry_set(out: Path, data_root: str | None) -> None:
    from edgesr.data.datasets import find_images
    from edgesr.data.io import read_image, write_image

    for path in find_images("Set5", data_root).files[:2]:
        write_image(out / DRY_SET / f"{path.stem}.png", read_image(path)[:60, :60])


@dataclass(frozen=True)
class Step:
    name: str
    command: list[str]
    need_s: float  # what it takes on the GPU (roughly): not started when less than this is left
    bench: str | None = None  # the folder of its bench report, if it is a bench


def _bench(name: str, out: Path, model: str, scales: str, size: str, precisions: str, modes: str, dry: bool,
           data_root: str | None, need_s: float) -> Step:
    folder = out / name
    dataset = str(out / DRY_SET) if dry else "Set5"
    command = [sys.executable, "-m", "edgesr.cli", "bench", "-m", model, "-s", scales, "-f", "pytorch",
               "-p", precisions, "--torch-modes", modes, "--input-size", size, "-d", dataset, "-o", str(folder),
               "--device", "local" if dry else "cuda", "--min-runs", "1" if dry else "20",
               "--min-seconds", "0" if dry else "1"]
    if data_root:
        command += ["--data-root", data_root]
    return Step(name, command, need_s, bench=str(folder))


def steps(out: Path, dry: bool, data_root: str | None, train_dir: Path) -> list[Step]:
    """The steps; a dry run keeps every one, smaller (CPU-sized inputs, fp32 and the cheap modes)."""
    small = {"256": "32x32", "960": "34x60"} if dry else {"256": "256x256", "960": "540x960"}
    half = "fp32" if dry else "fp32,fp16,bf16"
    modes = "channels_last,cuda_graphs" if dry else "eager,channels_last,cuda_graphs"
    iters = 4 if dry else 300
    train = [sys.executable, "-m", "edgesr.cli", "train", str(ROOT / "configs" / "masrn.yaml"), "--no-progress",
             "--set", f"device={'cpu' if dry else 'cuda'}", "--set", f"iterations={iters}", "--set", "init=null",
             "--set", "train_sets=[T91]", "--set", f"val_every={iters * 10}", "--set", f"checkpoint_every={iters * 10}",
             "--set", f"log_every={max(1, iters // 10)}", "--set", f"out_dir={train_dir}"]
    if data_root:
        train += ["--set", f"data_root={data_root}"]
    return [
        Step("env", [sys.executable, "-c", ENV_PROBE], 10),
        _bench("masrn_256x256", out, "masrn", "2,3,4", small["256"], half, modes, dry, data_root, 90),
        Step("tests", [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                       "--junitxml", str(out / "gpu_tests.xml"), str(ROOT / "tests")], 60),
        _bench("vdsr_x4", out, "vdsr", "4", small["256"], "fp32" if dry else "fp32,fp16", modes, dry, data_root, 40),
        _bench("asym_vdsr_x4", out, "asym_vdsr", "4", small["256"], "fp32" if dry else "fp32,fp16", modes, dry,
               data_root, 40),
        _bench("masrn_960x540", out, "masrn", "4" if dry else "2,3,4", small["960"], "fp32" if dry else "fp32,fp16", modes, dry,
               data_root, 70),
        Step("train", train, 60),
        _bench("masrn_256x256_compile", out, "masrn", "4", small["256"], "fp32" if dry else "fp16", "compile", dry,
               data_root, 60),
    ]


def run_step(step: Step, logs: Path, timeout: float) -> dict:
    start = time.perf_counter()
    log = logs / f"{step.name}.log"
    try:
        with open(log, "w") as f:
            proc = subprocess.run(step.command, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, cwd=ROOT)
        status = "passed" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
    except subprocess.TimeoutExpired:
        status = f"failed (timed out after {timeout:.0f} s)"
    lines = log.read_text(errors="replace").splitlines()
    return {"name": step.name, "status": status, "seconds": round(time.perf_counter() - start, 1),
            "command": " ".join(step.command), "last_line": lines[-1] if lines else ""}


def _bench_rows(folder: str) -> tuple[dict, list[dict]]:
    path = Path(folder) / "bench.json"
    if not path.is_file():
        return {}, []
    report = json.loads(path.read_text())
    return report, report.get("rows", [])


def _tests(xml: Path) -> dict | None:
    """Counts from pytest's JUnit XML (passed, failed, skipped), None if it did not run."""
    if not xml.is_file():
        return None
    import xml.etree.ElementTree as ET

    suite = ET.parse(xml).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    total, failed = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    return {"passed": total - failed - skipped, "failed": failed, "skipped": skipped}


def summarise(out: Path, plan: list[Step], train_dir: Path) -> dict:
    """The numbers the steps measured: per bench its rows (latency, ratio to FP32 eager, PSNR, peak
    GPU memory), vdsr over asym_vdsr latency per precision and mode, training patches/s, test counts."""
    benches = {}
    for step in plan:
        if step.bench:
            report, rows = _bench_rows(step.bench)
            if rows:
                benches[step.name] = {"input_size": report.get("input_size"), "model": report.get("model"),
                                      "rows": [{k: r.get(k) for k in ("precision", "mode", "scale", "status", "psnr",
                                                                       "dpsnr", "latency_ms", "latency_vs_pytorch",
                                                                       "peak_gpu_mb", "of_peak", "reason")}
                                               for r in rows]}
    ratios = []
    vdsr, asym = benches.get("vdsr_x4", {}).get("rows", []), benches.get("asym_vdsr_x4", {}).get("rows", [])
    for row in vdsr:
        twin = next((a for a in asym if (a["precision"], a["mode"]) == (row["precision"], row["mode"])), None)
        if twin and row.get("latency_ms") and twin.get("latency_ms"):
            ratios.append({"precision": row["precision"], "mode": row["mode"], "vdsr_ms": row["latency_ms"],
                           "asym_vdsr_ms": twin["latency_ms"], "vdsr_over_asym": row["latency_ms"] / twin["latency_ms"]})
    train = None
    summary = train_dir / "summary.json"
    if summary.is_file():
        data = json.loads(summary.read_text())
        train = {k: data.get(k) for k in ("iterations", "seconds", "patches_per_s")}
        train["hardware"] = (data.get("sessions") or [{}])[-1].get("hardware")
    return {"benches": benches, "vdsr_over_asym_vdsr": ratios, "train": train,
            "tests": _tests(out / "gpu_tests.xml")}


def markdown(report: dict) -> str:
    env, numbers = report["env"], report["numbers"]
    where = env.get("gpu") or f"CPU (dry run: {report['host_cpu']})"
    lines = [f"# edgesr GPU check: {where}", "",
             f"`{report['command']}`, {report['finished']}; torch {env.get('torch')}, CUDA {env.get('cuda')}"
             + (f", {env.get('capability')}, {env.get('memory_gib')} GiB" if env.get("gpu") else "")
             + (". **Dry run: CPU numbers, not a GPU's.**" if report["dry_run"] else "."), "",
             "| step | status | seconds |", "|---|---|---|"]
    lines += [f"| {s['name']} | {s['status']} | {s['seconds']} |" for s in report["steps"]]
    for name, bench in numbers["benches"].items():
        lines += ["", f"## {name}: {bench['model']}, {bench['input_size']} LR input", "",
                  "| precision | mode | scale | status | PSNR | dPSNR | median ms | / FP32 eager | peak GPU MB |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in bench["rows"]:
            cells = [r["precision"], r["mode"], f"x{r['scale']}", r["status"]]
            for key, fmt in (("psnr", "{:.3f}"), ("dpsnr", "{:+.3f}"), ("latency_ms", "{:.2f}"),
                             ("latency_vs_pytorch", "{:.2f}"), ("peak_gpu_mb", "{:.0f}")):
                cells.append("-" if r.get(key) is None else fmt.format(r[key]))
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if numbers["vdsr_over_asym_vdsr"]:
        lines += ["", "## vdsr over asym_vdsr latency, x4", "", "| precision | mode | vdsr ms | asym_vdsr ms | ratio |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['precision']} | {r['mode']} | {r['vdsr_ms']:.2f} | {r['asym_vdsr_ms']:.2f} | "
                  f"{r['vdsr_over_asym']:.2f} |" for r in numbers["vdsr_over_asym_vdsr"]]
    if numbers["train"]:
        t = numbers["train"]
        lines += ["", f"Training: masrn, {t['iterations']} iterations in {t['seconds']} s, "
                      f"**{t['patches_per_s']} patches/s** ({t['hardware']})."]
    if numbers["tests"]:
        lines += ["", "gpu-marked tests: " + ", ".join(f"{v} {k}" for k, v in numbers["tests"].items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="every step on this CPU, tiny inputs")
    ap.add_argument("--out", type=Path, default=None, help=f"[default: {RESULTS}; a dry run: a temporary folder]")
    ap.add_argument("--data-root", default=None, help="the folder holding Set5 and T91 [default: $EDGESR_DATA]")
    ap.add_argument("--budget", type=float, default=None, help="seconds for every step [480; dry run 900]")
    args = ap.parse_args(argv)
    out = args.out or (Path(tempfile.mkdtemp(prefix="edgesr-gpu-dry-run-")) if args.dry_run else RESULTS)
    budget = args.budget or (900 if args.dry_run else 480)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # the steps import this checkout's edgesr, installed or not
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src")] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    deadline = time.perf_counter() + budget
    if args.dry_run:
        write_dry_set(out, args.data_root)
    with tempfile.TemporaryDirectory(prefix="edgesr-gpu-train-") as tmp:
        train_dir = Path(tmp) / "masrn"
        plan = steps(out, args.dry_run, args.data_root, train_dir)
        results = []
        for step in plan:
            left = deadline - time.perf_counter()
            need = step.need_s * (3 if args.dry_run else 1)
            if left < min(need, 30):
                results.append({"name": step.name, "status": f"skipped (out of time: {left:.0f} s left)",
                                "seconds": 0, "command": " ".join(step.command), "last_line": ""})
                continue
            print(f"gpu_check: {step.name} ({left:.0f} s left)", flush=True)
            results.append(run_step(step, logs, left))
            print(f"gpu_check: {step.name}: {results[-1]['status']} in {results[-1]['seconds']} s", flush=True)
        try:
            probe = json.loads((logs / "env.log").read_text().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            probe = {}
        numbers = summarise(out, plan, train_dir)
        if (train_dir / "summary.json").is_file():
            (out / "train_summary.json").write_text((train_dir / "summary.json").read_text())
    from edgesr._files import write_text
    from edgesr.runtimes.measure import cpu_info

    report = {"command": "bash scripts/gpu_check.sh " + " ".join(argv if argv is not None else sys.argv[1:]),
              "dry_run": args.dry_run, "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "host_cpu": cpu_info()["model"], "env": probe, "steps": results, "numbers": numbers}
    write_text(out / "gpu_check.json", json.dumps(report, indent=2) + "\n")
    write_text(out / "gpu_check.md", markdown(report))
    print(f"gpu_check: wrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'}")
    failed = [s["name"] for s in results if s["status"].startswith("failed")]
    skipped = [s["name"] for s in results if s["status"].startswith("skipped")]
    if failed or skipped:
        print(f"gpu_check: failed: {', '.join(failed) or 'none'}; skipped: {', '.join(skipped) or 'none'} "
              f"(logs in {logs})", file=sys.stderr)
    return 1 if failed or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
