"""``edgesr bench`` results as a table (text / Markdown), JSON, CSV and a PNG plot of latency
against PSNR. Files are written to a temporary name and renamed, so none is left half-written."""

from __future__ import annotations

import csv
import enum
import io
import math
from pathlib import Path

from edgesr._files import write_bytes, write_text
from edgesr._values import strict_json
from edgesr.benchmark.desktop import NOT_MEASURED, note
from edgesr.errors import EdgesrError



class Status(str, enum.Enum):
    """A bench row's status, written as its value in the table, JSON and CSV (rows read back from a
    worker's or a file's JSON hold the plain strings, which compare equal)."""

    PASSED = "passed"
    FAILED_VALIDATION = "exported but failed validation"
    EXPORT_FAILED = "export failed"
    NOT_RUN = "exported, not run here"
    NOT_HERE = "not run here"  # a PyTorch mode this machine lacks (CUDA graphs without a GPU)
    NOT_INSTALLED = "not installed"

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__


# the statuses that fail a bench (its exit status): "not installed" and "not run here" are not failures
FAILURES = (Status.FAILED_VALIDATION, Status.EXPORT_FAILED)

COLUMNS = [("format", "format", "{}"), ("precision", "precision", "{}"), ("mode", "mode", "{}"), ("quant", "weights", "{}"),
           ("scale", "scale", "x{}"),
           ("runs_on", "runs on", "{}"), ("status", "status", "{}"), ("size_mb", "size MB", "{:.2f}"), ("psnr", "PSNR", "{:.3f}"),
           ("ssim", "SSIM", "{:.4f}"), ("dpsnr", "dPSNR", "{:+.3f}"), ("latency_ms", "median ms", "{:.1f}"),
           ("p90_ms", "p90 ms", "{:.1f}"), ("fps", "FPS", "{:.2f}"), ("latency_vs_pytorch", "latency / PyTorch", "{:.2f}"),
           ("vs_gpu", "latency / GPU", "{:.2f}"), ("dpsnr_gpu", "dPSNR GPU", "{:+.3f}"),
           ("gflop", "GFLOP", "{:.3g}"), ("gflops", "GFLOP/s", "{:.3g}"), ("of_peak", "of peak", "{:.0%}"), ("threads", "threads", "{}"),
           ("peak_rss_mb", "peak MB", "{:.0f}"), ("load_ms", "load ms", "{:.0f}")]


def failed_rows(report: dict) -> list[dict]:
    """The rows that fail the bench: exported but failed validation, or export failed."""
    return [row for row in report["rows"] if row["status"] in FAILURES]


def row_name(row: dict) -> str:
    """``onnx int8 qat x4``: what a row measured, as the table names it."""
    mode = row.get("mode") if row.get("mode") not in (None, "", "eager") else ""
    words = (row["format"], row["precision"], mode, row.get("quant") or "", f"x{row['scale']}")
    return " ".join(str(w) for w in words if w)


def check_rows(report: dict, where: Path) -> None:
    """Raise :class:`EdgesrError` naming the failed rows (their reasons are in ``where``), if any."""
    failed = failed_rows(report)
    if failed:
        raise EdgesrError(f"{len(failed)} of {len(report['rows'])} rows failed: "
                          + "; ".join(f"{row_name(r)} {r['status']}" for r in failed) + f" (reasons in {where})")


def write_report(report: dict, out_dir: Path, json_path: Path | None = None,
                 with_json: bool = True) -> tuple[list[Path], Path | None]:
    """bench.md, bench.json (or ``json_path``; none with ``with_json=False``), bench.csv and bench.png
    in ``out_dir``: the files written, and the plot (None without matplotlib)."""
    command = f"`{report['command']}`\n\n" if report.get("command") else ""
    try:
        written = [write_text(out_dir / "bench.md", command + markdown(report))]
        if with_json:
            written.append(write_json(report, json_path or out_dir / "bench.json"))
        written.append(write_csv(report, out_dir / "bench.csv"))
        plot = write_plot(report, out_dir / "bench.png")
    except OSError as exc:
        raise EdgesrError(f"cannot write the bench report to {out_dir}: {exc.strerror or exc}") from None
    return written + ([plot] if plot else []), plot


# the columns against the desktop GPU: "not measured" in a measured row that no GPU report matches
GPU_COLUMNS = ("vs_gpu", "dpsnr_gpu")


