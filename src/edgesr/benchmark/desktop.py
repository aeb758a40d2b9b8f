"""The desktop GPU baseline: every bench row set against PyTorch FP32 on a CUDA GPU.

A GPU's numbers come from bench reports written where PyTorch ran on CUDA (``edgesr bench --device
cuda``; ``scripts/gpu_check.sh`` writes them under ``benchmarks/results/gpu/``). A bench anywhere else
reads them (``--gpu-baseline FILE|FOLDER``, else ``$EDGESR_GPU_BASELINE``, else that folder of a
source checkout) and gives each measured row two columns: ``vs_gpu``, its median latency over the
GPU baseline's for the same model, scale and input size; ``dpsnr_gpu``, its PSNR minus the GPU
baseline's on the same benchmark set with the same weights (sha256). Where no GPU report matches,
both columns say "not measured". A bench on the CUDA GPU is its own baseline.

Reports are JSON read as data, never code. A file named on purpose that is not a bench report is
refused in one line; the default folder's other files are passed over.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from edgesr.errors import ConfigError

ENV = "EDGESR_GPU_BASELINE"
NOT_MEASURED = "not measured"


def checkout_folder() -> Path | None:
    """``benchmarks/results/gpu`` of the source checkout edgesr runs from (an editable install), if any."""
    root = Path(__file__).resolve().parents[3]
    project = root / "pyproject.toml"
    try:
        if 'name = "edgesr"' not in project.read_text():
            return None
    except OSError:
        return None
    return root / "benchmarks" / "results" / "gpu"


@dataclass(frozen=True)
class GpuRow:
    """One scale of PyTorch FP32 eager on a CUDA GPU, as a bench report holds it."""

    gpu: str
    model: str
    scale: int
    input_size: str
    dataset: str
    weights: str | None  # sha256 of the weights, when the report has it
    latency_ms: float
    psnr: float | None
    source: str


def _gpu_rows(report: dict, source: str) -> list[GpuRow]:
    """The rows of ``report`` that are the desktop GPU baseline: PyTorch FP32 eager, run on CUDA, passed."""
    gpu = report.get("gpu") or report.get("baseline", "")
    rows = []
    for row in report.get("rows") or []:
        if (row.get("format") == "pytorch" and row.get("precision") == "fp32" and row.get("mode", "eager") == "eager"
                and row.get("runs_on") == "cuda" and row.get("status") == "passed" and row.get("latency_ms")):
            rows.append(GpuRow(gpu=gpu, model=report.get("model", ""), scale=int(row["scale"]),
                               input_size=report.get("input_size", ""), dataset=report.get("dataset", ""),
                               weights=(report.get("weights_sha256") or {}).get(f"x{row['scale']}"),
                               latency_ms=float(row["latency_ms"]), psnr=row.get("psnr"), source=source))
    return rows


def _read(path: Path, strict: bool) -> list[GpuRow]:
    try:
        report = json.loads(path.read_text())
        if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
            raise ValueError("no rows")
        return _gpu_rows(report, str(path))
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        if strict:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not an edgesr bench report (JSON)"
            raise ConfigError(f"--gpu-baseline {path}: {why}; name a bench.json written by "
                              "edgesr bench --device cuda, or a folder of them") from None
        return []


def load_baseline(source: str | os.PathLike | None = None) -> tuple[list[GpuRow], str]:
    """The desktop GPU rows and where they were looked for. ``source``: a bench report or a folder
    of them (``*.json`` in it and its subfolders); None: ``$EDGESR_GPU_BASELINE``, else the checkout's
    ``benchmarks/results/gpu``. A source named on purpose must exist and be bench reports."""
    strict = source is not None or bool(os.environ.get(ENV))
    where = Path(source) if source is not None else Path(os.environ[ENV]) if os.environ.get(ENV) else checkout_folder()
    if where is None:
        return [], "no GPU report (not a source checkout; pass --gpu-baseline)"
    if where.is_dir():
        files = sorted(where.rglob("*.json"))
        rows = [r for f in files for r in _read(f, strict=False)]
        if strict and not files:
            raise ConfigError(f"--gpu-baseline {where}: the folder holds no bench report (*.json)")
        return rows, str(where)
    if not where.exists():
        if strict:
            raise ConfigError(f"--gpu-baseline {where} does not exist; name a bench.json written by "
                              "edgesr bench --device cuda, or a folder of them")
        return [], str(where)
    return _read(where, strict), str(where)


def _match(rows: list[GpuRow], report: dict, scale: int) -> GpuRow | None:
    same = [r for r in rows if r.model == report["model"] and r.scale == scale and r.input_size == report["input_size"]]
    return same[-1] if same else None


def add_columns(report: dict, rows: list[GpuRow], looked: str) -> None:
    """Each row's ``vs_gpu`` and ``dpsnr_gpu`` and the report's ``desktop_gpu`` note. On a CUDA bench
    the report's own baseline rows are the desktop GPU."""
    own = _gpu_rows(report, "this bench")
    rows = own or rows
    matched = set()
    for row in report["rows"]:
        row["vs_gpu"] = row["dpsnr_gpu"] = None
        gpu = _match(rows, report, row["scale"])
        if gpu is None or not row.get("latency_ms"):
            continue
        matched.add(gpu)
        row["vs_gpu"] = row["latency_ms"] / gpu.latency_ms
        mine = (report.get("weights_sha256") or {}).get(f"x{row['scale']}")
        if (gpu.psnr is not None and row.get("psnr") is not None and gpu.dataset == report["dataset"]
                and gpu.weights and gpu.weights == mine):
            row["dpsnr_gpu"] = row["psnr"] - gpu.psnr
    if matched:
        first = sorted(matched, key=lambda r: r.scale)[0]
        report["desktop_gpu"] = {"measured": True, "gpu": first.gpu, "sources": sorted({r.source for r in matched})}
    else:
        found = sorted({f"{r.model} x{r.scale} {r.input_size}" for r in rows})
        why = (f"no GPU report for {report['model']} at {report['input_size']} in {looked}"
               + (f" (it has {', '.join(found)})" if found else ""))
        report["desktop_gpu"] = {"measured": False, "reason": why}


def note(report: dict) -> str:
    """The report's sentence on the desktop GPU baseline (nothing for reports written before it)."""
    gpu = report.get("desktop_gpu")
    if not gpu:
        return ""
    if gpu["measured"]:
        return (f" Desktop GPU baseline: PyTorch FP32 eager on {gpu['gpu']} ({', '.join(gpu['sources'])}); "
                "\"latency / GPU\" is each row's median over it, \"dPSNR GPU\" its PSNR minus the GPU's "
                "(same set and weights).")
    return f" Desktop GPU baseline: {NOT_MEASURED} ({gpu['reason']}; scripts/gpu_check.sh on a CUDA GPU writes it)."
