"""One row of the bench report: what it measured (:class:`Target`) and its columns (:func:`make_row`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgesr.export.formats import FORMATS


@dataclass(frozen=True)
class Target:
    """What one row measures: a format and precision (``pytorch fp32``: the baseline), the weights'
    quantization method, and once exported, the artifact and its size."""

    fmt: str
    precision: str
    quant: str = ""
    artifact: Path | None = None
    size_mb: float | None = None


def make_row(target: Target, scale: int, status: str, *, device: str, base: dict | None = None, reason: str = "",
             measured: dict | None = None) -> dict:
    """The row's columns; ``measured`` (latency, memory, PSNR) is set against ``base``, the baseline's
    at the same scale; ``device`` is where the baseline ran."""
    fmt = target.fmt
    row = {"format": fmt, "precision": target.precision, "quant": "", "scale": scale, "status": status,
           "reason": reason, "size_mb": target.size_mb, "artifact": str(target.artifact) if target.artifact else None,
           "psnr": None, "ssim": None, "dpsnr": None, "latency_ms": None, "p90_ms": None, "fps": None,
           "load_ms": None, "peak_rss_mb": None, "peak_gpu_mb": None, "latency_vs_pytorch": None,
           "runs_on": device if fmt == "pytorch" else None, "runtime": None}
    if measured:
        row.update({k: measured.get(k) for k in ("psnr", "ssim", "latency_ms", "p90_ms", "load_ms", "peak_rss_mb",
                                                 "peak_gpu_mb")})
        row["fps"] = 1000.0 / measured["latency_ms"]
        row["dpsnr"] = measured["psnr"] - base["psnr"]
        row["latency_vs_pytorch"] = measured["latency_ms"] / base["latency_ms"]
        if fmt != "pytorch":
            row["runs_on"] = "cuda" if FORMATS[fmt].needs_gpu else "cpu"
    return row