def _cell(row: dict, key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_MEASURED if key in GPU_COLUMNS and row.get("latency_ms") is not None and key in row else "-"
    return fmt.format(value)


def _where(report: dict) -> str:
    """The note on where the artifacts ran and what their latency spans (nothing for this machine)."""
    kind = report.get("device_kind", "local")
    if kind in ("local", "cuda"):
        return ""
    if kind == "browser":
        o = report.get("device_offers") or {}
        runtime = (f": {o.get('browser')}, onnxruntime-web {o.get('onnxruntime-web')} {o.get('backend')}, "
                   f"{o.get('threads')} threads" if o else "")
        return (f"; ONNX artifacts run in the web app on device {report['device']}{runtime}. Their latency is the "
                "page's own pipeline on one LR input (JavaScript pre- and post-processing and the network, timed in "
                "the page), their load the page's session creation, their peak MB the page's renderer process; "
                "outputs scored on the host")
    return (f"; artifacts run on device {report['device']}, whose latency is the network calls of one LR input "
            "(pre- and post-processing and scoring on the host)")


def _compute(report: dict) -> str:
    """The sentence on what one frame costs and what each device can do (nothing in older reports)."""
    frames = report.get("gflop_per_frame") or {}
    if not frames:
        return ""
    cost = ", ".join(f"{g:.3g} GFLOP at {s}" for s, g in frames.items())
    peaks = "; ".join(f"{device} {p['gflops']:.1f} GFLOP/s ({p['library']}, {p['n']}x{p['n']}"
                      + (f", {p['threads']} threads" if p.get("threads") else "") + ")"
                      for device, p in (report.get("peak") or {}).items())
    floor = ""
    cpu = (report.get("peak") or {}).get("cpu")
    if cpu:
        floor = ("; the floor on this CPU, FLOPs / peak: "
                 + ", ".join(f"{g / cpu['gflops'] * 1000:.0f} ms at {s}" for s, g in frames.items()))
    return (f" One frame costs {cost} (2 per multiply-add); GFLOP/s is that over the median latency, and "
            f"\"of peak\" that against the float32 matrix-product peak of the device the row ran on "
            f"(integer rows can pass 100%). Peak: {peaks or 'not measured'}{floor}.")


def markdown(report: dict) -> str:
    where = _where(report)
    lines = [f"{report['model']} on {report['dataset']}; baseline: {report['baseline']}; latency on one "
             f"{report['input_size']} LR input; dPSNR against the baseline at the same scale{where}."
             + _compute(report) + note(report), "",
             "| " + " | ".join(title for _, title, _ in COLUMNS) + " | reason |",
             "|" + "---|" * (len(COLUMNS) + 1)]
    for row in report["rows"]:
        cells = [_cell(row, key, fmt) for key, _, fmt in COLUMNS] + [row.get("reason") or ""]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, data: bytes) -> Path:
    return write_bytes(path, data)


def json_text(report: dict) -> str:
    """The report as strict JSON (no Infinity or NaN: null)."""
    return strict_json(report)


def write_json(report: dict, path: Path) -> Path:
    return _atomic_write(path, json_text(report).encode())


def write_csv(report: dict, path: Path) -> Path:
    keys = list(report["rows"][0]) if report["rows"] else [k for k, _, _ in COLUMNS]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(report["rows"])
    return _atomic_write(path, buf.getvalue().encode())


# a marker per format, so that rows of one format read as a family in the legend
MARKERS = {"pytorch": "s", "onnx": "o", "tflite": "^", "coreml": "D", "openvino": "v", "executorch": "P",
           "tensorrt": "X", "tensorrt-rtx": "*"}


def plot_figure(report: dict):
    """The latency (log scale) against PSNR figure: one point per measured row, each with its own
    colour (tab20, then tab20b: 40 before one repeats) and its format's marker, named in a legend
    beside the axes rather than on the points, so that 20 rows close together stay readable."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in report["rows"] if r.get("latency_ms") and r.get("psnr") is not None]
    colours = [*plt.get_cmap("tab20").colors, *plt.get_cmap("tab20b").colors]
    fig, ax = plt.subplots(figsize=(10, max(4.5, 1.2 + 0.19 * len(measured))), dpi=120)
    for i, r in enumerate(measured):
        share = f", {r['of_peak']:.0%} of peak" if r.get("of_peak") is not None else ""
        ax.scatter(r["latency_ms"], r["psnr"], marker=MARKERS.get(r["format"], "o"), s=36,
                   color=colours[i % len(colours)], edgecolors="black", linewidths=0.4,
                   label=f"{row_name(r)}{share}")
    cpu, styles = (report.get("peak") or {}).get("cpu"), ("--", ":", "-.")
    for i, (scale, gflop) in enumerate((report.get("gflop_per_frame") or {}).items()):
        if cpu and report.get("device_kind", "local") == "local":  # what this CPU's peak allows one frame
            ax.axvline(gflop / cpu["gflops"] * 1000, color="grey", linestyle=styles[i % 3], linewidth=1,
                       label=f"FLOPs / CPU peak, {scale}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)
    ax.set_xscale("log")
    ax.set_xlabel(f"median latency, ms (one {report['input_size']} LR input)")
    ax.set_ylabel(f"PSNR (Y), dB, {report['dataset']}")
    ax.set_title(f"edgesr bench: {report['model']}, baseline {report['baseline']}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def write_plot(report: dict, path: Path) -> Path | None:
    """:func:`plot_figure` as a PNG; None without matplotlib."""
    try:
        fig = plot_figure(report)
    except ImportError:
        return None
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return _atomic_write(path, buf.getvalue())
