"""One row of the bench report: what it measured (:class:`Target`) and its columns (:func:`make_row`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgesr.formats import FORMATS


@dataclass(frozen=True)
class Target:
    """What one row measures: a format and precision (``pytorch fp32``: the baseline), the weights'
    quantization method, PyTorch's mode (``pytorch`` rows), and once exported, the artifact and its size."""

    fmt: str
    precision: str
    quant: str = ""
    mode: str = ""
    artifact: Path | None = None
    size_mb: float | None = None


def make_row(target: Target, scale: int, status: str, *, device: str, base: dict | None = None, reason: str = "",
             measured: dict | None = None) -> dict:
    """The row's columns; ``measured`` (latency, memory, PSNR) is set against ``base``, the baseline's
    at the same scale; ``device`` is where the baseline ran."""
    fmt = target.fmt
    row = {"format": fmt, "precision": target.precision, "mode": target.mode, "quant": "", "scale": scale, "status": status,
           "reason": reason, "size_mb": target.size_mb, "artifact": str(target.artifact) if target.artifact else None,
           "psnr": None, "ssim": None, "dpsnr": None, "latency_ms": None, "p90_ms": None, "fps": None,
           "load_ms": None, "peak_rss_mb": None, "peak_gpu_mb": None, "latency_vs_pytorch": None,
           "runs_on": device if fmt == "pytorch" else None, "runtime": None, "threads": None, "gflop": None,
           "gflops": None, "of_peak": None}
    if measured:
        row.update({k: measured.get(k) for k in ("psnr", "ssim", "latency_ms", "p90_ms", "load_ms", "peak_rss_mb",
                                                 "peak_gpu_mb", "threads")})
        row["fps"] = 1000.0 / measured["latency_ms"]
        row["dpsnr"] = measured["psnr"] - base["psnr"]
        row["latency_vs_pytorch"] = measured["latency_ms"] / base["latency_ms"]
        if fmt != "pytorch":
            row["runs_on"] = "cuda" if FORMATS[fmt].needs_gpu else "cpu"
    return row


def add_efficiency(row: dict, gflop: float | None, peaks: dict[str, dict]) -> dict:
    """The row's compute columns: ``gflop``, the network's floating-point operations on one frame (two
    per multiply-add of its convolutions, whatever the precision); ``gflops``, that divided by the
    median latency; ``of_peak``, that against the float32 matrix-product peak measured on the device
    the row ran on (``peaks``, by ``runs_on``). Integer rows can pass 1: their peak is higher than
    float32's."""
    row.update({"gflop": gflop, "gflops": None, "of_peak": None})
    if gflop and row.get("latency_ms"):
        row["gflops"] = gflop / (row["latency_ms"] / 1000)
        peak = peaks.get(row.get("runs_on") or "")
        if peak and peak.get("gflops"):
            row["of_peak"] = row["gflops"] / peak["gflops"]
    return row


def frame_gflop(opts) -> dict[int, float]:
    """Per scale, the network's floating-point operations (2 per multiply-add) on one LR input of the
    bench's size: what every row computes for one frame."""
    from edgesr.models.profile import count_macs
    from edgesr.models.weights import load_model

    return {s: 2 * count_macs(load_model(opts.model, s, opts.weights), opts.input_size, s) / 1e9 for s in opts.scales}


def weights_digests(opts) -> dict[str, str | None]:
    """Per scale, the sha256 of the weights the baseline ran (a PSNR is comparable across reports
    only with the same weights)."""
    from edgesr.errors import EdgesrError
    from edgesr.manifest import sha256
    from edgesr.models.weights import shipped_weights

    digests = {}
    for s in opts.scales:
        try:
            path = opts.weights or shipped_weights(opts.model, s)
        except EdgesrError:
            path = None
        digests[f"x{s}"] = sha256(path) if path else None
    return digests
